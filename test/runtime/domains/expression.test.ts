// Expressions in a sketch's own names: printing parses back to the same tree (a property test),
// every parse error names what is wrong and where, and evaluation uses the module's operators.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  countOps,
  evaluateExpr,
  formatExpr,
  languageOf,
  parseExpr,
  type Expr,
  type Language,
} from "../../../runtime/domains/expression.js";
import { compile } from "./helpers.js";

let language: Language;

beforeAll(async () => {
  // Inputs s1..s3, constants one and two, binary, unary and identity operators.
  language = languageOf(await compile("sketches/rational.sketch"));
});

const op = (name: string) =>
  language.operators.findIndex((o) => o.name === name);

describe("languageOf", () => {
  it("reads the inputs, constants and operators, and finds the identity", () => {
    expect(language.numInputs).toBe(3);
    expect(language.constants.map((c) => c.name)).toEqual(["one", "two"]);
    expect(
      language.operators.filter((o) => o.identity).map((o) => o.name),
    ).toEqual(["skip"]);
    // neg and half have arity 1 but change their argument.
    expect(language.operators[op("neg")].identity).toBe(false);
  });
});

describe("parseExpr and formatExpr", () => {
  it("parse the sketch's names: symbols, constants, numbers, operator calls", () => {
    const e = parseExpr(language, " div( add(s1 ,two), neg(-1.5e0) ) ");
    expect(e).toEqual({
      kind: "op",
      op: op("div"),
      args: [
        {
          kind: "op",
          op: op("add"),
          args: [
            { kind: "input", index: 0 },
            { kind: "const", index: 1 },
          ],
        },
        { kind: "op", op: op("neg"), args: [{ kind: "num", value: -1.5 }] },
      ],
    });
    expect(formatExpr(language, e as Expr)).toBe(
      "div(add(s1, two), neg(-1.5))",
    );
  });

  it("print what parses back to the same tree (property)", () => {
    const leaf = fc.oneof(
      fc
        .integer({ min: 0, max: 2 })
        .map((index): Expr => ({ kind: "input", index })),
      fc
        .integer({ min: 0, max: 1 })
        .map((index): Expr => ({ kind: "const", index })),
      fc
        .double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })
        .map((value): Expr => ({
          kind: "num",
          value: Object.is(value, -0) ? 0 : value,
        })),
    );
    const tree = fc.letrec<{ e: Expr }>((t) => ({
      e: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.integer({ min: 0, max: language.operators.length - 1 }).chain((o) =>
          fc
            .array(t("e"), {
              minLength: language.operators[o].arity,
              maxLength: language.operators[o].arity,
            })
            .map((args): Expr => ({ kind: "op", op: o, args })),
        ),
      ),
    })).e;
    fc.assert(
      fc.property(tree, (e) => {
        expect(parseExpr(language, formatExpr(language, e))).toEqual(e);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ["mull(s1, s2)", "unknown operator 'mull'", 1],
    ["add(s1, s4)", "symbol 's4' is beyond the sketch's 3 inputs (s1..s3)", 9],
    ["add(s1)", "operator 'add' takes 2 arguments, got 1", 1],
    ["neg(s1, s2)", "operator 'neg' takes 1 argument, got 2", 1],
    [
      "add(s1, x)",
      "unknown name 'x' (expected s1..s3, a constant or an operator call)",
      9,
    ],
    ["add", "operator 'add' needs its arguments in parentheses", 1],
    ["add(s1, s2", "expected ')', found the end", 11],
    ["add(s1 s2)", "expected ')', found 's2'", 8],
    ["s1 s2", "unexpected 's2' after the expression", 4],
    ["add(s1, $)", "unexpected character '$'", 9],
    ["", "expected a symbol, constant or operator, found the end", 1],
    [
      "s0",
      "unknown name 's0' (expected s1..s3, a constant or an operator call)",
      1,
    ],
  ])("rejects %j: %s (column %d)", (text, message, column) => {
    expect(parseExpr(language, text)).toEqual({ message, column });
  });
});

describe("evaluateExpr and countOps", () => {
  it("evaluate with the module's operators, safe division included", () => {
    const e = parseExpr(
      language,
      "add(div(s1, sub(s2, s2)), half(two))",
    ) as Expr;
    // div by 0 is 0 in the module's scalar semantics; half(two) = 1.
    expect(evaluateExpr(language, e, [3, 5, 7])).toBe(1);
    expect(countOps(language, e)).toBe(4);
    expect(
      countOps(language, parseExpr(language, "skip(skip(s1))") as Expr),
    ).toBe(0);
  });
});
