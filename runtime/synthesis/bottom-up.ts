// Bottom-up enumerative synthesis with observational-equivalence pruning (Udupa et al., TRANSIT;
// ROAP Sec. 4.3): given grounded symbols [N, V] and outputs [N], the smallest program of a
// sketch's language consistent with the outputs. Classical search over a learned grounder.
//  1. Programs are expression trees over the inputs and constants; a program's size is its number
//     of operator applications (identities such as `op skip(a) = a` add nothing and are left out).
//  2. Size k is built from the kept programs of sizes below: an operator over children whose sizes
//     sum to k - 1. Every candidate is evaluated on the N examples at once (its output vector).
//  3. Observational equivalence: two programs whose output vectors agree, rounded to float32 (and
//     within ZERO_TOLERANCE of 0 read as 0), are one; only the first (smallest, in enumeration
//     order) is kept as a component, so the search grows with distinct behaviours, not trees.
//  4. A candidate is consistent when its normalized error (Eq. 4 without the 1/2: the mean squared
//     error over the outputs' variance, sigma floored at SIGMA_FLOOR) is at most the tolerance.
//     The search finishes the smallest size with a consistent candidate and returns its lowest-error
//     one (ties: the first), so the answer is the smallest program, deterministically.

import { countCandidates, forEachSplit } from "../domains/enumerate.js";
import {
  apply,
  constant,
  evaluateExpr,
  formatExpr,
  input,
  type Expr,
  type Language,
} from "../domains/expression.js";

/** Options of `synthesize`. */
export interface SynthesisOptions {
  /** The most operator applications of a program (the size bound). Default 3. */
  readonly maxSize?: number;
  /** A program is consistent when its normalized error is at most this. Default DEFAULT_TOLERANCE. */
  readonly tolerance?: number;
  /** The most candidates evaluated; beyond it the search stops, not exhaustive. Default 5e6. */
  readonly maxPrograms?: number;
}

/** What the search found, and what it cost. */
export interface SynthesisResult {
  /** The smallest consistent program, or undefined when none within the bound. */
  readonly program: Expr | undefined;
  /** The program in the sketch's expression syntax, e.g. `mul(add(s1, s2), s3)`. */
  readonly text: string | undefined;
  /** Its operator applications. */
  readonly size: number | undefined;
  /** Its normalized error on the examples (0 for an exact fit). */
  readonly error: number | undefined;
  /** Its mean squared error on the examples. */
  readonly mse: number | undefined;
  /**
   * The lowest-error program seen, consistent or not (a fallback when none is consistent, e.g.
   * for the generalization loss), with its size and mean squared error.
   */
  readonly closest:
    | { readonly program: Expr; readonly size: number; readonly mse: number }
    | undefined;
  /** Candidate programs evaluated (after pruning: candidates built from distinct components). */
  readonly explored: number;
  /** Distinct output vectors kept as components. */
  readonly distinct: number;
  readonly seconds: number;
  /**
   * True when every program up to the size bound was covered (up to observational equivalence):
   * a failure then means no program of that size fits. False when `maxPrograms` cut the search.
   */
  readonly exhaustive: boolean;
}

export const DEFAULT_MAX_SIZE = 3;
/** Default tolerance of the normalized error: about 1% of the outputs' variance left unexplained. */
export const DEFAULT_TOLERANCE = 0.01;
export const DEFAULT_MAX_PROGRAMS = 5_000_000;
/** The floor of sigma, as the objective's (objective.ts `outputSigma`). */
export const SIGMA_FLOOR = 0.05;
/** Outputs within this of 0, times the largest |symbol| (at least 1), are 0 in the key (step 3). */
export const ZERO_TOLERANCE = 1e-9;

interface Component {
  readonly expr: Expr;
  readonly values: Float64Array;
}

/** The standard deviation of the outputs, floored at SIGMA_FLOOR (Eq. 4's sigma^t). */
export function outputScale(outputs: readonly number[]): number {
  const n = outputs.length;
  const mean = outputs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const variance =
    outputs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / Math.max(1, n);
  return Math.max(SIGMA_FLOOR, Math.sqrt(variance));
}

/** Mean squared error of a program's output vector against the outputs (Infinity if not finite). */
function meanSquared(values: Float64Array, outputs: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - outputs[i];
    sum += d * d;
  }
  return Number.isFinite(sum) ? sum / values.length : Infinity;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Step 3's key: the output vector in float32 with near-zeros at 0; false when not finite. */
