// Rehearsal (beyond the paper): each step, r also imitates solved tasks outside the step's task
// batch, on the step's pairs with g(x) taken as data. A rehearsed task costs r's forward and
// backward pass only (no relaxed sample, proposals, search or abduction), so r sees about
// twice as many stored programs per second (docs/training.md, "Rehearsal").
//
// With `rehearsalPermute`, the step's rehearsal also permutes the symbol inputs: r reads the
// pairs (s_p, y), where column k of s_p is column p[k] of s, and imitates the stored program
// with every read of input j moved to input p^-1[j], which maps s_p to the same y. That program
// is expressible only where the sketch's scopes treat all inputs alike (`inputRelabeling`).
// With `rehearsalPermuteShare` < 1, only that share of the step's rehearsed tasks (drawn per step)
// read the permuted pairs; the others read them in order, so r keeps imitating the tasks as they
// are read at evaluation. Nothing is assumed about the tasks: the rehearsed pairs are the task's
// own data.

import * as tf from "@tensorflow/tfjs-core";
import type { TrainConfig } from "./config.js";
import { outputRows, type Split } from "./data/pairs.js";
import { imitationLoss, type ProgramMemory } from "./memory.js";
import type { Recognizer } from "./nets/recognizer.js";
import { createRng, deriveSeed } from "./random.js";
import type { SketchInfo } from "./sketch-module.js";

/** The random stream of the rehearsal draws (random.ts `deriveSeed`), one per step below it. */
const REHEARSAL_STREAM = 2_000_029;

type RehearsalConfig = Pick<
  TrainConfig,
  | "seed"
  | "rehearsal"
  | "rehearsalPermute"
  | "rehearsalPermuteShare"
  | "imitation"
  | "imitationThreshold"
>;

/**
 * The tasks rehearsed at step `step` (`config.rehearsal` of them at most): training tasks
 * outside the step's `batch` whose stored program is imitated (within `imitationThreshold`) and
 * not given, drawn from (seed, step) and the memory alone, so a resumed run draws the same.
 */
export function rehearsalTasks(
  config: RehearsalConfig,
  given: readonly unknown[],
  memory: ProgramMemory,
  batch: readonly number[],
  step: number,
): number[] {
  if (config.rehearsal <= 0) return [];
  const inBatch = new Set(batch);
  const pool: number[] = [];
  for (let t = 0; t < memory.numTasks; t++)
    if (
      !inBatch.has(t) &&
      given[t] === undefined &&
      memory.programs[t] !== undefined &&
      memory.errors[t] <= config.imitationThreshold
    )
      pool.push(t);
  const rng = createRng(deriveSeed(config.seed, REHEARSAL_STREAM + step));
  return rng
    .shuffle(pool)
    .slice(0, config.rehearsal)
    .sort((a, b) => a - b);
}

/**
 * The heads whose choices are slots (inputs first, then constants, lines or nothing): a
 * straight-line sketch's `arg1`.. heads, a syntax tree's `leaf`.
 */
function slotHeads(sketch: SketchInfo): string[] {
  return sketch.heads
    .map((h) => h.name)
    .filter((name) =>
      sketch.model === "straight" ? /^arg\d+$/.test(name) : name === "leaf",
    );
}

/**
 * For a permutation `p` of the V inputs (s_p[k] = s[p[k]]), the choice relabeling that moves
 * every read of input j to input p^-1[j], so that the relabeled program on s_p computes what the
 * program computes on s; undefined where the sketch's scopes do not allow every input wherever
 * one is allowed (some row's mask differs between two inputs), since the relabeled program
 * could then be outside the sketch.
 */
export function inputRelabeling(
  sketch: SketchInfo,
  p: readonly number[],
): ((head: string, choice: number) => number) | undefined {
  const V = sketch.numInputs;
  const slotted = new Set(slotHeads(sketch));
  for (const h of sketch.heads) {
    if (!slotted.has(h.name)) continue;
    for (const row of h.mask)
      for (let j = 1; j < V; j++) if (row[j] !== row[0]) return undefined;
  }
  const inverse = new Array<number>(V);
  p.forEach((from, k) => (inverse[from] = k));
  return (head, choice) =>
    slotted.has(head) && choice < V ? inverse[choice] : choice;
}

