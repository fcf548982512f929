// Dreams, the sleep phase of wake-sleep (DreamCoder, Ellis et al., PLDI 2021; beyond the paper):
// r gets supervised tasks in exactly its input distribution. Each step draws programs from the
// task domain's pool, runs them exactly on the step's g(x) (detached: g learns nothing from them)
// and trains r by maximum likelihood of each program's canonical placement in the sketch
// (embed.ts `placeExpr`): -log q(z | r({s, program(s)})) over its live rows, as imitation does.
//
// Which programs: the pool's tasks the run never measures on. Held-out tasks are left out (they
// measure inference on programs never seen), and so are the training and generalization tasks, so
// that `programSuccess` still means r inferred a task's program from its data without ever being
// shown it: what dreams add is transfer from other programs of the same family.

import * as tf from "@tensorflow/tfjs-core";
import { argumentOrderOf, sortArguments } from "./arg-order.js";
import type { TrainConfig } from "./config.js";
import type { DomainTask, TaskDomain } from "./domains/domain.js";
import {
  choicesToParams,
  createProgramSpace,
  placeExpr,
  type Choices,
} from "./domains/embed.js";
import { languageOf } from "./domains/expression.js";
import { liveRows, targetLogLikelihood } from "./memory.js";
import type { Recognizer } from "./nets/recognizer.js";
import { createRng, deriveSeed } from "./random.js";
import type { SketchModule } from "./sketch-module.js";

/** The random stream (random.ts `deriveSeed`) of the dream draws; each step has its own below it. */
export const DREAM_STREAM = 9_000_201;

/** Placements decoded at a time when the pool is built (bounds the one-hot z in memory). */
const DECODE_CHUNK = 256;

/** One program of the dream pool, placed and decoded once. */
export interface DreamProgram {
  /** The pool's task it is the gold program of. */
  readonly task: DomainTask;
  /** The module's discrete program, decoded from the placement: what dreams run. */
  readonly program: unknown;
  /** Its canonical placement: per head, the choice of every row ([rows]). */
  readonly choices: Choices;
  /** Per head, 1 where the row is live (memory.ts `liveRows`): only those are supervised. */
  readonly live: Readonly<Record<string, Uint8Array>>;
}

export interface DreamPool {
  readonly programs: readonly DreamProgram[];
  /** Each head's rows and choices, in the sketch's order. */
  readonly heads: readonly {
    readonly name: string;
    readonly rows: number;
    readonly choices: number;
  }[];
  /** Tasks of the domain's pool left out because the sketch cannot express them. */
  readonly unplaceable: number;
}

/**
 * The dream pool: every task of the domain's pool with a program (`TaskDomain.program`) that is
 * not among `exclude`, placed in the sketch's program space and decoded by the module. A pool
 * holds one task per semantic class (arith: per polynomial; enumerate: per output fingerprint),
 * so a task's id is its canonical key and excluding the ids excludes those functions.
 */
export function createDreamPool(
  module: SketchModule,
  domain: TaskDomain,
  exclude: readonly DomainTask[],
  /** Symmetric operators' arguments in slot order in every placement (arg-order.ts). */
  sortedArguments = false,
): DreamPool {
  const order = sortedArguments
    ? argumentOrderOf(module as SketchModule<unknown>)
    : undefined;
  const language = languageOf(module);
  const space = createProgramSpace(module, language);
  const excluded = new Set(exclude.map((t) => t.id));
  // The whole pool, in id order (all of it drawn, without held-out tasks).
  const all = domain.drawTasks(domain.poolSize, 0, 0).train;
  const placed: { task: DomainTask; choices: Choices }[] = [];
  let unplaceable = 0;
  for (const task of all) {
    if (excluded.has(task.id) || task.data !== undefined) continue;
    const expr = domain.program?.(task);
    if (expr === undefined) continue;
    const choices = placeExpr(space, expr);
    if (choices === undefined) unplaceable++;
    else {
      if (order) sortArguments(order, choices, module.sketch.size);
      placed.push({ task, choices });
    }
  }
  const m = module as SketchModule<unknown>;
  const programs: DreamProgram[] = [];
  for (let at = 0; at < placed.length; at += DECODE_CHUNK) {
    const part = placed.slice(at, at + DECODE_CHUNK);
    const z = choicesToParams(
      space,
      part.map((p) => p.choices),
    );
    const decoded = m.decode(z);
    Object.values(z).forEach((t) => t.dispose());
    part.forEach((p, k) =>
      programs.push({
        ...p,
        program: decoded[k],
        live: liveRows(m, decoded[k]),
      }),
    );
  }
  return {
    programs,
    heads: module.sketch.heads.map((h) => ({
      name: h.name,
      rows: h.shape[0],
      choices: h.shape[1],
    })),
    unplaceable,
  };
}

/**
 * A run's dreams: the pool with `--dreams N` > 0 and ROAP's recognizer, which reads a task's pairs
 * (the baselines have none, or keep logits per training task); else undefined with the reason.
 * measured: the tasks the run trains on or measures (training, held-out, generalization).
 */
