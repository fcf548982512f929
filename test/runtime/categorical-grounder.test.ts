// The categorical grounder (`grounderOutput: "categorical"`): K logits per image, the symbol their
// expected value over the K symbol values, trained by cross-entropy on the abduced symbols. Its
// shapes and gradients, s and the loss against hand computations, the scalar outputs unchanged,
// the knowledge it records, a resumed run, and a tiny run in which grounding accuracy rises.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { knowledgeOf, type TrainConfig } from "../../runtime/config.js";
import {
  expectedSymbols,
  groundLogits,
  groundSymbols,
  symbolsOf,
} from "../../runtime/model.js";
import { abductionCrossEntropy } from "../../runtime/objective.js";
import type { Split } from "../../runtime/data/pairs.js";
import {
  confidentPairs,
  groundSplit,
  inferPrograms,
  pairConfidence,
} from "../../runtime/metrics.js";
import {
  createRun,
  evaluateRun,
  holdSymbolValues,
  trainStep,
  type RunContext,
} from "../../runtime/train.js";
import {
  disposeRun,
  expectSameStepAfterResume,
  tinyRunConfig,
  writeFile,
} from "./tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-categorical-"));

/** A 2-input sketch: add, sub and mul of two symbols pin both of them down. */
const PAIR_SKETCH = `sketch pair {
  inputs 2;
  op add(a, b) = a + b;
  op sub(a, b) = a - b;
  op mul(a, b) = a * b;
  op skip(a) = a cost 0;
  straight lines 2 { args: inputs, earlier; }
  output last;
  prior length 1e-3;
}
`;

const write = (name: string, text: string) => writeFile(root, name, text);

/** A tiny run (tiny-run.ts) with the categorical grounder. */
const tinyConfig = (out: string, overrides: Partial<TrainConfig> = {}) =>
  tinyRunConfig(root, out, { grounderOutput: "categorical", ...overrides });

