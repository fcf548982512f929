// A Linear layer on rows, x W + b, with a hand-written gradient built only from fast wasm
// kernels: flag-free 2-D matMuls, explicit transposes, and the bias gradient as a pooled sum.
// Autodiff of matMul + add would sum it with a transposing reduction instead.

import * as tf from "@tensorflow/tfjs-core";

import { sumRows } from "./outer-reduce.js";

/**
 * x [N, in] @ kernel [in, out] + bias [out] -> [N, out], differentiable in all three. The
 * gradient is dx = dy kernel^T, dkernel = x^T dy, dbias = 1^T dy.
 */
export function linear(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D | null,
): tf.Tensor2D {
  return bias === null
    ? (linearNoBias(x, kernel) as tf.Tensor2D)
    : (linearWithBias(x, kernel, bias) as tf.Tensor2D);
}

const linearWithBias = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, kernel, bias, save] = args as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.GradSaveFunc,
    ];
    save([x, kernel]);
    return {
      value: tf.fused.matMul({ a: x, b: kernel, bias }), // [N, out]
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedKernel] = saved as [tf.Tensor2D, tf.Tensor2D];
        const grad = dy as tf.Tensor2D;
        return [
          ...linearGrads(grad, savedX, savedKernel),
          sumRows(grad), // [out]
        ];
      },
    };
  },
);

const linearNoBias = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, kernel, save] = args as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.GradSaveFunc,
    ];
    save([x, kernel]);
    return {
      value: tf.matMul(x, kernel), // [N, out]
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedKernel] = saved as [tf.Tensor2D, tf.Tensor2D];
        return linearGrads(dy as tf.Tensor2D, savedX, savedKernel);
      },
    };
  },
);

/** [dx, dkernel] of x kernel, with explicit transposes: matMul's transpose flags are slow on wasm. */
function linearGrads(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
): [tf.Tensor2D, tf.Tensor2D] {
  return [
    tf.matMul(dy, tf.transpose(kernel)), // [N, in]
    tf.matMul(tf.transpose(x), dy), // [in, out]
  ];
}
