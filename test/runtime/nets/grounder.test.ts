import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";

import {
  createResNet18,
  createSmallCnn,
} from "../../../runtime/nets/grounder.js";
import {
  countLeakedTensors,
  maxAbsDiff,
  namesWithoutGradient,
  useCpuBackend,
} from "./setup-cpu.js";

beforeAll(useCpuBackend);

const images = (n: number, size: number, seed: number): tf.Tensor4D =>
  tf.randomUniform([n, size, size, 3], 0, 1, "float32", seed) as tf.Tensor4D;

describe("createSmallCnn", () => {
  it("grounds one scalar per image, or K logits as a classifier", () => {
    const g = createSmallCnn({ seed: 1 });
    const c = createSmallCnn({
      seed: 1,
      numClasses: 10,
      filters: [4, 8],
      hidden: 16,
    });
    tf.tidy(() => {
      const x = images(3, 32, 1);
      expect(g.call(x).shape).toEqual([3]);
      expect(g.features(x).shape).toEqual([3, 64]);
      expect(c.call(x).shape).toEqual([3, 10]);
    });
    // conv 3*3*3*16+16, conv 3*3*16*32+32, dense 8*8*32*64+64, output 64+1
    expect(g.params.numParams()).toBe(448 + 4640 + 131136 + 65);
    expect(g.variables).toHaveLength(8);
    g.dispose();
    c.dispose();
  });

  it("handles other input shapes and depths", () => {
    const g = createSmallCnn({
      seed: 1,
      inputShape: [28, 28, 1],
      filters: [4, 4, 4],
      hidden: 8,
    });
    tf.tidy(() => {
      const x = tf.zeros([2, 28, 28, 1]) as tf.Tensor4D;
      expect(g.call(x).shape).toEqual([2]); // 28 -> 14 -> 7 -> 4
    });
    g.dispose();
  });

  it("is reproducible from its seed", () => {
    const [a, b] = [createSmallCnn({ seed: 5 }), createSmallCnn({ seed: 5 })];
    tf.tidy(() => {
      const x = images(2, 32, 2);
      expect(maxAbsDiff(a.call(x), b.call(x))).toBe(0);
    });
    a.dispose();
    b.dispose();
  });

  it("passes gradients to every variable without leaking tensors", () => {
    const g = createSmallCnn({ seed: 2, filters: [4, 8], hidden: 16 });
    const x = images(4, 32, 3);
    const target = tf.tensor1d([0.1, 0.5, 0.9, 0.3]);
    const loss = () =>
      tf.losses.meanSquaredError(target, g.call(x, true)) as tf.Scalar;
    expect(namesWithoutGradient(g.params, loss)).toEqual([]);

    expect(countLeakedTensors(() => tf.variableGrads(loss, g.variables))).toBe(
      0,
    );
    tf.dispose([x, target]);
    g.dispose();
  });

  it("trains: a few Adam steps reduce the loss on a fixed batch", () => {
    const g = createSmallCnn({
      seed: 3,
      inputShape: [16, 16, 3],
      filters: [4, 8],
      hidden: 16,
    });
    const x = images(8, 16, 4);
    const target = tf.linspace(0.1, 1, 8) as tf.Tensor1D;
    const optimizer = tf.train.adam(1e-3);
    const loss = () =>
      tf.losses.meanSquaredError(target, g.call(x, true)) as tf.Scalar;
    const first = tf.tidy(() => loss().dataSync()[0]);
    for (let step = 0; step < 20; step++)
      optimizer.minimize(loss, false, g.variables);
    const last = tf.tidy(() => loss().dataSync()[0]);
    expect(last).toBeLessThan(0.2 * first);
    optimizer.dispose();
    tf.dispose([x, target]);
    g.dispose();
  });
});

describe("createResNet18", () => {
  it("is the standard 18-layer ResNet: shapes and parameter count", () => {
    const g = createResNet18({ seed: 1 });
    const x = images(2, 32, 5);
    tf.tidy(() => {
      expect(g.call(x).shape).toEqual([2]);
      expect(g.features(x).shape).toEqual([2, 512]);
    });
    // 17 3x3 convs + 3 1x1 projections, 20 GroupNorms (gain, bias), one Dense 512 -> 1.
    expect(g.variables.filter((v) => v.rank === 4)).toHaveLength(20);
    expect(g.params.numParams()).toBe(11_169_345);
    tf.dispose(x);
    g.dispose();
  });

  it("outputs K logits as a classifier", () => {
    const g = createResNet18({
      seed: 1,
      numClasses: 10,
      widths: [8, 8, 8, 8],
      groups: 4,
    });
    tf.tidy(() => {
      expect(g.call(images(2, 16, 6)).shape).toEqual([2, 10]);
    });
    g.dispose();
  });

  it("grounds each image independently of the batch (GroupNorm, no batch statistics)", () => {
    const g = createResNet18({
      seed: 2,
      widths: [8, 8, 16, 16],
      groups: 4,
      zeroInitResidual: false,
    });
    tf.tidy(() => {
      const x = images(3, 16, 7);
      const alone = g.call(tf.slice(x, [1, 0, 0, 0], [1, 16, 16, 3]));
      expect(maxAbsDiff(alone, tf.slice(g.call(x), [1], [1]))).toBeLessThan(
        1e-5,
      );
    });
    g.dispose();
  });

  it("passes gradients to every variable without leaking tensors", () => {
    const g = createResNet18({
      seed: 3,
      widths: [4, 8, 8, 8],
      groups: 2,
      zeroInitResidual: false,
    });
    const x = images(2, 16, 8);
    const target = tf.tensor1d([0.2, 0.7]);
    const loss = () =>
      tf.losses.meanSquaredError(target, g.call(x, true)) as tf.Scalar;
    expect(namesWithoutGradient(g.params, loss)).toEqual([]);

    expect(countLeakedTensors(() => tf.variableGrads(loss, g.variables))).toBe(
      0,
    );
    tf.dispose([x, target]);
    g.dispose();
  });

  it("starts every residual branch as the identity with zeroInitResidual", () => {
    const g = createResNet18({ seed: 3, widths: [4, 8, 8, 8], groups: 2 });
    const x = images(2, 16, 9);
    const loss = () => tf.sum(tf.square(g.call(x))) as tf.Scalar;
    // Gain 0 on each branch's last norm: only that norm's gain and bias see the branch at init.
    const silent = g.params
      .names()
      .filter(
        (n) =>
          /block\d\/(conv1|norm1|conv2)\//.test(n) && !n.includes("shortcut"),
      );
    expect(silent).toHaveLength(8 * 4);
    expect(namesWithoutGradient(g.params, loss)).toEqual(silent);
    tf.dispose(x);
    g.dispose();
  });
});