beforeAll(async () => {
  await selectBackend("wasm");
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The images of the first `pairs` training pairs, [pairs * V, H, W, C]. */
function trainImages(run: RunContext, pairs: number): tf.Tensor4D {
  const { numInputs: V, height: H, width: W, channels: C } = run.train;
  const n = pairs * V;
  return tf.tensor4d(run.train.images.subarray(0, n * H * W * C), [n, H, W, C]);
}

describe("expectedSymbols", () => {
  it("is softmax(logits) . v, by hand", () => {
    const logits = [
      [0, 1, 2],
      [3, -1, 0.5],
      [0, 0, 0],
    ];
    const v = [0.1, 0.5, 1.2];
    const got = tf.tidy(() =>
      Array.from(expectedSymbols(tf.tensor2d(logits), v).dataSync()),
    );
    const hand = logits.map((row) => {
      const e = row.map(Math.exp);
      const z = e.reduce((a, b) => a + b, 0);
      return e.reduce((a, x, k) => a + (x / z) * v[k], 0);
    });
    expect(got).toHaveLength(3);
    got.forEach((s, i) => expect(s).toBeCloseTo(hand[i], 6));
    expect(got[2]).toBeCloseTo((0.1 + 0.5 + 1.2) / 3, 6); // uniform: the mean value
    expect(() => expectedSymbols(tf.tensor2d(logits), [0.1, 0.5])).toThrow(
      /3 logits per image but 2 symbol values/,
    );
  });

  it("is what symbolsOf gives for the categorical output", () => {
    const logits = tf.tensor2d([[1, 2, 0.5]]);
    const v = [0.2, 0.4, 0.9];
    const a = symbolsOf(logits, "categorical", { low: 0, high: 1.5 }, v);
    const b = expectedSymbols(logits, v);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([logits, a, b]);
  });
});

describe("the sigmoid and linear outputs", () => {
  it("are unchanged: low + (high - low) sigmoid(raw), and raw", () => {
    const raw = tf.tensor1d([-2, 0, 0.5, 3]);
    const bounds = { low: -3, high: 3 };
    const sigmoid = Array.from(symbolsOf(raw, "sigmoid", bounds).dataSync());
    [-2, 0, 0.5, 3].forEach((x, i) =>
      expect(sigmoid[i]).toBeCloseTo(-3 + 6 / (1 + Math.exp(-x)), 6),
    );
    expect(symbolsOf(raw, "linear", bounds)).toBe(raw);
    raw.dispose();
  });

  it("keep one output per image and no symbol values", async () => {
    const run = await createRun(
      tinyRunConfig(root, "scalar", { grounderOutput: "sigmoid" }),
    );
    expect(run.model.grounder.outputDim).toBe(1);
    expect(run.model.symbolValues).toHaveLength(0);
    const images = trainImages(run, 2);
    expect(() => groundLogits(run.model, images)).toThrow(/has none/);
    images.dispose();
    disposeRun(run);
  });
});

describe("abductionCrossEntropy", () => {
  it("is the mean over all symbols of the masked -log softmax at the abduced index, by hand", () => {
    const logits = [
      [2, 0, -1],
      [0.5, 0.5, 3],
      [1, -2, 0],
      [0, 0, 0],
    ];
    const indices = Int32Array.of(0, 1, 2, 2);
    const constrained = Uint8Array.of(1, 1, 0, 1);
    const got = tf.tidy(
      () =>
        abductionCrossEntropy(
          tf.tensor2d(logits),
          indices,
          constrained,
        ).dataSync()[0],
    );
    let hand = 0;
    logits.forEach((row, i) => {
      if (!constrained[i]) return;
      const z = row.reduce((a, x) => a + Math.exp(x), 0);
      hand -= row[indices[i]] - Math.log(z);
    });
    expect(got).toBeCloseTo(hand / 4, 5);
    // The unconstrained row does not count: changing its index changes nothing.
    const other = tf.tidy(
      () =>
        abductionCrossEntropy(
          tf.tensor2d(logits),
          Int32Array.of(0, 1, 0, 2),
          constrained,
        ).dataSync()[0],
    );
    expect(other).toBeCloseTo(got, 6);
  });
});

describe("the categorical grounder in a run", () => {
  it("outputs K logits per image and symbols between the smallest and largest value", async () => {
    const run = await createRun(tinyConfig("shapes"));
    // The codebook (abduction off in the tiny runs): K = the 10 classes, spread over the uniform
    // interval with the alphabet's mean and variance (the symbol prior's knowledge): 0.55 +-
    // sqrt(3 * 0.0825), cells of 0.0995.
    expect(run.codebook).toBeDefined();
    expect(run.model.grounder.outputDim).toBe(10);
    holdSymbolValues(run);
    const values = Array.from(run.model.symbolValues);
    const half = Math.sqrt(3 * 0.0825);
    expect(values[0]).toBeCloseTo(0.55 - half + (0.5 * 2 * half) / 10, 5);
    expect(values[9]).toBeCloseTo(0.55 - half + (9.5 * 2 * half) / 10, 5);
    values.forEach((v, k) =>
      expect(Math.abs(v - (k + 1) / 10)).toBeLessThan(0.003),
    );
    // Without the symbol prior the run knows only the symbol range: (0, 1.5).
    const unprior = await createRun(
      tinyConfig("shapes-range", { symbolPrior: 0 }),
    );
    holdSymbolValues(unprior);
    expect(unprior.model.symbolValues[0]).toBeCloseTo(0.075, 6);
    expect(unprior.model.symbolValues[9]).toBeCloseTo(1.425, 6);
    disposeRun(unprior);
    const images = trainImages(run, 4);
    const logits = groundLogits(run.model, images);
    const s = groundSymbols(run.model, images, run.train.numInputs);
    expect(logits.shape).toEqual([4 * run.train.numInputs, 10]);
    expect(s.shape).toEqual([4, run.train.numInputs]);
    const hand = expectedSymbols(logits, values);
    const got = Array.from(s.dataSync());
    Array.from(hand.dataSync()).forEach((x, i) =>
      expect(got[i]).toBeCloseTo(x, 6),
    );
    expect(got.every((x) => x > values[0] && x < values[9])).toBe(true);
    tf.dispose([images, logits, s, hand]);
    expect(run.notes.join("\n")).toMatch(/values stay where they start/);
    disposeRun(run);
  });

  it("passes finite, nonzero gradients into the grounder's last layer, from s and from the cross-entropy", async () => {
    const run = await createRun(tinyConfig("grads"));
    holdSymbolValues(run);
    const images = trainImages(run, 4);
    const kernel = run.model.grounder.params.get("output/kernel");
    const gradOf = (loss: () => tf.Scalar) =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, [kernel]);
        value.dispose();
        return Array.from(grads[kernel.name].dataSync());
      });
    const V = run.train.numInputs;
    const fromS = gradOf(() =>
      tf.sum(tf.square(tf.sub(groundSymbols(run.model, images, V), 0.3))),
    );
    const fromCe = gradOf(() =>
      abductionCrossEntropy(
        groundLogits(run.model, images),
        Int32Array.from({ length: 4 * V }, (_, i) => i % 10),
        new Uint8Array(4 * V).fill(1),
      ),
    );
    for (const g of [fromS, fromCe]) {
      expect(g).toHaveLength(run.model.grounder.featureDim * 10);
      expect(g.every(Number.isFinite)).toBe(true);
      expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1e-6);
    }
    images.dispose();
    disposeRun(run);
  });

  it("takes the same next step after a checkpoint is resumed, and leaks no tensors", async () => {
    await expectSameStepAfterResume(tinyConfig("resume"));
  });

  it("records what it knows: the class count and the symbol range, or the alphabet", async () => {
    const base = tinyConfig("knowledge", { symbolPrior: 0 });
    expect(knowledgeOf(base)).toEqual(["symbol-range", "class-count"]);
    expect(knowledgeOf({ ...base, abductionAlphabet: "gold" })).toEqual([
      "alphabet",
    ]);
    expect(knowledgeOf({ ...base, grounderOutput: "linear" })).toEqual([]);
    expect(knowledgeOf({ ...base, oracleSymbols: true })).toEqual([
      "gold-symbols",
    ]);
  });
});

