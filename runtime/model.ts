// The ROAP model of Fig. 2: a symbol grounder g, a recognition network r and a compiled sketch's
// soft interpreter, wired together. Training (train.ts) and evaluation (metrics.ts) both use it.

import * as tf from "@tensorflow/tfjs-core";
import {
  createResNet18,
  createSmallCnn,
  type Grounder,
} from "./nets/grounder.js";
import { createRecognizer, type Recognizer } from "./nets/recognizer.js";
import {
  createFreeLogits,
  createOutputMlp,
  gatherRows,
  outputMlpAsRecognizer,
  type CnnMlpVariant,
  type OutputMlp,
} from "./nets/baselines.js";
import type { ParamSnapshot } from "./nets/params.js";
import { sampleRelaxed } from "./relaxation.js";
import type { ProgramParams, SketchModule } from "./sketch-module.js";
import type { GrounderOutput, ModelName, TrainConfig } from "./config.js";
import { symbolBounds, type Alphabet } from "./domains/alphabet.js";

export interface RoapModel {
  readonly module: SketchModule;
  /** g: one output per image ([N]), or K logits with the `categorical` output ([N, K]). */
  readonly grounder: Grounder<tf.Tensor1D | tf.Tensor2D>;
  /** r; the free logits of `no-amortization`; the output MLP's weights for `cnn-mlp`. */
  readonly recognizer: Recognizer;
  /** Which row of Table 1 this is. */
  readonly kind: ModelName;
  /** `cnn-mlp` only: y = MLP(s), in place of a program. */
  readonly outputMlp?: OutputMlp;
  /** How g's raw output becomes a symbol (`symbolsOf`). */
  readonly grounderOutput: GrounderOutput;
  /** The interval of the `sigmoid` output, from the alphabet (`symbolBounds`). */
  readonly symbolBounds: SymbolBounds;
  /**
   * The `categorical` output's K symbol values, ascending (class k is the k-th): the run sets
   * them before each step and evaluation (train.ts `holdSymbolValues`); empty for the others.
   */
  readonly symbolValues: Float32Array;
  readonly variables: tf.Variable[];
  /** The grounder's and recognizer's parameters, read with `await` (any backend). */
  save(): Promise<{ grounder: ParamSnapshot; recognizer: ParamSnapshot }>;
  load(snapshot: { grounder: ParamSnapshot; recognizer: ParamSnapshot }): void;
  dispose(): void;
}

export interface ModelArgs {
  readonly module: SketchModule;
  readonly grounder: "small-cnn" | "resnet18";
  readonly imageShape: readonly [number, number, number];
  readonly recognizerHidden: number;
  readonly seed: number;
  /** Default `sigmoid`. */
  readonly grounderOutput?: GrounderOutput;
  /** The symbols' values (the task domain's), for the range of the `sigmoid` output. */
  readonly alphabet: Alphabet;
  /** K, the `categorical` output's classes; default the alphabet's length. */
  readonly numSymbolValues?: number;
  /** Default `roap`. */
  readonly model?: ModelName;
  /** The tasks a baseline keeps parameters for (`cnn-mlp`, `no-amortization`). */
  readonly numTasks?: number;
  /** Default `per-task`. */
  readonly cnnMlp?: CnnMlpVariant;
}

