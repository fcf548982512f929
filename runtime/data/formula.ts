// Gold-standard programs of the ROAP arithmetic tasks (Sec. 4.1): expression trees over
// the input symbols s1..sV with the binary operators +, -, *. Evaluated here in plain
// numbers to produce the I/O pairs, and printed with the fewest parentheses.

/** A binary operator of the task formulas. */
export type BinaryOp = "+" | "-" | "*";

/** An arithmetic formula: a symbol leaf (0-based `index`, printed s{index+1}) or a binary node. */
export type Formula =
  | { readonly kind: "sym"; readonly index: number }
  | {
      readonly kind: "bin";
      readonly op: BinaryOp;
      readonly left: Formula;
      readonly right: Formula;
    };

/** The operators, in a fixed order. */
export const BINARY_OPS: readonly BinaryOp[] = ["+", "-", "*"];

/** A symbol leaf. */
export function sym(index: number): Formula {
  return { kind: "sym", index };
}

/** A binary node. */
export function bin(op: BinaryOp, left: Formula, right: Formula): Formula {
  return { kind: "bin", op, left, right };
}

/**
 * Evaluates `f` at the symbol values `s` (s[0] is s1).
 * @throws RangeError when `f` refers to a symbol beyond `s`
 */
export function evaluateFormula(f: Formula, s: readonly number[]): number {
  switch (f.kind) {
    case "sym":
      if (f.index >= s.length) {
        throw new RangeError(
          `formula uses s${f.index + 1} but only ${s.length} symbols were given`,
        );
      }
      return s[f.index];
    case "bin": {
      const a = evaluateFormula(f.left, s);
      const b = evaluateFormula(f.right, s);
      switch (f.op) {
        case "+":
          return a + b;
        case "-":
          return a - b;
        case "*":
          return a * b;
      }
    }
  }
}

/** The number of binary operators in `f`. */
export function countOps(f: Formula): number {
  return f.kind === "sym" ? 0 : 1 + countOps(f.left) + countOps(f.right);
}

const PRECEDENCE: Readonly<Record<BinaryOp, number>> = {
  "+": 1,
  "-": 1,
  "*": 2,
};
const ATOM_PRECEDENCE = 3;

function precedenceOf(f: Formula): number {
  return f.kind === "sym" ? ATOM_PRECEDENCE : PRECEDENCE[f.op];
}

/**
 * Prints `f` as `s1 + s2 * s3`, with only the parentheses the tree needs under the usual
 * precedence and left associativity, so the text parses back to the same tree: a left
 * operand is bracketed when it binds looser than its parent, a right operand when it binds
 * no tighter (`s1 - (s2 + s3)`, `s1 * (s2 * s3)`).
 */
export function formatFormula(f: Formula): string {
  if (f.kind === "sym") return `s${f.index + 1}`;
  const p = PRECEDENCE[f.op];
  const left = formatFormula(f.left);
  const right = formatFormula(f.right);
  const l = precedenceOf(f.left) < p ? `(${left})` : left;
  const r = precedenceOf(f.right) <= p ? `(${right})` : right;
  return `${l} ${f.op} ${r}`;
}
