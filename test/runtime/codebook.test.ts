// The abduction codebook: quantiles of the first batch, then online k-means that tracks g's
// outputs; a checkpoint round trip.

import { describe, expect, it } from "vitest";
import {
  codebookToArrays,
  createCodebook,
  loadCodebook,
  nearest,
  updateCodebook,
} from "../../runtime/codebook.js";

describe("codebook", () => {
  it("starts at the quantiles of the first batch", () => {
    const c = createCodebook(4);
    updateCodebook(c, [8, 1, 2, 7, 3, 4, 5, 6]);
    expect(c.initialized).toBe(true);
    expect(Array.from(c.values)).toEqual([2, 4, 6, 8]);
  });

  it("moves each value towards the mean of the symbols nearest to it", () => {
    const c = createCodebook(2);
    updateCodebook(c, [0, 1]); // values 0 and 1
    updateCodebook(c, [0.2, 0.4, 1.5, NaN], undefined, 0.5);
    // 0 -> 0 + 0.5 * (0.3 - 0) = 0.15; 1 -> 1 + 0.5 * (1.5 - 1) = 1.25.
    expect(c.values[0]).toBeCloseTo(0.15, 6);
    expect(c.values[1]).toBeCloseTo(1.25, 6);
  });

  it("fits the values that programs read to the outputs they must give", () => {
    // Two values, one symbol per pair; the program y = 2 * s reads it. Pairs 0 and 1 were given
    // value 0, pair 2 value 1; their outputs say the values are 0.2 and 1.0.
    const c = createCodebook(3);
    updateCodebook(c, [0.1, 0.5, 0.9]);
    const evidence = {
      numInputs: 1,
      programs: [(s: readonly number[]) => 2 * s[0]],
      indices: Int32Array.from([0, 0, 1]),
      y: Float32Array.from([0.4, 0.4, 2.0]),
      sigma: Float32Array.from([0.5]),
    };
    // A full Gauss-Newton step on a linear program lands on the answer.
    updateCodebook(c, [0.1, 0.1, 0.5], evidence, 0.1, 1);
    expect(c.values[0]).toBeCloseTo(0.2, 4);
    expect(c.values[1]).toBeCloseTo(0.9, 6); // no evidence, no nearby symbol: unchanged
    expect(c.values[2]).toBeCloseTo(1.0, 4);
    // A damped one moves part of the way; a value with no evidence follows g's symbols.
    const d = createCodebook(2);
    updateCodebook(d, [0.1, 0.5]);
    updateCodebook(
      d,
      [0.1, 0.1, 0.7],
      {
        ...evidence,
        indices: Int32Array.from([0, 0, 0]),
        y: Float32Array.from([0.4, 0.4, 0.4]),
      },
      0.5,
      0.5,
    );
    expect(d.values[0]).toBeCloseTo(0.15, 4); // 0.1 -> halfway to 0.2
    expect(d.values[1]).toBeCloseTo(0.6, 6); // 0.5 -> halfway to g's 0.7
  });

  it("converges to the clusters of a stationary stream", () => {
    const c = createCodebook(3);
    const centers = [0.2, 0.5, 0.9];
    for (let step = 0; step < 200; step++) {
      const batch = Array.from(
        { length: 30 },
        (_, i) => centers[i % 3] + 0.01 * Math.sin(step * 31 + i),
      );
      updateCodebook(c, batch);
    }
    Array.from(c.values).forEach((v, k) =>
      expect(v).toBeCloseTo(centers[k], 2),
    );
    expect(nearest(c.values, 0.45)).toBe(1);
  });

  it("round-trips through checkpoint arrays", () => {
    const c = createCodebook(3);
    updateCodebook(c, [0.1, 0.5, 0.9]);
    const d = createCodebook(3);
    loadCodebook(d, codebookToArrays(c));
    expect(d).toEqual(c);
    expect(() => loadCodebook(createCodebook(2), codebookToArrays(c))).toThrow(
      /3 values, the run 2/,
    );
  });
});
