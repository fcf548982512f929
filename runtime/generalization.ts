// The generalization loss of Sec. 4.3: for new tasks t' (never trained on, never held out), the
// learned g grounds their pairs; a program is synthesized (bottom-up enumeration, synthesis/) on
// the pairs whose gold symbols all lie in the lower half of the alphabet (0.1..0.5 for
// 0.1..1.0), and its mean squared error is measured on the pairs whose gold symbols all lie in
// the upper half (0.6..1.0): out-of-distribution symbols for a new task. The CNN+MLP baseline
// fits a new MLP on the small pairs instead (nets/baselines.ts `fitAndPredict`).

import type { ImageSet } from "./data/images.js";
import { indexByClass, makeSplitFromRows, type Split } from "./data/pairs.js";
import type { Alphabet } from "./domains/alphabet.js";
import type { DomainTask, TaskDomain } from "./domains/domain.js";
import {
  evaluateExpr,
  formatExpr,
  type Language,
} from "./domains/expression.js";
import { createRng, deriveSeed } from "./random.js";
import { synthesize } from "./synthesis/bottom-up.js";

/** Pairs of each half per new task: the search's and the test's. */
export const GENERALIZATION_PAIRS = 64;
/** The search's tolerance on g(x) (normalized error; docs/synthesis.md). */
export const GENERALIZATION_TOLERANCE = 0.05;
/** The random stream of the new tasks and their pairs (random.ts `deriveSeed`). */
export const GENERALIZATION_STREAM = 9_000_101;

/** New tasks and their pairs: GENERALIZATION_PAIRS of small symbols, then as many of large. */
export interface GeneralizationData {
  readonly tasks: readonly DomainTask[];
  readonly split: Split;
}

/**
 * The classes of the lower half of the alphabet by value (the first floor(C / 2) values in
 * ascending order: 0.1..0.5 for 0.1..1.0) and of the upper half.
 */
export function alphabetHalves(alphabet: Alphabet): {
  small: number[];
  large: number[];
} {
  const order = alphabet
    .map((v, k) => ({ v, k }))
    .sort((a, b) => a.v - b.v || a.k - b.k);
  const half = Math.floor(alphabet.length / 2);
  return {
    small: order.slice(0, half).map((c) => c.k),
    large: order.slice(half).map((c) => c.k),
  };
}

/**
 * The pairs of a split whose gold symbols are all small (the search's) and all large (the
 * test's), by class; pairs mixing both halves are in neither.
 */
export function splitBySymbols(split: Split): {
  small: number[];
  large: number[];
} {
  const { small } = alphabetHalves(split.alphabet);
  const isSmall = new Set(small);
  const V = split.numInputs;
  const out = { small: [] as number[], large: [] as number[] };
  for (let i = 0; i < split.numPairs; i++) {
    const cls = Array.from(split.classes.subarray(i * V, (i + 1) * V));
    if (cls.every((k) => isSmall.has(k))) out.small.push(i);
    else if (cls.every((k) => !isSmall.has(k))) out.large.push(i);
  }
  return out;
}

/**
 * Up to `count` tasks of the domain that are neither in `used` (training and held-out ids), drawn
 * with their own stream of `seed`; empty when the domain has no others (a task file).
 */
export function drawNewTasks(
  domain: TaskDomain,
  used: readonly DomainTask[],
  count: number,
  seed: number,
): DomainTask[] {
  if (count <= 0) return [];
  const ids = new Set(used.map((t) => t.id));
  const want = Math.min(domain.poolSize, ids.size + 4 * count);
  const stream = deriveSeed(seed, GENERALIZATION_STREAM);
  const fresh = domain
    .drawTasks(want, 0, stream)
    .train.filter((t) => !ids.has(t.id) && t.data === undefined);
  return createRng(stream)
    .shuffle(fresh)
    .slice(0, count)
    .sort((a, b) => a.id - b.id);
}

