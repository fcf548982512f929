// The enumerate domain against brute-force counts written here: all trees of the operators up to
// K applications, evaluated exactly at random integer points (distinct polynomials of low degree
// differ there), kept when the sketch's shape can hold them. Then the module's own semantics
// (safe division), the exclusions, soundness of every placement, and the paper's 1,101.

import { describe, expect, it } from "vitest";
import { defaultAlphabet } from "../../../runtime/domains/alphabet.js";
import { createArithDomain } from "../../../runtime/domains/arith.js";
import {
  choicesToParams,
  createProgramSpace,
  placeExpr,
} from "../../../runtime/domains/embed.js";
import {
  countCandidates,
  createEnumerateDomain,
  dedupPoints,
  enumeratePrograms,
} from "../../../runtime/domains/enumerate.js";
import {
  evaluateExpr,
  languageOf,
  type Expr,
} from "../../../runtime/domains/expression.js";
import { createRng } from "../../../runtime/random.js";
import { RunError } from "../../../runtime/run-error.js";
import type { SketchModule } from "../../../runtime/sketch-module.js";
import { compile, compileText } from "./helpers.js";

/** A brute-force tree: a leaf (input index) or a binary node over + - *. */
type Tree = number | { op: "+" | "-" | "*"; l: Tree; r: Tree };

/** Every tree over `numInputs` inputs and `ops` with exactly k nodes, for k = 0..maxOps. */
function treesByOps(
  numInputs: number,
  ops: readonly ("+" | "-" | "*")[],
  maxOps: number,
): Tree[][] {
  const levels: Tree[][] = [Array.from({ length: numInputs }, (_, i) => i)];
  for (let k = 1; k <= maxOps; k++) {
    const level: Tree[] = [];
    for (const op of ops)
      for (let left = 0; left < k; left++)
        for (const l of levels[left])
          for (const r of levels[k - 1 - left]) level.push({ op, l, r });
    levels.push(level);
  }
  return levels;
}

const depth = (t: Tree): number =>
  typeof t === "number" ? 0 : 1 + Math.max(depth(t.l), depth(t.r));

/** Distinct non-constant functions among `trees`, by exact values at random integer points. */
function countDistinct(trees: readonly Tree[], numInputs: number): number {
  const rng = createRng(5);
  const points = Array.from({ length: 12 }, () =>
    Array.from({ length: numInputs }, () => BigInt(1 + rng.int(1000))),
  );
  const value = (t: Tree, s: readonly bigint[]): bigint => {
    if (typeof t === "number") return s[t];
    const a = value(t.l, s);
    const b = value(t.r, s);
    return t.op === "+" ? a + b : t.op === "-" ? a - b : a * b;
  };
  const seen = new Set<string>();
  for (const t of trees) {
    const v = points.map((s) => value(t, s));
    if (v.every((x) => x === v[0])) continue;
    seen.add(v.join(","));
  }
  return seen.size;
}

const sketchOf = (body: string, inputs = 2, ops = "add,sub,mul") =>
  `sketch s {\n  inputs ${inputs};\n${ops
    .split(",")
    .map((o) => `  op ${o}(a, b) = a ${{ add: "+", sub: "-", mul: "*" }[o]} b;`)
    .join("\n")}\n  op skip(a) = a cost 0;\n${body}\n}\n`;

/** The placement of every task decodes to a module program that computes the task. */
function expectSound(
  module: SketchModule,
  tasks: readonly { expr: Expr }[],
): void {
  const language = languageOf(module);
  const space = createProgramSpace(module, language);
  const m = module as SketchModule<unknown>;
  const points = dedupPoints(defaultAlphabet(10), language.numInputs).slice(
    0,
    16,
  );
  for (const t of tasks) {
    const choices = placeExpr(space, t.expr)!;
    expect(choices).toBeDefined();
    const z = choicesToParams(space, [choices]);
    const program = m.decode(z)[0];
    Object.values(z).forEach((x) => x.dispose());
    for (const s of points)
      expect(m.evaluate(program, s)).toBeCloseTo(
        evaluateExpr(language, t.expr, s),
        9,
      );
  }
}

