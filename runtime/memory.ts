// A program memory (beyond the paper): per task, the best discrete program seen so far among the
// samples of q that training draws anyway, and an imitation loss that amortizes it back into r.
// It is memoised wake-sleep (Hewitt et al., UAI 2020) grafted onto ROAP's objective: the relaxed
// reconstruction of Eq. 3 still trains g and r; the memory only adds -log q(z_best | task) for
// tasks whose best program already explains their outputs, so amortized inference keeps what the
// search has found instead of rediscovering it at every step.

import * as tf from "@tensorflow/tfjs-core";
import {
  argumentOrderOf,
  sortArguments,
  type ArgumentOrder,
} from "./arg-order.js";
import type { NamedArray } from "./checkpoint.js";
import { evaluateAll, type SketchModule } from "./sketch-module.js";
import { alphabetSpacing } from "./domains/alphabet.js";
import {
  bestEnumerated,
  DEFAULT_TOLERANCE,
  enumeratePrograms,
  outputScale,
} from "./synthesis/bottom-up.js";
import {
  choicesToParams,
  createProgramSpace,
  placeExpr,
} from "./domains/embed.js";
import {
  apply,
  constant,
  input,
  languageOf,
  type Expr,
  type Language,
} from "./domains/expression.js";

export interface MemoryHead {
  readonly name: string;
  readonly rows: number;
  readonly choices: number;
}

export interface ProgramMemory<P = unknown> {
  readonly numTasks: number;
  readonly heads: readonly MemoryHead[];
  /** The best program per task, or undefined before the first one. */
  readonly programs: (P | undefined)[];
  /** Per head, the choice of every row of the best program's encoding: [T * rows]. */
  readonly choices: Record<string, Int32Array>;
  /** Per head, 1 where the row is live in the best program (the output reaches it): [T * rows]. */
  readonly live: Record<string, Uint8Array>;
  /** Normalized error of the best program when last scored (Infinity: none). */
  readonly errors: Float32Array;
  /** Times the memory was cleared (`clearMemory`: a restart out of a locked memory). */
  restarts: number;
  /** The training step of the last restart (0: none yet). */
  restartStep: number;
  /**
   * Rewrites a program into the sketch's canonical placement of the same expression before it is
   * stored (`createCanonicalizer`), so that r imitates one layout per function rather than
   * whichever of the overparameterized sketch's many encodings the search found. Absent: stored
   * as found.
   */
  canonicalize?(program: P): P;
  /**
   * With `targetArgOrder: "sorted"`, the symmetric operators' argument order that every imitation
   * target is rewritten to (arg-order.ts); the stored choices stay as found. Absent: targets are
   * the stored choices.
   */
  readonly argumentOrder?: ArgumentOrder;
  /**
   * Enumerative proposals (`createSearcher`): per task, the program of at most the search size
   * that fits its outputs on the step's symbols best. Absent: the memory sees only q's samples.
   */
  readonly search?: Searcher<P>;
}

/**
 * `createSearcher`'s search: per task, the program of at most `maxSize` operators that fits its
 * outputs on the symbols best, where it fits them within `tolerance`. In two halves for a host
 * thread (runtime/host-thread.ts): `findExpressions` with these settings, then `place`.
 */
export interface Searcher<P> {
  (
    symbols: readonly (readonly number[])[],
    outputs: readonly ArrayLike<number>[],
  ): (P | undefined)[];
  readonly maxSize: number;
  readonly tolerance: number;
  /** The first half: `findExpressions` in the module's language with these settings. */
  find(
    symbols: readonly (readonly number[])[],
    outputs: readonly ArrayLike<number>[],
  ): (Expr | undefined)[];
  /** The second half: an expression as the sketch's program (undefined where it has none). */
  place(expr: Expr): P | undefined;
}

export function createMemory<P>(
  module: SketchModule<P>,
  numTasks: number,
  options: {
    readonly canonical?: boolean;
    /** Enumerative proposals of at most this many operators (0 or absent: none). */
    readonly searchSize?: number;
    /** Imitation targets list a symmetric operator's arguments in slot order (arg-order.ts). */
    readonly sortedArguments?: boolean;
  } = {},
): ProgramMemory<P> {
  const heads = module.sketch.heads.map((h) => ({
    name: h.name,
    rows: h.shape[0],
    choices: h.shape[1],
  }));
  return {
    numTasks,
    heads,
    programs: new Array<P | undefined>(numTasks).fill(undefined),
    choices: Object.fromEntries(
      heads.map((h) => [h.name, new Int32Array(numTasks * h.rows)]),
    ),
    live: Object.fromEntries(
      heads.map((h) => [h.name, new Uint8Array(numTasks * h.rows)]),
    ),
    errors: new Float32Array(numTasks).fill(Infinity),
    restarts: 0,
    restartStep: 0,
    canonicalize: options.canonical ? createCanonicalizer(module) : undefined,
    argumentOrder: options.sortedArguments
      ? argumentOrderOf(module as SketchModule<unknown>)
      : undefined,
    search:
      (options.searchSize ?? 0) > 0
        ? createSearcher(module, options.searchSize!)
        : undefined,
  };
}

/** Distinct programs a canonicalizer remembers the placement of. */
const CANONICAL_CACHE = 4096;

