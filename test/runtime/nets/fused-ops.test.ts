// The hand-written gradients behind Dense, LayerNorm and setMax (runtime/kernels) against the
// plain formulas they replace, differentiated by tfjs autodiff, on random inputs: values and
// gradients must agree within 1e-5 (relative to the largest entry), on cpu and on wasm.

import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";

import { selectBackend } from "../../../runtime/backend.js";
import { layerNorm } from "../../../runtime/kernels/layer-norm.js";
import { linear } from "../../../runtime/kernels/linear.js";
import { sumRows } from "../../../runtime/kernels/outer-reduce.js";
import { reshapeNoCopy } from "../../../runtime/kernels/reshape.js";
import { setMax } from "../../../runtime/nets/layers.js";

const EPSILON = 1e-5;
const TOLERANCE = 1e-5;

/** max |a - b| / max |b|, over all entries. */
function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const scale = Math.max(tf.max(tf.abs(b)).dataSync()[0], 1e-12);
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / scale;
  });
}

/** Value and gradients of sum(f(...inputs) * weights) with respect to every input. */
function valueAndGrads(
  f: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  weights: tf.Tensor,
): tf.Tensor[] {
  const value = f(...inputs);
  const grads = tf.grads((...xs: tf.Tensor[]) =>
    tf.sum(tf.mul(f(...xs), weights)),
  )(inputs);
  return [value, ...grads];
}

/** Expects both functions to give the same value and gradients within TOLERANCE. */
function expectSameValueAndGrads(
  f: (...inputs: tf.Tensor[]) => tf.Tensor,
  reference: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  seed: number,
): void {
  tf.tidy(() => {
    const weights = tf.randomNormal(
      reference(...inputs).shape,
      0,
      1,
      "float32",
      seed,
    );
    const actual = valueAndGrads(f, inputs, weights);
    const expected = valueAndGrads(reference, inputs, weights);
    actual.forEach((a, i) => {
      expect(a.shape).toEqual(expected[i].shape);
      expect(relativeError(a, expected[i])).toBeLessThan(TOLERANCE);
    });
  });
}

/** LayerNorm as the nets computed it before: tf.moments over the last axis. */
function referenceLayerNorm(
  x: tf.Tensor,
  gain: tf.Tensor,
  bias: tf.Tensor,
): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPSILON)));
  return tf.add(tf.mul(normed, gain), bias);
}

/** The set max-pool as the nets computed it before: tied maxima share the gradient evenly. */
function referenceSetMax(x: tf.Tensor, axis: number): tf.Tensor {
  const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const maxKeep = tf.max(input, axis, true);
    save([input, maxKeep]);
    return {
      value: tf.squeeze(maxKeep, [axis]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedInput, savedMax] = saved;
        const isMax = tf.cast(tf.equal(savedInput, savedMax), "float32");
        const share = tf.div(isMax, tf.sum(isMax, axis, true));
        return tf.mul(tf.expandDims(dy as tf.Tensor, axis), share);
      },
    };
  });
  return pool(x);
}

const normal = (shape: number[], seed: number, std = 1): tf.Tensor =>
  tf.randomNormal(shape, 0.3, std, "float32", seed);

for (const backend of ["cpu", "wasm"] as const) {
  describe(`fused ops on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });

    it("layerNorm matches the tf.moments formula, with and without ReLU", () => {
      for (const [rows, dim] of [
        [300, 128],
        [7, 6],
      ]) {
        const x = normal([rows, dim], 1, 3);
        const gain = normal([dim], 2);
        const bias = normal([dim], 3);
        for (const relu of [false, true]) {
          expectSameValueAndGrads(
            (a, g, b) =>
              layerNorm(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, {
                epsilon: EPSILON,
                relu,
              }),
            (a, g, b) => {
              const out = referenceLayerNorm(a, g, b);
              return relu ? tf.relu(out) : out;
            },
            [x, gain, bias],
            4,
          );
        }
        tf.dispose([x, gain, bias]);
      }
    });

    it("linear matches matMul + bias, for narrow and wide inputs", () => {
      for (const [rows, inputs, units] of [
        [300, 2, 16],
        [300, 40, 16],
      ]) {
        const x = normal([rows, inputs], 5);
        const kernel = normal([inputs, units], 6);
        const bias = normal([units], 7);
        expectSameValueAndGrads(
          (a, k, b) =>
            linear(a as tf.Tensor2D, k as tf.Tensor2D, b as tf.Tensor1D),
          (a, k, b) => tf.add(tf.matMul(a, k), b),
          [x, kernel, bias],
          8,
        );
        expectSameValueAndGrads(
          (a, k) => linear(a as tf.Tensor2D, k as tf.Tensor2D, null),
          (a, k) => tf.matMul(a, k),
          [x, kernel],
          9,
        );
        tf.dispose([x, kernel, bias]);
      }
    });

    it("setMax matches the equal-based max-pool, ties included, for any set axis", () => {
      // Rounded values make ties within a set common.
      const x = tf.round(tf.mul(normal([4, 6, 5, 3], 10), 2));
      for (const axis of [0, 1, 2, 3]) {
        expectSameValueAndGrads(
          (a) => setMax(a, axis),
          (a) => referenceSetMax(a, axis),
          [x],
          11 + axis,
        );
      }
      x.dispose();
    });

    it("sumRows and reshapeNoCopy match tf.sum and tf.reshape", () => {
      tf.tidy(() => {
        const x = normal([1000, 24], 12) as tf.Tensor2D;
        expect(relativeError(sumRows(x), tf.sum(x, 0))).toBeLessThan(TOLERANCE);
        expectSameValueAndGrads(
          (a) => tf.square(reshapeNoCopy(a, [250, 4, 24])),
          (a) => tf.square(tf.reshape(a, [250, 4, 24])),
          [x],
          13,
        );
      });
    });
  });
}
