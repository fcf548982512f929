// The paper's task domain (Sec. 4.1): the 1,101 semantically distinct formulas over s1, s2, s3
// with at most 3 operators from {+, -, *} (data/tasks.ts), sampled with the seed exactly as
// before domains existed, so the default command draws the same tasks, pairs and outputs.

import { enumerateTasks, evaluateFormula, type Task } from "../data/tasks.js";
import type { Alphabet } from "./alphabet.js";
import { drawFromPool, type TaskDomain } from "./domain.js";

/** V of the paper's tasks. */
export const ARITH_INPUTS = 3;

/** The arithmetic tasks over `alphabet` (the default one is 0.1..1.0). */
export function createArithDomain(alphabet: Alphabet): TaskDomain<Task> {
  const pool = enumerateTasks();
  return {
    name: "arith",
    description: `the paper's ${pool.length.toLocaleString("en-US")} formulas over s1..s3 with at most 3 of +, -, *`,
    alphabet,
    numInputs: ARITH_INPUTS,
    poolSize: pool.length,
    drawTasks: (count, heldOut, seed) =>
      drawFromPool(pool, count, heldOut, seed),
    output: (task, s) => evaluateFormula(task.formula, s),
  };
}
