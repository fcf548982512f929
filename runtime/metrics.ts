// The metrics of Sec. 4.1 on the test split, under names that say what each one uses:
// - programSuccess: the paper's, the argmax of q(z | r({g(x), y})) from the task's own inference
//   pairs, checked on the gold symbols of every test pair;
// - foundProgramSuccess: the best of the argmax, samples of q and the task's stored program (the
//   program memory), chosen on g(x) and the outputs of the task's own inference pairs only;
// - heldOutProgramSuccess: amortized inference on tasks never trained on (argmax, best of samples);
// - transductiveProgramSuccess (only when asked): candidates scored on symbols abduced from every
//   task's inference outputs over the known alphabet.
// Plus symbolic loss, test loss and grounding accuracy (g(x) read as the nearest symbol).

import * as tf from "@tensorflow/tfjs-core";
import { outputRows, type Split } from "./data/pairs.js";
import { createSymbolReader } from "./domains/alphabet.js";
import { groundSymbols, type RoapModel } from "./model.js";
import { sampleRelaxed } from "./relaxation.js";
import type { SketchModule } from "./sketch-module.js";
import { disposeCopies, hostReadableMap } from "./host-read.js";

/** Tasks solved out of a total. */
export interface Count {
  readonly count: number;
  readonly total: number;
  readonly rate: number;
}

/** Held-out tasks solved, in total and by the number of operators of their gold formula. */
export interface HeldOutSuccess {
  /** The argmax of q (the paper's decoding) on tasks never trained on. */
  readonly argmax: Count;
  /** The best of the argmax and the samples of q, chosen on the task's inference pairs. */
  readonly sampled: Count;
  readonly byOps: readonly {
    readonly ops: number;
    readonly argmax: Count;
    readonly sampled: Count;
  }[];
  /** Per held-out task, in order: its gold formula, operators, and what solves it. */
  readonly perTask: readonly {
    readonly task: string;
    readonly numOps: number | null;
    readonly argmax: boolean;
    readonly sampled: boolean;
  }[];
}

export interface Metrics {
  /** The paper's metric: the argmax of q solves the task (every test pair, gold symbols). */
  readonly programSuccess: Count;
  /** The best candidate chosen on g(x) of the task's own inference pairs solves the task. */
  readonly foundProgramSuccess: Count;
  /** Amortized inference on held-out tasks (runs with held-out tasks). */
  readonly heldOutProgramSuccess?: HeldOutSuccess;
  /** Candidates scored on abduced symbols (`transductiveEval` with a memory only). */
  readonly transductiveProgramSuccess?: Count;
  /** The program memory's stored programs alone (runs with a memory). */
  readonly memoryProgramSuccess?: Count;
  /** MSE between g(x) and the gold symbols (on the alphabet's scale). */
  readonly symbolicLoss: number;
  /** MSE of the argmax programs run on g(x) against the outputs. */
  readonly testLoss: number;
  /**
   * Fraction of images whose g(x) reads as the gold symbol's value (`createSymbolReader`: the
   * nearest alphabet value, within half the gap to its neighbours; round(10 g(x)) for 0.1..1.0).
   */
  readonly groundingAccuracy: number;
  /**
   * The categorical grounder only: the grounding accuracy of s, its expected value, read as the
   * nearest alphabet value (`groundingAccuracy` reads its most probable class, `readSplit`).
   */
  readonly expectedGroundingAccuracy?: number;
  /** Mean discrete length of the argmax programs. */
  readonly meanProgramLength: number;
  /**
   * The final grounder's confusion on the test images (`groundingConfusion`): row c, an image of
   * class c; column k, the symbol read is the k-th alphabet value; the last column, none.
   */
  readonly groundingConfusion?: readonly (readonly number[])[];
  /**
   * Sec. 4.3: mean over new tasks of the MSE on large-symbol pairs of the program synthesized (or
   * the MLP fitted) on small-symbol pairs of g(x) (generalization.ts); with `generalization`.
   */
  readonly generalizationLoss?: number;
  readonly generalization?: import("./generalization.js").GeneralizationReport;
}