/** Inputs at which a canonical program must agree with the original (besides being derived from it). */
const CANONICAL_PROBES = [0.37, -1.3, 2.9, 0.61, -0.22, 1.7, 0.05, 3.3];

/**
 * The canonical form of straight-line programs (beyond the paper): the program as an expression
 * (identity operators such as `skip` dropped), placed by embed.ts `placeExpr` (post-order lines
 * of its distinct subexpressions, ending at the output line) and decoded by the module. Programs
 * it cannot place (syntax trees, an expression the sketch cannot hold in its lines) stay as they
 * are; so does a placement that would not compute the same values (checked at probe inputs).
 */
export function createCanonicalizer<P>(
  module: SketchModule<P>,
): (program: P) => P {
  if (module.sketch.model !== "straight") return (program) => program;
  const language = languageOf(module);
  const space = createProgramSpace(module, language);
  const cache = new Map<string, P>();
  const probes = Array.from({ length: 3 }, (_, k) =>
    Array.from(
      { length: module.sketch.numInputs },
      (_, i) => CANONICAL_PROBES[(3 * k + i) % CANONICAL_PROBES.length],
    ),
  );
  const same = (a: P, b: P): boolean =>
    probes.every((x) => {
      const u = module.evaluate(a, x);
      const v = module.evaluate(b, x);
      return u === v || Math.abs(u - v) <= 1e-9 * (1 + Math.abs(u));
    });
  return (program) => {
    const expr = straightExpr(language, space.outputLine, program);
    if (expr === undefined) return program;
    const key = JSON.stringify(expr);
    const known = cache.get(key);
    if (known !== undefined) return known;
    const choices = placeExpr(space, expr);
    if (choices === undefined) return program;
    const z = choicesToParams(space, [choices]);
    const [placed] = module.decode(z);
    Object.values(z).forEach((t) => t.dispose());
    const canonical = same(placed, program) ? placed : program;
    if (cache.size >= CANONICAL_CACHE) cache.clear();
    cache.set(key, canonical);
    return canonical;
  };
}

/**
 * Enumerative proposals for the memory (beyond the paper; the wake phase of DreamCoder, Ellis et
 * al. 2021): one bottom-up search (synthesis/bottom-up.ts) over a step's symbols, [B][V], of every
 * program of at most `maxSize` operators, then per task the program whose outputs fit the task's
 * ([B] each) best, placed in the sketch's rows (embed.ts `placeExpr`) and decoded, if its
 * normalized error is within `tolerance`. A task gets undefined when nothing fits that well or
 * the program cannot be placed. The memory keeps a
 * proposal only if it beats the stored program on the same symbols (`updateMemory`).
 */
export function createSearcher<P>(
  module: SketchModule<P>,
  maxSize: number,
  /** The most normalized error (outputScale's sigma) of a program offered. */
  tolerance = DEFAULT_TOLERANCE,
): Searcher<P> {
  const language = languageOf(module);
  const space = createProgramSpace(module, language);
  const placed = new Map<string, P | null>();
  const place = (expr: Expr): P | undefined => {
    const key = JSON.stringify(expr);
    const known = placed.get(key);
    if (known !== undefined) return known ?? undefined;
    const choices = placeExpr(space, expr);
    let program: P | null = null;
    if (choices !== undefined) {
      const z = choicesToParams(space, [choices]);
      program = module.decode(z)[0];
      Object.values(z).forEach((t) => t.dispose());
    }
    if (placed.size >= CANONICAL_CACHE) placed.clear();
    placed.set(key, program);
    return program ?? undefined;
  };
  const find = (
    symbols: readonly (readonly number[])[],
    outputs: readonly ArrayLike<number>[],
  ) => findExpressions(language, symbols, outputs, maxSize, tolerance);
  const search = (
    symbols: readonly (readonly number[])[],
    outputs: readonly ArrayLike<number>[],
  ) => find(symbols, outputs).map((expr) => expr && place(expr));
  return Object.assign(search, { maxSize, tolerance, find, place });
}

/**
 * The search half of `createSearcher`, pure (no tensors): per task, the expression of at most
 * `maxSize` operators that fits its outputs on `symbols` best, where its normalized error is
 * within `tolerance`; one enumeration serves every task.
 */
export function findExpressions(
  language: Language,
  symbols: readonly (readonly number[])[],
  outputs: readonly ArrayLike<number>[],
  maxSize: number,
  tolerance: number,
): (Expr | undefined)[] {
  const programs = enumeratePrograms(language, symbols, { maxSize });
  return outputs.map((y) => {
    const best = bestEnumerated(programs, y);
    if (!best) return undefined;
    // Only a program consistent with the outputs: on symbols g still misreads, the best fit is
    // mostly a wrong program that fits the mistakes, and the memory would keep it.
    const sigma = outputScale(Array.from(y));
    return best.mse / (sigma * sigma) <= tolerance ? best.expr : undefined;
  });
}

