// Tests of the task space: the exact count, that deduplication by polynomial merges exactly
// the formulas that agree everywhere (checked against an independent numeric fingerprint of
// every syntactic formula), minimal printing, and seeded sampling.

import { describe, expect, it } from "vitest";
import {
  bin,
  countOps,
  sym,
  type BinaryOp,
  type Formula,
} from "../../../runtime/data/formula.js";
import {
  polynomialKey,
  toPolynomial,
} from "../../../runtime/data/polynomial.js";
import { createRng } from "../../../runtime/random.js";
import {
  enumerateTasks,
  evaluateFormula,
  formatFormula,
  sampleTasks,
} from "../../../runtime/data/tasks.js";

const tasks = enumerateTasks();
const byText = new Map(tasks.map((t) => [t.text, t]));
const key = (f: Formula): string => polynomialKey(toPolynomial(f, 3));
const [s1, s2, s3] = [sym(0), sym(1), sym(2)];

/** Every formula with at most `maxOps` operators, built by size like a textbook grammar. */
function allFormulas(maxOps: number): Formula[] {
  const levels: Formula[][] = [[s1, s2, s3]];
  for (let k = 1; k <= maxOps; k++) {
    levels.push([]);
    for (let l = 0; l < k; l++) {
      for (const op of ["+", "-", "*"] as BinaryOp[]) {
        for (const left of levels[l])
          for (const right of levels[k - 1 - l])
            levels[k].push(bin(op, left, right));
      }
    }
  }
  return levels.flat();
}

describe("enumerateTasks", () => {
  it("finds 1,101 distinct non-constant formulas: 3, 18, 128 and 952 with 0..3 operators", () => {
    expect(tasks.length).toBe(1101);
    expect(
      [0, 1, 2, 3].map((k) => tasks.filter((t) => t.numOps === k).length),
    ).toEqual([3, 18, 128, 952]);
    expect(tasks.map((t) => t.id)).toEqual(tasks.map((_, i) => i));
  });

  it("agrees with a numeric fingerprint of all 11,451 syntactic formulas", () => {
    const formulas = allFormulas(3);
    expect(formulas.length).toBe(3 + 27 + 486 + 10935);
    // Integer points large enough that distinct polynomials of degree <= 4 differ on them
    // (Schwartz-Zippel); values stay below 2^53, so the arithmetic is exact.
    const rng = createRng(11);
    const points = Array.from({ length: 4 }, () =>
      [0, 1, 2].map(() => rng.int(2001) - 1000),
    );
    const fingerprint = (f: Formula): string =>
      points.map((p) => evaluateFormula(f, p)).join(",");
    const minOps = new Map<string, number>();
    for (const f of formulas) {
      const fp = fingerprint(f);
      minOps.set(fp, Math.min(minOps.get(fp) ?? Infinity, countOps(f)));
    }
    const zero = points.map(() => 0).join(",");
    expect(minOps.has(zero)).toBe(true); // s1 - s1 exists but is excluded
    expect(minOps.size - 1).toBe(tasks.length);
    for (const t of tasks)
      expect(minOps.get(fingerprint(t.formula))).toBe(t.numOps);
  });

  it("keeps one task per polynomial, each within 3 operators and printed by formatFormula", () => {
    expect(new Set(tasks.map((t) => key(t.formula))).size).toBe(tasks.length);
    for (const t of tasks) {
      expect(t.numOps).toBe(countOps(t.formula));
      expect(t.numOps).toBeLessThanOrEqual(3);
      expect(t.text).toBe(formatFormula(t.formula));
    }
  });

  it("merges commutative and algebraically equal formulas into their shortest form", () => {
    expect(byText.has("s1 + s2")).toBe(true);
    expect(byText.has("s2 + s1")).toBe(false);
    // (s1 + s2) * (s1 - s2) = s1 * s1 - s2 * s2: one task, printed the shorter way.
    const diffOfSquares = bin("*", bin("+", s1, s2), bin("-", s1, s2));
    expect(key(diffOfSquares)).toBe(
      key(bin("-", bin("*", s1, s1), bin("*", s2, s2))),
    );
    expect(byText.has("s1 * s1 - s2 * s2")).toBe(true);
    expect(byText.has("(s1 + s2) * (s1 - s2)")).toBe(false);
    // s1 + s2 - s2 is just s1: no 2-operator task for it.
    expect(
      tasks.filter((t) => key(t.formula) === key(s1)).map((t) => t.text),
    ).toEqual(["s1"]);
    // The paper's examples are all tasks.
    for (const f of [
      s1,
      bin("+", s2, s3),
      bin("*", bin("+", s1, s3), bin("-", s1, s3)),
    ]) {
      expect(tasks.some((t) => key(t.formula) === key(f))).toBe(true);
    }
  });

  it("excludes the constant zero polynomial", () => {
    expect(key(bin("-", s1, s1))).toBe("");
    expect(key(bin("*", bin("-", s2, s2), s3))).toBe("");
    expect(tasks.every((t) => key(t.formula) !== "")).toBe(true);
    const rng = createRng(5);
    const points = Array.from({ length: 3 }, () => [
      rng.next(),
      rng.next(),
      rng.next(),
    ]);
    expect(
      tasks.filter((t) =>
        points.every((p) => evaluateFormula(t.formula, p) === 0),
      ),
    ).toEqual([]);
  });
});

describe("formatFormula", () => {
  it.each([
    [bin("-", s1, bin("-", s2, s3)), "s1 - (s2 - s3)"],
    [bin("-", bin("-", s1, s2), s3), "s1 - s2 - s3"],
    [bin("+", s1, bin("*", s2, s3)), "s1 + s2 * s3"],
    [bin("*", bin("+", s1, s2), s3), "(s1 + s2) * s3"],
    [bin("*", s1, bin("*", s2, s3)), "s1 * (s2 * s3)"],
    [bin("*", bin("+", s1, s3), bin("-", s1, s3)), "(s1 + s3) * (s1 - s3)"],
  ])("prints %j as %s", (f, text) => {
    expect(formatFormula(f)).toBe(text);
  });

  it("prints text that JavaScript evaluates to evaluateFormula's value", () => {
    const s = [0.3, 0.7, 1.1];
    for (const t of tasks) {
      const value = new Function("s1", "s2", "s3", `return ${t.text};`)(
        ...s,
      ) as number;
      expect(value).toBe(evaluateFormula(t.formula, s));
    }
  });

  it("evaluates with a clear error for a missing symbol", () => {
    expect(() => evaluateFormula(s3, [1, 2])).toThrow(
      /uses s3 but only 2 symbols/,
    );
  });
});

describe("sampleTasks", () => {
  it("is seeded, without replacement, in ascending id order", () => {
    const a = sampleTasks(500, 1);
    expect(sampleTasks(500, 1)).toEqual(a);
    expect(sampleTasks(500, 2)).not.toEqual(a);
    expect(new Set(a.map((t) => t.id)).size).toBe(500);
    expect(a.map((t) => t.id)).toEqual(
      [...a.map((t) => t.id)].sort((x, y) => x - y),
    );
    expect(sampleTasks(tasks.length, 3)).toEqual(tasks);
    expect(sampleTasks(0, 3)).toEqual([]);
  });

  it("rejects an impossible sample size", () => {
    expect(() => sampleTasks(1102, 0)).toThrow(
      /n must be an integer in 0..1101, got 1102/,
    );
  });
});
