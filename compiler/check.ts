// Stage 2: AST -> diagnostics. Each check reports against an AST node's span and never throws on a
// user's mistake. The checks run in a fixed order (declarations, operators, execution model,
// output, prior), each a small function over the AST.

import * as A from "./ast.js";
import {
  createDiagnostic,
  dedupeDiagnostics,
  type Diagnostic,
  type DiagnosticCode,
} from "./diagnostics.js";
import { FUNCTIONS, isFunctionName } from "./functions.js";
import { MAX_NESTING } from "../grammar/parser.js";
import { KEYWORDS } from "../grammar/tokens.js";

/** Limits beyond which a count is certainly a mistake (and would blow up the emitted module). */
export const LIMITS = {
  /** Parentheses and unary minus, checked on the tokens before parsing (SK104). */
  nesting: MAX_NESTING,
  /** Depth of an operator body's tree, where a chain `a + b + c` is as deep as it is long. */
  bodyDepth: 32,
  /** The summed weight of all operator bodies: each node weighs its depth (see bodyShape). */
  bodyWeight: 2000,
  inputs: 64,
  constants: 64,
  operators: 64,
  arity: 3,
  lines: 1000,
  treeDepth: 16,
  treeLeaves: 4096,
  lastWindow: 1000,
} as const;

const JS_RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await arguments eval undefined NaN Infinity"
  ).split(" "),
);
/** Identifiers the emitted module uses itself, or that would hit Object.prototype as keys. */
const GENERATED = new Set(
  "tf Math Number Object Array scalar tensor fmt SAFE __proto__ constructor prototype toString valueOf hasOwnProperty".split(
    " ",
  ),
);

/** Why a name cannot be used, or undefined when it can. */
export function reservedReason(name: string): string | undefined {
  if (JS_RESERVED.has(name)) return "a JavaScript reserved word";
  if (GENERATED.has(name) || name.startsWith("__"))
    return "used by the generated module";
  if (KEYWORDS.has(name)) return "a keyword";
  return undefined;
}

export interface CheckResult {
  readonly ast: A.SketchFile;
  readonly diagnostics: readonly Diagnostic[];
}

/** The declarations of a sketch, grouped by kind (the first of each singleton kind wins). */
export interface SketchParts {
  readonly inputs: A.InputsDecl | undefined;
  readonly constants: readonly A.ConstDecl[];
  readonly operators: readonly A.OpDecl[];
  readonly model: A.StraightDecl | A.TreeDecl | undefined;
  readonly output: A.OutputDecl | undefined;
  readonly prior: A.PriorDecl | undefined;
}

export function collectParts(ast: A.SketchFile): SketchParts {
  const pick = <K extends A.Item["kind"]>(...kinds: K[]) =>
    ast.items.filter((i): i is Extract<A.Item, { kind: K }> =>
      kinds.includes(i.kind as K),
    );
  return {
    inputs: pick("InputsDecl")[0],
    constants: pick("ConstDecl"),
    operators: pick("OpDecl"),
    model: pick("StraightDecl", "TreeDecl")[0],
    output: pick("OutputDecl")[0],
    prior: pick("PriorDecl")[0],
  };
}

/** The highest operator arity, i.e. how many argument heads a straight-line sketch has. */
export function maxArity(parts: SketchParts): number {
  return Math.max(1, ...parts.operators.map((o) => o.params.length));
}

class Checker {
  readonly diagnostics: Diagnostic[] = [];
  constructor(readonly file: string) {}

  report(
    span: A.Span,
    code: DiagnosticCode,
    ...args: (string | number)[]
  ): void {
    this.diagnostics.push(createDiagnostic(this.file, span, code, ...args));
  }

  /** A finite number (SK220). */
  finite(n: A.NumberNode): boolean {
    if (Number.isFinite(n.value)) return true;
    this.report(n.span, "SK220", n.text);
    return false;
  }

  /** A positive integer no larger than `max` (SK206, SK207). */
  count(n: A.NumberNode, what: string, max: number): boolean {
    if (!this.finite(n)) return false;
    if (!Number.isInteger(n.value) || n.value <= 0) {
      this.report(n.span, "SK206", what, n.text);
      return false;
    }
    if (n.value > max) {
      this.report(n.span, "SK207", what, n.text, max);
      return false;
    }
    return true;
  }

  /** A finite non-negative number (SK217). */
  nonNegative(n: A.NumberNode, what: string): boolean {
    if (!this.finite(n)) return false;
    if (n.value < 0) {
      this.report(n.span, "SK217", what, n.text);
      return false;
    }
    return true;
  }

