// Tasks drawn from the sketch's own language: every semantically distinct program with at most K
// operator applications (`--max-ops`, default 3) over the sketch's V inputs and its constants that
// the sketch can express. The rule, made precise (docs/tasks.md):
//  1. Candidates are all expression trees over the inputs and constants with 0..K applications of
//     the sketch's operators, identities (`op skip(a) = a`) left out: they add nothing but length.
//     This is the paper's task space (Sec. 4.1) for any operators, independent of how far the
//     sketch overparameterizes it, so arith.sketch and arith-depth3.sketch share their tasks.
//  2. A candidate is kept only if the sketch can express it (embed.ts: the sketch's scopes,
//     its lines or tree depth, its output line). Enumerating trees and then checking is simpler
//     than enumerating the program space itself, whose 30-line overparameterization holds the
//     same function in astronomically many ways.
//  3. Two candidates are the same task when their outputs agree, rounded to float32 (a relative
//     tolerance of about 6e-8, below what float32 training data can tell apart; outputs within
//     ZERO_TOLERANCE times the largest |symbol| of 0 count as 0), at every point
//     of a fixed set of symbol tuples of the alphabet: all tuples when there are at most
//     DEDUP_POINTS, else DEDUP_POINTS tuples drawn with a fixed seed. Outputs come from the
//     module's scalar operators, so safe division and clamps behave as in the interpreter.
//  4. Constant functions and candidates with a non-finite output (in float32, as training stores
//     outputs) at some point are excluded.
//  5. Each task is represented by its first candidate with the fewest operators, in enumeration
//     order (operators in the sketch's order, smaller left arguments first); tasks are sorted by
//     operator count, then by that order, and `id` is the position.

import { createRng } from "../random.js";
import { RunError } from "../run-error.js";
import type { SketchModule } from "../sketch-module.js";
import type { Alphabet } from "./alphabet.js";
import { drawFromPool, type DomainTask, type TaskDomain } from "./domain.js";
import { createProgramSpace, placeExpr } from "./embed.js";
import {
  apply,
  constant,
  evaluateExpr,
  formatExpr,
  input,
  languageOf,
  type Expr,
  type Language,
} from "./expression.js";

/** A task of the enumerate domain: a program of the sketch's language. */
export interface EnumeratedTask extends DomainTask {
  readonly expr: Expr;
  readonly numOps: number;
}

/** The default of `--max-ops`. */
export const DEFAULT_MAX_OPS = 3;
/** Symbol tuples on which candidates are compared (rule 3). */
export const DEDUP_POINTS = 128;
/** Outputs within this of 0, times the largest |symbol| (at least 1), compare as 0 (rule 3). */
export const ZERO_TOLERANCE = 1e-9;
/** The most candidate trees enumerated (rule 1); beyond it `--max-ops` must come down. */
export const MAX_CANDIDATES = 3_000_000;
/** The fixed seed of the comparison tuples: the pool is the same for every run seed. */
const DEDUP_SEED = 424_242;

/** Candidate trees with exactly k operator applications, k = 0..maxOps (rule 1), by counting. */
export function countCandidates(language: Language, maxOps: number): number[] {
  const leaves = language.numInputs + language.constants.length;
  const arities = language.operators
    .filter((o) => !o.identity)
    .map((o) => o.arity);
  const counts = [leaves];
  for (let k = 1; k <= maxOps; k++) {
    let total = 0;
    for (const a of arities)
      total += splits(k - 1, a, (parts) =>
        parts.reduce((p, i) => p * counts[i], 1),
      );
    counts.push(total);
  }
  return counts;
}

/** Sum of f over the ways to split n operators among `parts` children, in a fixed order. */
function splits(
  n: number,
  parts: number,
  f: (counts: readonly number[]) => number,
): number {
  let sum = 0;
  forEachSplit(n, parts, (c) => (sum += f(c)));
  return sum;
}

/** Calls `visit` with every way to write n as an ordered sum of `parts` counts >= 0. */
export function forEachSplit(
  n: number,
  parts: number,
  visit: (counts: readonly number[]) => void,
): void {
  const c = new Array<number>(parts).fill(0);
  const go = (i: number, left: number) => {
    if (i === parts - 1) {
      c[i] = left;
      visit(c);
      return;
    }
    for (let x = 0; x <= left; x++) {
      c[i] = x;
      go(i + 1, left - x);
    }
  };
  if (parts === 0) {
    if (n === 0) visit(c);
    return;
  }
  go(0, n);
}