/** A straight-line program's output as an expression, identities dropped; undefined if unreadable. */
function straightExpr(
  language: Language,
  outputLine: number,
  program: unknown,
): Expr | undefined {
  const lines = (
    program as {
      lines?: readonly ({ op: string; args: readonly number[] } | null)[];
    }
  ).lines;
  if (lines === undefined) return undefined;
  const V = language.numInputs;
  const base = V + language.constants.length;
  const opIndex = new Map(language.operators.map((o, k) => [o.name, k]));
  const memo = new Map<number, Expr | undefined>();
  const slot = (at: number): Expr | undefined => {
    if (at < V) return input(at);
    if (at < base) return constant(at - V);
    if (memo.has(at)) return memo.get(at);
    const line = lines[at - base];
    const op =
      line === null || line === undefined ? undefined : opIndex.get(line.op);
    let e: Expr | undefined;
    if (line && op !== undefined) {
      const args = line.args
        .slice(0, language.operators[op].arity)
        .map((a) => (a < at ? slot(a) : undefined));
      if (args.every((a) => a !== undefined))
        e = language.operators[op].identity
          ? args[0]
          : apply(op, args as Expr[]);
    }
    memo.set(at, e);
    return e;
  };
  return slot(language.numInputs + language.constants.length + outputLine);
}

/**
 * Mean over the pairs of (p(s_i) - y_i)^2 / sigma^2 (Eq. 4 without the 1/2): 0 for a program that
 * reproduces every output, about 1 for one that predicts the mean. Non-finite outputs score Infinity.
 */
export function normalizedError<P>(
  module: SketchModule<P>,
  program: P,
  symbols: readonly (readonly number[])[],
  y: ArrayLike<number>,
  sigma: number,
): number {
  return flatError(module, program, flatSymbols(symbols), y, sigma);
}

/** `normalizedError` on symbol vectors already flattened ([n * V], row-major; n = y.length). */
function flatError<P>(
  module: SketchModule<P>,
  program: P,
  flat: Float64Array,
  y: ArrayLike<number>,
  sigma: number,
): number {
  const n = y.length;
  const outputs = evaluateAll(module, program, flat, new Float64Array(n));
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = outputs[i] - y[i];
    if (!Number.isFinite(d)) return Infinity;
    sum += d * d;
  }
  return sum / (n * sigma * sigma);
}

/** Symbol vectors as one row-major array. */
function flatSymbols(symbols: readonly (readonly number[])[]): Float64Array {
  const V = symbols[0]?.length ?? 0;
  const flat = new Float64Array(symbols.length * V);
  symbols.forEach((s, b) => flat.set(s, b * V));
  return flat;
}

/**
 * Scores the task's stored program and the candidates on this step's pairs and keeps the best
 * (ties: the shorter). The stored one is rescored every time, so while g still moves its error
 * stays that of the current symbols. Returns the kept program's error.
 */
export function updateMemory<P>(
  memory: ProgramMemory<P>,
  module: SketchModule<P>,
  task: number,
  candidates: readonly P[],
  symbols: readonly (readonly number[])[],
  y: ArrayLike<number>,
  sigma: number,
): number {
  const update = beginUpdate(memory, module, task, symbols, y, sigma);
  update.offer(candidates);
  return update.finish();
}

/**
 * `updateMemory` in parts: `offer` candidates (any number of times, in order), then `finish`
 * stores the best and returns its error. The same decisions as one `updateMemory` with all the
 * candidates, so a step can score some while the search still runs for the others.
 */
export function beginUpdate<P>(
  memory: ProgramMemory<P>,
  module: SketchModule<P>,
  task: number,
  symbols: readonly (readonly number[])[],
  y: ArrayLike<number>,
  sigma: number,
): { offer(candidates: readonly P[]): void; finish(): number } {
  // One flat copy of the pairs for the stored program and every candidate.
  const flat = flatSymbols(symbols);
  // A program's error by its structure: the candidates repeat one another and the stored program
  // (argmax, sample and proposals agree once q is sure), and a repeat scores the same.
  const scored = new Map<string, number>();
  const errorOf = (p: P) => {
    const key = JSON.stringify(p);
    let e = scored.get(key);
    if (e === undefined) {
      e = flatError(module, p, flat, y, sigma);
      scored.set(key, e);
    }
    return e;
  };
  let best = memory.programs[task];
  let bestError = best === undefined ? Infinity : errorOf(best);
  let changed = false;
  return {
    offer(candidates) {
      for (const p of candidates) {
        const e = errorOf(p);
        const better =
          e < bestError - 1e-9 ||
          (best !== undefined &&
            Math.abs(e - bestError) <= 1e-9 &&
            module.length(p) < module.length(best));
        if (better) {
          best = p;
          bestError = e;
          changed = true;
        }
      }
    },
    finish() {
      memory.errors[task] = bestError;
      if (changed && best !== undefined)
        storeProgram(memory, module, task, best, bestError);
      return bestError;
    },
  };
}

/**
 * Stores `program` as the task's best with error `error`: its choices and live rows. Also how a
 * given program (a task file's `"given": true`, error 0) becomes evidence for abduction.
 */
export function storeProgram<P>(
  memory: ProgramMemory<P>,
  module: SketchModule<P>,
  task: number,
  found: P,
  error: number,
): void {
  const program = memory.canonicalize?.(found) ?? found;
  memory.programs[task] = program;
  memory.errors[task] = error;
  const encoded = module.encode(program);
  for (const h of memory.heads) {
    const idx = tf.tidy(() => tf.argMax(encoded[h.name], -1).dataSync());
    memory.choices[h.name].set(idx, task * h.rows);
  }
  const live = liveRows(module, program);
  for (const h of memory.heads)
    memory.live[h.name].set(live[h.name], task * h.rows);
  Object.values(encoded).forEach((t) => t.dispose());
}

