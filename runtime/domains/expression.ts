// Programs of a sketch's own language written as expressions, `mul(add(s1, s3), sub(s1, s3))`:
// the leaves are the inputs s1..sV, the sketch's named constants and numbers; the nodes are its
// operators. Task files are written in it, the enumerated tasks are printed in it, and both are
// evaluated with the compiled module's own scalar operators (safe division and clamps included).

import type { SketchModule } from "../sketch-module.js";

/** An expression over a sketch's inputs, constants and operators. */
export type Expr =
  | { readonly kind: "input"; readonly index: number }
  | { readonly kind: "const"; readonly index: number }
  | { readonly kind: "num"; readonly value: number }
  | {
      readonly kind: "op";
      readonly op: number;
      readonly args: readonly Expr[];
    };

/** What expressions need of a compiled sketch: its inputs, constants and scalar operators. */
export interface Language {
  readonly numInputs: number;
  readonly constants: readonly {
    readonly name: string;
    readonly value: number;
  }[];
  readonly operators: readonly {
    readonly name: string;
    readonly arity: number;
    readonly cost: number;
    /** The module's scalar function (`operators` of the generated module). */
    readonly apply: (...xs: number[]) => number;
    /** True when the operator returns its one argument unchanged (e.g. `op skip(a) = a`). */
    readonly identity: boolean;
  }[];
}

/** Points at which an operator of arity 1 must return its argument to count as the identity. */
const IDENTITY_PROBES = [-7.25, -1, -0.5, 0, 0.1, 0.75, 1, 3, 1234.5];

/** The language of a compiled module, read from its `sketch` metadata and `operators`. */
export function languageOf(module: SketchModule): Language {
  return {
    numInputs: module.sketch.numInputs,
    constants: module.sketch.constants,
    operators: module.sketch.operators.map((o) => {
      const apply = module.operators[o.name];
      if (apply === undefined)
        throw new Error(`the module has no scalar operator '${o.name}'`);
      return {
        name: o.name,
        arity: o.arity,
        cost: o.cost,
        apply,
        identity: o.arity === 1 && IDENTITY_PROBES.every((x) => apply(x) === x),
      };
    }),
  };
}

export const input = (index: number): Expr => ({ kind: "input", index });
export const constant = (index: number): Expr => ({ kind: "const", index });
export const apply = (op: number, args: readonly Expr[]): Expr => ({
  kind: "op",
  op,
  args,
});

/** Exact evaluation at the symbol values `s` (s[0] is s1), with the module's operators. */
export function evaluateExpr(
  language: Language,
  e: Expr,
  s: readonly number[],
): number {
  switch (e.kind) {
    case "input":
      return s[e.index];
    case "const":
      return language.constants[e.index].value;
    case "num":
      return e.value;
    case "op":
      return language.operators[e.op].apply(
        ...e.args.map((a) => evaluateExpr(language, a, s)),
      );
  }
}

/** Operator applications in `e`, identities not counted (`skip(s1)` has none). */
export function countOps(language: Language, e: Expr): number {
  if (e.kind !== "op") return 0;
  const own = language.operators[e.op].identity ? 0 : 1;
  return e.args.reduce((n, a) => n + countOps(language, a), own);
}

/** `e` in the sketch's own syntax, e.g. `mul(add(s1, s3), one)`; `parseExpr` reads it back. */
export function formatExpr(language: Language, e: Expr): string {
  switch (e.kind) {
    case "input":
      return `s${e.index + 1}`;
    case "const":
      return language.constants[e.index].name;
    case "num":
      return String(e.value);
    case "op":
      return `${language.operators[e.op].name}(${e.args.map((a) => formatExpr(language, a)).join(", ")})`;
  }
}

/** A parse failure: what is wrong, at which 1-based column of the text. */
export interface ExprError {
  readonly message: string;
  readonly column: number;
}

type Token =
  | { kind: "name"; text: string; at: number }
  | { kind: "number"; value: number; text: string; at: number }
  | { kind: "punct"; text: "(" | ")" | ","; at: number }
  | { kind: "end"; at: number };

