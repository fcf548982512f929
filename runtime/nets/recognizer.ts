// The program synthesizer r of Sec. 3.2: a PointNet over each task's set of symbol-output
// pairs {(s^i, y^i)} that predicts logits for every program-parameter head of the sketch.
// Max-pooling over the pairs makes it invariant to their order and to their number (App. A).

import * as tf from "@tensorflow/tfjs-core";

import { createMlp, setMax, type Dense, type Mlp } from "./layers.js";
import { createParamStore, type ParamStore } from "./params.js";
import type { HeadInfo, SketchInfo } from "../sketch-module.js";

/**
 * The logit of a choice the sketch forbids (mask 0). Finite, so softmax gives exactly 0 there
 * (exp underflows) with no NaN from `0 * -Infinity` in p log p or from rows of equal logits.
 */
export const MASKED_LOGIT = -1e9;

export interface RecognizerArgs {
  readonly sketch: SketchInfo;
  /** Width of the two hidden layers of every MLP; the paper uses 256. */
  readonly hidden?: number;
  /** Width of the PointNet features h_out, h_io and each h_rel[j]; default 256. */
  readonly featureSize?: number;
  readonly seed: number;
}

/** Program logits per head, [T, rows, choices], masked entries at MASKED_LOGIT. */
export type ProgramLogits = Record<string, tf.Tensor3D>;

export interface Recognizer {
  readonly params: ParamStore;
  readonly variables: tf.Variable[];
  /**
   * s: [B, V] (symbols shared by all tasks) or [T, B, V]; y: [T, B] -> logits per head.
   * T is taken from y.
   */
  call(s: tf.Tensor2D | tf.Tensor3D, y: tf.Tensor2D): ProgramLogits;
  dispose(): void;
}