/**
 * The imitation loss: mean over `tasks` of w_t * -log q(z_best^t) over the live rows, where w_t is 1 for a
 * task whose stored program's error is at most `threshold` and 0 otherwise. logits: the
 * recognizer's masked logits per head, [tasks.length, rows, choices].
 */
export function imitationLoss(
  memory: ProgramMemory,
  tasks: readonly number[],
  logits: Readonly<Record<string, tf.Tensor3D>>,
  threshold: number,
  /** Maps a stored choice of a head to the target's (rehearsal.ts `inputRelabeling`). */
  relabel?: (head: string, choice: number) => number,
): tf.Scalar {
  return tf.tidy(() => {
    const n = tasks.length;
    const weights = Float32Array.from(tasks, (t) =>
      memory.errors[t] <= threshold && memory.programs[t] !== undefined ? 1 : 0,
    );
    const choices = targetChoices(memory, tasks, relabel);
    const targets = Object.fromEntries(
      memory.heads.map((h) => {
        const live = memory.live[h.name];
        const chosen = choices[h.name];
        const oneHot = new Float32Array(n * h.rows * h.choices);
        tasks.forEach((t, k) => {
          if (weights[k] === 0) return;
          for (let r = 0; r < h.rows; r++)
            if (live[t * h.rows + r] === 1)
              oneHot[(k * h.rows + r) * h.choices + chosen[k * h.rows + r]] = 1;
        });
        return [h.name, tf.tensor3d(oneHot, [n, h.rows, h.choices])];
      }),
    );
    return tf.div(tf.neg(targetLogLikelihood(targets, logits)), n) as tf.Scalar;
  });
}

/**
 * The imitation target of `tasks`: per head, the stored choice of every row ([tasks.length *
 * rows], row r of the k-th task at k * rows + r), `relabel`ed, then with the symmetric
 * operators' arguments in slot order where the memory has an `argumentOrder`.
 */
export function targetChoices(
  memory: ProgramMemory,
  tasks: readonly number[],
  relabel?: (head: string, choice: number) => number,
): Record<string, Int32Array> {
  const choices = Object.fromEntries(
    memory.heads.map((h) => {
      const src = memory.choices[h.name];
      const out = new Int32Array(tasks.length * h.rows);
      tasks.forEach((t, k) => {
        for (let r = 0; r < h.rows; r++) {
          const c = src[t * h.rows + r];
          out[k * h.rows + r] = relabel ? relabel(h.name, c) : c;
        }
      });
      return [h.name, out];
    }),
  );
  if (memory.argumentOrder)
    sortArguments(memory.argumentOrder, choices, memory.heads[0].rows);
  return choices;
}

/**
 * log q of one-hot targets, summed over every task, row and head: sum of target * log
 * softmax(logits). A row of zeros in a target (a dead row) adds nothing. targets and logits:
 * per head [n, rows, choices]. The imitation loss and the dream loss (dreams.ts) share it.
 */
export function targetLogLikelihood(
  targets: Readonly<Record<string, tf.Tensor3D>>,
  logits: Readonly<Record<string, tf.Tensor3D>>,
): tf.Scalar {
  return tf.tidy(
    () =>
      tf.addN(
        Object.entries(targets).map(([name, target]) => {
          const logq = tf.logSoftmax(logits[name]); // [n, rows, choices]
          return tf.sum(tf.mul(target, logq));
        }),
      ) as tf.Scalar,
  );
}

/**
 * Forgets every stored program, as at the start of a run, and counts a restart at `step`
 * (train.ts `lockedMemory` decides when). The search then fills the memory again from g's
 * current reading instead of the programs a misread alphabet made fit.
 */
export function clearMemory(memory: ProgramMemory, step: number): void {
  memory.programs.fill(undefined);
  memory.errors.fill(Infinity);
  for (const h of memory.heads) {
    memory.choices[h.name].fill(0);
    memory.live[h.name].fill(0);
  }
  memory.restarts++;
  memory.restartStep = step;
}

/** The memory as named arrays for a checkpoint (choices as float32, exact below 2^24). */
export function memoryToArrays(memory: ProgramMemory): NamedArray[] {
  return [
    {
      name: "memory/restarts",
      shape: [2],
      data: Float32Array.of(memory.restarts, memory.restartStep),
    },
    ...memory.heads.map((h) => ({
      name: `memory/${h.name}`,
      shape: [memory.numTasks, h.rows],
      data: Float32Array.from(memory.choices[h.name]),
    })),
    {
      name: "memory/errors",
      shape: [memory.numTasks],
      data: Float32Array.from(memory.errors),
    },
  ];
}

