// The grammar: every construct parses without diagnostics, and the AST it yields has the right
// shape (precedence, associativity, unary minus, scopes, outputs) and the right source spans.

import { describe, expect, it } from "vitest";
import type * as A from "../../compiler/ast.js";
import { parseSketch } from "../../compiler/parse.js";
import { checkSource } from "../../compiler/compile.js";

/** Wraps declarations in `sketch s { ... }` (the parser alone does not need a complete sketch). */
function sketch(body: string): string {
  return `sketch s {\n${body}\n}`;
}

function parse(text: string): A.SketchFile {
  const { ast, diagnostics } = parseSketch(text, "t.sketch");
  expect(diagnostics).toEqual([]);
  expect(ast).toBeDefined();
  return ast!;
}

function item<K extends A.Item["kind"]>(
  ast: A.SketchFile,
  kind: K,
  index = 0,
): Extract<A.Item, { kind: K }> {
  const found = ast.items.filter((i) => i.kind === kind);
  expect(found.length).toBeGreaterThan(index);
  return found[index] as Extract<A.Item, { kind: K }>;
}

/** The body of the first operator of `op f(a, b, c) = BODY;`. */
function body(expr: string): A.Expr {
  return item(parse(sketch(`op f(a, b, c) = ${expr};`)), "OpDecl").body;
}

/** An expression printed fully parenthesised, to assert its tree in one line. */
function show(e: A.Expr): string {
  switch (e.kind) {
    case "NumberExpr":
      return e.text;
    case "NameExpr":
      return e.name;
    case "UnaryExpr":
      return `(-${show(e.operand)})`;
    case "BinaryExpr":
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case "CallExpr":
      return `${e.callee.text}(${e.args.map(show).join(", ")})`;
  }
}

const VALID: { name: string; input: string }[] = [
  { name: "an empty sketch body", input: "sketch s { }" },
  { name: "inputs", input: sketch("inputs 3;") },
  { name: "a constant", input: sketch("const one = 1;") },
  { name: "a negative constant", input: sketch("const m = -2.5;") },
  { name: "an operator with 1 parameter", input: sketch("op neg(a) = -a;") },
  {
    name: "an operator with 2 parameters",
    input: sketch("op add(a, b) = a + b;"),
  },
  {
    name: "an operator with 3 parameters",
    input: sketch("op lerp(a, b, t) = a + (b - a) * sigmoid(t);"),
  },
  { name: "an operator with a cost", input: sketch("op skip(a) = a cost 0;") },
  {
    name: "a fractional cost",
    input: sketch("op div(a, b) = a / b cost 2.5;"),
  },
  {
    name: "a built-in call with 2 arguments",
    input: sketch("op m(a, b) = min(max(a, b), 1);"),
  },
  { name: "a parenthesised expression", input: sketch("op p(a) = ((a));") },
  {
    name: "straight lines with no scopes",
    input: sketch("straight lines 4 { }"),
  },
  {
    name: "straight lines with args",
    input: sketch("straight lines 30 { args: inputs, earlier; }"),
  },
  {
    name: "straight lines with arg N",
    input: sketch("straight lines 6 { arg 1: last 1; arg 2: inputs; }"),
  },
  {
    name: "every scope item",
    input: sketch(
      "straight lines 6 { args: inputs, consts, earlier, last 3; }",
    ),
  },
  {
    name: "a tree with leaves",
    input: sketch("tree depth 3 { leaves: inputs, consts; }"),
  },
  { name: "a tree with no scopes", input: sketch("tree depth 2 { }") },
  { name: "output last", input: sketch("output last;") },
  { name: "output line N", input: sketch("output line 8;") },
  { name: "output root", input: sketch("output root;") },
  { name: "prior length", input: sketch("prior length 2e-4;") },
  { name: "exponent with a sign", input: sketch("prior length 1E+3;") },
  { name: "a number with a leading dot", input: sketch("op h(a) = a * .5;") },
  { name: "a number with a trailing dot", input: sketch("op h(a) = a * 3.;") },
  {
    name: "line comments",
    input: "// head\nsketch s { // tail\n inputs 3; // more\n}\n// end",
  },
  {
    name: "block comments",
    input: "/* a\n b */ sketch s { inputs /* mid */ 3; }",
  },
  {
    name: "a comment inside an operator body",
    input: sketch("op f(a, b) = a /* x */ + b;"),
  },
  {
    name: "names that start like keywords",
    input: sketch("const lines2 = 1; op outputs(inputsx) = inputsx;"),
  },
  { name: "CRLF line ends", input: "sketch s {\r\n  inputs 3;\r\n}\r\n" },
  {
    name: "a whole sketch",
    input: sketch(`inputs 3;
const one = 1;
op add(a, b) = a + b;
op inv(a) = one / a cost 2;
straight lines 16 { args: inputs, consts, earlier; }
output last;
prior length 1e-3;`),
  },
];