  name(n: A.Name): void {
    const why = reservedReason(n.text);
    if (why !== undefined) this.report(n.span, "SK210", n.text, why);
  }
}

function checkSingletons(
  c: Checker,
  ast: A.SketchFile,
  parts: SketchParts,
): void {
  const groups: [string, A.Item["kind"][]][] = [
    ["'inputs' declaration", ["InputsDecl"]],
    ["execution model", ["StraightDecl", "TreeDecl"]],
    ["'output' declaration", ["OutputDecl"]],
    ["'prior' declaration", ["PriorDecl"]],
  ];
  for (const [what, kinds] of groups) {
    const found = ast.items.filter((i) => kinds.includes(i.kind));
    for (const extra of found.slice(1))
      c.report(extra.span, "SK214", what, found[0].span.line);
  }
  if (parts.inputs === undefined) {
    c.report(
      ast.name.span,
      "SK213",
      ast.name.text,
      "an 'inputs N;' declaration",
    );
  }
  if (parts.model === undefined) {
    c.report(
      ast.name.span,
      "SK213",
      ast.name.text,
      "an execution model ('straight lines N { ... }' or 'tree depth D { ... }')",
    );
  }
  if (parts.operators.length === 0)
    c.report(ast.name.span, "SK209", ast.name.text);
}

/** Checks `inputs` and the constants; returns the number of inputs when it is a valid count. */
function checkInputsAndConstants(
  c: Checker,
  parts: SketchParts,
): number | undefined {
  const inputsOk =
    parts.inputs !== undefined &&
    c.count(parts.inputs.count, "The number of inputs", LIMITS.inputs);
  const seen = new Map<string, A.Name>();
  for (const k of parts.constants) {
    c.name(k.name);
    if (seen.has(k.name.text))
      c.report(k.name.span, "SK211", k.name.text, "a constant");
    seen.set(k.name.text, k.name);
    c.finite(k.value);
  }
  if (parts.constants.length > LIMITS.constants) {
    const k = parts.constants[LIMITS.constants];
    c.report(
      k.span,
      "SK207",
      "The number of constants",
      parts.constants.length,
      LIMITS.constants,
    );
  }
  return inputsOk ? parts.inputs!.count.value : undefined;
}

/** The subexpressions of an expression. */
function children(e: A.Expr): readonly A.Expr[] {
  switch (e.kind) {
    case "NumberExpr":
    case "NameExpr":
      return [];
    case "UnaryExpr":
      return [e.operand];
    case "BinaryExpr":
      return [e.left, e.right];
    case "CallExpr":
      return e.args;
    default:
      return A.assertNever(e);
  }
}

/**
 * The depth of a body (operations on the longest path from the root), its weight (the sum over its nodes of their depth, i.e. the summed size of
 * all its subexpressions: the compiled backward pass prints a subexpression once in the
 * derivative of each operation above it, so this bounds the module's size) and the first node
 * deeper than `maxDepth`. Iterative, so a body of any depth is measured without recursion.
 */
export function bodyShape(
  body: A.Expr,
  maxDepth: number,
): { depth: number; weight: number; tooDeep: A.Expr | undefined } {
  let depth = 0;
  let weight = 0;
  let tooDeep: A.Expr | undefined;
  const stack: [A.Expr, number][] = [[body, 1]];
  while (stack.length > 0) {
    const [e, d] = stack.pop()!;
    weight += d;
    const kids = children(e);
    // Depth counts operations: a name or number adds no level.
    if (e.kind !== "NameExpr" && e.kind !== "NumberExpr") {
      depth = Math.max(depth, d);
      if (d > maxDepth && tooDeep === undefined) tooDeep = e;
    }
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], d + 1]);
  }
  return { depth, weight, tooDeep };
}