/** Restores a memory from checkpoint arrays; a checkpoint without them leaves it empty. */
export function loadMemory<P>(
  memory: ProgramMemory<P>,
  module: SketchModule<P>,
  arrays: readonly NamedArray[],
): void {
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const errors = byName.get("memory/errors");
  if (!errors) return;
  if (errors.data.length !== memory.numTasks) {
    throw new Error(
      `the checkpoint's program memory has ${errors.data.length} tasks, the run ${memory.numTasks}`,
    );
  }
  const z: Record<string, tf.Tensor3D> = {};
  for (const h of memory.heads) {
    const a = byName.get(`memory/${h.name}`);
    if (!a || a.data.length !== memory.numTasks * h.rows) {
      throw new Error(`the checkpoint's program memory lacks head '${h.name}'`);
    }
    memory.choices[h.name].set(Int32Array.from(a.data));
    z[h.name] = tf.tidy(
      () =>
        tf.cast(
          tf.oneHot(
            tf.tensor2d(
              Int32Array.from(a.data),
              [memory.numTasks, h.rows],
              "int32",
            ),
            h.choices,
          ),
          "float32",
        ) as tf.Tensor3D,
    );
  }
  const decoded = module.decode(z);
  Object.values(z).forEach((t) => t.dispose());
  memory.errors.set(errors.data);
  // Checkpoints before restarts existed have none.
  const restarts = byName.get("memory/restarts")?.data;
  memory.restarts = restarts?.[0] ?? 0;
  memory.restartStep = restarts?.[1] ?? 0;
  decoded.forEach((p, t) => {
    if (!Number.isFinite(errors.data[t])) {
      // No program: what the run held before loading (a recovery mid-run) goes too.
      memory.programs[t] = undefined;
      for (const h of memory.heads)
        memory.live[h.name].fill(0, t * h.rows, (t + 1) * h.rows);
      return;
    }
    memory.programs[t] = p;
    const live = liveRows(module, p);
    for (const h of memory.heads)
      memory.live[h.name].set(live[h.name], t * h.rows);
  });
}

/**
 * Which rows of each head a pruned program uses: for straight-line code the lines the output
 * reaches (and, of their argument heads, the arguments their operator takes); for a syntax tree the
 * nodes and leaves it reaches. Dead rows get no imitation, so they stay free for the
 * overparameterized sketch to keep other partial programs in.
 */
export function liveRows<P>(
  module: SketchModule<P>,
  program: P,
): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const arity = new Map(module.sketch.operators.map((o) => [o.name, o.arity]));
  const p = program as unknown as {
    lines?: readonly ({ op: string; args: readonly number[] } | null)[];
    nodes?: readonly (string | null)[];
    leaves?: readonly (number | null)[];
  };
  for (const h of module.sketch.heads) {
    const rows = new Uint8Array(h.shape[0]);
    if (p.lines) {
      const argIndex = h.name.startsWith("arg")
        ? Number(h.name.slice(3)) - 1
        : -1;
      p.lines.forEach((line, l) => {
        if (line === null) return;
        rows[l] = argIndex < 0 || argIndex < (arity.get(line.op) ?? 0) ? 1 : 0;
      });
    } else if (h.name === "node" && p.nodes) {
      p.nodes.forEach((op, n) => (rows[n] = op === null ? 0 : 1));
    } else if (h.name === "leaf" && p.leaves) {
      p.leaves.forEach((slot, j) => (rows[j] = slot === null ? 0 : 1));
    } else {
      rows.fill(1);
    }
    out[h.name] = rows;
  }
  return out;
}

/**
 * Proposals around the stored programs: for each task, a sample of q (choices per head, [n * rows])
 * in which every live row of the stored program keeps its stored choice with probability 1 - rate.
 * Dead rows take the sample's choices, so a proposal can wire in a partial program that q keeps in
 * the overparameterized lines. Tasks with no stored program get the sample unchanged.
 */
export function proposeAround<P>(
  memory: ProgramMemory<P>,
  module: SketchModule<P>,
  tasks: readonly number[],
  sample: Readonly<Record<string, Int32Array>>,
  rate: number,
  random: () => number,
): P[] {
  const n = tasks.length;
  const z: Record<string, tf.Tensor3D> = {};
  for (const h of memory.heads) {
    const choice = Int32Array.from(sample[h.name]);
    const stored = memory.choices[h.name];
    const live = memory.live[h.name];
    tasks.forEach((t, k) => {
      if (memory.programs[t] === undefined) return;
      for (let r = 0; r < h.rows; r++) {
        if (live[t * h.rows + r] && random() >= rate)
          choice[k * h.rows + r] = stored[t * h.rows + r];
      }
    });
    const oneHot = new Float32Array(n * h.rows * h.choices);
    for (let i = 0; i < n * h.rows; i++) oneHot[i * h.choices + choice[i]] = 1;
    z[h.name] = tf.tensor3d(oneHot, [n, h.rows, h.choices]);
  }
  const programs = module.decode(z);
  Object.values(z).forEach((t) => t.dispose());
  return programs;
}

/**
 * The stored programs of `tasks` (each must have one) as one-hot z ([tasks.length, rows,
 * choices] per head): run through the interpreter on g(x), they give the grounder the
 * reconstruction error of exact programs.
 */
export function storedPrograms(
  memory: ProgramMemory,
  tasks: readonly number[],
): Record<string, tf.Tensor3D> {
  const z: Record<string, tf.Tensor3D> = {};
  for (const h of memory.heads) z[h.name] = storedOneHot(memory, h, tasks);
  return z;
}

/**
 * Abduction (beyond the paper; abductive learning, Dai et al., NeurIPS 2019): per pair, the tuple
 * of alphabet symbols that the stored programs of the weighted tasks explain best, as a target for
 * g. Every tuple of the alphabet is tried (10^3 for the arithmetic tasks): each program is run
 * once per tuple, then a pair's cost of a tuple is the sum over the tasks of (p_t(tuple) - y_t)^2 /
 * sigma_t^2, plus |tuple - g(x)|^2 / spacing^2 so that what the programs leave open stays
 * where g put it. Unlike a gradient step this can move a symbol past its neighbours (a class that
 * g has put in the wrong place). symbols: [B * V]; y: [tasks.length * B]. Returns the abduced
 * symbols [B * V], their indices in `alphabet`, and which of them some weighted program reads
 * (1) and so constrains.
 */
