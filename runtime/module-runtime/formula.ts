// The formula printer of every generated module: an operator body becomes calls to `fmt` over its
// arguments' formulas, and `fmt` adds only the parentheses that precedence and associativity need,
// so `formula(program)` prints `(s1 + s3) * (s1 - s3)`.

/** A formula being printed, with the precedence of its outermost operator (4: an atom). */
export interface Fmt {
  readonly text: string;
  readonly prec: number;
}

export type BinaryOperator = "+" | "-" | "*" | "/";

/** Builders of formulas; `bin` parenthesises the right operand of `-` and `/` at equal precedence. */
export const fmt = {
  atom: (text: string): Fmt => ({ text, prec: 4 }),
  num: (value: number): Fmt => ({
    text: String(value),
    prec: value < 0 ? 3 : 4,
  }),
  neg: (x: Fmt): Fmt => ({
    text: "-" + (x.prec < 3 ? `(${x.text})` : x.text),
    prec: 3,
  }),
  bin(left: Fmt, op: BinaryOperator, right: Fmt): Fmt {
    const prec = op === "+" || op === "-" ? 1 : 2;
    const l = left.prec < prec ? `(${left.text})` : left.text;
    const tight =
      right.prec < prec || (right.prec === prec && (op === "-" || op === "/"));
    const r = tight ? `(${right.text})` : right.text;
    return { text: `${l} ${op} ${r}`, prec };
  },
  call: (fn: string, args: readonly Fmt[]): Fmt => ({
    text: `${fn}(${args.map((a) => a.text).join(", ")})`,
    prec: 4,
  }),
};