/** The comparison tuples of rule 3: [P][V] values of the alphabet. */
export function dedupPoints(alphabet: Alphabet, numInputs: number): number[][] {
  const A = alphabet.length;
  const all = A ** numInputs;
  if (all <= DEDUP_POINTS)
    return Array.from({ length: all }, (_, k) =>
      Array.from(
        { length: numInputs },
        (_, j) => alphabet[Math.floor(k / A ** j) % A],
      ),
    );
  const rng = createRng(DEDUP_SEED);
  return Array.from({ length: DEDUP_POINTS }, () =>
    Array.from({ length: numInputs }, () => alphabet[rng.int(A)]),
  );
}

interface Candidate {
  readonly expr: Expr;
  readonly values: Float64Array;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Writes the outputs as compared (rule 3) into `out`: within `zero` of 0 they are 0 (float64
 * cancellation leaves residues such as 0.2 + (0.1 - 0.3) = 2.8e-17), others rounded to float32.
 * False when one is not finite in float32 (the outputs' type in training) or all are equal.
 */
function fingerprint(
  values: Float64Array,
  zero: number,
  out: Float32Array,
): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Math.abs(v) <= zero ? 0 : v;
    if (!Number.isFinite(out[i])) return false; // training outputs are float32
  }
  for (let i = 1; i < out.length; i++) if (out[i] !== out[0]) return true;
  return false;
}

/** A 53-bit FNV-1a / multiply-mix hash of a fingerprint. */
function hashOf(fp: Float32Array): number {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < fp.length; i++) {
    f32[0] = fp[i];
    const x = u32[0];
    a = Math.imul(a ^ x, 0x01000193) >>> 0;
    b = Math.imul(b ^ (x + i), 0x85ebca6b) >>> 0;
    b = (b ^ (b >>> 13)) >>> 0;
  }
  return a * 2 ** 21 + (b & 0x1fffff);
}

/** out[p] = f(args at p) for every point, with the common arities unrolled. */
function applyAll(
  f: (...xs: number[]) => number,
  args: readonly Candidate[],
  out: Float64Array,
): void {
  const P = out.length;
  if (args.length === 1) {
    const a = args[0].values;
    for (let p = 0; p < P; p++) out[p] = f(a[p]);
  } else if (args.length === 2) {
    const a = args[0].values;
    const b = args[1].values;
    for (let p = 0; p < P; p++) out[p] = f(a[p], b[p]);
  } else if (args.length === 3) {
    const a = args[0].values;
    const b = args[1].values;
    const c = args[2].values;
    for (let p = 0; p < P; p++) out[p] = f(a[p], b[p], c[p]);
  } else {
    const xs = new Array<number>(args.length);
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < args.length; i++) xs[i] = args[i].values[p];
      out[p] = f(...xs);
    }
  }
}

const cache = new Map<string, readonly EnumeratedTask[]>();

/** What the pool depends on: the heads, the output, the constants and the operators' values. */
function cacheKey(
  module: SketchModule,
  language: Language,
  alphabet: Alphabet,
  maxOps: number,
): string {
  const probe = [0.3, -1.7, 2.5];
  return JSON.stringify([
    module.sketch.model,
    module.sketch.heads,
    module.OUTPUT_SLOT ?? null,
    language.constants,
    language.operators.map((o) => [
      o.name,
      o.arity,
      o.apply(...probe.slice(0, o.arity)),
    ]),
    alphabet,
    maxOps,
  ]);
}

/**
 * The enumerate domain's pool for a compiled sketch: every semantically distinct program with at
 * most `maxOps` operator applications that the sketch can express (rules at the top of this file).
 * @throws RunError when more than MAX_CANDIDATES trees would be enumerated
 */