/** The new tasks' pairs, on `images` (the test images): small pairs first, then large ones. */
export function createGeneralizationData(args: {
  readonly domain: TaskDomain;
  readonly tasks: readonly DomainTask[];
  readonly images: ImageSet;
  readonly numInputs: number;
  readonly seed: number;
}): GeneralizationData | undefined {
  const { domain, tasks, images, numInputs: V } = args;
  if (tasks.length === 0) return undefined;
  const halves = alphabetHalves(domain.alphabet);
  const byClass = indexByClass(images);
  if (
    [...halves.small, ...halves.large].some(
      (k) => (byClass[k]?.length ?? 0) === 0,
    )
  )
    return undefined;
  const rng = createRng(deriveSeed(args.seed, GENERALIZATION_STREAM + 1));
  const rows = new Int32Array(2 * GENERALIZATION_PAIRS * V);
  for (let c = 0; c < rows.length; c++) {
    const classes = c < GENERALIZATION_PAIRS * V ? halves.small : halves.large;
    const pool = byClass[classes[rng.int(classes.length)]];
    rows[c] = pool[rng.int(pool.length)];
  }
  const split = makeSplitFromRows({
    dataset: images,
    rows,
    tasks,
    output: (task, s) => domain.output(task, s),
    alphabet: domain.alphabet,
    numInputs: V,
  });
  return { tasks, split };
}

/** What a new task's model is given: the search's pairs, and the pairs to predict. */
export interface FitRequest {
  /** Pair indices into the split, with their grounded symbols and the task's outputs. */
  readonly train: {
    readonly pairs: readonly number[];
    readonly s: readonly (readonly number[])[];
    readonly y: readonly number[];
  };
  readonly test: {
    readonly pairs: readonly number[];
    readonly s: readonly (readonly number[])[];
  };
}

/** A new task's fitted model: its predictions on the test pairs, and what it was. */
export interface FitResult {
  readonly predictions: readonly number[];
  readonly program?: string;
  readonly size?: number;
  readonly consistent?: boolean;
  readonly explored?: number;
}

export interface GeneralizationReport {
  /** The mean over new tasks of the MSE on the large-symbol pairs (the paper's metric). */
  readonly loss: number;
  readonly tasks: number;
  readonly searchPairs: number;
  readonly testPairs: number;
  /** New tasks whose search found a consistent program (the others use the closest one). */
  readonly consistent: number;
  readonly seconds: number;
  readonly perTask: readonly {
    readonly task: string;
    readonly program: string | null;
    readonly size: number | null;
    readonly loss: number;
  }[];
}

/** The synthesis fit (ROAP and the no-amortization baseline): the smallest consistent program. */
export function synthesisFit(
  language: Language,
  maxSize: number,
): (request: FitRequest) => FitResult {
  return ({ train, test }) => {
    const r = synthesize(language, train.s, train.y, {
      maxSize,
      tolerance: GENERALIZATION_TOLERANCE,
    });
    const program = r.program ?? r.closest?.program;
    if (!program)
      return { predictions: test.s.map(() => NaN), explored: r.explored };
    return {
      predictions: test.s.map((s) => evaluateExpr(language, program, s)),
      program: formatExpr(language, program),
      size: r.size ?? r.closest?.size,
      consistent: r.program !== undefined,
      explored: r.explored,
    };
  };
}

/**
 * The generalization loss on `data` with the grounded symbols `grounded` ([N * V] of its split):
 * per task, `fit` sees only the small-symbol pairs and predicts the large-symbol ones.
 */
export function generalizationLoss(
  data: GeneralizationData,
  grounded: Float32Array,
  fit: (request: FitRequest) => FitResult,
): GeneralizationReport {
  const started = performance.now();
  const { split } = data;
  const V = split.numInputs;
  const N = split.numPairs;
  const { small, large } = splitBySymbols(split);
  const symbolsOf = (pairs: readonly number[]) =>
    pairs.map((i) => Array.from(grounded.subarray(i * V, (i + 1) * V)));
  const sSmall = symbolsOf(small);
  const sLarge = symbolsOf(large);
  let consistent = 0;
  const perTask = data.tasks.map((task, t) => {
    const y = (i: number) => split.outputs[t * N + i];
    const r = fit({
      train: { pairs: small, s: sSmall, y: small.map(y) },
      test: { pairs: large, s: sLarge },
    });
    if (r.consistent) consistent++;
    let sum = 0;
    large.forEach((i, k) => {
      const d = r.predictions[k] - y(i);
      sum += Number.isFinite(d) ? d * d : 1e12;
    });
    return {
      task: task.text,
      program: r.program ?? null,
      size: r.size ?? null,
      loss: large.length === 0 ? 0 : sum / large.length,
    };
  });
  return {
    loss: perTask.reduce((a, p) => a + p.loss, 0) / Math.max(1, perTask.length),
    tasks: perTask.length,
    searchPairs: small.length,
    testPairs: large.length,
    consistent,
    seconds: (performance.now() - started) / 1000,
    perTask,
  };
}
