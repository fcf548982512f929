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
    updateCodebook(c, [0.2, 0.4, 1.5, NaN], 0.5);
    // 0 -> 0 + 0.5 * (0.3 - 0) = 0.15; 1 -> 1 + 0.5 * (1.5 - 1) = 1.25.
    expect(c.values[0]).toBeCloseTo(0.15, 6);
    expect(c.values[1]).toBeCloseTo(1.25, 6);
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
