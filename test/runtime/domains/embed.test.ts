// Placing an expression in a sketch's program space: what each shape can and cannot express, read
// back through the module's own decode and format.

import { describe, expect, it } from "vitest";
import {
  choicesToParams,
  createProgramSpace,
  placeExpr,
} from "../../../runtime/domains/embed.js";
import {
  languageOf,
  parseExpr,
  type Expr,
} from "../../../runtime/domains/expression.js";
import type { SketchModule } from "../../../runtime/sketch-module.js";
import { compile, compileText } from "./helpers.js";

/** The module's straight-line code for `text` placed in its sketch, or undefined. */
function placed(module: SketchModule, text: string): string | undefined {
  const language = languageOf(module);
  const space = createProgramSpace(module, language);
  const e = parseExpr(language, text);
  if ("message" in e) throw new Error(e.message);
  const choices = placeExpr(space, e as Expr);
  if (choices === undefined) return undefined;
  const z = choicesToParams(space, [choices]);
  const m = module as SketchModule<unknown>;
  const program = m.decode(z)[0];
  Object.values(z).forEach((x) => x.dispose());
  return m.format(program);
}

describe("placeExpr", () => {
  it("follows restricted scopes (horner.sketch: an accumulator line after line)", async () => {
    const horner = await compile("sketches/horner.sketch");
    expect(placed(horner, "mul(add(s3, s1), s2)")).toBe(
      [
        "t1 = add(s3, s1)",
        "t2 = mul(t1, s2)",
        "t3 = skip(t2)",
        "t4 = skip(t3)",
        "t5 = skip(t4)",
        "y = skip(t5)",
        "// y = (s3 + s1) * s2",
      ].join("\n"),
    );
    // Line 1's accumulator can only be s3; no line reads two computed values.
    expect(placed(horner, "add(s1, s2)")).toBeUndefined();
    expect(placed(horner, "mul(add(s3, s1), add(s3, s2))")).toBeUndefined();
  });

  it("puts the root on the output line, shares equal subexpressions, and needs an identity for a bare symbol", async () => {
    const noSkip = await compileText(
      "no_skip",
      "sketch n {\n  inputs 2;\n  op add(a, b) = a + b;\n  op mul(a, b) = a * b;\n  straight lines 3 { args: inputs, earlier; }\n  output line 2;\n}\n",
    );
    expect(placed(noSkip, "mul(add(s1, s2), add(s1, s2))")).toBe(
      [
        "t1 = add(s1, s2)",
        "y = mul(t1, t1)",
        "// y = (s1 + s2) * (s1 + s2)",
      ].join("\n"),
    );
    expect(placed(noSkip, "s1")).toBeUndefined();
    expect(placed(noSkip, "add(mul(s1, s1), add(s2, s2))")).toBeUndefined(); // 3 lines > 2
  });

  it("lifts leaves through identity nodes of a syntax tree and refuses what is too deep", async () => {
    const tree = await compile("sketches/arith-tree2.sketch");
    expect(placed(tree, "s2")).toMatch(/y = s2$/);
    expect(placed(tree, "add(mul(s1, s2), s3)")).toMatch(
      /\/\/ y = s1 \* s2 \+ s3$/,
    );
    expect(placed(tree, "add(mul(sub(s1, s2), s2), s3)")).toBeUndefined();
  });

  it("reads constants as slots and numbers equal to a constant", async () => {
    const rational = await compile("sketches/rational.sketch");
    expect(placed(rational, "div(s1, two)")).toMatch(/\/\/ y = s1 \/ two$/);
    expect(placed(rational, "div(s1, 2)")).toMatch(/\/\/ y = s1 \/ two$/);
    expect(placed(rational, "div(s1, 3)")).toBeUndefined();
  });
});