/** The split's pairs `rows`, in that order, with every task's outputs on them. */
function pickPairs(split: Split, rows: readonly number[]): Split {
  const { numInputs: V, numPairs: N, numTasks: T } = split;
  const perPair = (split.images.length / N) | 0;
  const gather = (a: Float32Array, width: number) => {
    const out = new Float32Array(rows.length * width);
    rows.forEach((i, k) =>
      out.set(a.subarray(i * width, (i + 1) * width), k * width),
    );
    return out;
  };
  const outputs = new Float32Array(T * rows.length);
  for (let t = 0; t < T; t++)
    rows.forEach(
      (i, k) => (outputs[t * rows.length + k] = split.outputs[t * N + i]),
    );
  return {
    ...split,
    symbols: gather(split.symbols, V),
    classes: Int32Array.from(
      rows.flatMap((i) =>
        Array.from(split.classes.subarray(i * V, (i + 1) * V)),
      ),
    ),
    images: gather(split.images, perPair),
    outputs,
    numPairs: rows.length,
  };
}

describe("inference on the pairs g is surest of", () => {
  it("confidentPairs keeps the most confident of the pool, ties to the earlier, in order", () => {
    const c = [0.1, 0.9, 0.5, 0.9, 0.2, 1];
    expect(confidentPairs(c, 5, 2)).toEqual([1, 3]);
    expect(confidentPairs(c, 5, 3)).toEqual([1, 2, 3]);
    expect(confidentPairs(c, 3, 2)).toEqual([1, 2]);
    expect(confidentPairs(c, 100, 1)).toEqual([5]);
  });

  it("pairConfidence is the product of g's top class probabilities over a pair's images", async () => {
    const run = await createRun(tinyConfig("confidence"));
    holdSymbolValues(run);
    const confidence = (await pairConfidence(run.model, run.test, 7))!;
    const V = run.test.numInputs;
    expect(confidence).toHaveLength(run.test.numPairs);
    const n = 3;
    const { height: H, width: W, channels: C } = run.test;
    const top = tf.tidy(() =>
      tf
        .max(
          tf.softmax(
            groundLogits(
              run.model,
              tf.tensor4d(run.test.images.subarray(0, n * V * H * W * C), [
                n * V,
                H,
                W,
                C,
              ]),
            ),
          ),
          1,
        )
        .arraySync(),
    ) as number[];
    for (let i = 0; i < n; i++) {
      const want = top.slice(i * V, (i + 1) * V).reduce((a, b) => a * b, 1);
      expect(confidence[i]).toBeCloseTo(want, 6);
    }
    const sigmoid = await createRun(
      tinyConfig("confidence-sigmoid", { grounderOutput: "sigmoid" }),
    );
    expect(await pairConfidence(sigmoid.model, sigmoid.test)).toBeUndefined();
    disposeRun(sigmoid);
    disposeRun(run);
  });

  it("r reads exactly the chosen pairs: the same programs as on a split of those pairs alone", async () => {
    const run = await createRun(tinyConfig("read"));
    holdSymbolValues(run);
    for (let step = 0; step < 3; step++) await trainStep(run, 0, step);
    const grounded = await groundSplit(run.model, run.test);
    const read = [5, 1, 9, 2];
    const options = { samples: 4, seed: 3 };
    const text = (r: { argmax: unknown[]; samples: unknown[][] }) =>
      [r.argmax, ...r.samples].flat().map((p) => run.module.format(p));
    const chosen = await inferPrograms<unknown>(
      run.model,
      grounded,
      run.test,
      8,
      {
        ...options,
        read,
      },
    );
    const alone = pickPairs(run.test, read);
    const V = run.test.numInputs;
    const groundedAlone = Float32Array.from(
      read.flatMap((i) => Array.from(grounded.subarray(i * V, (i + 1) * V))),
    );
    const direct = await inferPrograms<unknown>(
      run.model,
      groundedAlone,
      alone,
      4,
      options,
    );
    expect(text(chosen)).toEqual(text(direct));
    // The test can tell: the first pairs give other programs than the chosen ones.
    const first = await inferPrograms<unknown>(
      run.model,
      grounded,
      run.test,
      4,
      options,
    );
    expect(text(first)).not.toEqual(text(chosen));
    disposeRun(run);
  });

  it("evaluates with confident pairs, and reads all pairs when g has no class probabilities", async () => {
    const evaluate = async (out: string, overrides: Partial<TrainConfig>) => {
      const run = await createRun(tinyConfig(out, overrides));
      for (let step = 0; step < 2; step++) await trainStep(run, 0, step);
      const { metrics } = await evaluateRun(run);
      disposeRun(run);
      return metrics;
    };
    const sigmoidAll = await evaluate("eval-s", {
      grounderOutput: "sigmoid",
      inferencePairs: "all",
    });
    const sigmoidConfident = await evaluate("eval-s", {
      grounderOutput: "sigmoid",
      inferencePairs: "confident",
    });
    expect(sigmoidConfident).toEqual(sigmoidAll);
    const confident = await evaluate("eval-c", { inferencePairs: "confident" });
    expect(confident.programSuccess.total).toBe(8);
    expect(Number.isFinite(confident.symbolicLoss)).toBe(true);
  });
});

