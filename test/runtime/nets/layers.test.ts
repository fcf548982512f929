import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";

import {
  createConv2d,
  createDense,
  createGroupNorm,
  createLayerNorm,
  createMlp,
  setMax,
} from "../../../runtime/nets/layers.js";
import { createParamStore } from "../../../runtime/nets/params.js";
import { gradientMismatches, maxAbsDiff, useCpuBackend } from "./setup-cpu.js";

beforeAll(useCpuBackend);

describe("layers", () => {
  it("dense maps the last axis of any rank", () => {
    const store = createParamStore(1);
    const dense = createDense(store, "d", { inputDim: 4, units: 5 });
    tf.tidy(() => {
      const x = tf.randomNormal([2, 3, 4], 0, 1, "float32", 1);
      expect(dense.call(x).shape).toEqual([2, 3, 5]);
      const rows = tf.reshape(dense.call(tf.reshape(x, [6, 4])), [2, 3, 5]);
      expect(maxAbsDiff(dense.call(x), rows)).toBeLessThan(1e-6);
    });
    store.dispose();
  });

  it("layerNorm gives zero mean and unit variance per row at init", () => {
    const store = createParamStore(1);
    const norm = createLayerNorm(store, "n", { dim: 8 });
    tf.tidy(() => {
      const x = tf.randomNormal([3, 8], 5, 3, "float32", 2);
      const { mean, variance } = tf.moments(norm.call(x), -1);
      expect(tf.max(tf.abs(mean)).dataSync()[0]).toBeLessThan(1e-5);
      expect(maxAbsDiff(variance, tf.onesLike(variance))).toBeLessThan(1e-3);
    });
    expect(store.names()).toEqual(["n/gain", "n/bias"]);
    store.dispose();
  });

  it("groupNorm normalises each example and group on its own", () => {
    const store = createParamStore(1);
    const norm = createGroupNorm(store, "g", { channels: 4, groups: 2 });
    tf.tidy(() => {
      const x = tf.randomNormal(
        [2, 3, 3, 4],
        2,
        4,
        "float32",
        3,
      ) as tf.Tensor4D;
      const y = tf.reshape(norm.call(x), [2, 9, 2, 2]); // [N, HW, G, C/G]
      const { mean, variance } = tf.moments(y, [1, 3]); // [N, G]
      expect(tf.max(tf.abs(mean)).dataSync()[0]).toBeLessThan(1e-5);
      expect(maxAbsDiff(variance, tf.onesLike(variance))).toBeLessThan(1e-3);
      // The first example alone gives the same result: no batch statistics.
      const alone = norm.call(tf.slice(x, [0, 0, 0, 0], [1, 3, 3, 4]));
      expect(
        maxAbsDiff(alone, tf.slice(norm.call(x), [0, 0, 0, 0], [1, 3, 3, 4])),
      ).toBeLessThan(1e-6);
    });
    expect(() =>
      createGroupNorm(store, "bad", { channels: 6, groups: 4 }),
    ).toThrow(/divide/);
    store.dispose();
  });

  it("conv2d keeps 'same' spatial size at stride 1 and halves it at stride 2", () => {
    const store = createParamStore(1);
    const conv = createConv2d(store, "c", {
      inChannels: 3,
      filters: 5,
      kernelSize: 3,
    });
    const strided = createConv2d(store, "s", {
      inChannels: 3,
      filters: 2,
      kernelSize: 1,
      strides: 2,
      useBias: false,
    });
    tf.tidy(() => {
      const x = tf.zeros([2, 6, 6, 3]) as tf.Tensor4D;
      expect(conv.call(x).shape).toEqual([2, 6, 6, 5]);
      expect(strided.call(x).shape).toEqual([2, 3, 3, 2]);
    });
    expect(strided.bias).toBeNull();
    store.dispose();
  });

  it("mlp is Linear -> LayerNorm -> ReLU twice, then Linear", () => {
    const store = createParamStore(1);
    const mlp = createMlp(store, "m", {
      inputDim: 3,
      hidden: [8, 8],
      outputDim: 2,
    });
    expect(store.names()).toEqual([
      "m/linear0/kernel",
      "m/linear0/bias",
      "m/norm0/gain",
      "m/norm0/bias",
      "m/linear1/kernel",
      "m/linear1/bias",
      "m/norm1/gain",
      "m/norm1/bias",
      "m/linear2/kernel",
      "m/linear2/bias",
    ]);
    tf.tidy(() => {
      const x = tf.randomNormal([4, 3], 0, 1, "float32", 4);
      expect(mlp.call(x).shape).toEqual([4, 2]);
      const split = mlp.callAfterFirstLinear(mlp.linears[0].call(x));
      expect(maxAbsDiff(split, mlp.call(x))).toBe(0);
    });
    store.dispose();
  });

  it("has autodiff gradients that match finite differences (conv, GroupNorm, MLP)", () => {
    // Smooth losses only: ReLU kinks make central differences unreliable in deep nets.
    const store = createParamStore(1);
    const conv = createConv2d(store, "c", {
      inChannels: 3,
      filters: 4,
      kernelSize: 3,
    });
    const norm = createGroupNorm(store, "g", { channels: 4, groups: 2 });
    const mlp = createMlp(store, "m", {
      inputDim: 4,
      hidden: [6, 6],
      outputDim: 2,
    });
    const x = tf.randomUniform([2, 5, 5, 3], 0, 1, "float32", 5) as tf.Tensor4D;
    const weights = tf.randomNormal([2, 5, 5, 2], 0, 1, "float32", 6);
    const loss = () =>
      tf.tidy(() => {
        const h = norm.call(conv.call(x)); // [2, 5, 5, 4]
        return tf.sum(tf.mul(tf.tanh(mlp.call(h)), weights)) as tf.Scalar;
      });
    expect(gradientMismatches(store, loss, 1e-2, 0.03)).toEqual([]);
    tf.dispose([x, weights]);
    store.dispose();
  });

  it("setMax takes the max over the set axis and splits tied gradients evenly", () => {
    tf.tidy(() => {
      const x = tf.tensor3d([
        [
          [1, 5],
          [3, 5],
          [3, 0],
        ],
      ]); // [1, B = 3, 2]
      expect(setMax(x, 1).arraySync()).toEqual([[3, 5]]);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(setMax(t, 1)))(x);
      expect(dx.arraySync()).toEqual([
        [
          [0, 0.5],
          [0.5, 0.5],
          [0.5, 0],
        ],
      ]);
    });
  });
});
