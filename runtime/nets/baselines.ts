// The baselines of Table 1 (Sec. 4.1, "Baselines"), as nets in the recognizer's place:
// - free logits ("w/o amortized inference"): no r; each task's program logits z^t are free
//   parameters [T, rows, choices] per head, masked as r's are, trained with the same relaxation
//   and objective;
// - the output MLP ("w/o program", CNN+MLP): y = MLP(s) instead of a program, either one MLP per
//   task (`per-task`) or one MLP on [s; one-hot(task)] (`shared`).
// Both keep their weights in a ParamStore exposed as the recognizer's, so checkpoints, the
// optimizer and resume treat them as they treat r.

import * as tf from "@tensorflow/tfjs-core";
import {
  createParamStore,
  glorotUniform,
  heUniform,
  uniformInit,
  zerosInit,
  type ParamStore,
} from "./params.js";
import {
  MASKED_LOGIT,
  type ProgramLogits,
  type Recognizer,
} from "./recognizer.js";
import type { SketchInfo } from "../sketch-module.js";

/** The two CNN+MLP variants of the paper. */
export type CnnMlpVariant = "per-task" | "shared";

/**
 * Rows `ids` of `w` [T, ...] as a one-hot matrix product, whose gradient is a matMul: tf.gather's
 * gradient (UnsortedSegmentSum) has no wasm kernel.
 */
export function gatherRows(w: tf.Tensor, ids: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    const [T, ...rest] = w.shape;
    // One row: a broadcast (tf.oneHot needs a depth of at least 2).
    if (T === 1) return tf.add(tf.zeros([ids.length, ...rest]), w);
    const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(ids), "int32"), T); // [n, T]
    const flat = tf.reshape(w, [T, -1]) as tf.Tensor2D; // [T, prod(rest)]
    return tf.reshape(
      tf.matMul(tf.cast(oneHot, "float32") as tf.Tensor2D, flat),
      [ids.length, ...rest],
    );
  });
}

/** Initial free logits: small, so q starts near uniform over the allowed choices. */
const FREE_LOGIT_INIT = 0.1;

/**
 * Free per-task logits: `call(s, y, tasks)` returns the rows `tasks` (the run's task ids of y's
 * rows; all tasks in order when absent) of every head, masked. s and y are not read.
 */
export function createFreeLogits(args: {
  readonly sketch: SketchInfo;
  readonly numTasks: number;
  readonly seed: number;
}): Recognizer {
  const { sketch, numTasks } = args;
  const params = createParamStore(args.seed);
  const heads = sketch.heads.map((h) => ({
    name: h.name,
    rows: h.shape[0],
    choices: h.shape[1],
    logits: params.create(
      `free/${h.name}`,
      [numTasks, h.shape[0], h.shape[1]],
      uniformInit(FREE_LOGIT_INIT),
    ),
    mask: Float32Array.from(h.mask.flat()),
  }));
  return {
    params,
    get variables() {
      return params.variables();
    },
    call(_s, y, tasks) {
      return tf.tidy(() => {
        const ids = tasks ?? Array.from({ length: numTasks }, (_, t) => t);
        if (ids.length !== y.shape[0])
          throw new Error(
            `free logits: ${ids.length} task ids for ${y.shape[0]} rows of y`,
          );
        if (ids.some((t) => t < 0 || t >= numTasks))
          throw new Error(
            `free logits: a task id is beyond the ${numTasks} trained tasks (no amortized inference)`,
          );
        const out: ProgramLogits = {};
        for (const h of heads) {
          const mask = tf.tensor3d(h.mask, [1, h.rows, h.choices]);
          const picked = gatherRows(h.logits, ids) as tf.Tensor3D; // [T', rows, choices]
          out[h.name] = tf.add(
            tf.mul(picked, mask),
            tf.mul(tf.sub(1, mask), MASKED_LOGIT),
          ) as tf.Tensor3D; // masked as r's logits
        }
        return out;
      });
    },
    dispose: () => params.dispose(),
  };
}

/** y = MLP(s): [B, V] symbols of the pairs and the run's task ids -> [tasks.length, B]. */
export interface OutputMlp {
  readonly params: ParamStore;
  readonly variant: CnnMlpVariant;
  call(s: tf.Tensor2D, tasks: readonly number[]): tf.Tensor2D;
  dispose(): void;
}

/**
 * The CNN+MLP head. `per-task`: for each task its own V -> H -> 1 MLP with a ReLU (batched as
 * [T, ...] weights; one hidden layer keeps T of them cheap); `shared`: one (V + T) -> H -> H -> 1
 * MLP on [s; one-hot(task)].
 */
