// Self-supervised pretraining of the grounder's features before ROAP (beyond the paper; Sec. 5
// suggests it): Invariant Information Clustering (Ji et al., ICCV 2019) on the training images,
// no labels. A temporary head of K logits on g's features is trained so that two augmented views
// of an image fall in the same of K clusters while all K clusters are used: the mutual
// information of the two views' cluster assignments. The head is then dropped; g keeps its
// features, and its own output layer starts fresh.

import * as tf from "@tensorflow/tfjs-core";
import type { Grounder } from "./nets/grounder.js";
import { createRng, deriveSeed } from "./random.js";

/** The random stream of the pretraining's batches and augmentations (random.ts `deriveSeed`). */
export const PRETRAIN_STREAM = 7_000_003;

export interface PretrainArgs {
  /** [count, H, W, C] images in [0, 1]. */
  readonly images: Float32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly steps: number;
  /** Images per step (each seen in two views). */
  readonly batch: number;
  /** K: clusters of the temporary head. */
  readonly clusters: number;
  readonly learningRate: number;
  readonly seed: number;
}

/**
 * The IIC loss of two views' cluster probabilities p, p2 ([N, K]): minus the mutual information
 * of the symmetrised joint P = (p^T p2 + p2^T p) / 2N, sum P (log P - log P_i - log P_j).
 */
export function iicLoss(p: tf.Tensor2D, p2: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const N = p.shape[0];
    const joint = tf.div(tf.matMul(p, p2, true, false), N); // [K, K]
    const P = tf.maximum(tf.div(tf.add(joint, tf.transpose(joint)), 2), 1e-8);
    const Pi = tf.sum(P, 1, true); // [K, 1]
    const Pj = tf.sum(P, 0, true); // [1, K]
    return tf.neg(
      tf.sum(tf.mul(P, tf.sub(tf.sub(tf.log(P), tf.log(Pi)), tf.log(Pj)))),
    ) as tf.Scalar;
  });
}

/**
 * One augmented view of image `k` into `out` at `at`: shifted by up to an eighth of its size in
 * each direction (zero padding) and with a little pixel noise; no flips (digits would change).
 */
function augment(
  args: PretrainArgs,
  k: number,
  out: Float32Array,
  at: number,
  rng: ReturnType<typeof createRng>,
): void {
  const { height: H, width: W, channels: C, images } = args;
  const reach = Math.max(1, Math.round(H / 8));
  const dy = rng.int(2 * reach + 1) - reach;
  const dx = rng.int(2 * reach + 1) - reach;
  const src = k * H * W * C;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sy = y - dy;
      const sx = x - dx;
      const inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
      for (let c = 0; c < C; c++) {
        const v = inside ? images[src + (sy * W + sx) * C + c] : 0;
        out[at + (y * W + x) * C + c] = Math.min(
          1,
          Math.max(0, v + 0.05 * rng.normal()),
        );
      }
    }
  }
}

/**
 * Pretrains `grounder`'s features in place by IIC for `args.steps` steps (Adam); returns the loss
 * of each step (about -log K when the K clusters are used evenly and agreed on, 0 at the start).
 */
export function pretrainGrounder(
  grounder: Grounder<tf.Tensor1D | tf.Tensor2D>,
  args: PretrainArgs,
): number[] {
  const { height: H, width: W, channels: C, batch, clusters: K } = args;
  const F = grounder.featureDim;
  const init = createRng(deriveSeed(args.seed, PRETRAIN_STREAM));
  const limit = Math.sqrt(6 / (F + K));
  // Created in a tidy: the initial tensors go, the variables (never tracked) stay.
  const { kernel, bias } = tf.tidy(() => ({
    kernel: tf.variable(
      tf.tensor2d(
        Float32Array.from(
          { length: F * K },
          () => (2 * init.next() - 1) * limit,
        ),
        [F, K],
      ),
    ),
    bias: tf.variable(tf.zeros([K])),
  }));
  const optimizer = tf.train.adam(args.learningRate);
  const per = H * W * C;
  const losses: number[] = [];
  try {
    for (let step = 0; step < args.steps; step++) {
      const rng = createRng(deriveSeed(args.seed, PRETRAIN_STREAM + 1 + step));
      const a = new Float32Array(batch * per);
      const b = new Float32Array(batch * per);
      for (let i = 0; i < batch; i++) {
        const k = rng.int(args.count);
        augment(args, k, a, i * per, rng);
        augment(args, k, b, i * per, rng);
      }
      const loss = optimizer.minimize(
        () => {
          const x = tf.tensor4d(a, [batch, H, W, C]);
          const x2 = tf.tensor4d(b, [batch, H, W, C]);
          const head = (f: tf.Tensor2D) =>
            tf.softmax(tf.add(tf.matMul(f, kernel), bias)) as tf.Tensor2D; // [N, K]
          return iicLoss(
            head(grounder.features(x)),
            head(grounder.features(x2)),
          );
        },
        true,
        [...grounder.variables, kernel, bias],
      );
      losses.push(loss!.dataSync()[0]);
      loss!.dispose();
    }
  } finally {
    kernel.dispose();
    bias.dispose();
    optimizer.dispose();
  }
  return losses;
}