/** Symbols of every pair of a split, grounded in chunks: [N * V] row-major [N, V]. */
export async function groundSplit(
  model: RoapModel,
  split: Split,
  chunk = 512,
): Promise<Float32Array> {
  const { numPairs, numInputs, height, width, channels } = split;
  const perImage = height * width * channels;
  const out = new Float32Array(numPairs * numInputs);
  const total = numPairs * numInputs;
  for (let start = 0; start < total; start += chunk) {
    const n = Math.min(chunk, total - start);
    const symbols = tf.tidy(() => {
      const images = tf.tensor4d(
        split.images.subarray(start * perImage, (start + n) * perImage),
        [n, height, width, channels],
      );
      return groundSymbols(model, images, 1);
    });
    out.set(await symbols.data(), start);
    symbols.dispose();
  }
  return out;
}

/**
 * The symbols g reads on every image of a split ([N * V]): with the categorical output, the value
 * of its most probable class (what a reader of g would take it to say); otherwise g(x) itself
 * (`groundSplit`).
 */
export async function readSplit(
  model: RoapModel,
  split: Split,
  chunk = 512,
): Promise<Float32Array> {
  if (model.grounderOutput !== "categorical")
    return groundSplit(model, split, chunk);
  const best = await perImage(model, split, chunk, (logits) =>
    tf.argMax(logits, 1),
  );
  return best.map((k) => model.symbolValues[k]);
}

/**
 * `reduce` of g's raw outputs [n, K] to one number per image ([n]), over every image of a split
 * in chunks of `chunk`: [N * V].
 */
async function perImage(
  model: RoapModel,
  split: Split,
  chunk: number,
  reduce: (outputs: tf.Tensor2D) => tf.Tensor1D,
): Promise<Float32Array> {
  const { numPairs, numInputs, height, width, channels } = split;
  const perImage = height * width * channels;
  const total = numPairs * numInputs;
  const out = new Float32Array(total);
  for (let start = 0; start < total; start += chunk) {
    const n = Math.min(chunk, total - start);
    const reduced = tf.tidy(() =>
      reduce(
        model.grounder.call(
          tf.tensor4d(
            split.images.subarray(start * perImage, (start + n) * perImage),
            [n, height, width, channels],
          ),
        ) as tf.Tensor2D,
      ),
    );
    out.set(await reduced.data(), start);
    reduced.dispose();
  }
  return out;
}

/**
 * How sure the categorical grounder is of each pair of a split ([N]): the product over the pair's
 * V images of g's top class probability. Undefined for the other grounder outputs.
 */
export async function pairConfidence(
  model: RoapModel,
  split: Split,
  chunk = 512,
): Promise<Float32Array | undefined> {
  if (model.grounderOutput !== "categorical") return undefined;
  const V = split.numInputs;
  const top = await perImage(model, split, chunk, (logits) =>
    tf.max(tf.softmax(logits), 1),
  );
  return Float32Array.from({ length: split.numPairs }, (_, i) => {
    let p = 1;
    for (let j = 0; j < V; j++) p *= top[i * V + j];
    return p;
  });
}

/**
 * The `keep` pairs among the first `pool` with the highest `confidence`, ties to the earlier, in
 * increasing order.
 */
export function confidentPairs(
  confidence: ArrayLike<number>,
  pool: number,
  keep: number,
): number[] {
  return Array.from({ length: Math.min(pool, confidence.length) }, (_, i) => i)
    .sort((a, b) => confidence[b] - confidence[a] || a - b)
    .slice(0, keep)
    .sort((a, b) => a - b);
}

/**
 * Class-by-symbol counts of the symbols read ([N * V], `readSplit`) against a split's classes:
 * [C][C + 1], row c the images of class c, column k the k-th alphabet value read, column C none
 * (outside every cell of the reader).
 */
export function groundingConfusion(
  read: Float32Array,
  split: Split,
): number[][] {
  const C = split.alphabet.length;
  const reader = createSymbolReader(split.alphabet);
  const column = new Map(split.alphabet.map((v, k) => [v, k]));
  const counts = Array.from({ length: C }, () =>
    new Array<number>(C + 1).fill(0),
  );
  for (let i = 0; i < read.length; i++) {
    const v = reader.read(read[i]);
    counts[split.classes[i]][v === undefined ? C : column.get(v)!]++;
  }
  return counts;
}