export function abduceSymbols<P>(
  memory: Pick<ProgramMemory<P>, "programs">,
  module: SketchModule<P>,
  tasks: readonly number[],
  weights: Float32Array,
  symbols: Float32Array,
  y: Float32Array,
  sigma: Float32Array,
  alphabet: readonly number[],
  options: AbductionOptions = {},
): AbducedSymbols {
  const V = module.sketch.numInputs;
  const B = symbols.length / V;
  const A = alphabet.length;
  const tuples = A ** V;
  if (tuples > MAX_ABDUCED_TUPLES) {
    throw new RangeError(
      `abduction tries every tuple of symbols: ${A}^${V} is over ${MAX_ABDUCED_TUPLES}`,
    );
  }
  const { values: tupleFlat, digits } = tupleGrid(alphabet, V);
  const used = tasks.flatMap((t, k) => (weights[k] > 0 ? [k] : []));
  const U = used.length;
  // rows[u][k]: stored program of task used[u] on tuple k (cached per program and alphabet).
  const key = alphabet.join(",");
  const rows = used.map((k) => {
    const p = memory.programs[tasks[k]]!;
    const cached = typeof p === "object" && p !== null && tupleOutputs.get(p);
    if (cached && cached.key === key) return cached.outputs;
    const outputs = evaluateAll(module, p, tupleFlat, new Float64Array(tuples));
    if (typeof p === "object" && p !== null)
      tupleOutputs.set(p, { key, outputs });
    return outputs;
  });
  // The same outputs tuple-major (byTuple[k * U + u]), so the scoring loop over the programs
  // reads memory in order, less each task's mean output on the step's pairs (the scores below
  // take differences of squares, exact when the values are near the scale of the residuals).
  const center = Float64Array.from(used, (k) => {
    let m = 0;
    for (let b = 0; b < B; b++) m += y[k * B + b];
    return B > 0 && Number.isFinite(m) ? m / B : 0;
  });
  const byTuple = scratch(0, U * tuples);
  // A tuple where some program's output is not finite is impossible (cost Infinity below).
  const possible = new Uint8Array(tuples).fill(1);
  // In tiles, so that both sides of the transposition stay in cache.
  for (let u0 = 0; u0 < U; u0 += TILE)
    for (let i0 = 0; i0 < tuples; i0 += TILE)
      for (let u = u0; u < Math.min(u0 + TILE, U); u++) {
        const row = rows[u];
        const c = center[u];
        for (let i = i0; i < Math.min(i0 + TILE, tuples); i++) {
          const v = row[i] - c;
          byTuple[i * U + u] = v;
          if (!Number.isFinite(v)) possible[i] = 0;
        }
      }
  // A symbol is constrained when some weighted task's program reads it (its output changes
  // along that symbol's axis somewhere); the others are only rounded, and get no target.
  const reads = new Uint8Array(V);
  for (const row of rows) {
    for (let j = 0; j < V; j++) {
      const step = A ** j;
      for (let i = 0; i < tuples && !reads[j]; i++) {
        if (digits[i * V + j] === A - 1) continue;
        const a = row[i];
        const b = row[i + step];
        if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) reads[j] = 1;
      }
    }
  }
  const constrained = new Uint8Array(symbols.length);
  for (let b = 0; b < B; b++) constrained.set(reads, b * V);
  const spacing = alphabetSpacing(alphabet);
  const { logPrior } = options;
  if (logPrior && logPrior.length !== symbols.length * A)
    throw new Error(
      `abduceSymbols: ${logPrior.length} prior log-probabilities for ${symbols.length} symbols of ${A} values`,
    );
  // The prior's part of a tuple's cost, per pair: -2 log p_g(tuple | x), or the squared distance
  // to g(x) in spacings (a Gaussian around the scalar g(x)).
  // prior[b * tuples + i]: the same for both passes below.
  const prior = scratch(1, B * tuples);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < tuples; i++) {
      let c = 0;
      for (let j = 0; j < V; j++) {
        const a = digits[i * V + j];
        if (logPrior) c -= 2 * logPrior[(b * V + j) * A + a];
        else {
          const d = (alphabet[a] - symbols[b * V + j]) / spacing;
          c += d * d;
        }
      }
      prior[b * tuples + i] = c;
    }
  const out = new Float32Array(symbols.length);
  const indices = new Int32Array(symbols.length);
  const posterior = options.posterior
    ? new Float32Array(symbols.length * A)
    : undefined;
  let costs: Float64Array = new Float64Array(0);
  // The likelihood's width per used task: sigma_t, or (`residualWidth`) the residual of the
  // task's program on the tuples a first pass with sigma_t abduces, floored at a fraction of
  // sigma_t. A program that explains its outputs exactly then speaks with the weight it has
  // earned, and one that fits only roughly stays as weak as before.
  let width = Float64Array.from(used, (k) => sigma[k]);
  const best = new Int32Array(B);
  // A pass scores every tuple i of every pair b: prior + sum over u of (o_ui - y_ub)^2 / w_u^2,
  // expanded as sum o^2/w^2 - 2 sum o y / w^2 + sum y^2/w^2 so that the cross term is one
  // [tuples x U] by [U x B] product (float64: the squares' sums stay exact to ~1e-7).
  const scaledY = new Float64Array(B * U); // [B, U]: y_ub / w_u^2
  const cross = scratch(2, tuples * B); // [tuples, B]: sum over u of o_ui y_ub / w_u^2
  const bestCost = new Float64Array(B);
  const mapPass = (full: boolean) => {
    const inverse2 = width.map((w) => 1 / (w * w));
    const yTerm = new Float64Array(B);
    for (let b = 0; b < B; b++)
      for (let u = 0; u < U; u++) {
        const v = y[used[u] * B + b] - center[u];
        scaledY[b * U + u] = v * inverse2[u];
        yTerm[b] += v * v * inverse2[u];
      }
    best.fill(0);
    bestCost.fill(Infinity);
    crossProduct(byTuple, scaledY, tuples, U, B, cross); // [tuples, B]
    for (let i = 0; i < tuples; i++) {
      const row = i * U;
      let oTerm = 0;
      if (possible[i]) {
        for (let u = 0; u < U; u++) {
          const o = byTuple[row + u];
          oTerm += o * o * inverse2[u];
        }
      }
      for (let b = 0; b < B; b++) {
        let c = Infinity;
        if (possible[i]) {
          c = prior[b * tuples + i] + (oTerm - 2 * cross[i * B + b] + yTerm[b]);
          if (!(c <= Infinity)) c = Infinity;
        }
        if (full) costs[b * tuples + i] = c;
        if (c < bestCost[b]) {
          best[b] = i;
          bestCost[b] = c;
        }
      }
    }
  };
  const floor = options.residualWidth;
  if (floor !== undefined) {
    mapPass(false);
    width = Float64Array.from(used, (k, u) => {
      let r = 0;
      for (let b = 0; b < B; b++) {
        const d = rows[u][best[b]] - y[k * B + b];
        r += Number.isFinite(d) ? d * d : Infinity;
      }
      return Math.min(sigma[k], Math.max(floor * sigma[k], Math.sqrt(r / B)));
    });
  }
  if (posterior) costs = scratch(3, B * tuples);
  mapPass(posterior !== undefined);
  for (let b = 0; b < B; b++) {
    const arg = best[b];
    let bestCost = Infinity;
    if (posterior)
      for (let i = 0; i < tuples; i++)
        bestCost = Math.min(bestCost, costs[b * tuples + i]);
    for (let j = 0; j < V; j++) {
      indices[b * V + j] = digits[arg * V + j];
      out[b * V + j] = alphabet[digits[arg * V + j]];
    }
    if (posterior && Number.isFinite(bestCost)) {
      // The cost is -2 log of prior times likelihood: weights exp(-(c - best) / 2), summed per
      // symbol and value into the marginals.
      let total = 0;
      for (let i = 0; i < tuples; i++) {
        const w = Math.exp(-(costs[b * tuples + i] - bestCost) / 2);
        total += w;
        for (let j = 0; j < V; j++)
          posterior[(b * V + j) * A + digits[i * V + j]] += w;
      }
      for (let k = b * V * A; k < (b + 1) * V * A; k++) posterior[k] /= total;
    } else if (posterior) {
      for (let j = 0; j < V; j++)
        posterior[(b * V + j) * A + indices[b * V + j]] = 1;
    }
  }
  return { symbols: out, indices, constrained, posterior };
}