/** The inputs' permutation of step `step`'s rehearsal: uniform over all V!, identity included. */
export function rehearsalPermutation(
  config: Pick<TrainConfig, "seed">,
  numInputs: number,
  step: number,
): number[] {
  const stream = deriveSeed(config.seed, REHEARSAL_STREAM + step);
  const rng = createRng(deriveSeed(stream, 1));
  return rng.shuffle(Array.from({ length: numInputs }, (_, j) => j));
}

/**
 * The rehearsed tasks of step `step` split into those that read the permuted inputs and those
 * that read them in order: round(share * n) of them, drawn from (seed, step), permuted; each part
 * ascending.
 */
export function permutedRehearsal(
  config: Pick<TrainConfig, "seed" | "rehearsalPermuteShare">,
  rehearsed: readonly number[],
  step: number,
): { readonly permuted: number[]; readonly plain: number[] } {
  const k = Math.round(config.rehearsalPermuteShare * rehearsed.length);
  if (k >= rehearsed.length) return { permuted: [...rehearsed], plain: [] };
  if (k <= 0) return { permuted: [], plain: [...rehearsed] };
  const stream = deriveSeed(config.seed, REHEARSAL_STREAM + step);
  const drawn = createRng(deriveSeed(stream, 2)).shuffle([...rehearsed]);
  return {
    permuted: drawn.slice(0, k).sort((a, b) => a - b),
    plain: drawn.slice(k).sort((a, b) => a - b),
  };
}

export interface RehearsalStep {
  readonly config: RehearsalConfig;
  readonly given: readonly unknown[];
  readonly memory: ProgramMemory;
  readonly recognizer: Recognizer;
  readonly sketch: SketchInfo;
  readonly train: Split;
}

/**
 * The rehearsal loss of step `step`: -log q of the stored programs of the rehearsed tasks, r run
 * on the step's pairs with g(x) as data (`grounded`, [B * V]: no gradient reaches g), their
 * inputs permuted with `rehearsalPermute`. Each rehearsed task weighs as one of the step's
 * `batch`. Undefined when nothing is rehearsed.
 */
export function rehearsalLoss(
  at: RehearsalStep,
  grounded: Float32Array,
  pairs: readonly number[],
  batch: readonly number[],
  step: number,
): tf.Scalar | undefined {
  const { config, memory } = at;
  const rehearsed = rehearsalTasks(config, at.given, memory, batch, step);
  if (rehearsed.length === 0) return undefined;
  const B = pairs.length;
  const V = grounded.length / B;
  const p = rehearsalPermutation(config, V, step);
  const relabel = config.rehearsalPermute
    ? inputRelabeling(at.sketch, p)
    : undefined;
  const parts = relabel
    ? permutedRehearsal(config, rehearsed, step)
    : { permuted: [], plain: rehearsed };
  // Each rehearsed task weighs as one of the step's batch, in either part.
  const part = (tasks: readonly number[], permute: boolean): tf.Scalar => {
    const s = permute
      ? Float32Array.from(grounded, (_, i) => grounded[i - (i % V) + p[i % V]])
      : grounded;
    const logits = at.recognizer.call(
      tf.tensor2d(s, [B, V]),
      tf.tensor2d(outputRows(at.train, pairs, tasks), [tasks.length, B]),
      tasks,
    );
    const weight = (config.imitation * tasks.length) / batch.length;
    return tf.mul(
      weight,
      imitationLoss(
        memory,
        tasks,
        logits,
        config.imitationThreshold,
        permute ? relabel : undefined,
      ),
    ) as tf.Scalar;
  };
  return tf.tidy(() => {
    const losses = [
      ...(parts.permuted.length > 0 ? [part(parts.permuted, true)] : []),
      ...(parts.plain.length > 0 ? [part(parts.plain, false)] : []),
    ];
    return losses.length === 1
      ? losses[0]
      : (tf.add(losses[0], losses[1]) as tf.Scalar);
  });
}
