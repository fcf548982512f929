// The printer behind `sketchc fmt`: parse(print(ast)) is ast for generated ASTs (fast-check), the
// layout is a fixed point on every shipped sketch and sample, comments survive wherever they are
// put, and a text with syntax errors is not printed.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type * as A from "../../compiler/ast.js";
import { formatSource } from "../../compiler/format.js";
import { parseSketch } from "../../compiler/parse.js";
import { printExpr, printSketch } from "../../compiler/print.js";
import { KEYWORDS, sketchLexer } from "../../grammar/tokens.js";
import { shippedSketches } from "../shipped-sketches.js";

/** The AST without its spans, to compare trees parsed from different texts. */
function stripSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSpans);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => k !== "span" && v !== undefined)
      .map(([k, v]) => [k, stripSpans(v)]),
  );
}

function parseClean(text: string): A.SketchFile {
  const { ast, diagnostics } = parseSketch(text, "t.sketch");
  expect(diagnostics).toEqual([]);
  return ast!;
}

function format(text: string): string {
  const { formatted, diagnostics } = formatSource(text, "t.sketch");
  expect(diagnostics).toEqual([]);
  return formatted!;
}

// Arbitraries over the AST. Spans are a placeholder: the comparison strips them.
const SPAN: A.Span = { start: 0, end: 0, line: 1, column: 1 };

const nameText = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/)
  .filter((s) => !KEYWORDS.has(s));
const name = nameText.map((text): A.Name => ({
  kind: "Name",
  text,
  span: SPAN,
}));
const literal = fc.stringMatching(
  /^(?:\d{1,3}\.?\d{0,2}|\.\d{1,2})(?:[eE][+-]?\d{1,3})?$/,
);
const signedNumber = fc
  .tuple(fc.boolean(), literal)
  .map(([negative, digits]): A.NumberNode => {
    const text = (negative ? "-" : "") + digits;
    return { kind: "Number", value: Number(text), text, span: SPAN };
  });

const { expr } = fc.letrec<{ expr: A.Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal.map((text): A.Expr => ({
      kind: "NumberExpr",
      value: Number(text),
      text,
      span: SPAN,
    })),
    nameText.map((n): A.Expr => ({ kind: "NameExpr", name: n, span: SPAN })),
    tie("expr").map((operand): A.Expr => ({
      kind: "UnaryExpr",
      op: "-",
      operand,
      span: SPAN,
    })),
    fc
      .tuple(fc.constantFrom("+", "-", "*", "/"), tie("expr"), tie("expr"))
      .map(([op, left, right]): A.Expr => ({
        kind: "BinaryExpr",
        op,
        left,
        right,
        span: SPAN,
      })),
    fc
      .tuple(name, fc.array(tie("expr"), { maxLength: 3 }))
      .map(([callee, args]): A.Expr => ({
        kind: "CallExpr",
        callee,
        args,
        span: SPAN,
      })),
  ),
}));

const scopeItem: fc.Arbitrary<A.ScopeItem> = fc.oneof(
  fc
    .constantFrom("inputs", "consts", "earlier")
    .map((kind) => ({ kind, span: SPAN }) as A.ScopeItem),
  signedNumber.map((count): A.ScopeItem => ({
    kind: "last",
    count,
    span: SPAN,
  })),
);
const scopeDecl = fc
  .tuple(
    fc.oneof(
      fc.constant<A.ScopeDecl["target"]>({ kind: "args" }),
      fc.constant<A.ScopeDecl["target"]>({ kind: "leaves" }),
      signedNumber.map((index): A.ScopeDecl["target"] => ({
        kind: "arg",
        index,
      })),
    ),
    fc.array(scopeItem, { minLength: 1, maxLength: 3 }),
  )
  .map(([target, items]): A.ScopeDecl => ({
    kind: "ScopeDecl",
    target,
    items,
    span: SPAN,
  }));
const scopes = fc.array(scopeDecl, { maxLength: 3 });

const item: fc.Arbitrary<A.Item> = fc.oneof(
  signedNumber.map((count): A.Item => ({
    kind: "InputsDecl",
    count,
    span: SPAN,
  })),
  fc.tuple(name, signedNumber).map(([n, value]): A.Item => ({
    kind: "ConstDecl",
    name: n,
    value,
    span: SPAN,
  })),
  fc
    .tuple(
      name,
      fc.array(name, { maxLength: 4 }),
      expr,
      fc.option(signedNumber, { nil: undefined }),
    )
    .map(([n, params, body, cost]): A.Item => ({
      kind: "OpDecl",
      name: n,
      params,
      body,
      cost,
      span: SPAN,
    })),
  fc.tuple(signedNumber, scopes).map(([lines, s]): A.Item => ({
    kind: "StraightDecl",
    lines,
    scopes: s,
    span: SPAN,
  })),
  fc.tuple(signedNumber, scopes).map(([depth, s]): A.Item => ({
    kind: "TreeDecl",
    depth,
    scopes: s,
    span: SPAN,
  })),
  fc
    .oneof(
      fc.constant<A.OutputDecl["target"]>({ kind: "last" }),
      fc.constant<A.OutputDecl["target"]>({ kind: "root" }),
      signedNumber.map((line): A.OutputDecl["target"] => ({
        kind: "line",
        line,
      })),
    )
    .map((target): A.Item => ({ kind: "OutputDecl", target, span: SPAN })),
  signedNumber.map((weight): A.Item => ({
    kind: "PriorDecl",
    weight,
    span: SPAN,
  })),
);

