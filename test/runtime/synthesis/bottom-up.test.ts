// Bottom-up enumerative synthesis: it finds known programs from exact and noisy symbols, prunes by
// observational equivalence (fewer programs explored than brute force over the same sizes), and
// respects its size bound and program budget.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../../runtime/backend.js";
import {
  evaluateExpr,
  languageOf,
  type Language,
} from "../../../runtime/domains/expression.js";
import { loadSketch } from "../../../runtime/load-sketch.js";
import { createRng } from "../../../runtime/random.js";
import type { SketchModule } from "../../../runtime/sketch-module.js";
import {
  bestEnumerated,
  bruteForceCount,
  enumeratePrograms,
  synthesize,
} from "../../../runtime/synthesis/bottom-up.js";
import { formulaOf } from "../../../runtime/synthesis/formula.js";

/** The paper's operators, written out (an independent language, not the module's). */
const arith: Language = {
  numInputs: 3,
  constants: [],
  operators: [
    { name: "add", arity: 2, cost: 1, apply: (a, b) => a + b, identity: false },
    { name: "sub", arity: 2, cost: 1, apply: (a, b) => a - b, identity: false },
    { name: "mul", arity: 2, cost: 1, apply: (a, b) => a * b, identity: false },
    { name: "skip", arity: 1, cost: 0, apply: (a) => a, identity: true },
  ],
};

/** N tuples of the 0.1..1.0 alphabet, seeded, with optional gaussian noise of `noise`. */
function drawSymbols(n: number, seed: number, noise = 0): number[][] {
  const rng = createRng(seed);
  const gauss = () =>
    Math.sqrt(-2 * Math.log(1 - rng.next())) *
    Math.cos(2 * Math.PI * rng.next());
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 }, () => (rng.int(10) + 1) / 10 + noise * gauss()),
  );
}

const gold = (s: readonly number[]) => (s[0] + s[1]) * s[2];

describe("synthesize", () => {
  it("finds (s1 + s2) * s3 from exact symbols, at size 2", () => {
    const symbols = drawSymbols(24, 1);
    const r = synthesize(arith, symbols, symbols.map(gold), { maxSize: 3 });
    expect(r.size).toBe(2);
    expect(r.error).toBeLessThan(1e-12);
    expect(r.exhaustive).toBe(true);
    // The same function on fresh points, whatever order its arguments came in.
    for (const s of drawSymbols(16, 2))
      expect(evaluateExpr(arith, r.program!, s)).toBeCloseTo(gold(s), 12);
  });

  it("finds it from noisy symbols (outputs of the gold symbols, inputs read with noise)", () => {
    const exact = drawSymbols(40, 3);
    const noisy = drawSymbols(40, 3, 0.02);
    const r = synthesize(arith, noisy, exact.map(gold), {
      maxSize: 3,
      tolerance: 0.02,
    });
    expect(r.size).toBe(2);
    expect(r.error).toBeGreaterThan(0);
    expect(r.error).toBeLessThanOrEqual(0.02);
    for (const s of drawSymbols(16, 4))
      expect(evaluateExpr(arith, r.program!, s)).toBeCloseTo(gold(s), 12);
  });

  it("explores fewer programs than brute force over the same sizes", () => {
    const symbols = drawSymbols(24, 5);
    // A target of size 4 with a bound of 3: the search covers every size up to 3.
    const target = (s: readonly number[]) =>
      (s[0] + s[1]) * (s[2] - s[0]) * s[1] + s[2];
    const r = synthesize(arith, symbols, symbols.map(target), { maxSize: 3 });
    const brute = bruteForceCount(arith, 3);
    // Trees with k = 0..3 binary operators over 3 leaves: 3, 3*3*3, 3*2*3*27, 3*(2*3*486 + 27*27).
    expect(brute).toBe(3 + 27 + 486 + 10935);
    expect(r.explored).toBeLessThan(brute);
    expect(r.explored).toBeLessThan(0.5 * brute);
    expect(r.distinct).toBeLessThan(r.explored);
  });

  it("respects the size bound and reports the failure as exhaustive", () => {
    const symbols = drawSymbols(24, 6);
    const target = (s: readonly number[]) => s[0] * s[1] * s[2] * s[0] - s[1];
    const r = synthesize(arith, symbols, symbols.map(target), { maxSize: 2 });
    expect(r.program).toBeUndefined();
    expect(r.text).toBeUndefined();
    expect(r.exhaustive).toBe(true);
    const found = synthesize(arith, symbols, symbols.map(target), {
      maxSize: 4,
    });
    expect(found.size).toBe(4);
  });

  it("stops at the program budget and says the search was not exhaustive", () => {
    const symbols = drawSymbols(24, 7);
    const target = (s: readonly number[]) => s[0] * s[1] * s[2] * s[0] - s[1];
    const r = synthesize(arith, symbols, symbols.map(target), {
      maxSize: 4,
      maxPrograms: 500,
    });
    expect(r.program).toBeUndefined();
    expect(r.exhaustive).toBe(false);
    expect(r.explored).toBe(500);
  });

  it("rejects tuples of the wrong width", () => {
    expect(() => synthesize(arith, [[0.1, 0.2]], [0.3])).toThrow(/3 values/);
  });
});