describe("valid inputs", () => {
  it.each(VALID)("parses $name with no diagnostics", ({ input }) => {
    parse(input);
  });

  it("the complete valid sketches also check with no diagnostics", () => {
    const complete = VALID.filter(
      (v) => v.input.includes("inputs 3;") && v.input.includes("straight"),
    );
    expect(complete.length).toBeGreaterThan(0);
    for (const { input } of complete)
      expect(checkSource(input, "t.sketch").diagnostics).toEqual([]);
  });
});

describe("expressions", () => {
  it.each([
    { input: "a - b - c", tree: "((a - b) - c)" },
    { input: "a / b / c", tree: "((a / b) / c)" },
    { input: "a + b * c", tree: "(a + (b * c))" },
    { input: "a * b + c", tree: "((a * b) + c)" },
    { input: "(a + b) * c", tree: "((a + b) * c)" },
    { input: "a - b * c / a + b", tree: "((a - ((b * c) / a)) + b)" },
    { input: "-a * b", tree: "((-a) * b)" },
    { input: "a * -b", tree: "(a * (-b))" },
    { input: "--a", tree: "(-(-a))" },
    { input: "-(a + b)", tree: "(-(a + b))" },
    { input: "a - -1", tree: "(a - (-1))" },
    { input: "min(a, b + c) * 2", tree: "(min(a, (b + c)) * 2)" },
    {
      input: "sqrt(square(a) + square(b))",
      tree: "sqrt((square(a) + square(b)))",
    },
  ])("$input is $tree", ({ input, tree }) => {
    expect(show(body(input))).toBe(tree);
  });

  it("reads number formats to their values", () => {
    const values = ["2e-4", ".5", "3.", "1E+3", "0.25", "7"].map((n) => {
      const e = body(`a * ${n}`) as A.BinaryExpr;
      return (e.right as A.NumberExpr).value;
    });
    expect(values).toEqual([2e-4, 0.5, 3, 1000, 0.25, 7]);
  });

  it("a call keeps its callee name and arguments", () => {
    const e = body("max(a, 0)");
    expect(e).toMatchObject({
      kind: "CallExpr",
      callee: { kind: "Name", text: "max" },
      args: [
        { kind: "NameExpr", name: "a" },
        { kind: "NumberExpr", value: 0 },
      ],
    });
  });
});