const sketchFile = fc
  .tuple(name, fc.array(item, { maxLength: 8 }))
  .map(([n, items]): A.SketchFile => ({
    kind: "SketchFile",
    name: n,
    items,
    span: SPAN,
  }));

/** Inserts comments (line, block, multi-line block) and blank lines at token boundaries. */
function withComments(
  text: string,
  picks: readonly { at: number; kind: number }[],
): { text: string; comments: string[] } {
  const ends = [
    0,
    ...sketchLexer.tokenize(text).tokens.map((t) => t.endOffset! + 1),
  ];
  const inserts = picks
    .map((p, i) => ({ at: ends[p.at % ends.length], kind: p.kind, i }))
    .sort((a, b) => a.at - b.at || a.i - b.i);
  let out = "";
  let from = 0;
  const comments: string[] = [];
  for (const { at, kind, i } of inserts) {
    out += text.slice(from, at);
    from = at;
    const comment = [`// c${i}`, `/* c${i} */`, `/* c${i}\n   more */`, ""][
      kind
    ];
    out += kind === 0 ? ` ${comment}\n` : kind === 3 ? "\n\n" : ` ${comment} `;
    if (comment) comments.push(comment);
  }
  return { text: out + text.slice(from), comments };
}

/** The comments of a text in source order (a line comment without trailing blanks). */
function commentTexts(text: string): string[] {
  return parseSketch(text, "t.sketch").comments.map((c) =>
    c.kind === "LineComment" ? c.text.trimEnd() : c.text,
  );
}

describe("print", () => {
  it("parse(print(ast)) is ast, spans aside, for generated ASTs", () => {
    fc.assert(
      fc.property(sketchFile, (ast) => {
        const printed = printSketch(ast);
        expect(stripSpans(parseClean(printed))).toEqual(stripSpans(ast));
        expect(printSketch(parseClean(printed))).toBe(printed);
      }),
      { numRuns: 300, seed: 14 },
    );
  });

  it.each([
    ["a + b * c", "a + b * c"],
    ["(a + b) * c", "(a + b) * c"],
    ["a - (b - c)", "a - (b - c)"],
    ["(a - b) - c", "a - b - c"],
    ["a / (b * c)", "a / (b * c)"],
    ["-(a + b)", "-(a + b)"],
    ["(-a) * b", "-a * b"],
    ["- - a", "--a"],
    ["((max((a), (1))))", "max(a, 1)"],
    ["sqrt(square(a)+square(b))", "sqrt(square(a) + square(b))"],
    ["2e-4*a", "2e-4 * a"],
  ])("prints %s as %s", (input, expected) => {
    const ast = parseClean(`sketch s { op f(a, b, c) = ${input}; }`);
    const op = ast.items[0] as A.OpDecl;
    expect(printExpr(op.body)).toBe(expected);
  });

  it("lays out a sketch canonically", () => {
    const messy = `sketch   s{inputs 3;const k=-1;op f(a,b)=a+b cost 2;
      straight lines 4{args:inputs,earlier;arg 2:last 1;}
      tree depth 2 {leaves: inputs;} tree depth 3 {}  output line 2; prior length 2e-4;}`;
    expect(format(messy)).toBe(`sketch s {
  inputs 3;
  const k = -1;
  op f(a, b) = a + b cost 2;
  straight lines 4 {
    args: inputs, earlier;
    arg 2: last 1;
  }
  tree depth 2 { leaves: inputs; }
  tree depth 3 { }
  output line 2;
  prior length 2e-4;
}
`);
  });

  it.each(shippedSketches())(
    "is a fixed point on %s, and keeps its AST and comments",
    (_, text) => {
      const once = format(text);
      expect(format(once)).toBe(once);
      expect(stripSpans(parseClean(once))).toEqual(
        stripSpans(parseClean(text)),
      );
      expect(commentTexts(once)).toEqual(commentTexts(text));
    },
  );

  it("keeps every comment, in order, wherever it is put (generated placements)", () => {
    const base = shippedSketches().map(([, text]) => text);
    fc.assert(
      fc.property(
        fc.constantFrom(...base),
        fc.array(
          fc.record({ at: fc.nat(), kind: fc.integer({ min: 0, max: 3 }) }),
          { maxLength: 8 },
        ),
        (text, picks) => {
          const commented = withComments(text, picks);
          const once = format(commented.text);
          const inserted = commentTexts(commented.text);
          expect(inserted).toEqual(expect.arrayContaining(commented.comments));
          expect(commentTexts(once)).toEqual(inserted);
          expect(format(once)).toBe(once);
          expect(stripSpans(parseClean(once))).toEqual(
            stripSpans(parseClean(text)),
          );
        },
      ),
      { numRuns: 300, seed: 14 },
    );
  });

  it("puts comments at the end of their line, or on their own line above", () => {
    const text = `/* head */
sketch s { // the sketch
  inputs 3; /* three */
  // an operator
  op f(a, /* inside */ b) = a + b;


  straight lines 3 { args: inputs; /* scope */ }
} // end
`;
    expect(format(text)).toBe(`/* head */
sketch s { // the sketch
  inputs 3; /* three */
  // an operator
  /* inside */
  op f(a, b) = a + b;

  straight lines 3 {
    args: inputs; /* scope */
  }
} // end
`);
  });

  it("does not print a text with syntax errors", () => {
    const { formatted, diagnostics } = formatSource(
      "sketch s { inputs 3 }",
      "t.sketch",
    );
    expect(formatted).toBeUndefined();
    expect(diagnostics.map((d) => d.code)).toEqual(["SK103"]);
  });
});