/**
 * The cross terms of abduction's scores, out[i * B + b] = sum over u < U of a[i * U + u] *
 * y[b * U + u]: an [M x U] by [B x U]^T product in float64. JavaScript by default; the native
 * kernels (kernels/native.ts) install OpenBLAS's dgemm, which sums in another order (the scores
 * then differ in their last bits).
 */
export type CrossProduct = (
  a: Float64Array,
  y: Float64Array,
  M: number,
  U: number,
  B: number,
  out: Float64Array,
) => void;

/** `CrossProduct` in JavaScript: row by row, four rows of y at a time (`crossTerms`). */
export const crossProductJs: CrossProduct = (a, y, M, U, B, out) => {
  for (let i = 0; i < M; i++)
    crossTerms(a, i * U, y, U, B, out.subarray(i * B, (i + 1) * B));
};

let crossProduct: CrossProduct = crossProductJs;

/** Replaces abduction's cross product (undefined: the JavaScript one). */
export function installCrossProduct(product: CrossProduct | undefined): void {
  crossProduct = product ?? crossProductJs;
}

/** The cross product abduction uses now (for tests). */
export function activeCrossProduct(): CrossProduct {
  return crossProduct;
}

/**
 * out[b] = sum over u < U of a[row + u] * y[b * U + u], for b < B: four rows of y at a time, so
 * each a[row + u] is read once per four (about twice as fast as one row at a time in V8).
 */
