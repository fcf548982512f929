// Issue 13's grounding pieces: the categorical grounder's cross-entropy on abduction's posterior
// and its class-balance prior against hand computations, the per-class confusion of the final
// grounder and its table in the run report, and the self-supervised pretraining (IIC).

import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { confusionTable } from "../../cli/experiments/report.js";
import { selectBackend } from "../../runtime/backend.js";
import type { Split } from "../../runtime/data/pairs.js";
import { groundingConfusion } from "../../runtime/metrics.js";
import { createSmallCnn } from "../../runtime/nets/grounder.js";
import {
  abductionCrossEntropy,
  classBalancePrior,
  softAbductionCrossEntropy,
} from "../../runtime/objective.js";
import { iicLoss, pretrainGrounder } from "../../runtime/pretrain.js";
import { createRng } from "../../runtime/random.js";

beforeAll(async () => {
  await selectBackend("wasm");
});

const logSoftmax = (row: number[]) => {
  const z = Math.log(row.reduce((a, x) => a + Math.exp(x), 0));
  return row.map((x) => x - z);
};

describe("softAbductionCrossEntropy", () => {
  const logits = [
    [2, 0, -1],
    [0.5, 0.5, 3],
    [1, -2, 0],
  ];
  const targets = Float32Array.of(0.7, 0.2, 0.1, 0, 0, 1, 0.3, 0.3, 0.4);

  it("is -sum_k q_k log p_k, weighted per symbol, over all N symbols, by hand", () => {
    const weights = Float32Array.of(1, 0.5, 0);
    const got = tf.tidy(
      () =>
        softAbductionCrossEntropy(
          tf.tensor2d(logits),
          targets,
          weights,
        ).dataSync()[0],
    );
    let hand = 0;
    logits.forEach((row, i) => {
      const lp = logSoftmax(row);
      hand -=
        weights[i] * lp.reduce((a, l, k) => a + targets[i * 3 + k] * l, 0);
    });
    expect(got).toBeCloseTo(hand / 3, 5);
    // A zero weight drops the row: its targets change nothing.
    const other = Float32Array.from(targets);
    other.set([1, 0, 0], 6);
    const same = tf.tidy(
      () =>
        softAbductionCrossEntropy(
          tf.tensor2d(logits),
          other,
          weights,
        ).dataSync()[0],
    );
    expect(same).toBeCloseTo(got, 6);
  });

  it("equals the hard cross-entropy on one-hot targets", () => {
    const indices = Int32Array.of(0, 2, 1);
    const oneHot = new Float32Array(9);
    indices.forEach((k, i) => (oneHot[i * 3 + k] = 1));
    const mask = Uint8Array.of(1, 1, 1);
    const [soft, hard] = tf.tidy(() => [
      softAbductionCrossEntropy(
        tf.tensor2d(logits),
        oneHot,
        Float32Array.from(mask),
      ).dataSync()[0],
      abductionCrossEntropy(tf.tensor2d(logits), indices, mask).dataSync()[0],
    ]);
    expect(soft).toBeCloseTo(hard, 6);
  });

  it("pulls the logits towards the target distribution", () => {
    const x = tf.variable(tf.tensor2d([[0, 0, 0]]));
    const { grads, value } = tf.variableGrads(
      () =>
        softAbductionCrossEntropy(
          x as unknown as tf.Tensor2D,
          Float32Array.of(0.6, 0.3, 0.1),
          Float32Array.of(1),
        ),
      [x],
    );
    // d/dlogit_k = p_k - q_k with p uniform.
    const g = Array.from(grads[x.name].dataSync());
    [1 / 3 - 0.6, 1 / 3 - 0.3, 1 / 3 - 0.1].forEach((h, k) =>
      expect(g[k]).toBeCloseTo(h, 5),
    );
    tf.dispose([x, value, grads[x.name]]);
  });

  it("names the sizes when they disagree", () => {
    expect(() =>
      softAbductionCrossEntropy(
        tf.tensor2d(logits),
        new Float32Array(8),
        new Float32Array(3),
      ),
    ).toThrow(/3 x 3 logits, 8 targets, 3 weights/);
  });
});

describe("classBalancePrior", () => {
  it("is log K - H(mean softmax), by hand; 0 when the batch uses every class evenly", () => {
    const logits = [
      [3, 0, 0],
      [2, 1, 0],
    ];
    const p = logits.map((r) => logSoftmax(r).map(Math.exp));
    const pbar = [0, 1, 2].map((k) => (p[0][k] + p[1][k]) / 2);
    const hand = Math.log(3) + pbar.reduce((a, q) => a + q * Math.log(q), 0);
    const got = tf.tidy(
      () => classBalancePrior(tf.tensor2d(logits)).dataSync()[0],
    );
    expect(got).toBeCloseTo(hand, 5);
    expect(got).toBeGreaterThan(0.1);
    const even = tf.tidy(
      () =>
        classBalancePrior(
          tf.tensor2d([
            [9, 0, 0],
            [0, 9, 0],
            [0, 0, 9],
          ]),
        ).dataSync()[0],
    );
    expect(even).toBeLessThan(1e-3);
  });
});

