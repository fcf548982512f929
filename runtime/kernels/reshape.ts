// tf.reshape for tensors on a gradient tape, without a copy. tfjs's Reshape gradient saves its
// input (only for its shape), and the engine saves by cloning, which on wasm copies the whole
// tensor: ~1.5 ms per reshape of a [48000, 128] activation.

import * as tf from "@tensorflow/tfjs-core";

/** tf.reshape(x, shape), whose gradient reshapes dy back to x's shape (saving nothing). */
export function reshapeNoCopy<R extends tf.Rank>(
  x: tf.Tensor,
  shape: number[],
): tf.Tensor<R> {
  if (tf.util.arraysEqual(x.shape, shape)) return x as tf.Tensor<R>;
  const inputShape = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    return {
      value: tf.reshape(input, shape),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) =>
        tf.reshape(dy as tf.Tensor, inputShape),
    };
  });
  return op(x) as tf.Tensor<R>;
}
