// Tests of the seeded generator: pinned values (so a change of algorithm is noticed),
// ranges, and the in-place shuffle.

import { describe, expect, it } from "vitest";
import { createRng, deriveSeed } from "../../../runtime/random.js";

describe("createRng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it("produces the pinned stream for seed 1", () => {
    const rng = createRng(1);
    const ints = Array.from({ length: 8 }, () => rng.int(1000));
    expect(ints).toEqual([231, 553, 553, 110, 823, 767, 560, 810]);
  });

  it("keeps next() in [0, 1) and int(n) in 0..n-1, hitting every value", () => {
    const rng = createRng(7);
    const seen = new Set<number>();
    for (let k = 0; k < 2000; k++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
      const i = rng.int(10);
      expect(Number.isInteger(i) && i >= 0 && i < 10).toBe(true);
      seen.add(i);
    }
    expect(seen.size).toBe(10);
  });

  it("draws normals with mean near 0 and variance near 1", () => {
    const rng = createRng(3);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it("shuffles in place to a permutation and picks members with choice", () => {
    const rng = createRng(9);
    const array = Array.from({ length: 50 }, (_, i) => i);
    const same = rng.shuffle(array);
    expect(same).toBe(array);
    expect([...array].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(array).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(["a", "b", "c"]).toContain(rng.choice(["a", "b", "c"]));
  });

  it("rejects bad arguments with clear errors", () => {
    expect(() => createRng(1.5)).toThrow(/seed must be a safe integer/);
    expect(() => createRng(0).int(0)).toThrow(/positive integer/);
    expect(() => createRng(0).choice([])).toThrow(/empty array/);
  });

  it("derives distinct sub-stream seeds", () => {
    const seeds = new Set([0, 1, 2, 3].map((s) => deriveSeed(5, s)));
    expect(seeds.size).toBe(4);
    expect(deriveSeed(5, 1)).toBe(deriveSeed(5, 1));
  });
});
