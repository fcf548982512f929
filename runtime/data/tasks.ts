// The ROAP task space (Sec. 4.1): "all the semantically distinct arithmetic formulas with at
// most 3 variables and 3 operators". Formulas are enumerated exhaustively, grouped by their
// canonical polynomial, and each group is one task printed by its smallest formula.
//
// Rule, made precise here (see docs/data.md):
//  1. Leaves are the symbols s1, s2, s3 (no constants); operators are binary +, -, *; a
//     formula has 0 to 3 operators. Not every symbol has to occur.
//  2. Two formulas are the same task iff their expanded integer polynomials are equal
//     (then they agree on all of R^3, the paper's equivalence).
//  3. Constant polynomials are excluded. Without constant leaves the only one reachable is
//     0 (s1 - s1, (s1 - s1) * s2, ...), a task whose output ignores the images.
//  4. Each task's representative has the fewest operators, then the shortest text, then
//     the lexicographically first text. Tasks are ordered the same way; `id` is the index.

import { createRng } from "../random.js";
import {
  BINARY_OPS,
  bin,
  countOps,
  formatFormula,
  sym,
  type Formula,
} from "./formula.js";
import { isConstant, polynomialKey, toPolynomial } from "./polynomial.js";

export {
  evaluateFormula,
  formatFormula,
  type BinaryOp,
  type Formula,
} from "./formula.js";

/** One synthesis task: a gold-standard program z*^t. */
export interface Task {
  /** Index in `enumerateTasks()`. */
  readonly id: number;
  readonly formula: Formula;
  /** `formatFormula(formula)`, e.g. `(s1 + s3) * (s1 - s3)`. */
  readonly text: string;
  /** Binary operators in `formula`, 0..3. */
  readonly numOps: number;
}

/** V: symbols per input in the paper. */
export const NUM_SYMBOLS = 3;
/** Most binary operators in a task formula in the paper. */
export const MAX_OPS = 3;

/** Every formula with exactly `k` operators, for k = 0..maxOps. */
function formulasByOps(numSymbols: number, maxOps: number): Formula[][] {
  const byOps: Formula[][] = [
    Array.from({ length: numSymbols }, (_, i) => sym(i)),
  ];
  for (let k = 1; k <= maxOps; k++) {
    const level: Formula[] = [];
    for (let leftOps = 0; leftOps < k; leftOps++) {
      for (const op of BINARY_OPS) {
        for (const left of byOps[leftOps]) {
          for (const right of byOps[k - 1 - leftOps])
            level.push(bin(op, left, right));
        }
      }
    }
    byOps.push(level);
  }
  return byOps;
}

type Candidate = Omit<Task, "id">;

/** Order of preference: fewer operators, then shorter text, then lexicographic text. */
function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.numOps !== b.numOps) return a.numOps - b.numOps;
  if (a.text.length !== b.text.length) return a.text.length - b.text.length;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

const cache = new Map<string, readonly Task[]>();

/**
 * All semantically distinct task formulas, by the rule at the top of this file
 * (1,101 for the paper's 3 symbols and 3 operators).
 * @param numSymbols V, default 3
 * @param maxOps most operators, default 3
 */
export function enumerateTasks(
  numSymbols: number = NUM_SYMBOLS,
  maxOps: number = MAX_OPS,
): Task[] {
  const cacheKey = `${numSymbols}/${maxOps}`;
  let tasks = cache.get(cacheKey);
  if (tasks === undefined) {
    const best = new Map<string, Candidate>();
    for (const level of formulasByOps(numSymbols, maxOps)) {
      for (const formula of level) {
        const poly = toPolynomial(formula, numSymbols);
        if (isConstant(poly)) continue;
        const key = polynomialKey(poly);
        const candidate = {
          formula,
          text: formatFormula(formula),
          numOps: countOps(formula),
        };
        const incumbent = best.get(key);
        if (
          incumbent === undefined ||
          compareCandidates(candidate, incumbent) < 0
        ) {
          best.set(key, candidate);
        }
      }
    }
    tasks = [...best.values()]
      .sort(compareCandidates)
      .map((c, id) => Object.freeze({ id, ...c }));
    cache.set(cacheKey, tasks);
  }
  return [...tasks];
}

/**
 * `n` distinct tasks drawn uniformly without replacement with a seeded generator,
 * returned in ascending `id` order, so equal (n, seed) give the same list.
 * @param tasks the pool, default `enumerateTasks()`
 * @throws RangeError when n is not an integer in 0..tasks.length
 */
export function sampleTasks<T extends { readonly id: number } = Task>(
  n: number,
  seed: number,
  tasks: readonly T[] = enumerateTasks() as unknown as T[],
): T[] {
  if (!Number.isInteger(n) || n < 0 || n > tasks.length) {
    throw new RangeError(
      `sampleTasks: n must be an integer in 0..${tasks.length}, got ${n}`,
    );
  }
  const rng = createRng(seed);
  const pool = [...tasks];
  // Partial Fisher-Yates: the first n slots become a uniform sample without replacement.
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, n).sort((a, b) => a.id - b.id);
}

/**
 * `n` tasks of the pool that are not among `trained`, drawn with their own seeded stream (so the
 * training sample is the same with or without them), in ascending `id` order: the tasks that
 * measure amortized inference on programs never trained on. Fewer when the pool runs out.
 */
export function sampleHeldOutTasks<T extends { readonly id: number } = Task>(
  trained: readonly T[],
  n: number,
  seed: number,
  tasks: readonly T[] = enumerateTasks() as unknown as T[],
): T[] {
  const used = new Set(trained.map((t) => t.id));
  const rest = tasks.filter((t) => !used.has(t.id));
  return sampleTasks(Math.min(n, rest.length), seed, rest);
}