function keyOf(values: Float64Array, zero: number, out: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Math.abs(v) <= zero ? 0 : v;
    if (!Number.isFinite(out[i])) return false;
  }
  return true;
}

/** A 53-bit hash of a key. */
function hashOf(key: Float32Array): number {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < key.length; i++) {
    f32[0] = key[i];
    const x = u32[0];
    a = Math.imul(a ^ x, 0x01000193) >>> 0;
    b = Math.imul(b ^ (x + i), 0x85ebca6b) >>> 0;
    b = (b ^ (b >>> 13)) >>> 0;
  }
  return a * 2 ** 21 + (b & 0x1fffff);
}

/**
 * Brute-force enumeration's count: every tree with at most `maxSize` operator applications (the
 * same trees this search starts from, none pruned). The pruning is measured against it.
 */
export function bruteForceCount(language: Language, maxSize: number): number {
  return countCandidates(language, maxSize).reduce((a, b) => a + b, 0);
}

/**
 * The smallest program of `language` whose outputs on `symbols` ([N][V]) match `outputs` ([N])
 * within the tolerance (steps at the top of this file).
 */
export function synthesize(
  language: Language,
  symbols: readonly (readonly number[])[],
  outputs: readonly number[],
  options: SynthesisOptions = {},
): SynthesisResult {
  const started = performance.now();
  const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const maxPrograms = options.maxPrograms ?? DEFAULT_MAX_PROGRAMS;
  if (symbols.length !== outputs.length)
    throw new RangeError(
      `synthesize: ${symbols.length} symbol tuples but ${outputs.length} outputs`,
    );
  if (symbols.some((s) => s.length !== language.numInputs))
    throw new RangeError(
      `synthesize: every symbol tuple needs ${language.numInputs} values`,
    );
  const sigma = outputScale(outputs);
  let best: { expr: Expr; mse: number; size: number } | undefined;
  let closest: { program: Expr; mse: number; size: number } | undefined;
  const { explored, distinct, exhaustive } = enumerateDistinct(
    language,
    symbols,
    { maxSize, maxPrograms },
    (values, expr, size) => {
      const mse = meanSquared(values, outputs);
      if (!closest || mse < closest.mse)
        closest = { program: expr(), mse, size };
      if (mse / (sigma * sigma) <= tolerance && (!best || mse < best.mse))
        best = { expr: expr(), mse, size };
    },
    () => best !== undefined,
  );
  return {
    program: best?.expr,
    text: best && formatExpr(language, best.expr),
    size: best?.size,
    error: best && best.mse / (sigma * sigma),
    mse: best?.mse,
    closest,
    explored,
    distinct,
    seconds: (performance.now() - started) / 1000,
    exhaustive,
  };
}

/** A distinct behaviour of `enumeratePrograms`: the first program with these outputs. */
export interface EnumeratedProgram {
  readonly expr: Expr;
  /** Its operator applications. */
  readonly size: number;
  /** Its outputs on the symbols, [N]. */
  readonly values: Float64Array;
}

/**
 * Every distinct behaviour of `language`'s programs of at most `maxSize` operator applications on
 * `symbols` ([N][V]), smallest first (steps 1 to 3 at the top of this file): one search serves
 * any number of tasks that share the symbols, e.g. all the tasks of a training step.
 */
export function enumeratePrograms(
  language: Language,
  symbols: readonly (readonly number[])[],
  options: Pick<SynthesisOptions, "maxSize" | "maxPrograms"> = {},
): EnumeratedProgram[] {
  const found: EnumeratedProgram[] = [];
  enumerateDistinct(
    language,
    symbols,
    {
      maxSize: options.maxSize ?? DEFAULT_MAX_SIZE,
      maxPrograms: options.maxPrograms ?? DEFAULT_MAX_PROGRAMS,
    },
    (values, expr, size) =>
      found.push({ expr: expr(), size, values: Float64Array.from(values) }),
    () => false,
  );
  return found;
}

/**
 * The enumerated program that fits `outputs` best (least squared error; ties: the first, so the
 * smallest), with its mean squared error; undefined when none has a finite error.
 */