function tokenize(text: string): Token[] | ExprError {
  const tokens: Token[] = [];
  const pattern =
    /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([(),]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const m = pattern.exec(text);
    if (m === null) {
      const column = at + text.slice(at).search(/\S/) + 1;
      return {
        message: `unexpected character '${text[column - 1]}'`,
        column,
      };
    }
    const start = m.index + m[0].length - (m[1] ?? m[2] ?? m[3]).length;
    if (m[1] !== undefined)
      tokens.push({ kind: "name", text: m[1], at: start });
    else if (m[2] !== undefined)
      tokens.push({
        kind: "number",
        value: Number(m[2]),
        text: m[2],
        at: start,
      });
    else
      tokens.push({ kind: "punct", text: m[3] as "(" | ")" | ",", at: start });
    at = pattern.lastIndex;
  }
  tokens.push({ kind: "end", at: text.length });
  return tokens;
}

/**
 * Parses an expression in the sketch's own names: `sN` (N in 1..V), a constant's name, a number,
 * or `op(arg, ...)` with the operator's arity. Returns the first error, never throws.
 */
export function parseExpr(language: Language, text: string): Expr | ExprError {
  const tokens = tokenize(text);
  if (!Array.isArray(tokens)) return tokens;
  let k = 0;
  const fail = (message: string, token: Token): ExprError => ({
    message,
    column: token.at + 1,
  });
  const describe = (t: Token): string =>
    t.kind === "end" ? "the end" : `'${t.kind === "punct" ? t.text : t.text}'`;
  const expect = (p: "(" | ")" | ","): ExprError | undefined => {
    const t = tokens[k];
    if (t.kind === "punct" && t.text === p) {
      k++;
      return undefined;
    }
    return fail(`expected '${p}', found ${describe(t)}`, t);
  };
  const parse = (): Expr | ExprError => {
    const t = tokens[k++];
    if (t.kind === "number") return { kind: "num", value: t.value };
    if (t.kind !== "name")
      return fail(
        `expected a symbol, constant or operator, found ${describe(t)}`,
        t,
      );
    const call =
      tokens[k].kind === "punct" &&
      (tokens[k] as { text: string }).text === "(";
    if (!call) {
      const symbol = /^s([1-9][0-9]*)$/.exec(t.text);
      if (symbol) {
        const index = Number(symbol[1]) - 1;
        if (index >= language.numInputs)
          return fail(
            `symbol '${t.text}' is beyond the sketch's ${language.numInputs} inputs (s1..s${language.numInputs})`,
            t,
          );
        return { kind: "input", index };
      }
      const c = language.constants.findIndex((x) => x.name === t.text);
      if (c >= 0) return { kind: "const", index: c };
      const isOp = language.operators.some((o) => o.name === t.text);
      return fail(
        isOp
          ? `operator '${t.text}' needs its arguments in parentheses`
          : `unknown name '${t.text}' (expected s1..s${language.numInputs}${language.constants.length > 0 ? ", a constant" : ""} or an operator call)`,
        t,
      );
    }
    const op = language.operators.findIndex((o) => o.name === t.text);
    if (op < 0) return fail(`unknown operator '${t.text}'`, t);
    k++; // "("
    const args: Expr[] = [];
    if (!(
      tokens[k].kind === "punct" && (tokens[k] as { text: string }).text === ")"
    )) {
      for (;;) {
        const a = parse();
        if ("message" in a) return a;
        args.push(a);
        const next = tokens[k];
        if (next.kind === "punct" && next.text === ",") {
          k++;
          continue;
        }
        break;
      }
    }
    const closed = expect(")");
    if (closed) return closed;
    const arity = language.operators[op].arity;
    if (args.length !== arity)
      return fail(
        `operator '${t.text}' takes ${arity} argument${arity === 1 ? "" : "s"}, got ${args.length}`,
        t,
      );
    return { kind: "op", op, args };
  };
  const e = parse();
  if ("message" in e) return e;
  const rest = tokens[k];
  if (rest.kind !== "end")
    return fail(`unexpected ${describe(rest)} after the expression`, rest);
  return e;
}
