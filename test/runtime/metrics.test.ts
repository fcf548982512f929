// The metrics of Sec. 4.1 on hand-made data: success needs every test pair right on the gold
// symbols; symbolic loss, test loss and grounding accuracy are plain averages.

import { describe, expect, it } from "vitest";
import type { Split } from "../../runtime/data/pairs.js";
import { defaultAlphabet } from "../../runtime/domains/alphabet.js";
import {
  computeMetrics,
  countSolved,
  pickBest,
  sameOutput,
  solvedTasks,
} from "../../runtime/metrics.js";

/** Two tasks (y = s1 + s2, y = s1 * s2) on two pairs of 2 symbols. */
function split(): Split {
  const symbols = Float32Array.from([0.1, 0.2, 0.5, 0.4]);
  const outputs = Float32Array.from([0.3, 0.9, 0.02, 0.2]);
  return {
    symbols,
    classes: Int32Array.from([0, 1, 4, 3]),
    images: new Float32Array(0),
    outputs,
    alphabet: defaultAlphabet(10),
    numPairs: 2,
    numInputs: 2,
    numTasks: 2,
    height: 1,
    width: 1,
    channels: 1,
  };
}

type P = "sum" | "product" | "first";
const module = {
  evaluate: (p: P, s: readonly number[]) =>
    p === "sum" ? s[0] + s[1] : p === "product" ? s[0] * s[1] : s[0],
  length: (p: P) => (p === "first" ? 0 : 1),
};

describe("computeMetrics", () => {
  it("counts a task solved only when every test pair matches on gold symbols", () => {
    const grounded = Float32Array.from([0.1, 0.2, 0.5, 0.4]);
    const m = computeMetrics(module, ["sum", "first"], grounded, split());
    expect(m.programSuccess).toEqual({ count: 1, total: 2, rate: 0.5 });
    expect(m.symbolicLoss).toBeCloseTo(0, 12);
    expect(m.groundingAccuracy).toBe(1);
    expect(m.meanProgramLength).toBe(0.5);
    // task 2 predicted by `first`: errors 0.1 - 0.02 and 0.5 - 0.2
    expect(m.testLoss).toBeCloseTo((0.08 ** 2 + 0.3 ** 2) / 4, 6);
  });

  it("measures grounding against the gold symbols", () => {
    const grounded = Float32Array.from([0.14, 0.26, 0.5, 0.4]);
    const m = computeMetrics(module, ["sum", "product"], grounded, split());
    expect(m.groundingAccuracy).toBe(0.75); // 0.26 rounds to 0.3
    expect(m.symbolicLoss).toBeCloseTo((0.04 ** 2 + 0.06 ** 2) / 4, 8);
    expect(m.programSuccess.count).toBe(2);
  });

  it("reports the success, losses and length of the programs it is given", () => {
    const grounded = Float32Array.from([0.1, 0.2, 0.5, 0.4]);
    const m = computeMetrics(module, ["first", "first"], grounded, split());
    expect(m.programSuccess.count).toBe(0);
    expect(m.meanProgramLength).toBe(0);
  });

  it("compares float32 outputs with a relative tolerance", () => {
    expect(sameOutput(0.30000001, 0.3)).toBe(true);
    expect(sameOutput(0.301, 0.3)).toBe(false);
  });
});

describe("the three program metrics on one hand-built case", () => {
  // Tasks: y = s1 + s2 and y = s1 * s2; the first pair is the inference pair.
  const train = split();
  const grounded = Float32Array.from([0.1, 0.2, 0.5, 0.4]); // g(x) right
  const argmax: P[] = ["first", "first"];
  const samples: P[][] = [["product", "sum"], ["first"]];
  const stored: (P | undefined)[] = [undefined, "product"];
  const candidates = argmax.map((p, t) => [p, ...samples[t], stored[t]]);
  // Held out: y = s1 * s2 alone (the same pairs), argmax wrong, a sample right.
  const heldOut: Split = {
    ...train,
    outputs: train.outputs.slice(2),
    numTasks: 1,
  };

  it("programSuccess (argmax), foundProgramSuccess and heldOutProgramSuccess differ", () => {
    const programSuccess = countSolved(solvedTasks(module, argmax, train));
    const found = pickBest(module, candidates, grounded, train, 1);
    expect(found).toEqual(["sum", "product"]);
    const foundProgramSuccess = countSolved(solvedTasks(module, found, train));
    const heldArgmax: P[] = ["sum"];
    const heldSampled = pickBest(
      module,
      [["sum", "product"]],
      grounded,
      heldOut,
      1,
    );
    expect(programSuccess.count).toBe(0);
    expect(foundProgramSuccess.count).toBe(2);
    expect(countSolved(solvedTasks(module, heldArgmax, heldOut)).count).toBe(0);
    expect(countSolved(solvedTasks(module, heldSampled, heldOut)).count).toBe(
      1,
    );
  });

  it("chooses on g(x) of the inference pairs, not on the gold symbols", () => {
    // g(x) of the inference pair reads (0.3, 0.0): then `first` fits y = 0.3 exactly.
    const wrong = Float32Array.from([0.3, 0.0, 0.5, 0.4]);
    const found = pickBest(module, [["sum", "first"]], wrong, train, 1);
    expect(found).toEqual(["first"]);
    expect(solvedTasks(module, found, train)).toEqual([false]);
  });

  it("prefers the shorter program on a tie, then the earlier one", () => {
    // g(x) of the inference pair is (0.1, 0.0): sum and first both give its y = 0.1 exactly.
    const tie: Split = {
      ...train,
      outputs: Float32Array.from([0.1, 0.5]),
      numTasks: 1,
    };
    const g = Float32Array.from([0.1, 0.0, 0.5, 0.4]); // sum = first = 0.1 on the first pair
    expect(pickBest(module, [["sum", "first"]], g, tie, 1)).toEqual(["first"]);
    expect(pickBest(module, [["sum", undefined]], g, tie, 1)).toEqual(["sum"]);
  });

  it("one task's choice never depends on another task's outputs", () => {
    const before = pickBest(module, candidates, grounded, train, 1);
    const changed: Split = {
      ...train,
      outputs: Float32Array.from([...train.outputs.slice(0, 2), 7, -7]),
    };
    const after = pickBest(module, candidates, grounded, changed, 1);
    expect(after[0]).toBe(before[0]);
  });

  it("counts within a subset, e.g. by number of operators", () => {
    expect(countSolved([true, false, true], [true, true, false])).toEqual({
      count: 1,
      total: 2,
      rate: 0.5,
    });
    expect(countSolved([], [])).toEqual({ count: 0, total: 0, rate: 0 });
  });
});
