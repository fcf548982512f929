// The alphabet and what derives from it: the default values, the prior's statistics, the bounded
// grounder's interval, and the symbol reader, which for 0.1..1.0 is today's round(10 g) exactly.

import { describe, expect, it } from "vitest";
import {
  alphabetSpacing,
  alphabetStats,
  checkAlphabet,
  createSymbolReader,
  defaultAlphabet,
  describeAlphabet,
  symbolBounds,
} from "../../../runtime/domains/alphabet.js";
import { createRng } from "../../../runtime/random.js";

describe("the default alphabet", () => {
  it("gives class k the value (k + 1) / 10 for any class count", () => {
    expect(defaultAlphabet(10)).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
    ]);
    expect(defaultAlphabet(3)).toEqual([0.1, 0.2, 0.3]);
    expect(defaultAlphabet(12).at(-1)).toBe(1.2);
  });
});

describe("alphabetStats, symbolBounds, alphabetSpacing", () => {
  it("derive the prior target, the grounder range and the spacing", () => {
    expect(alphabetStats([1, 2, 3, 6])).toEqual({ mean: 3, variance: 3.5 });
    expect(symbolBounds(defaultAlphabet(10))).toEqual({ low: 0, high: 1.5 });
    expect(symbolBounds([0, 4, 2])).toEqual({ low: 0, high: 6 });
    expect(symbolBounds([-2, 1])).toEqual({ low: -3, high: 3 });
    expect(symbolBounds([0, 0])).toEqual({ low: 0, high: 1.5 });
    expect(alphabetSpacing(defaultAlphabet(10))).toBeCloseTo(0.1, 15);
    expect(alphabetSpacing([0, 9, 3])).toBe(4.5);
    expect(alphabetSpacing([5])).toBe(1);
  });
});

describe("createSymbolReader", () => {
  it("is round(10 x) for 0.1..1.0 on every float32 tried, edges included", () => {
    const alphabet = defaultAlphabet(10);
    const reader = createSymbolReader(alphabet);
    const old = (x: number) => {
      const k = Math.round(10 * x);
      return k >= 1 && k <= 10 ? alphabet[k - 1] : undefined;
    };
    const xs: number[] = [NaN, -0, 0, Infinity, -Infinity];
    // Around every cell edge (k + 0.5) / 10, a few float32 steps either side.
    for (let k = 0; k <= 10; k++) {
      let x = Math.fround((k + 0.5) / 10);
      for (let i = 0; i < 8; i++) x = nextDown(x);
      for (let i = 0; i < 16; i++, x = nextUp(x)) xs.push(x);
    }
    const rng = createRng(3);
    for (let i = 0; i < 200_000; i++) xs.push(Math.fround(rng.next() * 1.5));
    const differ = xs.filter((x) => reader.read(x) !== old(x));
    expect(differ).toEqual([]);
    expect(reader.read(0.049)).toBeUndefined();
    expect(reader.read(0.05)).toBe(0.1);
    expect(reader.read(1.0499)).toBe(1);
    expect(reader.read(1.05)).toBeUndefined();
  });

  it("reads unevenly spaced, negative and repeated values", () => {
    const reader = createSymbolReader([0, 1, 1, 10, -4]);
    // Distinct values -4, 0, 1, 10: cells split halfway, outer ones half the outer gap wide.
    expect(reader.read(-6)).toBe(-4);
    expect(reader.read(-6.01)).toBeUndefined();
    expect(reader.read(-2)).toBe(0); // halfway belongs to the upper cell
    expect(reader.read(0.49)).toBe(0);
    expect(reader.read(0.5)).toBe(1);
    expect(reader.read(5.49)).toBe(1);
    expect(reader.read(5.5)).toBe(10);
    expect(reader.read(14.49)).toBe(10);
    expect(reader.read(14.5)).toBeUndefined();
    expect(createSymbolReader([7]).read(-100)).toBe(7);
  });
});

describe("checkAlphabet and describeAlphabet", () => {
  it("reject what is not a list of finite numbers, and shorten long ones", () => {
    expect(checkAlphabet([0, 1.5, -2])).toBeUndefined();
    expect(checkAlphabet([])).toBe("the alphabet needs at least one value");
    expect(checkAlphabet([1, "2"])).toBe(
      'value 2 ("2") is not a finite number',
    );
    expect(checkAlphabet([1, null])).toBe(
      "value 2 (null) is not a finite number",
    );
    expect(describeAlphabet(defaultAlphabet(10))).toBe(
      "0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1",
    );
    expect(describeAlphabet(defaultAlphabet(20))).toBe(
      "0.1, 0.2, 0.3, 0.4, 0.5, ..., 1.9, 2",
    );
  });
});

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The next float32 above a positive float32 x. */
function nextUp(x: number): number {
  f32[0] = x;
  u32[0] += 1;
  return f32[0];
}

/** The next float32 below a positive float32 x. */
function nextDown(x: number): number {
  f32[0] = x;
  u32[0] -= 1;
  return f32[0];
}
