// A Linear layer on rows, x W + b, with a hand-written gradient built only from kernels that are
// fast on wasm: flag-free 2-D matMuls, explicit transposes, and pooled column sums for the bias
// (and for the kernel of a narrow input). Autodiff of matMul + add would sum the bias gradient
// with a transposing reduction.

import * as tf from "@tensorflow/tfjs-core";

import { nativeKernelsActive } from "./native.js";
import { sumRows } from "./outer-reduce.js";

/**
 * x [N, in] @ kernel [in, out] + bias [out] -> [N, out], differentiable in all three:
 * dx = dy kernel^T, dkernel = x^T dy, dbias = 1^T dy.
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

/** Inputs up to this wide get dkernel from pooled column sums rather than a matMul. */
const NARROW_INPUTS = 8;

/**
 * [dx, dkernel] of x kernel, with explicit transposes: matMul's transpose flags are slow on
 * wasm's stock kernel (the native one takes them for free).
 */
function linearGrads(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
): [tf.Tensor2D, tf.Tensor2D] {
  if (nativeKernelsActive()) {
    return [
      tf.matMul(dy, kernel, false, true), // [N, in]
      tf.matMul(x, dy, true, false), // [in, out]
    ];
  }
  const [rows, inputs] = x.shape;
  const units = dy.shape[1];
  // x^T dy packs all of dy as matMul weights; for a narrow x the outer products
  // x[n, i] dy[n, :] summed over rows are cheaper.
  const dKernel =
    inputs <= NARROW_INPUTS
      ? tf.reshape(
          sumRows(
            tf.reshape(
              tf.mul(
                tf.reshape(x, [rows, inputs, 1]),
                tf.reshape(dy, [rows, 1, units]),
              ),
              [rows, inputs * units],
            ) as tf.Tensor2D,
          ),
          [inputs, units],
        )
      : tf.matMul(tf.transpose(x), dy); // [in, out]
  return [
    tf.matMul(dy, tf.transpose(kernel)), // [N, in]
    dKernel as tf.Tensor2D,
  ];
}
