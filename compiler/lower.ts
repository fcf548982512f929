// Stage 3: checked AST -> IR. Resolves names in operator bodies, numbers the slots, and turns the
// argument scopes into the allowed-choice lists of each head of z. Runs only on a sketch that
// checked without errors, so any surprise here is an internal bug and throws.

import * as A from "./ast.js";
import {
  collectParts,
  DEFAULT_ARG_SCOPE,
  maxArity,
  scopeSlots,
} from "./check.js";
import type {
  ExprIR,
  HeadIR,
  OperatorIR,
  SketchIR,
  StraightIR,
  TreeIR,
} from "./ir.js";
import { isFunctionName } from "./functions.js";

function lowerExpr(
  e: A.Expr,
  params: readonly string[],
  constants: ReadonlyMap<string, number>,
): ExprIR {
  switch (e.kind) {
    case "NumberExpr":
      return { kind: "number", value: e.value, constant: undefined };
    case "NameExpr": {
      const index = params.indexOf(e.name);
      if (index >= 0) return { kind: "param", index, name: e.name };
      const value = constants.get(e.name);
      if (value === undefined)
        throw new Error(`internal error: unresolved name ${e.name}`);
      return { kind: "number", value, constant: e.name };
    }
    case "UnaryExpr":
      return { kind: "neg", operand: lowerExpr(e.operand, params, constants) };
    case "BinaryExpr":
      return {
        kind: "binary",
        op: e.op,
        left: lowerExpr(e.left, params, constants),
        right: lowerExpr(e.right, params, constants),
      };
    case "CallExpr": {
      const fn = e.callee.text;
      if (!isFunctionName(fn))
        throw new Error(`internal error: unknown function ${fn}`);
      return {
        kind: "call",
        fn,
        args: e.args.map((a) => lowerExpr(a, params, constants)),
      };
    }
    default:
      return A.assertNever(e);
  }
}

function scopeItems(
  decl: A.ScopeDecl | undefined,
  span: A.Span,
): readonly A.ScopeItem[] {
  return (
    decl?.items ??
    DEFAULT_ARG_SCOPE.map((kind) => ({ kind, span }) as A.ScopeItem)
  );
}

/** Stage 3: lowers a checked sketch. `source` is the sketch text, for body comments. */
export function lowerSketch(
  ast: A.SketchFile,
  sourceFile: string,
  source: string,
): SketchIR {
  const parts = collectParts(ast);
  if (!parts.inputs || !parts.model)
    throw new Error("internal error: lowering an unchecked sketch");
  const numInputs = parts.inputs.count.value;
  const constants = parts.constants.map((k) => ({
    name: k.name.text,
    value: k.value.value,
  }));
  const constantValues = new Map(constants.map((k) => [k.name, k.value]));
  const operators: OperatorIR[] = parts.operators.map((op) => {
    const params = op.params.map((p) => p.text);
    return {
      name: op.name.text,
      params,
      arity: params.length,
      cost: op.cost?.value ?? 1,
      body: lowerExpr(op.body, params, constantValues),
      // Comments are dropped: a `*/` inside the body would end the doc comment it is printed in.
      bodyText: source
        .slice(op.body.span.start, op.body.span.end)
        .replace(/\/\*[\s\S]*?\*\/|\/\/[^\n\r]*/g, " ")
        .replace(/\s+/g, " "),
    };
  });
  const arity = maxArity(parts);
  const base = numInputs + constants.length;
  const scopeFor = (key: string) =>
    parts.model!.scopes.find(
      (s) =>
        (s.target.kind === "arg"
          ? `arg ${s.target.index.value}`
          : s.target.kind) === key,
    );

  let model: StraightIR | TreeIR;
  const heads: HeadIR[] = [];
  const K = operators.length;
  if (parts.model.kind === "StraightDecl") {
    const lines = parts.model.lines.value;
    const numSlots = base + lines;
    const out = parts.output?.target;
    const outputLine = out?.kind === "line" ? out.line.value - 1 : lines - 1;
    model = {
      kind: "straight",
      lines,
      numSlots,
      outputSlot: base + outputLine,
    };
    heads.push({
      name: "op",
      rows: lines,
      choices: K,
      allowed: Array.from({ length: lines }, () => operators.map((_, o) => o)),
      doc: "z^O of Fig. 3: the operator of each line",
    });
    for (let arg = 1; arg <= arity; arg++) {
      const items = scopeItems(
        scopeFor(`arg ${arg}`) ?? scopeFor("args"),
        parts.model.span,
      );
      heads.push({
        name: `arg${arg}`,
        rows: lines,
        choices: numSlots,
        allowed: Array.from({ length: lines }, (_, l) =>
          [...scopeSlots(items, numInputs, constants.length, l)].sort(
            (a, b) => a - b,
          ),
        ),
        doc:
          arg === 1
            ? "z^L of Fig. 3: the slot each line's first argument reads"
            : arg === 2
              ? "z^R of Fig. 3: the slot each line's second argument reads"
              : `the slot each line's argument ${arg} reads`,
      });
    }
  } else {
    const depth = parts.model.depth.value;
    const k = arity;
    const levels = Array.from({ length: depth }, (_, d) => ({
      start: k === 1 ? d : (k ** d - 1) / (k - 1),
      count: k ** d,
    }));
    const numNodes = levels.reduce((n, l) => n + l.count, 0);
    const numLeaves = k ** depth;
    model = { kind: "tree", depth, branching: k, numNodes, numLeaves, levels };
    const leafItems: readonly A.ScopeItem[] = scopeFor("leaves")?.items ?? [
      { kind: "inputs", span: parts.model.span },
      { kind: "consts", span: parts.model.span },
    ];
    const leafSlots = [
      ...scopeSlots(leafItems, numInputs, constants.length, 0),
    ].sort((a, b) => a - b);
    heads.push({
      name: "node",
      rows: numNodes,
      choices: K,
      allowed: Array.from({ length: numNodes }, () =>
        operators.map((_, o) => o),
      ),
      doc: "z^path of Fig. 7 for internal nodes: the operator of each node, root first",
    });
    heads.push({
      name: "leaf",
      rows: numLeaves,
      choices: base,
      allowed: Array.from({ length: numLeaves }, () => leafSlots),
      doc: "z^path of Fig. 7 for leaves: the input (or constant) each leaf loads",
    });
  }
  return {
    name: ast.name.text,
    sourceFile,
    numInputs,
    constants,
    operators,
    maxArity: arity,
    model,
    heads,
    lengthPrior: parts.prior?.weight.value ?? 0,
  };
}
