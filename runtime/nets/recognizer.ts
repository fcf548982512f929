// The program synthesizer r of Sec. 3.2: a PointNet over each task's set of symbol-output
// pairs {(s^i, y^i)} that predicts logits for every program-parameter head of the sketch.
// Max-pooling over the pairs makes it invariant to their order and to their number (App. A).

import * as tf from "@tensorflow/tfjs-core";

import { createMlp, setMax, type Mlp } from "./layers.js";
import { createParamStore, type ParamStore } from "./params.js";
import { reshapeNoCopy } from "../kernels/reshape.js";
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
   * T is taken from y. `tasks`: the run's task ids of y's rows, which r ignores (it reads the
   * pairs) and the free logits of the no-amortization baseline need (nets/baselines.ts).
   */
  call(
    s: tf.Tensor2D | tf.Tensor3D,
    y: tf.Tensor2D,
    tasks?: readonly number[],
  ): ProgramLogits;
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

  // Mask m and bias (1 - m) * MASKED_LOGIT over all heads' logits, in MLP_prog's output order:
  // logits * m + bias is the masked logit. Constants of the sketch, uploaded per call (tiny) so
  // the net holds no tensors but its weights.
  const maskValues = Float32Array.from(heads.flatMap((h) => h.mask.flat()));
  const maskBiasValues = maskValues.map(
    (allowed) => (1 - allowed) * MASKED_LOGIT,
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
      // The set axis goes first ([B, T, ...]): every MLP sees rows, and the max-pool then
      // reduces the outer axis. Inputs are built feature-major ([features, B, T, ...]), where
      // concatenation is contiguous, then transposed to rows (they are small).
      const yRows = tf.reshape(tf.transpose(y), [1, batch, numTasks]); // [1, B, T]
      const sRows = shared
        ? tf.reshape(tf.transpose(s), [numInputs, batch, 1]) // [V, B, 1]
        : tf.transpose(s, [2, 1, 0]); // [V, B, T]
      const rows = (features: tf.Tensor): tf.Tensor2D => {
        const width = features.shape[0];
        return tf.transpose(tf.reshape(features, [width, -1])) as tf.Tensor2D; // [rows, width]
      };
      const pool = (features: tf.Tensor): tf.Tensor =>
        setMax(reshapeNoCopy(features, [batch, features.size / batch]), 0); // [T * ... * F]

      // 1. h_out = max_i MLP_out(y^i)
      const hOut = tf.reshape(pool(mlpOut.call(rows(yRows))), [
        numTasks,
        featureSize,
      ]); // [T, F]

      // 2. h_rel[j] = max_i MLP_rel([y^i; s^i_j]) for every j, one MLP shared over j
      const relShape = [1, batch, numTasks, numInputs];
      const relIn = tf.concat(
        [
          broadcastSmall(tf.reshape(yRows, [1, batch, numTasks, 1]), relShape),
          broadcastSmall(
            tf.reshape(tf.transpose(sRows, [1, 2, 0]), [
              1,
              batch,
              shared ? 1 : numTasks,
              numInputs,
            ]),
            relShape,
          ),
        ],
        0,
      ); // [2, B, T, V]
      const hRel = tf.reshape(pool(mlpRel.call(rows(relIn))), [
        numTasks,
        numInputs * featureSize,
      ]); // [T, V * F]

      // 3. h_io = max_i MLP_io([y^i; s^i])
      const ioIn = tf.concat(
        [yRows, broadcastSmall(sRows, [numInputs, batch, numTasks])],
        0,
      ); // [1 + V, B, T]
      const hIo = tf.reshape(pool(mlpIo.call(rows(ioIn))), [
        numTasks,
        featureSize,
      ]); // [T, F]

      // 4. MLP_prog([h_out; h_io; h_rel[1..V]]) -> all logits, masked, then split into heads.
      // Masking before the split broadcasts along the last axis only (fast on wasm).
      const logits = mlpProg.call(tf.concat([hOut, hIo, hRel], 1)); // [T, sum rows * choices]
      const masked = tf.add(
        tf.mul(logits, tf.tensor1d(maskValues)),
        tf.tensor1d(maskBiasValues),
      ); // exactly MASKED_LOGIT, and no gradient, where masked
      const parts = tf.split(
        masked,
        heads.map((h) => h.rows * h.choices),
        1,
      );
      const out: ProgramLogits = {};
      heads.forEach((h, k) => {
        out[h.name] = reshapeNoCopy<tf.Rank.R3>(parts[k], [
          numTasks,
          h.rows,
          h.choices,
        ]); // [T, rows, choices]
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

/**
 * Broadcasts a small tensor (the inputs, not the features) to `shape` with a broadcasting add,
 * whose gradient sums back over the broadcast axes. tf.broadcastTo (Tile) is slow on wasm.
 */
function broadcastSmall(x: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.add(x, tf.zeros(shape));
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