export function createRunDreams(
  config: TrainConfig,
  module: SketchModule,
  domain: TaskDomain,
  measured: readonly DomainTask[],
): { pool?: DreamPool; note?: string } {
  if (config.dreams <= 0) return {};
  if (config.model !== "roap")
    return {
      note: `no dreams: ${config.model} has no recognizer that reads a task's pairs`,
    };
  const pool = createDreamPool(
    module,
    domain,
    measured,
    config.targetArgOrder === "sorted",
  );
  const unplaceable =
    pool.unplaceable > 0
      ? ` (${pool.unplaceable} more the sketch cannot express)`
      : "";
  if (pool.programs.length === 0)
    return {
      note: `no dreams: the ${domain.name} domain has no program beyond the run's training, held-out and generalization tasks${unplaceable}`,
    };
  return {
    pool,
    note: `dreams: ${config.dreams} a step from ${pool.programs.length} programs of the ${domain.name} domain that the run neither trains on nor measures${unplaceable}`,
  };
}

/**
 * The dream programs of global step `step` (indices into the pool): `count` distinct ones, or all
 * when the pool is smaller, as a function of (seed, step) alone, so a resumed run dreams the same.
 */
export function drawDreams(
  pool: DreamPool,
  count: number,
  seed: number,
  step: number,
): number[] {
  const rng = createRng(deriveSeed(deriveSeed(seed, DREAM_STREAM), step));
  const order = pool.programs.map((_, k) => k);
  const n = Math.min(count, order.length);
  // Partial Fisher-Yates: the first n slots are a uniform sample without replacement.
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(order.length - i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, n);
}

/** Dream tasks: programs of the pool and their outputs on a batch of symbols. */
export interface DreamBatch {
  /** Indices into the pool of the programs kept (those with finite outputs). */
  readonly programs: readonly number[];
  /** y_dream = program(s), [programs.length * B], row k for programs[k]. */
  readonly y: Float32Array;
}

/**
 * Runs the drawn programs exactly (the module's `evaluate`) on the B tuples of `symbols` ([B * V]).
 * Outputs are stored in float32 like the tasks' training outputs; a program with a non-finite one
 * (safe division or clamps aside, a product of large symbols) is dropped.
 */
export function dreamBatch(
  module: SketchModule,
  pool: DreamPool,
  drawn: readonly number[],
  symbols: Float32Array,
): DreamBatch {
  const m = module as SketchModule<unknown>;
  const V = module.sketch.numInputs;
  const B = symbols.length / V;
  const tuples = Array.from({ length: B }, (_, b) =>
    Array.from(symbols.subarray(b * V, (b + 1) * V)),
  );
  const kept: number[] = [];
  const rows: Float32Array[] = [];
  for (const k of drawn) {
    const p = pool.programs[k].program;
    const y = Float32Array.from(tuples, (s) => m.evaluate(p, s));
    if (!y.every(Number.isFinite)) continue;
    kept.push(k);
    rows.push(y);
  }
  const y = new Float32Array(kept.length * B);
  rows.forEach((r, k) => y.set(r, k * B));
  return { programs: kept, y };
}

/** The canonical one-hot z of the batch's programs on their live rows (dead rows all zeros). */
export function dreamTargets(
  pool: DreamPool,
  programs: readonly number[],
): Record<string, tf.Tensor3D> {
  const n = programs.length;
  const targets: Record<string, tf.Tensor3D> = {};
  for (const h of pool.heads) {
    const oneHot = new Float32Array(n * h.rows * h.choices);
    programs.forEach((p, k) => {
      const { choices, live } = pool.programs[p];
      for (let r = 0; r < h.rows; r++)
        if (live[h.name][r] === 1)
          oneHot[(k * h.rows + r) * h.choices + choices[h.name][r]] = 1;
    });
    targets[h.name] = tf.tensor3d(oneHot, [n, h.rows, h.choices]);
  }
  return targets;
}

/**
 * The dream loss of a batch: mean over its programs of -log q(z_canonical | r({s, y_dream})) over
 * the live rows. s: [B, V], taken as data (no gradient flows into whatever computed it).
 */
export function dreamLoss(
  recognizer: Recognizer,
  pool: DreamPool,
  batch: DreamBatch,
  s: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const n = batch.programs.length;
    const B = s.shape[0];
    const detached = tf.tensor2d(s.dataSync() as Float32Array, [B, s.shape[1]]);
    const y = tf.tensor2d(batch.y, [n, B]);
    const logits = recognizer.call(detached, y); // per head [n, rows, choices]
    const targets = dreamTargets(pool, batch.programs);
    return tf.div(tf.neg(targetLogLikelihood(targets, logits)), n) as tf.Scalar;
  });
}

/**
 * The dreams of training step `step` on its symbols s ([B, V], g(x) or the gold ones): drawn,
 * run and scored (`dreamLoss`, before `--dream-weight`); undefined when every drawn program had a
 * non-finite output.
 */
export function dreamStep(
  recognizer: Recognizer,
  module: SketchModule,
  pool: DreamPool,
  config: Pick<TrainConfig, "dreams" | "seed">,
  step: number,
  s: tf.Tensor2D,
): tf.Scalar | undefined {
  const drawn = drawDreams(pool, config.dreams, config.seed, step);
  const batch = dreamBatch(module, pool, drawn, s.dataSync() as Float32Array);
  if (batch.programs.length === 0) return undefined;
  return dreamLoss(recognizer, pool, batch, s);
}
