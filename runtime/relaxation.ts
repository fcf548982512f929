// The continuous relaxation of programs (Sec. 3.2): gumbel-softmax samples of z from the
// recognizer's logits (Eq. 5), and the schedules of the temperature and the length prior (Sec. 4.1).

import * as tf from "@tensorflow/tfjs-core";
import type { ProgramParams } from "./sketch-module.js";

/**
 * One relaxed sample per head: softmax((logits + g) * sharpness), g ~ Gumbel(0, 1) (Eq. 5 with
 * the reparameterisation trick). `seed` makes the noise reproducible. With `gumbel: false` this is
 * the plain softmax of the "w/o gumbel-softmax" ablation. Masked logits (-1e9) stay at 0.
 */
export function sampleRelaxed(
  logits: Readonly<Record<string, tf.Tensor3D>>,
  options: {
    sharpness: number;
    gumbel: boolean;
    seed: number;
    /** Straight-through: one-hot samples forward, the soft sample's gradient backward. */
    hard?: boolean;
  },
): ProgramParams {
  return tf.tidy(() => {
    const out: Record<string, tf.Tensor3D> = {};
    Object.keys(logits)
      .sort()
      .forEach((name, k) => {
        const x = logits[name]; // [T, rows, choices]
        let perturbed: tf.Tensor = x;
        if (options.gumbel) {
          // g = -log(-log u), u in (0, 1): clamp u away from 0 and 1 so g stays finite.
          const u = tf.randomUniform(
            x.shape,
            1e-6,
            1 - 1e-6,
            "float32",
            options.seed * 31 + k,
          );
          perturbed = tf.sub(x, tf.log(tf.neg(tf.log(u))));
        }
        const soft = tf.softmax(
          tf.mul(perturbed, options.sharpness),
        ) as tf.Tensor3D;
        out[name] = options.hard ? straightThrough(soft) : soft;
      });
    return out;
  });
}

/** Below this, Math.exp(x) is 0 (the smallest subnormal is exp(-745.13...)). */
const EXP_UNDERFLOW = -746;

/**
 * `count` discrete samples of q = softmax(logits) for every row of one head, drawn on the host
 * by inverse CDF (one uniform a row): the distribution of the argmax of `sampleRelaxed`'s
 * Gumbel-perturbed logits at sharpness 1, without a tensor of noise per sample. logits: the
 * head's [rows, choices], flat; masked entries (MASKED_LOGIT) get probability 0 and are never
 * drawn. Returns one [rows] array of chosen columns per sample.
 */
export function sampleChoices(
  logits: ArrayLike<number>,
  choices: number,
  count: number,
  random: () => number,
): Int32Array[] {
  const rows = logits.length / choices;
  // cdf[r * choices + c]: the unnormalized cumulative weight of row r's first c + 1 choices.
  const cdf = new Float64Array(logits.length);
  const last = new Int32Array(rows); // the last choice of a row with weight
  for (let r = 0; r < rows; r++) {
    const o = r * choices;
    let max = -Infinity;
    for (let c = 0; c < choices; c++) max = Math.max(max, logits[o + c]);
    let total = 0;
    for (let c = 0; c < choices; c++) {
      // exp underflows to exactly 0 below about -745.13, so a masked entry (MASKED_LOGIT, -1e9)
      // costs no exp: the same weights to the bit.
      const x = logits[o + c] - max;
      const w = x < EXP_UNDERFLOW ? 0 : Math.exp(x);
      total += w;
      cdf[o + c] = total;
      if (w > 0) last[r] = c;
    }
  }
  return Array.from({ length: count }, () => {
    const chosen = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const o = r * choices;
      const u = random() * cdf[o + choices - 1];
      let c = 0;
      while (c < last[r] && !(u < cdf[o + c])) c++;
      chosen[r] = c;
    }
    return chosen;
  });
}

/** Schedule knobs of Sec. 4.1, all in epochs. */
export interface ScheduleConfig {
  /** Sharpness (inverse temperature) of the relaxed samples before `lateEpoch`. */
  readonly sharpness: number;
  /** Sharpness from `lateEpoch` on: the paper raises it to 3 from epoch 15 to narrow the gap
   * between the relaxed and the discrete program near the end of training. */
  readonly lateSharpness: number;
  readonly lateEpoch: number;
  /** The length prior of Eq. 6 is off before this epoch (the paper: epoch 10). */
  readonly priorEpoch: number;
  /** lambda of Eq. 6. */
  readonly lengthPrior: number;
}

/** Sharpness of the gumbel-softmax samples at `epoch` (0-based). */
export function sharpnessAt(epoch: number, c: ScheduleConfig): number {
  return epoch >= c.lateEpoch ? c.lateSharpness : c.sharpness;
}

/** Adam's learning rate at `epoch` (0-based): times `lateLearningRate` from `lateEpoch` on. */
export function learningRateAt(
  epoch: number,
  c: { learningRate: number; lateLearningRate: number; lateEpoch: number },
): number {
  return epoch >= c.lateEpoch
    ? c.learningRate * c.lateLearningRate
    : c.learningRate;
}

/** lambda of Eq. 6 at `epoch` (0-based): 0 before the prior is switched on. */
export function lengthWeightAt(epoch: number, c: ScheduleConfig): number {
  return epoch >= c.priorEpoch ? c.lengthPrior : 0;
}

/** One-hot argmax of each row forward; identity gradient backward (straight-through estimator). */
export function straightThrough(soft: tf.Tensor3D): tf.Tensor3D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const choices = x.shape[x.rank - 1];
    // An int oneHot cast to float: a float oneHot is wrong on wasm.
    const hard = tf.cast(tf.oneHot(tf.argMax(x, -1), choices), "float32");
    return { value: hard, gradFunc: (dy: tf.Tensor | tf.Tensor[]) => dy };
  });
  return op(soft) as tf.Tensor3D;
}