/**
 * Amortized inference: each task's program from r, given its first `inferencePairs` pairs, or the
 * pairs `read` (grounded symbols and its own outputs), in chunks of `taskChunk` tasks. Returns the argmax of q
 * (the paper's decoding) and, per task, `samples` programs drawn from q (Gumbel-max on the
 * logits; beyond the paper). r sees one task's pairs at a time, so no task's programs depend on
 * another task's outputs.
 */
export async function inferPrograms<P>(
  model: RoapModel,
  symbols: Float32Array,
  split: Split,
  inferencePairs: number,
  options: {
    samples?: number;
    seed?: number;
    taskChunk?: number;
    /** The run's task ids of the split's tasks (for free logits; r ignores them). */
    taskIds?: readonly number[];
    /** The pairs r reads (`confidentPairs`); default the first `inferencePairs`. */
    read?: readonly number[];
  } = {},
): Promise<{ argmax: P[]; samples: P[][] }> {
  const { numTasks, numPairs, numInputs: V } = split;
  const { samples = 0, seed = 0, taskChunk = 50 } = options;
  const module = model.module as SketchModule<P>;
  const read =
    options.read ??
    Array.from({ length: Math.min(inferencePairs, numPairs) }, (_, i) => i);
  const b = read.length;
  const s = new Float32Array(b * V);
  read.forEach((i, k) => s.set(symbols.subarray(i * V, (i + 1) * V), k * V));
  const argmax: P[] = [];
  const sampled: P[][] = [];
  for (let t0 = 0; t0 < numTasks; t0 += taskChunk) {
    const tn = Math.min(taskChunk, numTasks - t0);
    const tasks = Array.from({ length: tn }, (_, k) => t0 + k);
    const logits = tf.tidy(() =>
      model.recognizer.call(
        tf.tensor2d(s, [b, V]),
        tf.tensor2d(outputRows(split, read, tasks), [tn, b]),
        options.taskIds?.slice(t0, t0 + tn),
      ),
    );
    const readable = await hostReadableMap(logits);
    argmax.push(...module.decode(readable));
    disposeCopies(readable, logits);
    const chunk: P[][] = Array.from({ length: tn }, () => []);
    for (let k = 0; k < samples; k++) {
      const z = sampleRelaxed(logits, {
        sharpness: 1,
        gumbel: true,
        seed: seed * 7919 + t0 * 131 + k,
      });
      const zRead = await hostReadableMap(z);
      module.decode(zRead).forEach((p, t) => chunk[t].push(p));
      disposeCopies(zRead, z);
      Object.values(z).forEach((x) => x.dispose());
    }
    sampled.push(...chunk);
    Object.values(logits).forEach((t) => t.dispose());
  }
  return { argmax, samples: sampled };
}

/**
 * The one rule that picks a task's program among candidates: the lowest squared error on the
 * task's own inference pairs (the split's first `inferencePairs` pairs, inputs `symbols`
 * [inferencePairs * V], outputs the task's own), ties to the shorter program, then to the earlier
 * candidate. Undefined candidates are skipped; each task needs one defined candidate.
 */
export function pickBest<P>(
  module: {
    evaluate(p: P, s: readonly number[]): number;
    length(p: P): number;
  },
  candidates: readonly (readonly (P | undefined)[])[],
  symbols: Float32Array,
  split: Split,
  inferencePairs: number,
): P[] {
  const { numPairs, numInputs: V } = split;
  const b = Math.min(inferencePairs, numPairs);
  const inputs = Array.from({ length: b }, (_, i) =>
    Array.from(symbols.subarray(i * V, (i + 1) * V)),
  );
  return candidates.map((list, t) => {
    let best: P | undefined;
    let bestError = Infinity;
    for (const p of list) {
      if (p === undefined) continue;
      let e = 0;
      for (let i = 0; i < b; i++) {
        const d =
          module.evaluate(p, inputs[i]) - split.outputs[t * numPairs + i];
        e += Number.isFinite(d) ? d * d : Infinity;
      }
      const better =
        best === undefined ||
        e < bestError - 1e-12 ||
        (Math.abs(e - bestError) <= 1e-12 &&
          module.length(p) < module.length(best));
      if (better) {
        best = p;
        bestError = e;
      }
    }
    if (best === undefined)
      throw new Error(`pickBest: task ${t} has no candidate`);
    return best;
  });
}