function checkOperators(c: Checker, parts: SketchParts): void {
  const constants = new Set(parts.constants.map((k) => k.name.text));
  const seen = new Set<string>();
  let weight = 0;
  let heavy = false;
  for (const op of parts.operators) {
    c.name(op.name);
    if (seen.has(op.name.text)) c.report(op.name.span, "SK202", op.name.text);
    seen.add(op.name.text);
    if (op.params.length < 1 || op.params.length > LIMITS.arity) {
      c.report(
        op.name.span,
        "SK212",
        op.name.text,
        op.params.length,
        LIMITS.arity,
      );
    }
    const params = new Set<string>();
    for (const p of op.params) {
      c.name(p);
      if (params.has(p.text)) c.report(p.span, "SK203", p.text, op.name.text);
      else if (constants.has(p.text))
        c.report(p.span, "SK211", p.text, "a constant");
      params.add(p.text);
    }
    // The recursive checks below (and every later stage) run on bodies of bounded depth only.
    const shape = bodyShape(op.body, LIMITS.bodyDepth);
    weight += shape.weight;
    if (shape.tooDeep) {
      c.report(
        shape.tooDeep.span,
        "SK223",
        op.name.text,
        shape.depth,
        LIMITS.bodyDepth,
      );
    } else {
      if (weight > LIMITS.bodyWeight && !heavy) {
        c.report(op.name.span, "SK224", op.name.text, LIMITS.bodyWeight);
        heavy = true;
      }
      const used = new Set<string>();
      checkExpr(c, op.body, op.name.text, params, constants, used);
      for (const p of op.params) {
        if (!used.has(p.text) && params.has(p.text))
          c.report(p.span, "SK221", p.text, op.name.text);
      }
    }
    if (op.cost)
      c.nonNegative(op.cost, `The cost of operator '${op.name.text}'`);
  }
  if (parts.operators.length > LIMITS.operators) {
    const op = parts.operators[LIMITS.operators];
    c.report(
      op.span,
      "SK207",
      "The number of operators",
      parts.operators.length,
      LIMITS.operators,
    );
  }
}

function checkExpr(
  c: Checker,
  e: A.Expr,
  op: string,
  params: ReadonlySet<string>,
  constants: ReadonlySet<string>,
  used: Set<string>,
): void {
  switch (e.kind) {
    case "NumberExpr":
      if (!Number.isFinite(e.value)) c.report(e.span, "SK220", e.text);
      return;
    case "NameExpr":
      if (params.has(e.name)) used.add(e.name);
      else if (!constants.has(e.name)) c.report(e.span, "SK201", e.name, op);
      return;
    case "UnaryExpr":
      return checkExpr(c, e.operand, op, params, constants, used);
    case "BinaryExpr":
      checkExpr(c, e.left, op, params, constants, used);
      return checkExpr(c, e.right, op, params, constants, used);
    case "CallExpr": {
      const fn = e.callee.text;
      if (!isFunctionName(fn)) {
        c.report(e.callee.span, "SK204", fn, Object.keys(FUNCTIONS).join(", "));
      } else if (FUNCTIONS[fn].arity !== e.args.length) {
        c.report(
          e.callee.span,
          "SK205",
          fn,
          FUNCTIONS[fn].arity,
          e.args.length,
        );
      }
      for (const a of e.args) checkExpr(c, a, op, params, constants, used);
      return;
    }
    default:
      return A.assertNever(e);
  }
}

/** The number of slots a scope gives line `line` (0-based) of a straight-line sketch. */
export function scopeSlots(
  items: readonly A.ScopeItem[],
  numInputs: number,
  numConstants: number,
  line: number,
): Set<number> {
  const slots = new Set<number>();
  const base = numInputs + numConstants;
  const here = base + line;
  for (const item of items) {
    switch (item.kind) {
      case "inputs":
        for (let i = 0; i < numInputs; i++) slots.add(i);
        break;
      case "consts":
        for (let i = numInputs; i < base; i++) slots.add(i);
        break;
      case "earlier":
        for (let i = base; i < here; i++) slots.add(i);
        break;
      case "last":
        for (let i = Math.max(0, here - item.count.value); i < here; i++)
          slots.add(i);
        break;
      default:
        A.assertNever(item);
    }
  }
  return slots;
}

/** The default scope of every argument: everything computed before the line. */
export const DEFAULT_ARG_SCOPE: readonly A.ScopeItem["kind"][] = [
  "inputs",
  "consts",
  "earlier",
];

function checkScopeItems(
  c: Checker,
  scope: A.ScopeDecl,
  model: "straight" | "tree",
): boolean {
  let ok = true;
  const seen = new Set<string>();
  for (const item of scope.items) {
    const key = item.kind === "last" ? `last ${item.count.text}` : item.kind;
    if (seen.has(key)) c.report(item.span, "SK222", key);
    seen.add(key);
    if (model === "tree" && (item.kind === "earlier" || item.kind === "last")) {
      c.report(
        item.span,
        "SK216",
        `'${item.kind}'`,
        "tree",
        "leaves read inputs and consts",
      );
      ok = false;
    }
    if (item.kind === "last")
      ok = c.count(item.count, "The window of 'last'", LIMITS.lastWindow) && ok;
  }
  return ok;
}

/**
 * The execution model and its scopes. `numInputs` is the checked number of inputs (undefined when
 * it is missing or invalid): the scope checks enumerate slots, so they run only on valid counts.
 */
