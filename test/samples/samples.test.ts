// Golden files of the emitter: each test/samples/CASE/input.sketch compiles to CASE/expected.ts
// (update with `npx vitest run test/samples -u` and review the diff). Each golden is paired with
// one targeted assertion about the code, and each must type-check against tfjs-core and the
// runtime library (runtime/module-runtime), which holds everything that is not in the golden.

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
  it("straight: exports the SketchModule API over the runtime library's straightSketch", () => {
    const ts = compiled.straight.typescript;
    for (const fn of [
      "execute",
      "executeFused",
      "expectedLength",
      "decode",
      "encode",
      "prune",
      "evaluate",
      "evaluateMany",
      "length",
      "formula",
      "format",
    ]) {
      expect(ts).toMatch(new RegExp(`^export function ${fn}\\(`, "m"));
    }
    expect(ts).toMatch(/^export const sketch: SketchInfo = compiled\.sketch;/m);
    expect(ts).toContain('} from "sketchc/module-runtime";');
    expect(ts).toContain("const compiled = straightSketch<OpName, HeadName>({");
    expect(ts).toContain("outputSlot: OUTPUT_SLOT,");
  });

  it("tree: numbers 3 internal nodes and 4 leaves and passes its depth", () => {
    const ts = compiled.tree.typescript;
    expect(ts).toContain("export const NUM_NODES = 3;");
    expect(ts).toContain("export const NUM_LEAVES = 4;");
    expect(ts).toContain("const compiled = treeSketch<OpName, HeadName>({");
    expect(ts).toContain("depth: DEPTH,");
    expect(ts).toContain(
      "export const executeFused: typeof execute = execute;",
    );
  });

  it("rational: reads constants as slots, divides safely, and runs only up to output line 3", () => {
    const ts = compiled.rational.typescript;
    expect(compiled.rational.ir!.model).toMatchObject({
      kind: "straight",
      outputSlot: 6,
    });
    expect(ts).toContain("export const OUTPUT_SLOT = 6;");
    expect(ts).toContain("over the 3 lines the output can depend on");
    expect(ts).toContain("tensor.div(x1, x2), // div(a, b) = a / b");
    expect(ts).toContain("tensor.div(1 /* one */, x1), // inv(a) = one / a");
    expect(ts).toContain("tf.neg(x1), // neg(a) = -a");
  });

  it("restricted: argument 1 reads the previous slot, argument 2 the inputs and constants", () => {
    const ts = compiled.restricted.typescript;
    expect(ts).toContain("scope: scopeRows(5, (l) => [[3 + l, 4 + l]])");
    expect(ts).toContain("scope: scopeRows(5, () => [[0, 4]])");
    expect(ts).toContain("scope: scopeRows(5, (l) => [[2 + l, 4 + l]])");
    const heads = compiled.restricted.ir!.heads;
    expect(heads.map((h) => h.name)).toEqual(["op", "arg1", "arg2", "arg3"]);
    expect(heads[1].allowed).toEqual([[3], [4], [5], [6], [7]]);
  });
});
