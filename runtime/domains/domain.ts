// A task domain: what a run trains on besides its images. It gives the symbol alphabet (the value
// of each image class), the tasks (seeded training tasks and held-out tasks never trained on),
// each task's output for given symbol values and, where known, its gold program for reports.
// The runtime takes one and never assumes an alphabet, a number of symbols or a task family.
// Domains: `arith` (the paper's tasks), `enumerate` (the sketch's own language), `file` (a user's
// JSON Lines file); `createDomain` in create.ts builds one from a run's config.

import { sampleHeldOutTasks, sampleTasks } from "../data/tasks.js";
import { deriveSeed } from "../random.js";
import type { Alphabet } from "./alphabet.js";
import type { Choices } from "./embed.js";
import type { Expr } from "./expression.js";

/** One synthesis task z*^t. */
export interface DomainTask {
  /** Index in the domain's pool: training and held-out tasks never share one. */
  readonly id: number;
  /** The gold program as text for programs.txt and metrics.json (`(tasks.jsonl:4)` for data). */
  readonly text: string;
  /** Operator applications of the gold program, when known (`heldOutProgramSuccess.byOps`). */
  readonly numOps?: number;
  /**
   * A given program (a task file's `"given": true`): the recognizer does not infer it, the
   * module runs it exactly on g(x), and only the grounder learns from it. Its choices per head.
   */
  readonly given?: Choices;
  /** Data tasks only: the outputs on the domain's explicit pairs (`DomainPairs`), train then test. */
  readonly data?: { readonly train: Float64Array; readonly test: Float64Array };
}

/** Explicit pairs (a task file with data tasks): the image rows each pair shows, per split. */
export interface DomainPairs {
  /** [N * V] rows of the dataset's training images: pair i shows rows[i * V + j] as symbol j. */
  readonly train: Int32Array;
  readonly test: Int32Array;
}

export interface TaskDomain<T extends DomainTask = DomainTask> {
  /** `arith`, `enumerate` or `file`. */
  readonly name: string;
  /** Where the tasks come from, for the run's first line: `1,101 formulas of Sec. 4.1`, a file name. */
  readonly description: string;
  /** The value of each class: symbol k is image class k. */
  readonly alphabet: Alphabet;
  /** V: symbols per pair. */
  readonly numInputs: number;
  /** How many tasks the domain holds. */
  readonly poolSize: number;
  /**
   * `count` training tasks (all of them when the pool is smaller) and up to `heldOut` tasks of
   * the pool never among them, both seeded by `seed`, in ascending id order.
   */
  drawTasks(
    count: number,
    heldOut: number,
    seed: number,
  ): { train: T[]; heldOut: T[] };
  /** y = z*_t(s) for one tuple of symbol values (s[0] is s1), in float64. Not for data tasks. */
  output(task: T, s: readonly number[]): number;
  /**
   * The task's gold program in the sketch's language, where the domain knows it (dreams.ts
   * places and runs it); absent or undefined for data tasks and for a sketch without the
   * operators the domain's programs use.
   */
  program?(task: T): Expr | undefined;
  /** Explicit pairs that replace the drawn ones (data tasks need them); usually absent. */
  readonly pairs?: DomainPairs;
}

/** The random stream (random.ts `deriveSeed`) that draws the held-out tasks. */
export const HELD_OUT_STREAM = 9_000_001;

/**
 * `drawTasks` of a domain with a pool: `count` tasks drawn without replacement with the seed (all
 * of them when the pool is smaller), then up to `heldOut` of the others with their own stream.
 */
export function drawFromPool<T extends DomainTask>(
  pool: readonly T[],
  count: number,
  heldOut: number,
  seed: number,
): { train: T[]; heldOut: T[] } {
  const train = sampleTasks(Math.min(count, pool.length), seed, pool);
  return {
    train,
    heldOut: sampleHeldOutTasks(
      train,
      heldOut,
      deriveSeed(seed, HELD_OUT_STREAM),
      pool,
    ),
  };
}