export function createOutputMlp(args: {
  readonly numInputs: number;
  readonly numTasks: number;
  readonly hidden: number;
  readonly variant: CnnMlpVariant;
  readonly seed: number;
}): OutputMlp {
  const { numInputs: V, numTasks: T, hidden: H, variant } = args;
  const params = createParamStore(args.seed);
  const bias = (n: number) => uniformInit(1 / Math.sqrt(n));
  if (variant === "per-task") {
    const w0 = params.create("mlp/w0", [T, V, H], heUniform);
    const b0 = params.create("mlp/b0", [T, 1, H], bias(V));
    const w2 = params.create("mlp/w2", [T, H, 1], glorotUniform);
    const b2 = params.create("mlp/b2", [T, 1, 1], zerosInit);
    return {
      params,
      variant,
      call: (s, tasks) =>
        tf.tidy(() => {
          const B = s.shape[0];
          const pick = (w: tf.Variable) => gatherRows(w, tasks) as tf.Tensor3D;
          const x = tf.add(
            tf.zeros([tasks.length, B, V]),
            tf.reshape(s, [1, B, V]),
          ) as tf.Tensor3D; // [T', B, V]
          const h0 = tf.relu(tf.add(tf.matMul(x, pick(w0)), pick(b0))); // [T', B, H]
          const y = tf.add(tf.matMul(h0 as tf.Tensor3D, pick(w2)), pick(b2)); // [T', B, 1]
          return tf.reshape(y, [tasks.length, B]) as tf.Tensor2D;
        }),
      dispose: () => params.dispose(),
    };
  }
  const w0 = params.create("mlp/w0", [V + T, H], heUniform);
  const b0 = params.create("mlp/b0", [H], bias(V + T));
  const w1 = params.create("mlp/w1", [H, H], heUniform);
  const b1 = params.create("mlp/b1", [H], bias(H));
  const w2 = params.create("mlp/w2", [H, 1], glorotUniform);
  const b2 = params.create("mlp/b2", [1], zerosInit);
  return {
    params,
    variant,
    call: (s, tasks) =>
      tf.tidy(() => {
        const B = s.shape[0];
        const n = tasks.length;
        // [s; one-hot(task)] per (task, pair): [n * B, V + T]. The one-hot part of the first
        // layer is a row of w0 per task, so it is gathered, not multiplied.
        const sPart = tf.matMul(s, tf.slice(w0, [0, 0], [V, H])); // [B, H]
        const taskPart = gatherRows(tf.slice(w0, [V, 0], [T, H]), tasks); // [n, H]
        const pre = tf.add(
          tf.add(tf.reshape(sPart, [1, B, H]), tf.reshape(taskPart, [n, 1, H])),
          b0,
        ); // [n, B, H]
        const h0 = tf.relu(tf.reshape(pre, [n * B, H]));
        const h1 = tf.relu(tf.add(tf.matMul(h0 as tf.Tensor2D, w1), b1));
        const y = tf.add(tf.matMul(h1 as tf.Tensor2D, w2), b2); // [n * B, 1]
        return tf.reshape(y, [n, B]) as tf.Tensor2D;
      }),
    dispose: () => params.dispose(),
  };
}

/**
 * The output MLP as the model's recognizer slot: its weights are the recognizer's params (so
 * checkpoints and the optimizer see them); there is no program to infer, so `call` throws.
 */
export function outputMlpAsRecognizer(mlp: OutputMlp): Recognizer {
  return {
    params: mlp.params,
    get variables() {
      return mlp.params.variables();
    },
    call() {
      throw new Error("the CNN+MLP baseline has no programs to infer");
    },
    dispose: () => mlp.dispose(),
  };
}

/**
 * Fits a fresh one-task MLP (`per-task` shape) to symbols [N, V] and outputs [N] by full-batch
 * Adam, for a new task of the generalization loss; returns its predictions on `test` [M, V].
 */
export function fitAndPredict(args: {
  readonly train: readonly (readonly number[])[];
  readonly y: readonly number[];
  readonly test: readonly (readonly number[])[];
  readonly hidden: number;
  readonly seed: number;
  readonly steps?: number;
  readonly learningRate?: number;
}): number[] {
  const V = args.train[0]?.length ?? 0;
  const mlp = createOutputMlp({
    numInputs: V,
    numTasks: 1,
    hidden: args.hidden,
    variant: "per-task",
    seed: args.seed,
  });
  const optimizer = tf.train.adam(args.learningRate ?? 1e-2);
  try {
    const s = tf.tensor2d(
      args.train.map((x) => [...x]),
      [args.train.length, V],
    );
    const y = tf.tensor2d([...args.y], [1, args.y.length]);
    for (let i = 0; i < (args.steps ?? 300); i++) {
      const cost = optimizer.minimize(
        () => tf.mean(tf.square(tf.sub(mlp.call(s, [0]), y))) as tf.Scalar,
        true,
        mlp.params.variables(),
      );
      cost?.dispose();
    }
    s.dispose();
    y.dispose();
    return tf.tidy(() =>
      Array.from(
        mlp
          .call(
            tf.tensor2d(
              args.test.map((x) => [...x]),
              [args.test.length, V],
            ),
            [0],
          )
          .dataSync(),
      ),
    );
  } finally {
    optimizer.dispose();
    mlp.dispose();
  }
}
