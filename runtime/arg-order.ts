// One argument order for symmetric operators in what r is taught (beyond the paper).
//
// A line `add(s3, s1)` and a line `add(s1, s3)` compute the same values, so a target program
// can be written either way. The search stores whichever it found, and permuted rehearsal
// (rehearsal.ts) writes both: after s1 and s3 swap places, `add(s1, s3)` becomes `add(s3, s1)`.
// q factorizes over rows and heads, so a recognizer taught both orders spreads arg1 and arg2 over
// the same two slots, and its argmax can pick the same slot for both: `add(s1, s1)`, a different
// function. With `targetArgOrder: "sorted"` every target (imitation, rehearsal, dreams) lists a
// symmetric operator's arguments by slot number, inputs first, then constants, then lines.
//
// Which operators are symmetric is measured, not assumed: an operator is symmetric when
// swapping any two of its arguments leaves its value unchanged at every probe point (the
// module's scalar `operators`, the ones exact evaluation runs). Straight-line sketches only; a
// syntax tree's children are subtrees, not slots.

import type { SketchModule } from "./sketch-module.js";

/** Probe values for the symmetry test: no zeros, mixed signs and magnitudes. */
const PROBES = [0.37, -1.3, 2.9, 0.61, -0.22, 1.7, 0.05, 3.3, -2.6];

/** What `sortArguments` needs of a straight-line sketch. */
export interface ArgumentOrder {
  /** The operator head's name (`op`). */
  readonly op: string;
  /** The argument heads in argument order (`arg1`, `arg2`, ...). */
  readonly args: readonly string[];
  /** Per operator (the op head's choices): how many leading argument heads it reads. */
  readonly arity: readonly number[];
  /** Per operator: whether its value is the same under every order of its arguments. */
  readonly symmetric: readonly boolean[];
  /** Per argument head, the sketch's mask [rows][choices]: a swap must stay in scope. */
  readonly masks: readonly (readonly (readonly number[])[])[];
}

/** Whether `f` of `arity` arguments is unchanged by swapping any two, at every probe point. */
export function isSymmetric(
  f: (...xs: number[]) => number,
  arity: number,
): boolean {
  if (arity < 2) return false;
  for (let at = 0; at < PROBES.length; at++) {
    const xs = Array.from(
      { length: arity },
      (_, i) => PROBES[(at + 3 * i) % PROBES.length],
    );
    const value = f(...xs);
    if (!Number.isFinite(value)) return false;
    for (let i = 0; i < arity; i++)
      for (let j = i + 1; j < arity; j++) {
        const swapped = [...xs];
        [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
        const other = f(...swapped);
        if (!(Math.abs(other - value) <= 1e-9 * (1 + Math.abs(value))))
          return false;
      }
  }
  return true;
}

/**
 * The argument order of `module`'s sketch, or undefined where there is nothing to order: a
 * syntax-tree sketch, or no symmetric operator of two or more arguments.
 */
export function argumentOrderOf(
  module: SketchModule<unknown>,
): ArgumentOrder | undefined {
  const { sketch } = module;
  if (sketch.model !== "straight") return undefined;
  const op = sketch.heads.find((h) => h.name === "op");
  const args = sketch.heads
    .filter((h) => /^arg\d+$/.test(h.name))
    .sort((a, b) => Number(a.name.slice(3)) - Number(b.name.slice(3)));
  if (!op || args.length < 2) return undefined;
  const symmetric = sketch.operators.map((o) => {
    const f = module.operators[o.name];
    return f !== undefined && o.arity <= args.length && isSymmetric(f, o.arity);
  });
  if (!symmetric.some((s) => s)) return undefined;
  return {
    op: op.name,
    args: args.map((h) => h.name),
    arity: sketch.operators.map((o) => o.arity),
    symmetric,
    masks: args.map((h) => h.mask),
  };
}

/**
 * Rewrites `choices` (per head, [n * rows]: row r of program k at k * rows + r) in place so that
 * on every row whose operator is symmetric the arguments it reads are in ascending slot order.
 * A row whose sorted arguments would leave an argument head's scope stays as it is.
 */
export function sortArguments(
  order: ArgumentOrder,
  choices: Readonly<Record<string, Int32Array>>,
  rows: number,
): void {
  const ops = choices[order.op];
  const heads = order.args.map((name) => choices[name]);
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    if (!order.symmetric[o]) continue;
    const n = order.arity[o];
    const r = i % rows;
    if (n === 2) {
      // The common case, without allocating: one comparison and one swap.
      const a = heads[0][i];
      const b = heads[1][i];
      if (a > b && order.masks[0][r][b] === 1 && order.masks[1][r][a] === 1) {
        heads[0][i] = b;
        heads[1][i] = a;
      }
      continue;
    }
    const read = heads.slice(0, n).map((h) => h[i]);
    const sorted = [...read].sort((a, b) => a - b);
    if (sorted.every((c, k) => c === read[k])) continue;
    if (sorted.some((c, k) => order.masks[k][r][c] !== 1)) continue;
    sorted.forEach((c, k) => (heads[k][i] = c));
  }
}
