// Golden files of the emitter: each test/samples/CASE/input.sketch compiles to CASE/expected.ts
// (update with `npx vitest run test/samples -u` and review the diff). Each golden is paired with
// one targeted assertion about the code, and each must type-check against tfjs-core.

import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  compileSketch,
  typeCheckModule,
  type CompileResult,
} from "../../compiler/compile.js";

const CASES = ["straight", "tree", "rational", "restricted"] as const;
type Case = (typeof CASES)[number];

const compiled = {} as Record<Case, CompileResult & { typescript: string }>;

beforeAll(async () => {
  for (const name of CASES) {
    const file = path.join(import.meta.dirname, name, "input.sketch");
    const result = await compileSketch(fs.readFileSync(file, "utf8"), file);
    expect(result.diagnostics).toEqual([]);
    compiled[name] = { ...result, typescript: result.typescript! };
  }
});

/** The numbers of the lines the straight-line `execute` unrolls, from its `// Line N` comments. */
function unrolledLines(typescript: string): number[] {
  return [...typescript.matchAll(/\/\/ Line (\d+) -> slot \d+\./g)].map((m) =>
    Number(m[1]),
  );
}

describe.each(CASES)("sample %s", (name) => {
  it("matches its golden file", async () => {
    await expect(compiled[name].typescript).toMatchFileSnapshot(
      `./${name}/expected.ts`,
    );
  });

  it("type-checks", () => {
    expect(typeCheckModule(compiled[name].typescript, name)).toEqual([]);
  });
});

describe("targeted assertions", () => {
  it("straight: exports the SketchModule API and unrolls all 3 lines", () => {
    const ts = compiled.straight.typescript;
    for (const fn of [
      "execute",
      "expectedLength",
      "decode",
      "encode",
      "prune",
      "evaluate",
      "length",
      "formula",
      "format",
    ]) {
      expect(ts).toMatch(new RegExp(`^export function ${fn}\\(`, "m"));
    }
    expect(ts).toMatch(/^export const sketch: SketchInfo = \{/m);
    expect(unrolledLines(ts)).toEqual([1, 2, 3]);
  });

  it("tree: numbers 3 internal nodes and 4 leaves, and mixes the levels leaves first", () => {
    const ts = compiled.tree.typescript;
    expect(ts).toContain("export const NUM_NODES = 3;");
    expect(ts).toContain("export const NUM_LEAVES = 4;");
    const mixes = [
      ...ts.matchAll(/mixLevel\(z\.node, (\d+), (\d+), values\)/g),
    ].map((m) => [Number(m[1]), Number(m[2])]);
    expect(mixes).toEqual([
      [1, 2],
      [0, 1],
    ]);
  });

  it("rational: reads constants as slots, divides safely, and unrolls only up to output line 3", () => {
    const ts = compiled.rational.typescript;
    expect(compiled.rational.ir!.model).toMatchObject({
      kind: "straight",
      outputSlot: 6,
    });
    expect(ts).toContain("export const OUTPUT_SLOT = 6;");
    expect(unrolledLines(ts)).toEqual([1, 2, 3]);
    expect(ts).toContain("tensor.div(x1, x2), // div(a, b) = a / b");
    expect(ts).toContain("tensor.div(1 /* one */, x1), // inv(a) = one / a");
    expect(ts).toContain("tf.neg(x1), // neg(a) = -a");
  });

  it("restricted: argument 1 reads the previous slot, argument 2 the inputs and constants", () => {
    const ts = compiled.restricted.typescript;
    expect(ts).toContain("(_, l): [number, number][] => [[3 + l, 4 + l]]");
    expect(ts).toContain("(): [number, number][] => [[0, 4]]");
    expect(ts).toContain("(_, l): [number, number][] => [[2 + l, 4 + l]]");
    const heads = compiled.restricted.ir!.heads;
    expect(heads.map((h) => h.name)).toEqual(["op", "arg1", "arg2", "arg3"]);
    expect(heads[1].allowed).toEqual([[3], [4], [5], [6], [7]]);
  });
});