describe("a tiny categorical run with given programs", () => {
  // Eight given programs over (s1, s2) are evidence for abduction over the gold alphabet from the
  // first step; their outputs pin the symbols down, and g learns from them by reconstruction and
  // by cross-entropy on the abduced symbols.
  const FORMULAS = [
    "add(s1, s2)",
    "sub(s1, s2)",
    "mul(s1, s2)",
    "sub(s2, s1)",
    "add(mul(s1, s1), s2)",
    "mul(add(s1, s2), s1)",
    "sub(mul(s1, s2), s1)",
    "add(mul(s2, s2), s1)",
  ];
  const givenConfig = (out: string, overrides: Partial<TrainConfig> = {}) =>
    tinyConfig(out, {
      sketch: write("pair.sketch", PAIR_SKETCH),
      taskFile: write(
        "given.jsonl",
        FORMULAS.map((f) => JSON.stringify({ formula: f, given: true })).join(
          "\n",
        ),
      ),
      imitation: 1,
      abduction: 1,
      abductionAlphabet: "gold",
      batch: 16,
      trainPairs: 256,
      testPairs: 100,
      heldOutTasks: 0,
      generalizationTasks: 0,
      ...overrides,
    });

  it("adds abduction times the cross-entropy on the abduced symbols to the step's loss", async () => {
    // At the first step g is untrained, so the cross-entropy is near ln K; nothing else differs.
    const withCe = await createRun(givenConfig("ce"));
    const without = await createRun(givenConfig("no-ce", { abduction: 0 }));
    const a = (await trainStep(withCe, 0, 0)).loss;
    const b = (await trainStep(without, 0, 0)).loss;
    disposeRun(withCe);
    disposeRun(without);
    expect(a - b).toBeGreaterThan(Math.log(10) - 0.3);
    expect(a - b).toBeLessThan(Math.log(10) + 0.3);
  });

  it("takes the same step with the grounder's backward pass in chunks (train.ts chunkedGrads)", async () => {
    // 6 pairs of 2 images, chunks of 4 images: 3 chunks, cross-entropy included.
    const whole = await createRun(givenConfig("whole", { batch: 6 }));
    const chunked = await createRun(
      givenConfig("chunked", { batch: 6, grounderChunk: 4 }),
    );
    for (let step = 0; step < 3; step++)
      expect((await trainStep(chunked, 0, step)).loss).toBeCloseTo(
        (await trainStep(whole, 0, step)).loss,
        5,
      );
    const a = whole.model.variables.map((v) => v.dataSync());
    const b = chunked.model.variables.map((v) => v.dataSync());
    let worst = 0;
    a.forEach((w, i) =>
      w.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - b[i][j])))),
    );
    disposeRun(whole);
    disposeRun(chunked);
    // Adam's first steps move each weight by about the learning rate, 3e-3 a step.
    expect(worst).toBeLessThan(1e-5);
  });

  it("raises grounding accuracy from its start", async () => {
    const run = await createRun(givenConfig("rise"));
    expect(run.model.grounder.outputDim).toBe(10);
    const start = (await evaluateRun(run)).metrics.groundingAccuracy;
    const losses: number[] = [];
    for (let step = 0; step < 40; step++)
      losses.push((await trainStep(run, 0, step)).loss);
    const end = (await evaluateRun(run)).metrics.groundingAccuracy;
    disposeRun(run);
    expect(losses.every(Number.isFinite)).toBe(true);
    // 200 test images, 10 classes: an untrained g's most probable class is right by chance.
    expect(start).toBeLessThan(0.2);
    expect(end).toBeGreaterThan(start + 0.1);
  });
});
