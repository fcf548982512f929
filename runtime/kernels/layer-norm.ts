// LayerNorm over the last axis of rows [N, D], optionally fused with the ReLU after it, with a
// hand-written gradient. Row means are matMuls with a [D, 1] column, column sums are pooled,
// and per-row statistics broadcast only along the last axis: tfjs autodiff of
// tf.moments would reduce and broadcast along other axes, which is slow on wasm.

import * as tf from "@tensorflow/tfjs-core";

import {
  LAYER_NORM_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  nativeKernelsActive,
} from "./native.js";
import { sumRows } from "./outer-reduce.js";

export interface LayerNormOptions {
  /** Added to the variance; PyTorch's default is 1e-5. */
  readonly epsilon: number;
  /** Apply ReLU to the output (its gradient at 0 is 0, as tf.relu's). */
  readonly relu: boolean;
}

/**
 * (x - mean) / sqrt(var + epsilon) * gain + bias per row of x [N, D] (biased variance), then
 * ReLU if asked: [N, D] -> [N, D], differentiable in x, gain [D] and bias [D].
 */
export function layerNorm(
  x: tf.Tensor2D,
  gain: tf.Tensor1D,
  bias: tf.Tensor1D,
  options: LayerNormOptions,
): tf.Tensor2D {
  const forward = nativeKernelsActive() ? nativeForward : composedForward;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [
      tf.Tensor2D,
      tf.Tensor1D,
      tf.Tensor1D,
      tf.GradSaveFunc,
    ];
    return forward(input, g, b, save, options);
  });
  return op(x, gain, bias) as tf.Tensor2D;
}

/** A LayerNorm's value and gradient, as tf.customGrad wants them. */
type LayerNormForward = (
  input: tf.Tensor2D,
  g: tf.Tensor1D,
  b: tf.Tensor1D,
  save: tf.GradSaveFunc,
  options: LayerNormOptions,
) => {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.Tensor[];
};

/** Composed of TF.js ops, for every backend. */
const composedForward: LayerNormForward = (
  input,
  g,
  b,
  save,
  { epsilon, relu },
) => {
  const dim = input.shape[1];
  // 1. Per-row mean and biased variance, as matMuls with a column of 1 / D.
  const meanColumn = tf.fill([dim, 1], 1 / dim); // [D, 1]
  const centred = tf.sub(input, tf.matMul(input, meanColumn)); // [N, D]
  const variance = tf.matMul(tf.square(centred), meanColumn); // [N, 1]
  const invStd = tf.rsqrt(tf.add(variance, epsilon)); // [N, 1]
  // 2. Normalise, then the learned gain and bias (and ReLU).
  const normed = tf.mul(centred, invStd); // [N, D]
  const affine = tf.add(tf.mul(normed, g), b); // [N, D]
  const out = relu ? tf.relu(affine) : affine;
  save([normed, invStd, g, out]);
  return {
    value: out,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [xHat, rstd, gainS, outS] = saved as [
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor1D,
        tf.Tensor2D,
      ];
      const d = xHat.shape[1];
      // 3. Through the ReLU: out > 0 exactly where its input > 0.
      const dAffine = (
        relu ? tf.mul(dy as tf.Tensor, tf.step(outS)) : dy
      ) as tf.Tensor2D; // [N, D]
      const dGainTerms = tf.mul(dAffine, xHat) as tf.Tensor2D; // [N, D]
      // 4. With dxHat = dAffine * gain:
      //    dx = invStd * (dxHat - mean(dxHat) - xHat * mean(dxHat * xHat)),
      //    where both means are matMuls with the column gain / D.
      const gainColumn = tf.reshape(tf.div(gainS, d), [d, 1]); // [D, 1]
      const meanDxHat = tf.matMul(dAffine, gainColumn); // [N, 1]
      const meanDxHatXHat = tf.matMul(dGainTerms, gainColumn); // [N, 1]
      const dxHat = tf.mul(dAffine, gainS); // [N, D]
      const dx = tf.mul(
        tf.sub(tf.sub(dxHat, tf.mul(xHat, meanDxHatXHat)), meanDxHat),
        rstd,
      ); // [N, D]
      return [dx, sumRows(dGainTerms), sumRows(dAffine)];
    },
  };
};

/** The same LayerNorm (+ ReLU) as one native kernel each way (kernels/native.ts, on wasm). */
const nativeForward: LayerNormForward = (
  input,
  g,
  b,
  save,
  { epsilon, relu },
) => {
  const [out, xHat, rstd] = tf
    .engine()
    .runKernel(
      LAYER_NORM_KERNEL,
      { x: input, gain: g, bias: b },
      { epsilon, relu },
    ) as tf.Tensor[];
  save([xHat, rstd, g, out]);
  return {
    value: out,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [savedXHat, savedRstd, savedGain, savedOut] = saved;
      return tf.engine().runKernel(
        LAYER_NORM_GRAD_KERNEL,
        {
          dy: dy as tf.Tensor,
          xHat: savedXHat,
          rstd: savedRstd,
          gain: savedGain,
          out: savedOut,
        },
        { relu },
      ) as tf.Tensor[];
    },
  };
};
