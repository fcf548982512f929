// The metrics of Sec. 4.1 on hand-made data: success needs every test pair right on the gold
// symbols; symbolic loss, test loss and grounding accuracy are plain averages.

import { describe, expect, it } from "vitest";
import type { Split } from "../../runtime/data/pairs.js";
import { computeMetrics, sameOutput } from "../../runtime/metrics.js";

/** Two tasks (y = s1 + s2, y = s1 * s2) on two pairs of 2 symbols. */
function split(): Split {
  const symbols = Float32Array.from([0.1, 0.2, 0.5, 0.4]);
  const outputs = Float32Array.from([0.3, 0.9, 0.02, 0.2]);
  return {
    symbols,
    classes: Int32Array.from([0, 1, 4, 3]),
    images: new Float32Array(0),
    outputs,
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

  it("compares float32 outputs with a relative tolerance", () => {
    expect(sameOutput(0.30000001, 0.3)).toBe(true);
    expect(sameOutput(0.301, 0.3)).toBe(false);
  });
});