/** Creates r with MLP_out, MLP_rel, MLP_io and MLP_prog of Sec. 3.2, sized from `sketch.heads`. */
export function createRecognizer(args: RecognizerArgs): Recognizer {
  const { sketch } = args;
  const numInputs = sketch.numInputs; // V
  const hidden = args.hidden ?? 256;
  const featureSize = args.featureSize ?? 256;
  const heads = sketch.heads.map(checkHead);
  const params = createParamStore(args.seed);
  const mlp = (name: string, inputDim: number, outputDim: number): Mlp =>
    createMlp(params, name, { inputDim, hidden: [hidden, hidden], outputDim });

  const mlpOut = mlp("mlp_out", 1, featureSize); // y^i
  const mlpRel = mlp("mlp_rel", 2, featureSize); // [y^i; s^i_j], shared over j
  const mlpIo = mlp("mlp_io", 1 + numInputs, featureSize); // [y^i; s^i]
  const logitCount = heads.reduce((n, h) => n + h.rows * h.choices, 0);
  const mlpProg = mlp("mlp_prog", (2 + numInputs) * featureSize, logitCount);

  // Per head, mask m and bias (1 - m) * MASKED_LOGIT: logits * m + bias is the masked logit.
  // Constants of the sketch, uploaded per call (tiny) so the net holds no tensors but its weights.
  const maskValues = heads.map((h) => Float32Array.from(h.mask.flat()));
  const maskBiasValues = maskValues.map((m) =>
    m.map((allowed) => (1 - allowed) * MASKED_LOGIT),
  );

  const call = (s: tf.Tensor2D | tf.Tensor3D, y: tf.Tensor2D): ProgramLogits =>
    tf.tidy(() => {
      const [numTasks, batch] = y.shape; // T, B
      const shared = s.rank === 2;
      if (s.shape[s.rank - 1] !== numInputs || s.shape[s.rank - 2] !== batch) {
        throw new Error(
          `Recognizer: s has shape [${s.shape}], expected [(T,) ${batch}, ${numInputs}]`,
        );
      }
      const yCol = tf.expandDims(y, 2); // [T, B, 1]

      // 1. h_out = max_i MLP_out(y^i)
      const hOut = setMax(mlpOut.call(yCol), 1); // [T, F]

      // The first Linear of MLP_rel and MLP_io is applied by input part, [y; s] W = y W_y + s W_s,
      // so shared symbols go through W_s once ([B, ...]) and broadcast over the T tasks.
      const yPart = (first: Dense): tf.Tensor =>
        tf.add(
          tf.mul(yCol, tf.reshape(kernelRows(first.kernel, 0, 1), [hidden])),
          first.bias!,
        ); // [T, B, H]

      // 2. h_rel[j] = max_i MLP_rel([y^i; s^i_j]) for every j, one MLP shared over j
      const firstRel = mlpRel.linears[0];
      const relY = tf.expandDims(yPart(firstRel), 2); // [T, B, 1, H]
      const relWeightOfS = tf.reshape(kernelRows(firstRel.kernel, 1, 1), [
        hidden,
      ]); // [H]
      const relS = tf.mul(tf.expandDims(s, -1), relWeightOfS); // [(T,) B, V, H]
      const relFeatures = mlpRel.callAfterFirstLinear(tf.add(relY, relS)); // [T, B, V, F]
      const hRel = tf.reshape(setMax(relFeatures, 1), [
        numTasks,
        numInputs * featureSize,
      ]); // [T, V * F]

      // 3. h_io = max_i MLP_io([y^i; s^i])
      const firstIo = mlpIo.linears[0];
      const ioWeightOfS = kernelRows(firstIo.kernel, 1, numInputs); // [V, H]
      const ioS = shared
        ? tf.matMul(s as tf.Tensor2D, ioWeightOfS) // [B, H]
        : tf.matMul(tf.reshape(s, [-1, numInputs]), ioWeightOfS); // [T * B, H]
      const ioPre = tf.add(
        yPart(firstIo),
        shared ? ioS : tf.reshape(ioS, [numTasks, batch, hidden]),
      ); // [T, B, H]
      const hIo = setMax(mlpIo.callAfterFirstLinear(ioPre), 1); // [T, F]

      // 4. MLP_prog([h_out; h_io; h_rel[1..V]]) -> all logits, split into heads, then masked.
      const logits = mlpProg.call(tf.concat([hOut, hIo, hRel], 1)); // [T, sum rows * choices]
      const parts = tf.split(
        logits,
        heads.map((h) => h.rows * h.choices),
        1,
      );
      const out: ProgramLogits = {};
      heads.forEach((h, k) => {
        const shape: [number, number, number] = [1, h.rows, h.choices];
        const headLogits = tf.reshape(parts[k], [numTasks, h.rows, h.choices]); // [T, rows, choices]
        const masked = tf.add(
          tf.mul(headLogits, tf.tensor3d(maskValues[k], shape)),
          tf.tensor3d(maskBiasValues[k], shape),
        );
        out[h.name] = masked as tf.Tensor3D; // exactly MASKED_LOGIT, and no gradient, where masked
      });
      return out;
    });

  return {
    params,
    get variables() {
      return params.variables();
    },
    call,
    dispose: () => params.dispose(),
  };
}

/** Rows [start, start + count) of a Linear kernel [in, H]: the weights of one input part. */
function kernelRows(
  kernel: tf.Tensor,
  start: number,
  count: number,
): tf.Tensor2D {
  const [, width] = kernel.shape as [number, number];
  return tf.slice(kernel, [start, 0], [count, width]) as tf.Tensor2D; // [count, H]
}

interface CheckedHead {
  readonly name: string;
  readonly rows: number;
  readonly choices: number;
  readonly mask: readonly (readonly number[])[];
}

/** Internal contract with compiled sketches: the mask must match the head's shape. */
function checkHead(head: HeadInfo): CheckedHead {
  const [rows, choices] = head.shape;
  const ok =
    head.mask.length === rows && head.mask.every((r) => r.length === choices);
  if (!ok)
    throw new Error(
      `Recognizer: mask of head '${head.name}' is not ${rows} x ${choices}`,
    );
  return { name: head.name, rows, choices, mask: head.mask };
}