function crossTerms(
  a: Float64Array,
  row: number,
  y: Float64Array,
  U: number,
  B: number,
  out: Float64Array,
): void {
  let b = 0;
  for (; b + 4 <= B; b += 4) {
    const y0 = b * U;
    const y1 = y0 + U;
    const y2 = y1 + U;
    const y3 = y2 + U;
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    let c3 = 0;
    for (let u = 0; u < U; u++) {
      const o = a[row + u];
      c0 += o * y[y0 + u];
      c1 += o * y[y1 + u];
      c2 += o * y[y2 + u];
      c3 += o * y[y3 + u];
    }
    out[b] = c0;
    out[b + 1] = c1;
    out[b + 2] = c2;
    out[b + 3] = c3;
  }
  for (; b < B; b++) {
    const yRow = b * U;
    let c = 0;
    for (let u = 0; u < U; u++) c += a[row + u] * y[yRow + u];
    out[b] = c;
  }
}

/**
 * A stored program's outputs on every tuple of an alphabet (its values joined as the key): a
 * program object is stored once and never changed, so abduction runs it once per alphabet.
 */
/**
 * Abduction's working arrays, kept between calls (each call writes every entry it reads): a new
 * 4 MB array per step cost more than the transposition that fills it.
 */
const scratchArrays: Float64Array[] = [];
function scratch(slot: number, length: number): Float64Array {
  if ((scratchArrays[slot]?.length ?? -1) < length)
    scratchArrays[slot] = new Float64Array(length);
  return scratchArrays[slot].subarray(0, length);
}

/** The side of the tiles in which abduction transposes its outputs (float64: 8 KiB a row). */
const TILE = 64;

/**
 * Every tuple of `V` values of `alphabet`, the first symbol fastest: values [A^V * V] and the
 * value indices digits [A^V * V]. Kept for the last alphabet: abduction asks every step.
 */
function tupleGrid(
  alphabet: readonly number[],
  V: number,
): { readonly values: Float64Array; readonly digits: Int32Array } {
  const key = `${V}:${alphabet.join(",")}`;
  if (lastGrid?.key === key) return lastGrid;
  const A = alphabet.length;
  const tuples = A ** V;
  const values = new Float64Array(tuples * V);
  const digits = new Int32Array(tuples * V);
  for (let i = 0; i < tuples; i++)
    for (let j = 0; j < V; j++) {
      digits[i * V + j] = Math.floor(i / A ** j) % A;
      values[i * V + j] = alphabet[digits[i * V + j]];
    }
  lastGrid = { key, values, digits };
  return lastGrid;
}
let lastGrid:
  | {
      readonly key: string;
      readonly values: Float64Array;
      readonly digits: Int32Array;
    }
  | undefined;

const tupleOutputs = new WeakMap<
  object,
  { key: string; outputs: Float64Array }
>();

/** Optional inputs and outputs of `abduceSymbols`. */
export interface AbductionOptions {
  /**
   * log p_g(value | image) [B * V * A], the categorical grounder's: the prior of the tuples in
   * place of the distance to the scalar g(x).
   */
  readonly logPrior?: Float32Array;
  /** Also return the posterior marginals over the values (every tuple is then scored fully). */
  readonly posterior?: boolean;
  /**
   * Widths from the programs' residuals (floored at this fraction of sigma_t, at most sigma_t) in
   * place of sigma_t: see `abduceSymbols`.
   */
  readonly residualWidth?: number;
}

/** What `abduceSymbols` returns. */
export interface AbducedSymbols {
  /** The most probable tuple's symbols [B * V]. */
  readonly symbols: Float32Array;
  /** Their indices in the alphabet [B * V]. */
  readonly indices: Int32Array;
  /** 1 where some weighted program reads the symbol [B * V]. */
  readonly constrained: Uint8Array;
  /**
   * With `posterior`: p(value | x, y) of each symbol [B * V * A], over the tuples weighted by
   * exp(-cost / 2), the cost being -2 log of the prior times the programs' Gaussian likelihood.
   */
  readonly posterior?: Float32Array;
}

/** `abduceSymbols`' arguments after the memory and the module, by name. */
export interface AbductionInputs {
  readonly tasks: readonly number[];
  readonly weights: Float32Array;
  readonly symbols: Float32Array;
  readonly y: Float32Array;
  readonly sigma: Float32Array;
  readonly alphabet: readonly number[];
  readonly options: AbductionOptions;
}

/** `abduceSymbols` with its arguments by name (the training step's, and the host thread's). */
export function abduceFrom<P>(
  memory: Pick<ProgramMemory<P>, "programs">,
  module: SketchModule<P>,
  a: AbductionInputs,
): AbducedSymbols {
  return abduceSymbols(
    memory,
    module,
    a.tasks,
    a.weights,
    a.symbols,
    a.y,
    a.sigma,
    a.alphabet,
    a.options,
  );
}

/** `residualWidth`'s floor as a fraction of sigma_t, for `--abduction-width residual`. */
export const RESIDUAL_WIDTH_FLOOR = 0.1;

/** The most symbol tuples abduction enumerates per step. */
export const MAX_ABDUCED_TUPLES = 4096;

/** One head of the stored programs of `tasks` as one-hot rows, [tasks.length, rows, choices]. */
function storedOneHot(
  memory: ProgramMemory,
  h: MemoryHead,
  tasks: readonly number[],
): tf.Tensor3D {
  const n = tasks.length;
  const oneHot = new Float32Array(n * h.rows * h.choices);
  const src = memory.choices[h.name];
  tasks.forEach((t, k) => {
    for (let r = 0; r < h.rows; r++)
      oneHot[(k * h.rows + r) * h.choices + src[t * h.rows + r]] = 1;
  });
  return tf.tensor3d(oneHot, [n, h.rows, h.choices]);
}