describe("declarations", () => {
  const ast = parse(
    sketch(`inputs 3;
const half = -0.5;
op f(a, b, c) = a cost 2;
op g(a) = a;
straight lines 6 { arg 1: last 1; arg 2: inputs, consts; args: earlier; }
output line 4;
prior length 1e-3;`),
  );

  it("keeps items in source order", () => {
    expect(ast.items.map((i) => i.kind)).toEqual([
      "InputsDecl",
      "ConstDecl",
      "OpDecl",
      "OpDecl",
      "StraightDecl",
      "OutputDecl",
      "PriorDecl",
    ]);
    expect(ast.name.text).toBe("s");
  });

  it("reads counts, constants, parameters and costs", () => {
    expect(item(ast, "InputsDecl").count.value).toBe(3);
    expect(item(ast, "ConstDecl")).toMatchObject({
      name: { text: "half" },
      value: { value: -0.5, text: "-0.5" },
    });
    const f = item(ast, "OpDecl", 0);
    expect(f.params.map((p) => p.text)).toEqual(["a", "b", "c"]);
    expect(f.cost?.value).toBe(2);
    expect(item(ast, "OpDecl", 1).cost).toBeUndefined();
  });

  it("reads the scopes of straight lines", () => {
    const s = item(ast, "StraightDecl");
    expect(s.lines.value).toBe(6);
    expect(
      s.scopes.map((d) => ({
        target:
          d.target.kind === "arg"
            ? `arg ${d.target.index.value}`
            : d.target.kind,
        items: d.items.map((i) =>
          i.kind === "last" ? `last ${i.count.value}` : i.kind,
        ),
      })),
    ).toEqual([
      { target: "arg 1", items: ["last 1"] },
      { target: "arg 2", items: ["inputs", "consts"] },
      { target: "args", items: ["earlier"] },
    ]);
  });

  it("reads the output and the prior", () => {
    expect(item(ast, "OutputDecl").target).toMatchObject({
      kind: "line",
      line: { value: 4 },
    });
    expect(item(ast, "PriorDecl").weight.value).toBe(1e-3);
  });

  it("reads a tree, its leaves, and the other outputs", () => {
    const t = parse(sketch("tree depth 3 { leaves: inputs; }\noutput root;"));
    expect(item(t, "TreeDecl")).toMatchObject({
      depth: { value: 3 },
      scopes: [{ target: { kind: "leaves" }, items: [{ kind: "inputs" }] }],
    });
    expect(item(t, "OutputDecl").target.kind).toBe("root");
    expect(item(parse(sketch("output last;")), "OutputDecl").target.kind).toBe(
      "last",
    );
  });
});

describe("spans", () => {
  const text = "sketch s {\n  inputs 3;\n  op add(a, b) = a + b * a;\n}\n";
  const ast = parse(text);
  const op = item(ast, "OpDecl");

  it("give 1-based line and column of a node", () => {
    expect(op.span).toMatchObject({ line: 3, column: 3 });
    expect(op.name.span).toMatchObject({ line: 3, column: 6 });
    expect(op.params[1].span).toMatchObject({ line: 3, column: 13 });
    expect(item(ast, "InputsDecl").count.span).toMatchObject({
      line: 2,
      column: 10,
    });
  });

  it("give 0-based [start, end) offsets that slice the node's text", () => {
    const slice = (s: A.Span) => text.slice(s.start, s.end);
    expect(slice(op.span)).toBe("op add(a, b) = a + b * a;");
    expect(slice(op.body.span)).toBe("a + b * a");
    expect(slice((op.body as A.BinaryExpr).right.span)).toBe("b * a");
    expect(slice(ast.span)).toBe(text.trimEnd());
  });

  it("a binary node spans from its left to its right operand", () => {
    const e = body("a - b - c") as A.BinaryExpr;
    expect(e.span.end - e.span.start).toBe("a - b - c".length);
    expect(e.left.span.end - e.left.span.start).toBe("a - b".length);
  });
});

describe("syntax errors", () => {
  it("are returned, never thrown, and give no AST", () => {
    for (const bad of [
      "",
      "sketch",
      "sketch s {",
      "}}}",
      "sketch s { op f(a) = ; }",
    ]) {
      const r = parseSketch(bad, "t.sketch");
      expect(r.ast).toBeUndefined();
      expect(r.diagnostics.length).toBeGreaterThan(0);
      expect(
        r.diagnostics.every((d) => d.code === "SK103" || d.code === "SK101"),
      ).toBe(true);
    }
  });

  it("a keyword is not a name", () => {
    const r = parseSketch(sketch("const lines = 1;"), "t.sketch");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["SK103"]);
  });
});
