import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";

import {
  createRecognizer,
  MASKED_LOGIT,
} from "../../../runtime/nets/recognizer.js";
import { fakeSketch, NUM_INPUTS, NUM_LINES, NUM_OPS } from "./fake-sketch.js";
import {
  countLeakedTensors,
  gradientMismatches,
  maxAbsDiff,
  namesWithoutGradient,
  useCpuBackend,
} from "./setup-cpu.js";

beforeAll(useCpuBackend);

const T = 3; // tasks
const B = 5; // symbol-output pairs per task
const small = { sketch: fakeSketch, hidden: 16, featureSize: 8 } as const;

const symbols = (seed: number): tf.Tensor2D =>
  tf.randomUniform([B, NUM_INPUTS], 0.1, 1, "float32", seed) as tf.Tensor2D; // [B, V]
const outputs = (seed: number): tf.Tensor2D =>
  tf.randomNormal([T, B], 0, 1, "float32", seed) as tf.Tensor2D; // [T, B]

describe("createRecognizer", () => {
  it("gives logits [T, rows, choices] for every head of the sketch", () => {
    const r = createRecognizer({ ...small, seed: 1 });
    tf.tidy(() => {
      const logits = r.call(symbols(1), outputs(2));
      expect(Object.keys(logits)).toEqual(["op", "arg1", "arg2"]);
      expect(logits.op.shape).toEqual([T, NUM_LINES, NUM_OPS]);
      expect(logits.arg1.shape).toEqual([T, NUM_LINES, NUM_INPUTS + NUM_LINES]);
      expect(logits.arg2.shape).toEqual([T, NUM_LINES, NUM_INPUTS + NUM_LINES]);
    });
    r.dispose();
  });

  it("has the paper's sizes by default: two hidden layers of 256", () => {
    const r = createRecognizer({ sketch: fakeSketch, seed: 1 });
    const mlp = (inputs: number, outputs: number) =>
      inputs * 256 +
      256 +
      2 * 256 +
      (256 * 256 + 256) +
      2 * 256 +
      (256 * outputs + outputs);
    const logitCount =
      NUM_LINES * NUM_OPS + 2 * NUM_LINES * (NUM_INPUTS + NUM_LINES);
    const expected =
      mlp(1, 256) +
      mlp(2, 256) +
      mlp(1 + NUM_INPUTS, 256) +
      mlp((2 + NUM_INPUTS) * 256, logitCount);
    expect(r.params.numParams()).toBe(expected);
    r.dispose();
  });

  it("is invariant to the order of the symbol-output pairs", () => {
    const r = createRecognizer({ ...small, seed: 2 });
    tf.tidy(() => {
      const s = tf.randomUniform(
        [T, B, NUM_INPUTS],
        0.1,
        1,
        "float32",
        3,
      ) as tf.Tensor3D;
      const y = outputs(4);
      const perm = tf.tensor1d([3, 0, 4, 2, 1], "int32");
      const a = r.call(s, y);
      const b = r.call(tf.gather(s, perm, 1), tf.gather(y, perm, 1));
      for (const name of Object.keys(a))
        expect(maxAbsDiff(a[name], b[name])).toBeLessThan(1e-5);
      // The same holds with shared symbols [B, V].
      const shared = symbols(5);
      const c = r.call(shared, y);
      const d = r.call(tf.gather(shared, perm, 0), tf.gather(y, perm, 1));
      for (const name of Object.keys(c))
        expect(maxAbsDiff(c[name], d[name])).toBeLessThan(1e-5);
    });
    r.dispose();
  });

  it("sees a duplicated pair as the same set: equal logits and gradients", () => {
    const r = createRecognizer({ ...small, seed: 10 });
    const s = symbols(17);
    const y = outputs(18);
    const twice = tf.tensor1d([0, 1, 2, 3, 4, 0], "int32"); // pair 0 appears twice
    const sTwice = tf.gather(s, twice, 0) as tf.Tensor2D;
    const yTwice = tf.gather(y, twice, 1) as tf.Tensor2D;
    const gradsOf = (sIn: tf.Tensor2D, yIn: tf.Tensor2D) =>
      tf.variableGrads(
        () => tf.sum(tf.tanh(r.call(sIn, yIn).op)) as tf.Scalar,
        r.variables,
      ).grads;
    tf.tidy(() => {
      const a = r.call(s, y);
      const b = r.call(sTwice, yTwice);
      for (const name of Object.keys(a))
        expect(maxAbsDiff(a[name], b[name])).toBeLessThan(1e-6);
      const ga = gradsOf(s, y);
      const gb = gradsOf(sTwice, yTwice);
      for (const v of r.variables)
        expect(maxAbsDiff(ga[v.name], gb[v.name])).toBeLessThan(1e-5);
      // Any set size works, down to a single pair.
      expect(
        r.call(
          tf.slice(s, [0, 0], [1, NUM_INPUTS]),
          tf.slice(y, [0, 0], [T, 1]),
        ).op.shape,
      ).toEqual([T, NUM_LINES, NUM_OPS]);
    });
    tf.dispose([s, y, twice, sTwice, yTwice]);
    r.dispose();
  });

  it("gives shared symbols [B, V] the same logits as symbols tiled to [T, B, V]", () => {
    const r = createRecognizer({ ...small, seed: 3 });
    tf.tidy(() => {
      const s = symbols(6);
      const y = outputs(7);
      const a = r.call(s, y);
      const b = r.call(
        tf.tile(tf.expandDims(s, 0), [T, 1, 1]) as tf.Tensor3D,
        y,
      );
      for (const name of Object.keys(a))
        expect(maxAbsDiff(a[name], b[name])).toBeLessThan(1e-5);
    });
    r.dispose();
  });

  it("depends on each task's own outputs", () => {
    const r = createRecognizer({ ...small, seed: 4 });
    tf.tidy(() => {
      const y = outputs(8);
      const logits = r.call(symbols(9), y).op; // [T, L, K]
      expect(
        maxAbsDiff(tf.slice(logits, [0], [1]), tf.slice(logits, [1], [1])),
      ).toBeGreaterThan(1e-4);
    });
    r.dispose();
  });

  it("masks forbidden choices: probability exactly 0 and no NaN", () => {
    const r = createRecognizer({ ...small, seed: 5 });
    tf.tidy(() => {
      const logits = r.call(
        symbols(10),
        tf.mul(outputs(11), 100) as tf.Tensor2D,
      );
      for (const head of fakeSketch.heads) {
        const probs = tf.softmax(logits[head.name]).arraySync() as number[][][];
        const values = logits[head.name].arraySync() as number[][][];
        for (let t = 0; t < T; t++) {
          head.mask.forEach((row, l) =>
            row.forEach((allowed, c) => {
              expect(Number.isNaN(probs[t][l][c])).toBe(false);
              if (allowed === 0) {
                expect(probs[t][l][c]).toBe(0);
                expect(values[t][l][c]).toBe(MASKED_LOGIT);
              } else {
                expect(probs[t][l][c]).toBeGreaterThan(0);
              }
            }),
          );
        }
        // Entropy terms p log p stay finite where p = 0.
        const logProbs = tf.logSoftmax(logits[head.name]);
        const entropy = tf.sum(tf.mul(tf.softmax(logits[head.name]), logProbs));
        expect(Number.isFinite(entropy.dataSync()[0])).toBe(true);
      }
    });
    r.dispose();
  });

  it("passes gradients to every variable without leaking tensors", () => {
    const r = createRecognizer({ ...small, seed: 6 });
    const s = symbols(12);
    const y = outputs(13);
    const weights = Object.fromEntries(
      fakeSketch.heads.map((h, k) => [
        h.name,
        tf.randomNormal([T, ...h.shape], 0, 1, "float32", 20 + k),
      ]),
    );
    const loss = (): tf.Scalar => {
      const logits = r.call(s, y);
      return tf.addN(
        Object.keys(logits).map((k) =>
          tf.sum(tf.mul(tf.softmax(logits[k]), weights[k])),
        ),
      ) as tf.Scalar;
    };
    expect(namesWithoutGradient(r.params, loss)).toEqual([]);
    expect(gradientMismatches(r.params, loss)).toEqual([]);

    const leaked = countLeakedTensors(() => {
      const { value, grads } = tf.variableGrads(loss, r.variables);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads)).toHaveLength(r.variables.length);
    });
    expect(leaked).toBe(0);
    tf.dispose([s, y, ...Object.values(weights)]);
    r.dispose();
  });

  it("is reproducible from its seed and round-trips through save and load", () => {
    const a = createRecognizer({ ...small, seed: 7 });
    const b = createRecognizer({ ...small, seed: 7 });
    const c = createRecognizer({ ...small, seed: 8 });
    expect(a.params.save()).toEqual(b.params.save());
    tf.tidy(() => {
      const s = symbols(14);
      const y = outputs(15);
      expect(maxAbsDiff(a.call(s, y).arg1, b.call(s, y).arg1)).toBe(0);
      expect(maxAbsDiff(a.call(s, y).op, c.call(s, y).op)).toBeGreaterThan(0);
      c.params.load(JSON.parse(JSON.stringify(a.params.save())));
      expect(maxAbsDiff(a.call(s, y).op, c.call(s, y).op)).toBe(0);
    });
    [a, b, c].forEach((r) => r.dispose());
  });

  it("rejects symbols of the wrong shape and masks of the wrong size", () => {
    const r = createRecognizer({ ...small, seed: 9 });
    tf.tidy(() => {
      expect(() =>
        r.call(tf.zeros([B, NUM_INPUTS + 1]) as tf.Tensor2D, outputs(16)),
      ).toThrow(/shape/);
    });
    r.dispose();
    const bad = {
      ...fakeSketch,
      heads: [{ name: "op", shape: [2, 2] as const, mask: [[1, 1]] }],
    };
    expect(() => createRecognizer({ ...small, sketch: bad, seed: 1 })).toThrow(
      /mask of head 'op'/,
    );
  });
});