/** A split of 4 pairs of 2 symbols over the alphabet 0.1, 0.2, 0.3 (only what the confusion reads). */
function confusionSplit(): Split {
  const alphabet = [0.1, 0.2, 0.3];
  const classes = Int32Array.of(0, 1, 2, 0, 1, 1, 2, 0);
  return {
    symbols: Float32Array.from(classes, (c) => alphabet[c]),
    classes,
    images: new Float32Array(0),
    outputs: new Float32Array(0),
    alphabet,
    numPairs: 4,
    numInputs: 2,
    numTasks: 0,
    height: 1,
    width: 1,
    channels: 1,
  };
}

describe("groundingConfusion", () => {
  it("counts true class against the symbol read, with a column for none", () => {
    const split = confusionSplit();
    // Read: class 0 -> 0.1, 0.1, 0.3; class 1 -> 0.2, 0.21, 0.1; class 2 -> 0.3, 9 (none).
    const read = Float32Array.of(0.1, 0.2, 0.3, 0.1, 0.21, 0.1, 9, 0.3);
    expect(groundingConfusion(read, split)).toEqual([
      [2, 0, 1, 0],
      [1, 2, 0, 0],
      [0, 0, 1, 1],
    ]);
  });

  it("is a table of the run report: a row per class, its share read right", () => {
    const table = confusionTable({
      programSuccess: { count: 0, total: 1 },
      foundProgramSuccess: { count: 0 },
      symbolicLoss: 0,
      testLoss: 0,
      alphabet: [0.1, 0.2, 0.3],
      groundingConfusion: [
        [2, 0, 1, 0],
        [1, 2, 0, 0],
        [0, 0, 1, 1],
      ],
    })!;
    expect(table.columns.map((c) => c.label)).toEqual([
      "reads 0.1",
      "reads 0.2",
      "reads 0.3",
      "none",
      "right",
    ]);
    expect(table.rows.map((r) => r.label)).toEqual([
      "class 0 (0.1)",
      "class 1 (0.2)",
      "class 2 (0.3)",
    ]);
    expect(table.rows[1].cells.read0.value).toBe(1);
    expect(table.rows[2].cells.none.value).toBe(1);
    expect(table.rows.map((r) => r.cells.right.value)).toEqual([
      0.667, 0.667, 0.5,
    ]);
    // No confusion in metrics.json (an older run): no table.
    expect(
      confusionTable({
        programSuccess: { count: 0, total: 1 },
        foundProgramSuccess: { count: 0 },
        symbolicLoss: 0,
        testLoss: 0,
      }),
    ).toBeUndefined();
  });
});

describe("iicLoss", () => {
  it("is minus the mutual information of the symmetrised joint, by hand", () => {
    const p = [
      [0.9, 0.1],
      [0.2, 0.8],
      [0.5, 0.5],
    ];
    const p2 = [
      [0.7, 0.3],
      [0.1, 0.9],
      [0.6, 0.4],
    ];
    const J = [0, 1].map((i) =>
      [0, 1].map(
        (j) =>
          p.reduce((a, r, n) => a + r[i] * p2[n][j] + p2[n][i] * r[j], 0) /
          (2 * 3),
      ),
    );
    const Pi = J.map((r) => r[0] + r[1]);
    const Pj = [0, 1].map((j) => J[0][j] + J[1][j]);
    let mi = 0;
    J.forEach((r, i) =>
      r.forEach((q, j) => (mi += q * Math.log(q / (Pi[i] * Pj[j])))),
    );
    const got = tf.tidy(
      () => iicLoss(tf.tensor2d(p), tf.tensor2d(p2)).dataSync()[0],
    );
    expect(got).toBeCloseTo(-mi, 5);
    // Two views that agree on K balanced clusters: -log K, its minimum.
    const agree = tf.tidy(
      () =>
        iicLoss(
          tf.tensor2d([
            [1, 0],
            [0, 1],
          ]),
          tf.tensor2d([
            [1, 0],
            [0, 1],
          ]),
        ).dataSync()[0],
    );
    expect(agree).toBeCloseTo(-Math.log(2), 4);
  });
});

describe("pretrainGrounder", () => {
  it("lowers the IIC loss on two kinds of image, changes g's features and leaks no tensors", () => {
    // 64 images of 8x8: a bright left half or a bright right half, with noise.
    const rng = createRng(5);
    const count = 64;
    const images = new Float32Array(count * 64);
    for (let n = 0; n < count; n++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          images[n * 64 + y * 8 + x] = (n % 2 === 0 ? x < 4 : x >= 4)
            ? 0.8 + 0.1 * rng.next()
            : 0.1 * rng.next();
    const g = createSmallCnn({
      seed: 1,
      inputShape: [8, 8, 1],
      filters: [4],
      hidden: 8,
    });
    const before = tf.tidy(() =>
      Array.from(
        g
          .features(tf.tensor4d(images.subarray(0, 128), [2, 8, 8, 1]))
          .dataSync(),
      ),
    );
    const tensors = tf.memory().numTensors;
    const losses = pretrainGrounder(g, {
      images,
      count,
      height: 8,
      width: 8,
      channels: 1,
      steps: 60,
      batch: 32,
      clusters: 2,
      learningRate: 1e-2,
      seed: 3,
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(losses).toHaveLength(60);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(
      mean(losses.slice(0, 10)) - 0.2,
    );
    const after = tf.tidy(() =>
      Array.from(
        g
          .features(tf.tensor4d(images.subarray(0, 128), [2, 8, 8, 1]))
          .dataSync(),
      ),
    );
    expect(after).not.toEqual(before);
    g.dispose();
  });
});