describe("enumeratePrograms against brute force", () => {
  it("counts every distinct function of an unrestricted straight-line sketch", async () => {
    const module = await compileText(
      "free",
      sketchOf("  straight lines 3 { args: inputs, earlier; }\n  output last;"),
    );
    const trees = treesByOps(2, ["+", "-", "*"], 3);
    for (const k of [1, 2, 3]) {
      const tasks = enumeratePrograms(module, defaultAlphabet(10), k);
      expect(tasks.length).toBe(countDistinct(trees.slice(0, k + 1).flat(), 2));
    }
    const tasks = enumeratePrograms(module, defaultAlphabet(10), 2);
    expect(tasks.map((t) => t.id)).toEqual(tasks.map((_, i) => i));
    // Fewest operators first; each task's representative has the fewest.
    expect(tasks.map((t) => t.numOps)).toEqual(
      [...tasks.map((t) => t.numOps)].sort(),
    );
    expectSound(module, tasks);
  });

  it("keeps only what a depth-2 syntax tree holds", async () => {
    const module = await compileText(
      "tree2",
      sketchOf(
        "  tree depth 2 { leaves: inputs; }\n  output root;",
        2,
        "add,mul",
      ),
    );
    const trees = treesByOps(2, ["+", "*"], 3)
      .flat()
      .filter((t) => depth(t) <= 2);
    const tasks = enumeratePrograms(module, defaultAlphabet(10), 3);
    expect(tasks.length).toBe(countDistinct(trees, 2));
    // A depth-3 formula with 3 operators has no depth-2 equivalent here: (s1 * s1 + s2) * s2.
    const all = countDistinct(treesByOps(2, ["+", "*"], 3).flat(), 2);
    expect(tasks.length).toBeLessThan(all);
    expectSound(module, tasks);
  });

  it("respects restricted scopes: an accumulator over the inputs (as horner.sketch)", async () => {
    const module = await compileText(
      "acc",
      sketchOf(
        "  straight lines 4 {\n    arg 1: last 1;\n    arg 2: inputs;\n  }\n  output last;",
      ),
    );
    // Line 1's first argument is the slot before it, s2; every later line extends the previous
    // one by an input: op_k(...op_1(s2, x_1)..., x_k).
    const chains: Tree[] = [1];
    let frontier: Tree[] = [1];
    for (let k = 1; k <= 3; k++) {
      frontier = frontier.flatMap((acc) =>
        (["+", "-", "*"] as const).flatMap((op) =>
          [0, 1].map((x): Tree => ({ op, l: acc, r: x })),
        ),
      );
      chains.push(...frontier);
    }
    const tasks = enumeratePrograms(module, defaultAlphabet(10), 3);
    expect(tasks.length).toBe(countDistinct(chains, 2));
    expect(tasks[0].text).toBe("s2");
    expectSound(module, tasks);
  });

  it("finds the paper's 1,101 tasks in arith-depth3.sketch, as many per operator count", async () => {
    const module = await compile("sketches/arith-depth3.sketch");
    const tasks = enumeratePrograms(module, defaultAlphabet(10), 3);
    const arith = createArithDomain(defaultAlphabet(10)).drawTasks(
      2000,
      0,
      0,
    ).train;
    const byOps = (ts: readonly { numOps?: number }[]) =>
      [0, 1, 2, 3].map((k) => ts.filter((t) => t.numOps === k).length);
    expect(tasks.length).toBe(1101);
    expect(byOps(tasks)).toEqual(byOps(arith));
    expect(byOps(tasks)).toEqual([3, 18, 128, 952]);
  });
});

describe("enumeratePrograms on constants and the module's semantics", () => {
  const oneInput = `sketch c {\n  inputs 1;\n  const one = 1;\n  op div(a, b) = a / b;\n  op skip(a) = a cost 0;\n  straight lines 2 { args: inputs, consts, earlier; }\n  output last;\n}\n`;

  it("evaluates safe division as the interpreter does and drops constant functions", async () => {
    const module = await compileText("div", oneInput);
    // s1 / s1 is 0 at s1 = 0 (safe division) and 1 elsewhere: a task here, a constant there.
    const withZero = enumeratePrograms(module, [0, 0.5, 2], 1).map(
      (t) => t.text,
    );
    expect(withZero).toEqual(["s1", "div(s1, s1)", "div(one, s1)"]);
    const noZero = enumeratePrograms(module, [0.5, 2, 4], 1).map((t) => t.text);
    expect(noZero).toEqual(["s1", "div(one, s1)"]);
  });

  it("drops programs with non-finite outputs", async () => {
    const module = await compileText(
      "big",
      "sketch b {\n  inputs 1;\n  op add(a, b) = a + b;\n  op mul(a, b) = a * b;\n  straight lines 1 { args: inputs; }\n  output last;\n}\n",
    );
    // s1 * s1 reaches 9e38, beyond float32, the type of the training outputs.
    const texts = enumeratePrograms(module, [1e19, 3e19], 1).map((t) => t.text);
    expect(texts).toEqual(["add(s1, s1)"]); // s1 needs an identity; s1 * s1 overflows
  });

  it("counts its candidates and refuses too many, naming --max-ops", async () => {
    const module = await compile("sketches/rational.sketch");
    expect(countCandidates(languageOf(module), 3)).toEqual([
      5, 115, 4945, 265535,
    ]);
    expect(() => enumeratePrograms(module, defaultAlphabet(10), 5)).toThrow(
      RunError,
    );
    expect(() => enumeratePrograms(module, defaultAlphabet(10), 5)).toThrow(
      /--max-ops 5: .* candidate programs with at most 5 operators, over the 3,000,000 .* lower --max-ops or give a --task-file/,
    );
  });
});

describe("createEnumerateDomain", () => {
  it("draws seeded training and held-out tasks from the pool", async () => {
    const module = await compile("sketches/smooth.sketch");
    const domain = createEnumerateDomain(module, defaultAlphabet(10), 2);
    const a = domain.drawTasks(20, 10, 3);
    expect(domain.drawTasks(20, 10, 3)).toEqual(a);
    expect(domain.drawTasks(20, 10, 4).train).not.toEqual(a.train);
    const trained = new Set(a.train.map((t) => t.id));
    expect(a.heldOut.some((t) => trained.has(t.id))).toBe(false);
    expect(a.heldOut).toHaveLength(10);
    const t = a.train[0];
    expect(domain.output(t, [0.3, 0.7])).toBe(
      evaluateExpr(languageOf(module), t.expr, [0.3, 0.7]),
    );
    expectSound(module, a.train);
  });
});
