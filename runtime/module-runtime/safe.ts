// The clamped ("safe") functions operator bodies call, in the tensor form (the soft interpreter)
// and the scalar form (exact evaluation, the fused interpreter). Generated modules import them
// from `sketchc/module-runtime`; both forms use the same clamps, so both compute the same value.

import * as tf from "@tensorflow/tfjs-core";

/** Clamp constants shared by the tensor and scalar forms (and the compiler's derivatives). */
export const SAFE = {
  /** |b| below this: a / b is 0. */
  divEpsilon: 1e-6,
  logFloor: 1e-6,
  sqrtFloor: 1e-12,
  expCeiling: 30,
} as const;

/** Safe functions over tensors: a / b is 0 where |b| < divEpsilon, with finite gradients. */
export const tensor = {
  div(a: tf.Tensor | number, b: tf.Tensor | number): tf.Tensor {
    const x = tf.add(a, tf.zerosLike(b)); // a and b broadcast to one shape
    const y = tf.add(b, tf.zerosLike(a));
    const ok = tf.greaterEqual(tf.abs(y), SAFE.divEpsilon);
    // Divide by 1 where |b| is tiny, so neither branch of where() makes NaN gradients.
    return tf.where(
      ok,
      tf.div(x, tf.where(ok, y, tf.onesLike(y))),
      tf.zerosLike(x),
    );
  },
  log: (x: tf.Tensor | number): tf.Tensor =>
    tf.log(tf.maximum(x, SAFE.logFloor)),
  sqrt: (x: tf.Tensor | number): tf.Tensor =>
    tf.sqrt(tf.maximum(x, SAFE.sqrtFloor)),
  exp: (x: tf.Tensor | number): tf.Tensor =>
    tf.exp(tf.minimum(x, SAFE.expCeiling)),
};

/** The same functions over numbers, for exact evaluation and the fused interpreter. */
export const scalar = {
  div: (a: number, b: number): number =>
    Math.abs(b) >= SAFE.divEpsilon ? a / b : 0,
  log: (x: number): number => Math.log(Math.max(x, SAFE.logFloor)),
  sqrt: (x: number): number => Math.sqrt(Math.max(x, SAFE.sqrtFloor)),
  exp: (x: number): number => Math.exp(Math.min(x, SAFE.expCeiling)),
  sigmoid: (x: number): number => 1 / (1 + Math.exp(-x)),
  relu: (x: number): number => Math.max(x, 0),
  square: (x: number): number => x * x,
};