/** Whether a program output matches the gold output (float32 outputs, so a relative tolerance). */
export function sameOutput(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
}

/**
 * Per task, whether its program solves it (Sec. 4.1): the gold output on every pair of the
 * split, run on the gold symbols.
 */
export function solvedTasks<P>(
  module: { evaluate(p: P, s: readonly number[]): number },
  programs: readonly P[],
  split: Split,
): boolean[] {
  const { numPairs, numInputs: V } = split;
  const gold = Array.from({ length: numPairs }, (_, i) =>
    Array.from(split.symbols.subarray(i * V, (i + 1) * V)),
  );
  return programs.map((p, t) => {
    for (let i = 0; i < numPairs; i++) {
      if (
        !sameOutput(
          module.evaluate(p, gold[i]),
          split.outputs[t * numPairs + i],
        )
      )
        return false;
    }
    return true;
  });
}

/** A count of the true entries of `solved` (optionally only where `where` is true). */
export function countSolved(
  solved: readonly boolean[],
  where?: readonly boolean[],
): Count {
  let count = 0;
  let total = 0;
  solved.forEach((s, t) => {
    if (where && !where[t]) return;
    total++;
    if (s) count++;
  });
  return { count, total, rate: total === 0 ? 0 : count / total };
}

/** What `computeMetrics` measures of one set of programs and the grounded symbols. */
export type ProgramMetrics = Pick<
  Metrics,
  | "programSuccess"
  | "symbolicLoss"
  | "testLoss"
  | "groundingAccuracy"
  | "meanProgramLength"
>;

/**
 * Sec. 4.1's metrics for one program per task and the grounded symbols of a split: success of
 * these programs, symbolic loss, test loss (the programs run on g(x)), grounding accuracy and
 * mean program length.
 */
export function computeMetrics<P>(
  module: {
    evaluate(p: P, s: readonly number[]): number;
    length(p: P): number;
  },
  programs: readonly P[],
  grounded: Float32Array,
  split: Split,
  /** The symbols g reads, for the grounding accuracy (`readSplit`); default `grounded`. */
  read: Float32Array = grounded,
): ProgramMetrics {
  const { numTasks, numPairs, numInputs } = split;
  const reader = createSymbolReader(split.alphabet);
  let symbolicSum = 0;
  let correct = 0;
  const ground: number[][] = [];
  for (let i = 0; i < numPairs; i++) {
    ground.push(
      Array.from(grounded.subarray(i * numInputs, (i + 1) * numInputs)),
    );
    for (let j = 0; j < numInputs; j++) {
      const gold = split.symbols[i * numInputs + j];
      const d = ground[i][j] - gold;
      symbolicSum += d * d;
      const value = split.alphabet[split.classes[i * numInputs + j]];
      if (reader.read(read[i * numInputs + j]) === value) correct++;
    }
  }
  let testSum = 0;
  let lengthSum = 0;
  programs.forEach((p, t) => {
    for (let i = 0; i < numPairs; i++) {
      const e = module.evaluate(p, ground[i]) - split.outputs[t * numPairs + i];
      testSum += Number.isFinite(e) ? e * e : 1e12;
    }
    lengthSum += module.length(p);
  });
  return {
    programSuccess: countSolved(solvedTasks(module, programs, split)),
    symbolicLoss: symbolicSum / (numPairs * numInputs),
    testLoss: numTasks === 0 ? 0 : testSum / (numTasks * numPairs),
    groundingAccuracy: correct / (numPairs * numInputs),
    meanProgramLength: numTasks === 0 ? 0 : lengthSum / numTasks,
  };
}