describe("synthesis over a compiled sketch", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-synth-"));
  let module: SketchModule;
  beforeAll(async () => {
    await selectBackend("cpu");
    module = await loadSketch("sketches/arith.sketch", root);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("searches the module's operators and prints the sketch's formula", () => {
    const symbols = drawSymbols(24, 8);
    const r = synthesize(languageOf(module), symbols, symbols.map(gold));
    expect(r.size).toBe(2);
    const { formula, expressible } = formulaOf(module, r.program!);
    expect(expressible).toBe(true);
    expect(formula.replace(/\s/g, "")).toMatch(
      /^(s3\*\(s1\+s2\)|\(s1\+s2\)\*s3|s3\*\(s2\+s1\)|\(s2\+s1\)\*s3)$/,
    );
  });
});

describe("enumeratePrograms", () => {
  it("lists each behaviour once, smallest first, and serves many tasks with one search", () => {
    const symbols = drawSymbols(24, 7);
    const programs = enumeratePrograms(arith, symbols, { maxSize: 2 });
    // Sizes never decrease, and no two behaviours have the same outputs.
    for (let i = 1; i < programs.length; i++)
      expect(programs[i].size).toBeGreaterThanOrEqual(programs[i - 1].size);
    const keys = new Set(programs.map((p) => Array.from(p.values).join(",")));
    expect(keys.size).toBe(programs.length);
    // Each program's values are its outputs on the symbols.
    for (const p of programs.slice(0, 40))
      symbols.forEach((s, i) =>
        expect(p.values[i]).toBeCloseTo(evaluateExpr(arith, p.expr, s), 12),
      );
    // As many distinct behaviours as synthesize keeps on the same symbols and bound.
    const r = synthesize(
      arith,
      symbols,
      symbols.map(() => 1e9),
      { maxSize: 2 },
    );
    expect(programs.length).toBe(r.distinct);
    // Three tasks, one search: each gets its own program back.
    const targets = [
      gold,
      (s: readonly number[]) => s[0] - s[2],
      (s: readonly number[]) => s[1] * s[1],
    ];
    for (const f of targets) {
      const best = bestEnumerated(programs, symbols.map(f))!;
      for (const s of drawSymbols(8, 8))
        expect(evaluateExpr(arith, best.expr, s)).toBeCloseTo(f(s), 12);
    }
    // Nothing finite to fit: no program.
    expect(
      bestEnumerated(
        programs,
        symbols.map(() => NaN),
      ),
    ).toBeUndefined();
  });
});