export function createModel(args: ModelArgs): RoapModel {
  const [h, w, c] = args.imageShape;
  const grounderOutput = args.grounderOutput ?? "sigmoid";
  const K = args.numSymbolValues ?? args.alphabet.length;
  const numClasses = grounderOutput === "categorical" ? K : undefined;
  const grounder: Grounder<tf.Tensor1D | tf.Tensor2D> =
    numClasses === undefined
      ? args.grounder === "resnet18"
        ? createResNet18({ seed: args.seed, inChannels: c })
        : createSmallCnn({ seed: args.seed, inputShape: [h, w, c] })
      : args.grounder === "resnet18"
        ? createResNet18({ seed: args.seed, inChannels: c, numClasses })
        : createSmallCnn({
            seed: args.seed,
            inputShape: [h, w, c],
            numClasses,
          });
  const kind = args.model ?? "roap";
  const numTasks = args.numTasks ?? 0;
  const outputMlp =
    kind === "cnn-mlp"
      ? createOutputMlp({
          numInputs: args.module.sketch.numInputs,
          numTasks,
          hidden: args.recognizerHidden,
          variant: args.cnnMlp ?? "per-task",
          seed: args.seed + 1,
        })
      : undefined;
  const recognizer = outputMlp
    ? outputMlpAsRecognizer(outputMlp)
    : kind === "no-amortization"
      ? createFreeLogits({
          sketch: args.module.sketch,
          numTasks,
          seed: args.seed + 1,
        })
      : createRecognizer({
          sketch: args.module.sketch,
          hidden: args.recognizerHidden,
          featureSize: args.recognizerHidden,
          seed: args.seed + 1,
        });
  return {
    module: args.module,
    kind,
    outputMlp,
    grounder,
    recognizer,
    grounderOutput,
    symbolBounds: symbolBounds(args.alphabet),
    symbolValues: new Float32Array(numClasses ?? 0),
    variables: [...grounder.variables, ...recognizer.variables],
    save: async () => ({
      grounder: await grounder.params.saveAsync(),
      recognizer: await recognizer.params.saveAsync(),
    }),
    load(snapshot) {
      grounder.params.load(snapshot.grounder);
      recognizer.params.load(snapshot.recognizer);
    },
    dispose() {
      grounder.dispose();
      recognizer.dispose();
    },
  };
}

/** The interval (low, high) of the bounded grounder output. */
export type SymbolBounds = { readonly low: number; readonly high: number };

/**
 * g's raw output -> symbols, by `output`. With `sigmoid`, symbols live in (low, high) from the
 * alphabet (`symbolBounds`: (0, 1.5) around the gold 0.1..1.0, which Sec. 4.1 divides by 10 for
 * stability): low + (high - low) * sigmoid(raw). A bounded grounder keeps a 30-line program of
 * products from overflowing while g is still untrained (the paper's footnote 4 lost runs to
 * exactly that). It knows the symbols' range, so the paper preset uses the `linear` output (g's
 * raw output). With `categorical`, raw is K logits per image [N, K] and the symbol their
 * expected value over `values` (`expectedSymbols`).
 */
export function symbolsOf(
  raw: tf.Tensor,
  output: GrounderOutput,
  bounds: SymbolBounds,
  values: ArrayLike<number> = [],
): tf.Tensor {
  if (output === "categorical")
    return expectedSymbols(raw as tf.Tensor2D, values);
  if (output !== "sigmoid") return raw;
  const scaled = tf.mul(bounds.high - bounds.low, tf.sigmoid(raw));
  return bounds.low === 0 ? scaled : tf.add(bounds.low, scaled);
}

/**
 * The `categorical` output's symbols: s = softmax(logits) . v, the expected value over the K
 * symbol values v (class k is v[k]). logits: [N, K] -> [N]. Its gradient in logit k is
 * p_k (v_k - s), so g learns where the values differ, not a scale of its own: the values bound
 * s as `sigmoid` does, and a product of symbols cannot overflow.
 */
export function expectedSymbols(
  logits: tf.Tensor2D,
  values: ArrayLike<number>,
): tf.Tensor1D {
  const K = logits.shape[1];
  if (values.length !== K)
    throw new Error(
      `expectedSymbols: ${K} logits per image but ${values.length} symbol values`,
    );
  return tf.tidy(() => {
    const v = tf.tensor2d(Float32Array.from(values), [K, 1]); // [K, 1]
    return tf.reshape(tf.matMul(tf.softmax(logits), v), [-1]) as tf.Tensor1D; // [N]
  });
}

/** Images per pass of ResNet-18 on a CPU backend: about 50 MB each with their gradients on wasm. */
export const RESNET18_CHUNK = 32;

/**
 * How many images go through the grounder at a time, in training's backward pass and in
 * evaluation: `config.grounderChunk`, or when 0 by backbone (ResNet-18: RESNET18_CHUNK; the small
 * CNN: the whole batch in training, 512 in evaluation).
 */