function checkModel(
  c: Checker,
  parts: SketchParts,
  numInputs: number | undefined,
): void {
  const model = parts.model;
  if (!model) return;
  const numConstants = Math.min(parts.constants.length, LIMITS.constants);
  const arity = maxArity(parts);
  const kind = model.kind === "StraightDecl" ? "straight" : "tree";
  let scopesOk = true;
  const targets = new Map<string, A.ScopeDecl>();
  for (const scope of model.scopes) {
    const t = scope.target;
    if (kind === "tree" && t.kind !== "leaves") {
      c.report(
        scope.span,
        "SK216",
        `'${t.kind}'`,
        "tree",
        "a tree's arguments are its children; use 'leaves: ...'",
      );
      scopesOk = false;
      continue;
    }
    if (kind === "straight" && t.kind === "leaves") {
      c.report(
        scope.span,
        "SK216",
        "'leaves'",
        "straight-line",
        "use 'args: ...' or 'arg N: ...'",
      );
      scopesOk = false;
      continue;
    }
    let key: string = t.kind;
    if (t.kind === "arg") {
      if (!c.count(t.index, "The argument index", LIMITS.arity)) {
        scopesOk = false;
        continue;
      }
      if (t.index.value > arity) {
        c.report(t.index.span, "SK219", t.index.value, arity);
        scopesOk = false;
        continue;
      }
      key = `arg ${t.index.value}`;
    }
    const first = targets.get(key);
    if (first) c.report(scope.span, "SK214", `'${key}' scope`, first.span.line);
    else targets.set(key, scope);
    scopesOk = checkScopeItems(c, scope, kind) && scopesOk;
  }

  if (model.kind === "StraightDecl") {
    if (!c.count(model.lines, "The number of lines", LIMITS.lines) || !scopesOk)
      return;
    if (numInputs === undefined) return;
    // Every argument position used by some operator must be able to read a slot on every line.
    const defaults: A.ScopeItem[] = DEFAULT_ARG_SCOPE.map(
      (k) => ({ kind: k, span: model.span }) as A.ScopeItem,
    );
    for (let arg = 1; arg <= arity; arg++) {
      const decl = targets.get(`arg ${arg}`) ?? targets.get("args");
      const items = decl?.items ?? defaults;
      for (let line = 0; line < model.lines.value; line++) {
        if (scopeSlots(items, numInputs, numConstants, line).size === 0) {
          c.report(
            (decl ?? model).span,
            "SK208",
            `argument ${arg} of line ${line + 1}`,
          );
          break;
        }
      }
    }
  } else {
    if (!c.count(model.depth, "The tree depth", LIMITS.treeDepth)) return;
    const leaves = arity ** model.depth.value;
    if (leaves > LIMITS.treeLeaves) {
      c.report(
        model.depth.span,
        "SK207",
        `The number of leaves (${arity}^${model.depth.value})`,
        leaves,
        LIMITS.treeLeaves,
      );
      return;
    }
    const decl = targets.get("leaves");
    if (scopesOk && decl && numInputs !== undefined) {
      const slots = scopeSlots(decl.items, numInputs, numConstants, 0);
      if (slots.size === 0) c.report(decl.span, "SK208", "a leaf");
    }
  }
}

function checkOutput(c: Checker, parts: SketchParts): void {
  const out = parts.output;
  if (!out || !parts.model) return;
  const t = out.target;
  if (parts.model.kind === "TreeDecl") {
    if (t.kind !== "root") {
      c.report(
        out.span,
        "SK216",
        `'output ${t.kind}'`,
        "tree",
        "a tree's output is its root: write 'output root;'",
      );
    }
    return;
  }
  if (t.kind === "root") {
    c.report(
      out.span,
      "SK216",
      "'output root'",
      "straight-line",
      "write 'output last;' or 'output line N;'",
    );
    return;
  }
  if (t.kind === "line" && c.count(t.line, "The output line", LIMITS.lines)) {
    const lines = parts.model.lines.value;
    if (Number.isInteger(lines) && t.line.value > lines)
      c.report(t.line.span, "SK215", t.line.value, lines);
  }
}

/** Stage 2: semantic checks over a parsed sketch. */
export function checkSketch(ast: A.SketchFile, file: string): CheckResult {
  const c = new Checker(file);
  const parts = collectParts(ast);
  c.name(ast.name);
  checkSingletons(c, ast, parts);
  const numInputs = checkInputsAndConstants(c, parts);
  checkOperators(c, parts);
  checkModel(c, parts, numInputs);
  checkOutput(c, parts);
  if (parts.prior) c.nonNegative(parts.prior.weight, "The length-prior weight");
  return { ast, diagnostics: dedupeDiagnostics(c.diagnostics) };
}
