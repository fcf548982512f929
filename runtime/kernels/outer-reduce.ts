// Sums and maxima over an outer axis (the rows of a matrix, the set axis of a PointNet) as
// XNNPACK pooling windows. On wasm, tf.sum / tf.max over a non-innermost axis first transpose
// the whole tensor, and a ones-row matMul packs it as weights: both ~8x slower than a pool.
// Forward ops only, so they serve inside hand-written gradients on every backend.

import * as tf from "@tensorflow/tfjs-core";

import { nativeKernelsActive } from "./native.js";

/**
 * Pool channels at most this wide (the rest of an axis becomes the pool's width): wasm pools of
 * ~50000 channels fail with "memory access out of bounds" in tfjs-backend-wasm 4.22.
 */
const MAX_CHANNELS = 1024;

/** x [P, B, Q] as an NHWC batch [P, B, Q / C, C] whose channel count C divides Q. */
function asImages(x: tf.Tensor3D): tf.Tensor4D {
  const [p, b, q] = x.shape;
  let channels = Math.min(q, MAX_CHANNELS);
  while (q % channels !== 0) channels--;
  return tf.reshape(x, [p, b, q / channels, channels]) as tf.Tensor4D;
}

/** Max over the middle axis: [P, B, Q] -> [P, 1, Q]. */
export function maxOverMiddle(x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [p, b, q] = x.shape;
    const pooled = tf.maxPool(asImages(x), [b, 1], 1, "valid"); // [P, 1, Q / C, C]
    return tf.reshape(pooled, [p, 1, q]) as tf.Tensor3D;
  });
}

/** Mean over the middle axis: [P, B, Q] -> [P, 1, Q]. */
export function meanOverMiddle(x: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [p, b, q] = x.shape;
    const pooled = tf.avgPool(asImages(x), [b, 1], 1, "valid"); // [P, 1, Q / C, C]
    return tf.reshape(pooled, [p, 1, q]) as tf.Tensor3D;
  });
}

/** Sums the rows of x [N, D] -> [D]: a ones-row GEMM with the native kernels, else a pool. */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, d] = x.shape;
    if (nativeKernelsActive()) {
      return tf.reshape(tf.matMul(tf.ones([1, n]), x), [d]) as tf.Tensor1D;
    }
    const mean = meanOverMiddle(tf.reshape(x, [1, n, d]) as tf.Tensor3D); // [1, 1, D]
    return tf.reshape(tf.mul(mean, n), [d]) as tf.Tensor1D;
  });
}
