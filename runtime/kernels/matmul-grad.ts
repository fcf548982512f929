// BatchMatMul gradient that never passes transpose flags to the matmul kernel.
// tfjs-backend-wasm's batched matmul is fast only without transposeA/transposeB; an explicit
// tf.transpose followed by a flag-free matmul was about 10x faster than the stock gradient.

import * as tf from "@tensorflow/tfjs-core";

import { nativeKernelsActive } from "./native.js";

interface MatMulAttrs {
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/** Swaps the last two axes. */
function transposeInner(x: tf.Tensor): tf.Tensor {
  const perm = [...Array(x.rank).keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return tf.transpose(x, perm);
}

/**
 * op(a) @ op(b), where op transposes the last two axes when its flag is set, using only
 * flag-free matmuls (except with the native kernels, whose flags cost nothing). Of the two equivalent forms op(a) @ op(b) and (op(b)^T @ op(a)^T)^T it
 * picks the one that moves fewer elements through transposes.
 */
export function matMulFlagFree(
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): tf.Tensor {
  // BLAS takes the flags for free.
  if (nativeKernelsActive()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => {
    const rows = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2];
    const cols = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
    const batch = Math.max(
      a.size / (a.shape[a.rank - 1] * a.shape[a.rank - 2]),
      b.size / (b.shape[b.rank - 1] * b.shape[b.rank - 2]),
    );
    const directCost = (transposeA ? a.size : 0) + (transposeB ? b.size : 0);
    const swappedCost =
      (transposeA ? 0 : a.size) +
      (transposeB ? 0 : b.size) +
      batch * rows * cols;
    if (directCost <= swappedCost) {
      return tf.matMul(
        transposeA ? transposeInner(a) : a,
        transposeB ? transposeInner(b) : b,
      );
    }
    return transposeInner(
      tf.matMul(
        transposeB ? b : transposeInner(b),
        transposeA ? a : transposeInner(a),
      ),
    );
  });
}

/** Sums a gradient over the batch axes that `shape` broadcast along, then takes its shape. */
function unbroadcast(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.util.arraysEqual(grad.shape, shape)) return grad;
  return tf.tidy(() => {
    const axes = tf.backend_util.getReductionAxes(shape, grad.shape);
    return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, shape);
  });
}

/**
 * Replacement gradient of BatchMatMul, for every combination of transpose flags and for
 * broadcast batch axes. With y = op(a) @ op(b): d op(a) = dy @ op(b)^T, d op(b) = op(a)^T @ dy.
 */
export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
    const dyT = dy as tf.Tensor;
    const da = (): tf.Tensor =>
      transposeA
        ? matMulFlagFree(b, dyT, transposeB, true)
        : matMulFlagFree(dyT, b, false, !transposeB);
    const db = (): tf.Tensor =>
      transposeB
        ? matMulFlagFree(dyT, a, true, transposeA)
        : matMulFlagFree(a, dyT, !transposeA, false);
    return {
      a: () => unbroadcast(da(), a.shape),
      b: () => unbroadcast(db(), b.shape),
    };
  },
};