export function bestEnumerated(
  programs: readonly EnumeratedProgram[],
  outputs: ArrayLike<number>,
): (EnumeratedProgram & { readonly mse: number }) | undefined {
  let best: EnumeratedProgram | undefined;
  let bestSum = Infinity;
  for (const p of programs) {
    let sum = 0;
    for (let i = 0; i < outputs.length && sum < bestSum; i++) {
      const d = p.values[i] - outputs[i];
      sum += d * d;
    }
    if (sum < bestSum) {
      best = p;
      bestSum = sum;
    }
  }
  return best && { ...best, mse: bestSum / outputs.length };
}

/**
 * Steps 1 to 3: calls `visit` once per distinct behaviour, size by size, and stops after the
 * size at which `done()` first holds, or when `maxPrograms` candidates have been evaluated.
 */
function enumerateDistinct(
  language: Language,
  symbols: readonly (readonly number[])[],
  options: { readonly maxSize: number; readonly maxPrograms: number },
  visit: (values: Float64Array, expr: () => Expr, size: number) => void,
  done: () => boolean,
): { explored: number; distinct: number; exhaustive: boolean } {
  const { maxSize, maxPrograms } = options;
  const N = symbols.length;
  const largest = Math.max(1, ...symbols.flat().map(Math.abs));
  const zero = ZERO_TOLERANCE * largest;
  const ops = language.operators.flatMap((o, k) => (o.identity ? [] : [k]));

  const seen = new Map<number, Float32Array[]>();
  const key = new Float32Array(N);
  let explored = 0;
  let distinct = 0;
  // Offers a candidate; true when it is a new behaviour (to keep as a component).
  const offer = (values: Float64Array, expr: () => Expr, size: number) => {
    explored++;
    if (!keyOf(values, zero, key)) return false;
    const h = hashOf(key);
    const bucket = seen.get(h);
    if (bucket?.some((b) => b.every((v, i) => v === key[i]))) return false;
    if (bucket) bucket.push(key.slice());
    else seen.set(h, [key.slice()]);
    distinct++;
    visit(values, expr, size);
    return true;
  };
  const result = (exhaustive: boolean) => ({ explored, distinct, exhaustive });

  // Size 0: the inputs and constants.
  const leaves: Component[] = [];
  const leafExprs = [
    ...Array.from({ length: language.numInputs }, (_, j) => input(j)),
    ...language.constants.map((_, c) => constant(c)),
  ];
  for (const expr of leafExprs) {
    const values = Float64Array.from(symbols, (s) =>
      evaluateExpr(language, expr, s),
    );
    if (offer(values, () => expr, 0)) leaves.push({ expr, values });
  }
  if (done()) return result(true);
  const levels: Component[][] = [leaves];
  const scratch = new Float64Array(N);
  const xs: number[] = [];
  for (let k = 1; k <= maxSize; k++) {
    const level: Component[] = [];
    const keep = k < maxSize; // the top level is checked, never built upon
    let cut = false;
    for (const op of ops) {
      const { arity, apply: f } = language.operators[op];
      forEachSplit(k - 1, arity, (sizes) => {
        if (cut) return;
        const chosen = new Array<Component>(arity);
        const build = () =>
          apply(
            op,
            chosen.map((c) => c.expr),
          );
        const go = (i: number) => {
          if (cut) return;
          if (i === arity) {
            if (explored >= maxPrograms) {
              cut = true;
              return;
            }
            const values = keep ? new Float64Array(N) : scratch;
            // The common arities without a spread call (the hot loop of the search).
            if (arity === 2) {
              const [x, y] = [chosen[0].values, chosen[1].values];
              for (let p = 0; p < N; p++) values[p] = f(x[p], y[p]);
            } else if (arity === 1) {
              const x = chosen[0].values;
              for (let p = 0; p < N; p++) values[p] = f(x[p]);
            } else {
              for (let p = 0; p < N; p++) {
                for (let a = 0; a < arity; a++) xs[a] = chosen[a].values[p];
                xs.length = arity;
                values[p] = f(...xs);
              }
            }
            if (offer(values, build, k) && keep)
              level.push({ expr: build(), values });
            return;
          }
          for (const c of levels[sizes[i]]) {
            chosen[i] = c;
            go(i + 1);
          }
        };
        go(0);
      });
    }
    if (done() || cut) return result(!cut);
    levels.push(level);
  }
  return result(true);
}