export function enumeratePrograms(
  module: SketchModule,
  alphabet: Alphabet,
  maxOps: number = DEFAULT_MAX_OPS,
): readonly EnumeratedTask[] {
  const language = languageOf(module);
  const key = cacheKey(module, language, alphabet, maxOps);
  const hit = cache.get(key);
  if (hit) return hit;
  const counts = countCandidates(language, maxOps);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > MAX_CANDIDATES)
    throw new RunError(
      `--max-ops ${maxOps}: ${module.sketch.source} has ${total.toLocaleString("en-US")} candidate programs with at most ${maxOps} operators, over the ${MAX_CANDIDATES.toLocaleString("en-US")} the enumerate domain tries; lower --max-ops or give a --task-file`,
    );
  const space = createProgramSpace(module, language);
  const points = dedupPoints(alphabet, language.numInputs);
  const P = points.length;
  const zero = ZERO_TOLERANCE * Math.max(1, ...alphabet.map(Math.abs));
  const ops = language.operators.flatMap((o, k) => (o.identity ? [] : [k]));

  const classes = new Map<number, Float32Array[]>();
  const kept: Omit<EnumeratedTask, "id">[] = [];
  const fp = new Float32Array(P);
  // Offers a candidate (its outputs in `values`) as a task with `numOps` operators.
  const offer = (expr: () => Expr, values: Float64Array, numOps: number) => {
    if (!fingerprint(values, zero, fp)) return;
    const h = hashOf(fp);
    const bucket = classes.get(h);
    if (bucket?.some((b) => b.every((v, i) => v === fp[i]))) return;
    const e = expr();
    if (placeExpr(space, e) === undefined) return;
    if (bucket) bucket.push(fp.slice());
    else classes.set(h, [fp.slice()]);
    kept.push({ expr: e, numOps, text: formatExpr(language, e) });
  };

  // Rule 1, level by level: trees with exactly k applications from the levels below.
  const levels: Candidate[][] = [
    [
      ...Array.from({ length: language.numInputs }, (_, j) => input(j)),
      ...language.constants.map((_, c) => constant(c)),
    ].map((expr) => ({
      expr,
      values: Float64Array.from(points, (s) => evaluateExpr(language, expr, s)),
    })),
  ];
  levels[0].forEach((c) => offer(() => c.expr, c.values, 0));
  const scratch = new Float64Array(P);
  for (let k = 1; k <= maxOps; k++) {
    const level: Candidate[] = [];
    const keep = k < maxOps; // the top level is offered, never stored
    for (const op of ops) {
      const { arity, apply: f } = language.operators[op];
      forEachSplit(k - 1, arity, (parts) => {
        const lists = parts.map((n) => levels[n]);
        const chosen = new Array<Candidate>(arity);
        const build = () =>
          apply(
            op,
            chosen.map((x) => x.expr),
          );
        const go = (i: number) => {
          if (i === arity) {
            const values = keep ? new Float64Array(P) : scratch;
            applyAll(f, chosen, values);
            if (keep) {
              const c = { expr: build(), values };
              level.push(c);
              offer(() => c.expr, values, k);
            } else offer(build, values, k);
            return;
          }
          for (const x of lists[i]) {
            chosen[i] = x;
            go(i + 1);
          }
        };
        go(0);
      });
    }
    levels.push(level);
  }
  const tasks = kept.map((t, id) => Object.freeze({ id, ...t }));
  cache.set(key, tasks);
  return tasks;
}

/** The enumerate domain of a compiled sketch over `alphabet`. */
export function createEnumerateDomain(
  module: SketchModule,
  alphabet: Alphabet,
  maxOps: number = DEFAULT_MAX_OPS,
): TaskDomain<EnumeratedTask> {
  const pool = enumeratePrograms(module, alphabet, maxOps);
  if (pool.length === 0)
    throw new RunError(
      `--domain enumerate: ${module.sketch.source} expresses no non-constant program with at most ${maxOps} operators`,
    );
  const language = languageOf(module);
  return {
    name: "enumerate",
    description: `${pool.length.toLocaleString("en-US")} distinct programs of ${module.sketch.source} with at most ${maxOps} operators`,
    alphabet,
    numInputs: language.numInputs,
    poolSize: pool.length,
    drawTasks: (count, heldOut, seed) =>
      drawFromPool(pool, count, heldOut, seed),
    output: (task, s) => evaluateExpr(language, task.expr, s),
    program: (task) => task.expr,
  };
}
