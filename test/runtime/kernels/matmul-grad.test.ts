// The flag-free BatchMatMul gradient against per-matrix reference gradients computed with the
// cpu backend's matmul (transpose flags there are correct), for every flag combination, batched
// inputs and broadcast batch axes.

import * as tf from "@tensorflow/tfjs-core";
import { describe, it } from "vitest";
import { BACKENDS, expectClose, on, wave } from "./helpers.js";

interface MatMulCase {
  readonly a: number[];
  readonly b: number[];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

const CASES: readonly MatMulCase[] = [
  { a: [4, 5], b: [5, 3], transposeA: false, transposeB: false },
  { a: [4, 5], b: [3, 5], transposeA: false, transposeB: true },
  { a: [5, 4], b: [5, 3], transposeA: true, transposeB: false },
  { a: [5, 4], b: [3, 5], transposeA: true, transposeB: true },
  { a: [2, 4, 5], b: [2, 5, 3], transposeA: false, transposeB: false },
  { a: [2, 5, 4], b: [2, 3, 5], transposeA: true, transposeB: true },
  { a: [1, 4, 5], b: [3, 5, 2], transposeA: false, transposeB: false },
  { a: [3, 5, 4], b: [5, 2], transposeA: true, transposeB: false },
  // tfjs-core's forward BatchMatMul is wrong when both sides broadcast ([2, 1] vs [1, 3]) on
  // every backend, so only one-sided batch broadcasting is tested.
  { a: [2, 3, 4, 5], b: [3, 2, 5], transposeA: false, transposeB: true },
  { a: [1, 3, 5, 4], b: [2, 3, 5, 2], transposeA: true, transposeB: false },
  { a: [64, 300], b: [300, 10], transposeA: false, transposeB: false },
];

/** Broadcasts a to the batch shape, as a list of 2-D matrices after applying its flag. */
function matrices(
  t: tf.Tensor,
  batch: number[],
  transpose: boolean,
): tf.Tensor2D[] {
  const [rows, cols] = t.shape.slice(-2);
  const full = tf.broadcastTo(
    tf.reshape(t, [...Array(batch.length + 2 - t.rank).fill(1), ...t.shape]),
    [...batch, rows, cols],
  );
  return tf
    .unstack(tf.reshape(full, [-1, rows, cols]))
    .map((m) => (transpose ? tf.transpose(m) : m) as tf.Tensor2D);
}

/** Reference gradients: per matrix, d op(a) = dy op(b)^T and d op(b) = op(a)^T dy, summed back over broadcast axes. */
function referenceGrads(c: MatMulCase): [tf.Tensor, tf.Tensor] {
  const a = wave(c.a, 0.2);
  const b = wave(c.b, 0.9);
  const y = tf.matMul(a, b, c.transposeA, c.transposeB);
  const batch = y.shape.slice(0, -2);
  const dy = tf.unstack(
    tf.reshape(wave(y.shape, 0.5), [-1, ...y.shape.slice(-2)]),
  ) as tf.Tensor2D[];
  const as = matrices(a, batch, c.transposeA);
  const bs = matrices(b, batch, c.transposeB);
  const unbroadcast = (
    grads: tf.Tensor2D[],
    shape: number[],
    transpose: boolean,
  ) => {
    const stacked = tf.stack(
      grads.map((g) => (transpose ? tf.transpose(g) : g)),
    );
    const full = tf.reshape(stacked, [...batch, ...shape.slice(-2)]);
    const lead = full.rank - shape.length;
    const axes = full.shape
      .map((d, i) => i)
      .filter(
        (i) => i < lead || (shape[i - lead] === 1 && full.shape[i] !== 1),
      );
    return tf.reshape(axes.length > 0 ? tf.sum(full, axes) : full, shape);
  };
  const da = dy.map((g, i) => tf.matMul(g, tf.transpose(bs[i])) as tf.Tensor2D);
  const db = dy.map((g, i) => tf.matMul(tf.transpose(as[i]), g) as tf.Tensor2D);
  return [
    unbroadcast(da, c.a, c.transposeA),
    unbroadcast(db, c.b, c.transposeB),
  ];
}

describe("batchMatMul gradient without transpose flags", () => {
  for (const backend of BACKENDS) {
    for (const c of CASES) {
      it(`${backend}: a ${c.a}${c.transposeA ? "^T" : ""} b ${c.b}${c.transposeB ? "^T" : ""}`, async () => {
        const expectedA = await on("cpu", () => referenceGrads(c)[0]);
        const expectedB = await on("cpu", () => referenceGrads(c)[1]);
        const grad = (which: 0 | 1) => () => {
          const loss = (a: tf.Tensor, b: tf.Tensor) => {
            const y = tf.matMul(a, b, c.transposeA, c.transposeB);
            return tf.sum(tf.mul(y, wave(y.shape, 0.5)));
          };
          return tf.grads(loss)([wave(c.a, 0.2), wave(c.b, 0.9)])[which];
        };
        expectClose(await on(backend, grad(0)), expectedA);
        expectClose(await on(backend, grad(1)), expectedB);
      });
    }
  }
});