export function grounderChunkOf(
  config: Pick<TrainConfig, "grounderChunk" | "grounder">,
): number {
  if (config.grounderChunk > 0) return config.grounderChunk;
  return config.grounder === "resnet18" ? RESNET18_CHUNK : Infinity;
}

/** g: images [N * V, H, W, C] -> symbols [N, V] (`symbolsOf` the grounder's output). */
export function groundSymbols(
  model: RoapModel,
  images: tf.Tensor4D,
  numInputs: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const raw = model.grounder.call(images); // [N * V] | [N * V, K]
    const s = symbolsOf(
      raw,
      model.grounderOutput,
      model.symbolBounds,
      model.symbolValues,
    ); // [N * V]
    return tf.reshape(s, [-1, numInputs]) as tf.Tensor2D; // [N, V]
  });
}

/** The `categorical` output's logits: images [N * V, H, W, C] -> [N * V, K]. */
export function groundLogits(
  model: RoapModel,
  images: tf.Tensor4D,
): tf.Tensor2D {
  if (model.grounderOutput !== "categorical")
    throw new Error(
      `groundLogits: the ${model.grounderOutput} output has none`,
    );
  return model.grounder.call(images) as tf.Tensor2D;
}

export interface ForwardOptions {
  readonly sharpness: number;
  readonly gumbel: boolean;
  readonly seed: number;
  /**
   * Use the module's fused interpreter (typed-array loops with a compile-time derivative) when
   * it has one. Right on CPU backends (cpu, wasm); on GPU backends it would read z back.
   */
  readonly fused: boolean;
  /** Straight-through one-hot samples (see relaxation.ts). */
  readonly hard?: boolean;
  /** Gold symbols [B, V] to use instead of g(x): the oracle-grounding upper bound. */
  readonly symbols?: tf.Tensor2D;
  /** The run's task ids of y's rows (the free logits of `no-amortization` need them). */
  readonly tasks?: readonly number[];
  /**
   * The rows of y whose relaxed sample is run (III); default every row. z is sampled for all.
   */
  readonly relaxedRows?: readonly number[];
  /**
   * What r reads, where it is not (s, y) of the batch (`stepPairs: "confident"`): symbols [B, V]
   * and outputs [T, B] of other pairs. z is still run on the batch's s.
   */
  readonly read?: { readonly s: tf.Tensor2D; readonly y: tf.Tensor2D };
}

/**
 * One pass of Fig. 2 for training: s = g(x) (I), z ~ q(z | r({s, y})) relaxed (II, Eq. 5),
 * yHat = [[z]](s) (III). Returns the tensors the objective needs (call it inside a tidy).
 */
export function forward(
  model: RoapModel,
  images: tf.Tensor4D,
  y: tf.Tensor2D,
  options: ForwardOptions,
): {
  s: tf.Tensor2D;
  logits: Record<string, tf.Tensor3D>;
  z: ProgramParams;
  /** The sample of the `relaxedRows` (all of z without them). */
  zRelaxed: ProgramParams;
  /** [[zRelaxed]](s): [relaxed rows, B]. */
  yHat: tf.Tensor2D;
} {
  const s =
    options.symbols ??
    groundSymbols(model, images, model.module.sketch.numInputs); // [B, V]
  const logits = model.recognizer.call(
    options.read?.s ?? s,
    options.read?.y ?? y,
    options.tasks,
  ); // per head [T, rows, choices]
  const z = sampleRelaxed(logits, options);
  const execute =
    options.fused && model.module.executeFused
      ? model.module.executeFused
      : model.module.execute;
  const rows = options.relaxedRows;
  const zRelaxed =
    rows === undefined
      ? z
      : Object.fromEntries(
          Object.entries(z).map(([name, t]) => [
            name,
            gatherRows(t, rows) as tf.Tensor3D,
          ]),
        );
  const yHat =
    rows !== undefined && rows.length === 0
      ? (tf.zeros([0, y.shape[1]]) as tf.Tensor2D)
      : execute(zRelaxed, s); // [relaxed rows, B]
  return { s, logits, z, zRelaxed, yHat };
}
