// The paper's task domain (Sec. 4.1): the 1,101 semantically distinct formulas over s1, s2, s3
// with at most 3 operators from {+, -, *} (data/tasks.ts), sampled with the seed exactly as
// before domains existed, so the default command draws the same tasks, pairs and outputs.

import {
  enumerateTasks,
  evaluateFormula,
  type BinaryOp,
  type Formula,
  type Task,
} from "../data/tasks.js";
import type { Alphabet } from "./alphabet.js";
import { drawFromPool, type TaskDomain } from "./domain.js";
import { apply, input, type Expr, type Language } from "./expression.js";

/** V of the paper's tasks. */
export const ARITH_INPUTS = 3;

/** Argument pairs on which an operator must compute +, - or * exactly to count as it. */
const PROBES: readonly (readonly [number, number])[] = [
  [0.3, 0.7],
  [-2, 5],
  [1.5, -0.25],
];

const COMPUTES: Readonly<Record<BinaryOp, (a: number, b: number) => number>> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
};

/**
 * The index of the first binary operator of the language computing each of Sec. 4.1's +, -, *
 * (exactly, at a few probe points), or undefined when one is missing.
 */
export function paperOperators(
  language: Language,
): Readonly<Record<BinaryOp, number>> | undefined {
  const found: Partial<Record<BinaryOp, number>> = {};
  for (const op of Object.keys(COMPUTES) as BinaryOp[]) {
    const k = language.operators.findIndex(
      (o) =>
        o.arity === 2 &&
        PROBES.every(([a, b]) => o.apply(a, b) === COMPUTES[op](a, b)),
    );
    if (k < 0) return undefined;
    found[op] = k;
  }
  return found as Record<BinaryOp, number>;
}

/** A task formula as an expression of the language, with the operators `ops` found. */
export function formulaToExpr(
  formula: Formula,
  ops: Readonly<Record<BinaryOp, number>>,
): Expr {
  return formula.kind === "sym"
    ? input(formula.index)
    : apply(ops[formula.op], [
        formulaToExpr(formula.left, ops),
        formulaToExpr(formula.right, ops),
      ]);
}

/**
 * The arithmetic tasks over `alphabet` (the default one is 0.1..1.0). With the sketch's
 * `language`, each task's formula is also a program of it (`program`), where it has +, -, *.
 */
export function createArithDomain(
  alphabet: Alphabet,
  language?: Language,
): TaskDomain<Task> {
  const pool = enumerateTasks();
  const ops = language && paperOperators(language);
  return {
    name: "arith",
    description: `the paper's ${pool.length.toLocaleString("en-US")} formulas over s1..s3 with at most 3 of +, -, *`,
    alphabet,
    numInputs: ARITH_INPUTS,
    poolSize: pool.length,
    drawTasks: (count, heldOut, seed) =>
      drawFromPool(pool, count, heldOut, seed),
    output: (task, s) => evaluateFormula(task.formula, s),
    program: (task) => ops && formulaToExpr(task.formula, ops),
  };
}
