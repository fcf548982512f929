// Gumbel-softmax (Eq. 5): samples are distributions over the allowed choices, their argmax
// follows softmax(logits) (the Gumbel-max trick), and the schedules switch at the right epochs.

import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { createRng } from "../../runtime/random.js";
import {
  lengthWeightAt,
  sampleChoices,
  sampleRelaxed,
  learningRateAt,
  sharpnessAt,
  straightThrough,
} from "../../runtime/relaxation.js";

beforeAll(async () => {
  await selectBackend("cpu");
});

const logitsRow = [2, 0.5, -1, -1e9]; // the last choice is masked

describe("sampleRelaxed", () => {
  it("gives rows that sum to 1 with masked entries at 0", () => {
    const logits = { op: tf.tensor3d([[logitsRow, logitsRow]]) };
    const z = sampleRelaxed(logits, { sharpness: 1, gumbel: true, seed: 3 });
    const rows = z.op.arraySync()[0];
    for (const row of rows) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row[3]).toBe(0);
    }
  });

  it("samples each choice as often as softmax(logits) says (Gumbel-max)", () => {
    const n = 4000;
    const logits = {
      op: tf.tensor3d(Array.from({ length: n }, () => [logitsRow])),
    };
    // High sharpness: every sample is nearly one-hot at argmax(logits + g).
    const z = sampleRelaxed(logits, {
      sharpness: 1000,
      gumbel: true,
      seed: 11,
    });
    const counts = [0, 0, 0, 0];
    for (const [row] of z.op.arraySync())
      counts[row.indexOf(Math.max(...row))]++;
    const p = tf.softmax(tf.tensor1d(logitsRow)).arraySync() as number[];
    counts.forEach((c, i) => expect(c / n).toBeCloseTo(p[i], 1));
    expect(counts[3]).toBe(0);
  });

  it("is reproducible from its seed and is plain softmax without gumbel", () => {
    const logits = { op: tf.tensor3d([[logitsRow]]) };
    const a = sampleRelaxed(logits, { sharpness: 1, gumbel: true, seed: 5 });
    const b = sampleRelaxed(logits, { sharpness: 1, gumbel: true, seed: 5 });
    expect(a.op.arraySync()).toEqual(b.op.arraySync());
    const plain = sampleRelaxed(logits, {
      sharpness: 2,
      gumbel: false,
      seed: 5,
    });
    const expected = tf.softmax(tf.mul(tf.tensor1d(logitsRow), 2)).arraySync();
    (plain.op.arraySync()[0][0] as number[]).forEach((v, i) =>
      expect(v).toBeCloseTo((expected as number[])[i], 6),
    );
  });
});

describe("sampleChoices", () => {
  it("draws each row's choices with softmax's frequencies and never a masked one", () => {
    // Two rows of four choices; the second row has a large logit next to a masked one.
    const logits = Float32Array.from([...logitsRow, 0, 3, -1e9, 1]);
    const rng = createRng(7);
    const n = 20000;
    const drawn = sampleChoices(logits, 4, n, () => rng.next());
    expect(drawn).toHaveLength(n);
    const counts = [new Array(4).fill(0), new Array(4).fill(0)];
    for (const sample of drawn) {
      expect(sample).toHaveLength(2);
      counts[0][sample[0]]++;
      counts[1][sample[1]]++;
    }
    const softmax = (row: number[]) => {
      const e = row.map((x) => Math.exp(x - Math.max(...row)));
      return e.map((x) => x / e.reduce((a, b) => a + b, 0));
    };
    const expected = [softmax(logitsRow), softmax([0, 3, -1e9, 1])];
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 4; c++)
        expect(counts[r][c] / n).toBeCloseTo(expected[r][c], 1.5);
    expect(counts[0][3]).toBe(0);
    expect(counts[1][2]).toBe(0);
  });

  it("is a function of the random stream alone, and takes the last allowed choice at u near 1", () => {
    const logits = Float32Array.from([0, 0, -1e9, -1e9]);
    const again = (seed: number) => {
      const rng = createRng(seed);
      return sampleChoices(logits, 4, 50, () => rng.next()).map((s) => s[0]);
    };
    expect(again(3)).toEqual(again(3));
    expect(again(3)).not.toEqual(again(4));
    const [top] = sampleChoices(logits, 4, 1, () => 1 - 2 ** -32);
    expect(top[0]).toBe(1);
    const [bottom] = sampleChoices(logits, 4, 1, () => 0);
    expect(bottom[0]).toBe(0);
  });
});

describe("straightThrough", () => {
  it("is one-hot forward and passes the gradient through unchanged", () => {
    const soft = tf.tensor3d([[[0.2, 0.5, 0.3]]]);
    expect(straightThrough(soft).arraySync()).toEqual([[[0, 1, 0]]]);
    const w = tf.tensor3d([[[1, 2, 3]]]);
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(tf.mul(straightThrough(x as tf.Tensor3D), w)),
    )(soft);
    expect(g.arraySync()).toEqual(w.arraySync());
  });
});

describe("schedules (Sec. 4.1)", () => {
  const c = {
    sharpness: 1,
    lateSharpness: 3,
    lateEpoch: 15,
    priorEpoch: 10,
    lengthPrior: 2e-4,
  };
  it("switches the sharpness at lateEpoch and the prior at priorEpoch", () => {
    expect([14, 15].map((e) => sharpnessAt(e, c))).toEqual([1, 3]);
    expect([9, 10].map((e) => lengthWeightAt(e, c))).toEqual([0, 2e-4]);
  });
  it("scales the learning rate from lateEpoch by lateLearningRate", () => {
    const lr = { learningRate: 1e-3, lateLearningRate: 0.25, lateEpoch: 15 };
    expect([0, 14, 15, 40].map((e) => learningRateAt(e, lr))).toEqual([
      1e-3, 1e-3, 2.5e-4, 2.5e-4,
    ]);
  });
});
