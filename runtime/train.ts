// The training loop of ROAP (Sec. 3.2, Sec. 4.1), in the order it runs: set-up (backend, sketch,
// data, nets, optimizer, resume), then per step: a batch of pairs shared by all tasks, the
// forward pass of Fig. 2, the objective of Eq. 3, a guarded Adam update; per epoch: the log, the
// metrics and an atomic checkpoint. Finally metrics.json and programs.txt.

import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "./backend.js";
import {
  arraysToSnapshot,
  readCheckpoint,
  snapshotToArrays,
  writeCheckpoint,
  type NamedArray,
} from "./checkpoint.js";
import { knowledgeOf, type TrainConfig } from "./config.js";
import {
  codebookToArrays,
  createCodebook,
  loadCodebook,
  updateCodebook,
  type Codebook,
} from "./codebook.js";
import { loadImageDataset, resolveDefaultDataset } from "./data/images.js";
import { makeSplits, withTasks, type Split } from "./data/pairs.js";
import {
  enumerateTasks,
  sampleHeldOutTasks,
  sampleTasks,
  type Task,
} from "./data/tasks.js";
import { writeFileAtomic } from "../compiler/compile.js";
import { loadSketch } from "./load-sketch.js";
import {
  computeMetrics,
  countSolved,
  groundSplit,
  inferPrograms,
  pickBest,
  solvedTasks,
  type HeldOutSuccess,
  type Metrics,
} from "./metrics.js";
import {
  createMemory,
  imitationLoss,
  loadMemory,
  memoryToArrays,
  proposeAround,
  storedPrograms,
  abduceSymbols,
  alphabetSpacing,
  updateMemory,
  type ProgramMemory,
} from "./memory.js";
import { createModel, forward, type RoapModel } from "./model.js";
import {
  objective,
  outputSigma,
  reconstructionLoss,
  SYMBOL_ALPHABET,
  SYMBOL_ALPHABET_STATS,
  symbolPrior,
} from "./objective.js";
import { createProgress, type Progress } from "./progress.js";
import { createRng, deriveSeed } from "./random.js";
import { lengthWeightAt, sampleRelaxed, sharpnessAt } from "./relaxation.js";
import { trainSupervisedReference } from "./reference.js";
import type { SketchModule } from "./sketch-module.js";

/** What a checkpoint remembers besides the tensors. */
interface RunState {
  readonly config: TrainConfig;
  /** Epochs completed. */
  readonly epoch: number;
  readonly wallSeconds: number;
}

export interface TrainResult {
  readonly metrics: Metrics;
  /** What the run knew beyond its images and training outputs (config.ts `knowledgeOf`). */
  readonly knowledge: readonly string[];
  readonly wallSeconds: number;
  readonly backend: string;
  readonly epochs: number;
  /** Test accuracy of the same grounder trained as a classifier on the labels (`reference: true`). */
  readonly referenceAccuracy?: number;
  /** Grounding accuracy of g trained on the gold symbols themselves (`reference: true`). */
  readonly referenceSymbolAccuracy?: number;
}

/** Everything a run needs, built once. */
export interface RunContext {
  readonly config: TrainConfig;
  readonly module: SketchModule;
  readonly tasks: readonly Task[];
  readonly train: Split;
  readonly test: Split;
  /** sigma^t of Eq. 4 per task. */
  readonly sigma: Float32Array;
  readonly model: RoapModel;
  readonly optimizer: tf.AdamOptimizer;
  /** The program memory, when `config.imitation` > 0 (memory.ts). */
  readonly memory: ProgramMemory | undefined;
  /** Abduction's learned symbol values, with `abductionAlphabet: "codebook"` (codebook.ts). */
  readonly codebook: Codebook | undefined;
  /** Tasks never trained on, with the test split's pairs, for `heldOutProgramSuccess`. */
  readonly heldOut:
    { readonly tasks: readonly Task[]; readonly test: Split } | undefined;
  readonly datasetName: string;
  /** How many distinct symbols (image classes) the pairs use. */
  readonly numSymbols: number;
}

export const CHECKPOINT_FILE = "checkpoint.ckpt";

/** A run that cannot go on for a reason the user can fix (printed without a stack trace). */
export class RunError extends Error {}

/**
 * 1. Set-up: sketch module, data, nets and optimizer (no backend selection, no resume). The
 * run's config records the dataset folder it resolved, so a checkpoint is evaluated on its own.
 */
export async function createRun(requested: TrainConfig): Promise<RunContext> {
  const config: TrainConfig = {
    ...requested,
    data: requested.data ?? resolveDefaultDataset().dir,
  };
  const module = await loadSketch(
    config.sketch,
    path.join(config.out, "module"),
  );
  const dataset = loadImageDataset(config.data!);
  const pool = enumerateTasks();
  const tasks = sampleTasks(config.tasks, config.seed, pool);
  const heldOutTasks = sampleHeldOutTasks(
    tasks,
    config.heldOutTasks,
    deriveSeed(config.seed, HELD_OUT_STREAM),
    pool,
  );
  if (module.sketch.numInputs !== 3) {
    throw new Error(
      `${config.sketch}: the arithmetic tasks have 3 symbols, but the sketch declares 'inputs ${module.sketch.numInputs}'`,
    );
  }
  const { train, test } = makeSplits({
    dataset,
    tasks,
    numPairs: config.trainPairs,
    numTestPairs: config.testPairs,
    numInputs: 3,
    seed: config.seed,
  });
  const sigma = outputSigma(train.outputs, train.numTasks, train.numPairs);
  const model = createModel({
    module,
    grounder: config.grounder,
    grounderOutput: config.grounderOutput,
    imageShape: [train.height, train.width, train.channels],
    recognizerHidden: config.recognizerHidden,
    seed: config.seed,
  });
  const numSymbols = new Set(train.classes).size;
  const optimizer = tf.train.adam(
    config.learningRate,
    0.9,
    0.999,
    config.adamEpsilon,
  );
  return {
    config,
    module,
    tasks,
    train,
    test,
    sigma,
    model,
    optimizer,
    memory:
      config.imitation > 0 ? createMemory(module, tasks.length) : undefined,
    codebook:
      config.imitation > 0 &&
      config.abduction > 0 &&
      config.abductionAlphabet === "codebook"
        ? createCodebook(numSymbols)
        : undefined,
    heldOut:
      heldOutTasks.length > 0
        ? { tasks: heldOutTasks, test: withTasks(test, heldOutTasks) }
        : undefined,
    datasetName: `${dataset.name} (${config.data})`,
    numSymbols,
  };
}

/** The random stream (random.ts `deriveSeed`) that draws the held-out tasks. */
const HELD_OUT_STREAM = 9_000_001;

/** Gold symbols [B, V] of a batch of pairs (for the oracle-grounding runs). */
export function gatherSymbols(
  split: Split,
  pairs: readonly number[],
): tf.Tensor2D {
  const V = split.numInputs;
  const s = new Float32Array(pairs.length * V);
  pairs.forEach((i, b) =>
    s.set(split.symbols.subarray(i * V, (i + 1) * V), b * V),
  );
  return tf.tensor2d(s, [pairs.length, V]);
}

/** With oracle symbols the grounder is not used, so only the recognizer trains. */
function trainableVariables(run: RunContext): tf.Variable[] {
  return run.config.oracleSymbols
    ? run.model.recognizer.variables
    : run.model.variables;
}

/** The fused interpreter runs on the CPU; on a GPU backend the op-based one stays on the GPU. */
export function usesFusedInterpreter(): boolean {
  return tf.getBackend() === "wasm" || tf.getBackend() === "cpu";
}

/** The images [B * V, H, W, C] and outputs [T', B] of a batch of pairs and a subset of tasks. */
export function gatherBatch(
  split: Split,
  pairs: readonly number[],
  tasks: readonly number[],
): { images: tf.Tensor4D; y: tf.Tensor2D } {
  const { numInputs: V, height: H, width: W, channels: C, numPairs: N } = split;
  const perPair = V * H * W * C;
  const images = new Float32Array(pairs.length * perPair);
  const y = new Float32Array(tasks.length * pairs.length);
  pairs.forEach((i, b) => {
    images.set(
      split.images.subarray(i * perPair, (i + 1) * perPair),
      b * perPair,
    );
    tasks.forEach(
      (t, k) => (y[k * pairs.length + b] = split.outputs[t * N + i]),
    );
  });
  return {
    images: tf.tensor4d(images, [pairs.length * V, H, W, C]),
    y: tf.tensor2d(y, [tasks.length, pairs.length]),
  };
}

/**
 * The pairs and tasks of global step `step`: a function of (seed, step) alone, so a resumed run
 * draws the same batches. All tasks share the pairs (and so the grounded images), as in Sec. 4.1.
 */
export function batchIndices(
  config: TrainConfig,
  numPairs: number,
  numTasks: number,
  step: number,
): { pairs: number[]; tasks: number[] } {
  const rng = createRng(deriveSeed(config.seed, 1_000_003 + step));
  const pairs = Array.from({ length: Math.min(config.batch, numPairs) }, () =>
    rng.int(numPairs),
  );
  const all = Array.from({ length: numTasks }, (_, t) => t);
  if (config.taskBatch === 0 || config.taskBatch >= numTasks)
    return { pairs, tasks: all };
  return {
    pairs,
    tasks: rng
      .shuffle(all)
      .slice(0, config.taskBatch)
      .sort((a, b) => a - b),
  };
}

export interface StepResult {
  readonly loss: number;
  readonly finite: boolean;
  /** Mean and standard deviation of the step's symbols s (g(x), or the gold ones): collapse shows here. */
  readonly symbols: { readonly mean: number; readonly std: number };
}

/** Mean and standard deviation of a batch of symbols. */
function symbolStats(s: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < s.length; i++) {
    sum += s[i];
    sq += s[i] * s[i];
  }
  const mean = sum / s.length;
  return { mean, std: Math.sqrt(Math.max(0, sq / s.length - mean * mean)) };
}

/** 2. One training step: forward (Fig. 2), objective (Eq. 3), clipped Adam update unless non-finite. */
export function trainStep(
  run: RunContext,
  epoch: number,
  step: number,
): StepResult {
  const { config, model, optimizer } = run;
  const { pairs, tasks } = batchIndices(
    config,
    run.train.numPairs,
    run.train.numTasks,
    step,
  );
  const lambda = lengthWeightAt(epoch, scheduleOf(run));
  let symbols = { mean: NaN, std: NaN };
  const { value, grads } = tf.tidy(() => {
    const { images, y } = gatherBatch(run.train, pairs, tasks);
    const sigma = tf.tensor1d(tasks.map((t) => run.sigma[t]));
    return tf.variableGrads(() => {
      const out = forward(model, images, y, {
        sharpness: sharpnessAt(epoch, scheduleOf(run)),
        gumbel: config.gumbel,
        seed: deriveSeed(config.seed, step),
        fused: usesFusedInterpreter(),
        hard: config.straightThrough,
        symbols: config.oracleSymbols
          ? gatherSymbols(run.train, pairs)
          : undefined,
      });
      symbols = symbolStats(out.s.dataSync());
      const reconstruction = reconstructionLoss(y, out.yHat, sigma);
      let loss = objective(
        reconstruction,
        lambda > 0 ? model.module.expectedLength(out.z) : tf.zeros([1]),
        lambda,
      );
      if (run.memory) {
        loss = tf.add(
          loss,
          memoryLosses(run, run.memory, out, y, sigma, pairs, tasks, step),
        ) as tf.Scalar;
      }
      if (config.symbolPrior <= 0) return loss;
      const prior = symbolPrior(out.s, SYMBOL_ALPHABET_STATS);
      return tf.add(loss, tf.mul(config.symbolPrior, prior)) as tf.Scalar;
    }, trainableVariables(run));
  });
  const loss = value.dataSync()[0];
  value.dispose();
  const names = Object.keys(grads);
  const norm = tf.tidy(() =>
    Math.sqrt(
      tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))).dataSync()[0],
    ),
  );
  const finite = Number.isFinite(loss) && Number.isFinite(norm);
  if (finite) {
    const scale =
      config.clipNorm > 0 && norm > config.clipNorm
        ? config.clipNorm / norm
        : 1;
    const clipped =
      scale === 1
        ? grads
        : tf.tidy(() =>
            Object.fromEntries(names.map((n) => [n, tf.mul(grads[n], scale)])),
          );
    optimizer.applyGradients(clipped as Record<string, tf.Variable>);
    if (clipped !== grads) Object.values(clipped).forEach((t) => t.dispose());
  }
  Object.values(grads).forEach((t) => t.dispose());
  return { loss, finite, symbols };
}

/**
 * Offers the memory this step's programs for each task: the argmax of q, the discrete program
 * behind the training sample z (a sample of q: the argmax of a gumbel-perturbed softmax), and
 * `memorySamples` proposals; scored on this step's pairs and the symbols `s` ([B * V]).
 */
function rememberPrograms(
  run: RunContext,
  memory: ProgramMemory,
  out: ReturnType<typeof forward>,
  s: Float32Array,
  pairs: readonly number[],
  tasks: readonly number[],
  step: number,
): void {
  const module = run.module as SketchModule<unknown>;
  const V = run.train.numInputs;
  const symbols = pairs.map((_, b) =>
    Array.from(s.subarray(b * V, (b + 1) * V)),
  );
  const candidates: unknown[][] = tasks.map(() => []);
  const add = (programs: unknown[]) =>
    programs.forEach((p, k) => candidates[k].push(p));
  add(module.decode(out.logits));
  add(module.decode(out.z));
  const random = createRng(deriveSeed(run.config.seed, 5_000_011 + step));
  for (let k = 0; k < run.config.memorySamples; k++) {
    // A sample of q (Gumbel-max), recombined with the stored programs (memory.ts).
    const choices = tf.tidy(() => {
      const sample = sampleRelaxed(out.logits, {
        sharpness: 1,
        gumbel: true,
        seed: deriveSeed(run.config.seed, 7_000_003 + step * 97 + k),
      });
      return Object.fromEntries(
        Object.entries(sample).map(([name, t]) => [
          name,
          tf.argMax(t, -1).dataSync() as Int32Array,
        ]),
      );
    });
    add(
      proposeAround(
        memory,
        module,
        tasks,
        choices,
        run.config.mutationRate,
        () => random.next(),
      ),
    );
  }
  const N = run.train.numPairs;
  tasks.forEach((t, k) => {
    const y = pairs.map((i) => run.train.outputs[t * N + i]);
    updateMemory(memory, module, t, candidates[k], symbols, y, run.sigma[t]);
  });
}

/**
 * The program memory's part of the objective (memory.ts, beyond the paper), in this order:
 * 1. abduction (with `abduction` > 0 and g in use): the symbols the stored programs within
 *    `abductionThreshold` explain best, for this step's pairs;
 * 2. the step's candidate programs offered to the memory, scored on the abduced symbols where
 *    some program reads them (they pool the evidence of every imitated task), else on g(x);
 * 3. imitation: -log q of the stored programs within `imitationThreshold`;
 * 4. with g in use, the stored programs within `abductionThreshold` run exactly on g(x)
 *    (Eq. 4), and g's squared gap to the abduced symbols (Eq. 4's scale with sigma = the
 *    alphabet's spacing), over the symbols some of those programs read.
 */
function memoryLosses(
  run: RunContext,
  memory: ProgramMemory,
  out: ReturnType<typeof forward>,
  y: tf.Tensor2D,
  sigma: tf.Tensor1D,
  pairs: readonly number[],
  tasks: readonly number[],
  step: number,
): tf.Scalar {
  const { config, model } = run;
  const module = run.module as SketchModule<unknown>;
  const grounded = out.s.dataSync() as Float32Array;
  if (run.codebook && !run.codebook.initialized)
    updateCodebook(run.codebook, grounded);
  const alphabet = run.codebook
    ? Array.from(run.codebook.values)
    : SYMBOL_ALPHABET;
  // Stored programs within `evidence` inform g (abduction, exact runs on g(x)); within
  // `imitationThreshold` they are also imitated by r.
  const evidence = config.abductionThreshold;
  const abduced =
    config.abduction > 0 && !config.oracleSymbols
      ? abduceSymbols(
          memory,
          module,
          tasks,
          Float32Array.from(tasks, (t) =>
            memory.errors[t] <= evidence ? 1 : 0,
          ),
          grounded,
          y.dataSync() as Float32Array,
          Float32Array.from(tasks, (t) => run.sigma[t]),
          alphabet,
        )
      : undefined;
  if (run.codebook && abduced) {
    // The codebook follows the outputs of the evidence tasks' programs (codebook.ts).
    const used = tasks.flatMap((t, k) =>
      memory.errors[t] <= evidence && memory.programs[t] !== undefined
        ? [k]
        : [],
    );
    const B = pairs.length;
    const yAll = y.dataSync() as Float32Array;
    updateCodebook(run.codebook, grounded, {
      numInputs: run.train.numInputs,
      programs: used.map((k) => {
        const p = memory.programs[tasks[k]];
        return (s: readonly number[]) => module.evaluate(p, s);
      }),
      indices: abduced.indices,
      y: Float32Array.from(
        { length: used.length * B },
        (_, i) => yAll[used[Math.floor(i / B)] * B + (i % B)],
      ),
      sigma: Float32Array.from(used, (k) => run.sigma[tasks[k]]),
    });
  }
  const scoring = abduced
    ? grounded.map((g, i) => (abduced.constrained[i] ? abduced.symbols[i] : g))
    : grounded;
  rememberPrograms(run, memory, out, scoring, pairs, tasks, step);

  let loss = tf.mul(
    config.imitation,
    imitationLoss(memory, tasks, out.logits, config.imitationThreshold),
  ) as tf.Scalar;
  if (config.oracleSymbols) return loss;
  // Only the stored programs within `evidence` run (the others would add zeros).
  const imitated = tasks.flatMap((t, k) =>
    memory.errors[t] <= evidence && memory.programs[t] !== undefined ? [k] : [],
  );
  if (imitated.length > 0) {
    const stored = storedPrograms(
      memory,
      imitated.map((k) => tasks[k]),
    );
    const execute = usesFusedInterpreter()
      ? (model.module.executeFused ?? model.module.execute)
      : model.module.execute;
    const yStored = execute(stored, out.s); // [imitated, B]
    const index = tf.tensor1d(Int32Array.from(imitated), "int32");
    const perTask = tf.mean(
      tf.div(
        tf.square(tf.sub(tf.gather(y, index), yStored)),
        tf.mul(2, tf.expandDims(tf.square(tf.gather(sigma, index)), 1)),
      ),
      1,
    ); // [imitated]
    // Averaged over all the step's tasks, as the reconstruction of Eq. 4.
    loss = tf.add(
      loss,
      tf.mul(config.imitation / tasks.length, tf.sum(perTask)),
    ) as tf.Scalar;
  }
  if (abduced) {
    const spacing = alphabetSpacing(alphabet);
    const gap = tf.sub(tf.reshape(out.s, [-1]), tf.tensor1d(abduced.symbols));
    const mask = tf.tensor1d(Float32Array.from(abduced.constrained));
    const abduction = tf.div(
      tf.sum(tf.mul(mask, tf.square(gap))),
      2 * spacing * spacing * abduced.symbols.length,
    );
    loss = tf.add(loss, tf.mul(config.abduction, abduction)) as tf.Scalar;
  }
  return loss;
}

function scheduleOf(run: RunContext) {
  const c = run.config;
  return {
    sharpness: c.sharpness,
    lateSharpness: c.lateSharpness,
    lateEpoch: c.lateEpoch,
    priorEpoch: c.priorEpoch,
    lengthPrior: c.lengthPrior ?? run.module.sketch.lengthPrior,
  };
}

/** What `evaluateRun` returns: the metrics and, per task, the programs behind them. */
export interface Evaluation {
  readonly metrics: Metrics;
  /** The argmax of q per task (the paper's decoding) and whether it solves the task. */
  readonly argmax: readonly unknown[];
  readonly argmaxSolved: readonly boolean[];
  /** The best candidate on the task's own inference pairs, and whether it solves the task. */
  readonly found: readonly unknown[];
  readonly foundSolved: readonly boolean[];
}

/** The inference pairs: the first 2B pairs of a test split (whose outputs inference reads). */
function inferencePairsOf(run: RunContext): number {
  return Math.min(run.config.batch * 2, run.test.numPairs);
}

/**
 * 3. Evaluation on the test split (metrics.ts): amortized inference from each task's own
 * inference pairs; the paper's metric on the argmax; the found programs (argmax, samples of q,
 * the stored program) chosen on g(x) of those pairs; the held-out tasks; and only with
 * `transductiveEval` the candidates scored on abduced symbols.
 */
export function evaluateRun(run: RunContext): Evaluation {
  const { config, test } = run;
  const module = run.module as SketchModule<unknown>;
  const grounded = config.oracleSymbols
    ? test.symbols
    : groundSplit(run.model, test);
  const pairs = inferencePairsOf(run);
  const inferred = inferPrograms<unknown>(run.model, grounded, test, pairs, {
    samples: config.decodeSamples,
    seed: config.seed,
  });
  const stored = run.memory?.programs;
  const candidates = inferred.argmax.map((p, t) => [
    p,
    ...inferred.samples[t],
    stored?.[t],
  ]);
  const found = pickBest(module, candidates, grounded, test, pairs);
  const argmaxSolved = solvedTasks(module, inferred.argmax, test);
  const foundSolved = solvedTasks(module, found, test);
  let metrics: Metrics = {
    ...computeMetrics(module, inferred.argmax, grounded, test),
    foundProgramSuccess: countSolved(foundSolved),
  };
  if (stored) {
    const alone = stored.map((p, t) => p ?? inferred.argmax[t]);
    metrics = {
      ...metrics,
      memoryProgramSuccess: countSolved(solvedTasks(module, alone, test)),
    };
  }
  const heldOut = evaluateHeldOut(run, grounded, pairs);
  if (heldOut) metrics = { ...metrics, heldOutProgramSuccess: heldOut };
  const abduced = config.transductiveEval
    ? abduceInferencePairs(run, grounded, pairs)
    : undefined;
  if (abduced) {
    const chosen = pickBest(module, candidates, abduced, test, pairs);
    metrics = {
      ...metrics,
      transductiveProgramSuccess: countSolved(
        solvedTasks(module, chosen, test),
      ),
    };
  }
  return { metrics, argmax: inferred.argmax, argmaxSolved, found, foundSolved };
}

/**
 * Amortized inference on the held-out tasks: the same test images (so the same g(x)), the
 * held-out tasks' own outputs; the argmax and the best of it and the samples of q.
 */
function evaluateHeldOut(
  run: RunContext,
  grounded: Float32Array,
  pairs: number,
): HeldOutSuccess | undefined {
  if (!run.heldOut) return undefined;
  const { tasks, test } = run.heldOut;
  const module = run.module as SketchModule<unknown>;
  const inferred = inferPrograms<unknown>(run.model, grounded, test, pairs, {
    samples: run.config.decodeSamples,
    seed: deriveSeed(run.config.seed, HELD_OUT_STREAM),
  });
  const sampled = pickBest(
    module,
    inferred.argmax.map((p, t) => [p, ...inferred.samples[t]]),
    grounded,
    test,
    pairs,
  );
  const argmaxSolved = solvedTasks(module, inferred.argmax, test);
  const sampledSolved = solvedTasks(module, sampled, test);
  const ops = [...new Set(tasks.map((t) => t.numOps))].sort((a, b) => a - b);
  return {
    argmax: countSolved(argmaxSolved),
    sampled: countSolved(sampledSolved),
    byOps: ops.map((n) => {
      const where = tasks.map((t) => t.numOps === n);
      return {
        ops: n,
        argmax: countSolved(argmaxSolved, where),
        sampled: countSolved(sampledSolved, where),
      };
    }),
  };
}

/**
 * Transductive (only with `transductiveEval` and a memory): the symbols of the inference pairs
 * that the imitated stored programs of every task explain best over the gold alphabet, the same
 * abduction as in training. It pools the inference outputs of all tasks and knows the alphabet,
 * so its metric is reported apart. Symbols no imitated program reads stay g(x).
 */
function abduceInferencePairs(
  run: RunContext,
  grounded: Float32Array,
  pairs: number,
): Float32Array | undefined {
  const { memory, config, test } = run;
  if (!memory || config.oracleSymbols) return undefined;
  const V = test.numInputs;
  const tasks = run.tasks.map((_, t) => t);
  const y = new Float32Array(tasks.length * pairs);
  tasks.forEach((t) =>
    y.set(
      test.outputs.subarray(t * test.numPairs, t * test.numPairs + pairs),
      t * pairs,
    ),
  );
  const s = grounded.slice(0, pairs * V);
  const abduced = abduceSymbols(
    memory,
    run.module as SketchModule<unknown>,
    tasks,
    Float32Array.from(tasks, (t) =>
      memory.errors[t] <= config.abductionThreshold ? 1 : 0,
    ),
    s,
    y,
    run.sigma,
    SYMBOL_ALPHABET,
  );
  return s.map((g, i) => (abduced.constrained[i] ? abduced.symbols[i] : g));
}

/** Model and optimizer state as named arrays, for checkpoints. */
async function saveTensors(run: RunContext): Promise<NamedArray[]> {
  const snap = run.model.save();
  const opt = await run.optimizer.getWeights();
  return [
    ...snapshotToArrays("grounder", snap.grounder),
    ...snapshotToArrays("recognizer", snap.recognizer),
    ...opt.map((w, i) => ({
      name: `optimizer/${i}`,
      shape: w.tensor.shape,
      data: w.tensor.dataSync() as Float32Array,
    })),
    ...(run.memory ? memoryToArrays(run.memory) : []),
    ...(run.codebook ? codebookToArrays(run.codebook) : []),
  ];
}

async function loadTensors(
  run: RunContext,
  arrays: readonly NamedArray[],
): Promise<void> {
  run.model.load({
    grounder: arraysToSnapshot("grounder", arrays),
    recognizer: arraysToSnapshot("recognizer", arrays),
  });
  if (run.memory) loadMemory(run.memory, run.module, arrays);
  if (run.codebook) loadCodebook(run.codebook, arrays);
  const opt = arrays
    .filter((a) => a.name.startsWith("optimizer/"))
    .sort(
      (a, b) => Number(a.name.split("/")[1]) - Number(b.name.split("/")[1]),
    );
  if (opt.length > 0) {
    await run.optimizer.setWeights(
      opt.map((a, i) => ({
        name: i === 0 ? "iter" : `w${i}`,
        tensor: tf.tensor(a.data, [...a.shape]),
      })),
    );
  }
}

export async function saveRun(
  run: RunContext,
  epoch: number,
  wallSeconds: number,
): Promise<void> {
  const state: RunState = { config: run.config, epoch, wallSeconds };
  writeCheckpoint(path.join(run.config.out, CHECKPOINT_FILE), {
    state,
    tensors: await saveTensors(run),
  });
}

/** Loads the run folder's checkpoint into `run`; returns the epochs done and time spent, or undefined. */
export async function resumeRun(
  run: RunContext,
): Promise<{ epoch: number; wallSeconds: number } | undefined> {
  const file = path.join(run.config.out, CHECKPOINT_FILE);
  if (!fs.existsSync(file)) return undefined;
  const ckpt = readCheckpoint<RunState>(file);
  try {
    await loadTensors(run, ckpt.tensors);
  } catch (e) {
    throw new RunError(
      `${file}: cannot resume: ${(e as Error).message}. The checkpoint was written by a ` +
        `different configuration (sketch, nets or sizes); pass --fresh or another --out.`,
    );
  }
  return { epoch: ckpt.state.epoch, wallSeconds: ckpt.state.wallSeconds };
}

function appendLog(out: string, record: object): void {
  fs.appendFileSync(path.join(out, "log.jsonl"), JSON.stringify(record) + "\n");
}

/**
 * programs.txt: per task, the gold formula, the argmax program (the paper's) and, where it
 * differs, the found one, each with whether it solves the task.
 */
export function formatPrograms(
  run: RunContext,
  evaluation: Evaluation,
): string {
  const m = run.module as SketchModule<unknown>;
  const mark = (solved: boolean) => (solved ? "solved" : "not solved");
  return run.tasks
    .map((task, t) => {
      const a = evaluation.argmax[t];
      const f = evaluation.found[t];
      const lines = [
        `# task ${t + 1}: gold y = ${task.text}  [argmax ${mark(evaluation.argmaxSolved[t])}, found ${mark(evaluation.foundSolved[t])}]`,
        `argmax y = ${m.formula(a)}  (length ${m.length(a)})`,
        m.format(a),
      ];
      if (m.formula(f) !== m.formula(a) || m.format(f) !== m.format(a))
        lines.push(
          `found y = ${m.formula(f)}  (length ${m.length(f)})`,
          m.format(f),
        );
      return [...lines, ""].join("\n");
    })
    .join("\n");
}

/** The metrics of a log.jsonl record: counts instead of {count, total, rate}. */
export function logMetrics(m: Metrics): Record<string, unknown> {
  return {
    programSuccess: m.programSuccess.count,
    foundProgramSuccess: m.foundProgramSuccess.count,
    heldOutProgramSuccess: m.heldOutProgramSuccess && {
      argmax: m.heldOutProgramSuccess.argmax.count,
      sampled: m.heldOutProgramSuccess.sampled.count,
    },
    memoryProgramSuccess: m.memoryProgramSuccess?.count,
    transductiveProgramSuccess: m.transductiveProgramSuccess?.count,
    symbolicLoss: m.symbolicLoss,
    testLoss: m.testLoss,
    groundingAccuracy: m.groundingAccuracy,
    meanProgramLength: m.meanProgramLength,
  };
}

/** The progress line's metrics: the paper's first. */
export function describeMetrics(m: Metrics): string {
  const c = (x: { count: number; total: number }) => `${x.count}/${x.total}`;
  const h = m.heldOutProgramSuccess;
  return (
    `solved ${c(m.programSuccess)}  found ${c(m.foundProgramSuccess)}` +
    (h ? `  held-out ${c(h.argmax)} (${h.sampled.count} sampled)` : "") +
    `  sym ${m.symbolicLoss.toExponential(2)}  ground ${(100 * m.groundingAccuracy).toFixed(1)}%`
  );
}

export interface TrainOptions {
  readonly progress?: Progress;
  /** Continue from the run folder's checkpoint when there is one (default true). */
  readonly resume?: boolean;
  /** Stop after this many epochs of this call (for tests); the run can be resumed later. */
  readonly maxEpochs?: number;
}

/** Trains a sketch end to end and writes the run folder. The library entry point. */
export async function train(
  requested: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const progress = options.progress ?? createProgress();
  const backend = await selectBackend(requested.backend);
  fs.mkdirSync(requested.out, { recursive: true });
  const run = await createRun(requested);
  const { config } = run;
  const knowledge = knowledgeOf(config);
  progress.line(
    `sketchc train: ${config.sketch} on ${run.datasetName}, ${run.tasks.length} tasks` +
      ` (${run.heldOut?.tasks.length ?? 0} held out), preset ${config.preset}, backend ${backend.description}`,
  );
  progress.line(
    `knowledge beyond images and training outputs: ${knowledge.length > 0 ? knowledge.join(", ") : "none"}`,
  );
  let startEpoch = 0;
  let spent = 0;
  if (options.resume !== false) {
    const resumed = await resumeRun(run);
    if (resumed) {
      startEpoch = resumed.epoch;
      spent = resumed.wallSeconds;
      progress.line(
        `resumed from ${path.join(config.out, CHECKPOINT_FILE)} after epoch ${startEpoch}`,
      );
    }
  }
  const started = performance.now();
  const elapsed = () => spent + (performance.now() - started) / 1000;
  let evaluation: Evaluation | undefined;
  const lastEpoch = Math.min(
    config.epochs,
    startEpoch + (options.maxEpochs ?? Infinity),
  );
  for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
    let lossSum = 0;
    let lossCount = 0;
    let skipped = 0;
    const symbolMean: number[] = [];
    const symbolStd: number[] = [];
    for (let i = 0; i < config.stepsPerEpoch; i++) {
      const step = epoch * config.stepsPerEpoch + i;
      const r = trainStep(run, epoch, step);
      symbolMean.push(Number(r.symbols.mean.toPrecision(4)));
      symbolStd.push(Number(r.symbols.std.toPrecision(4)));
      if (r.finite) {
        lossSum += r.loss;
        lossCount++;
        skipped = 0;
      } else {
        skipped++;
        progress.line(
          `warning: step ${step}: the loss or a gradient is NaN/Inf; the update was skipped`,
        );
        if (skipped >= 3) {
          // Recover from the last checkpoint (the paper lost runs to overflow).
          const back = await resumeRun(run);
          progress.line(
            back
              ? `warning: ${skipped} non-finite steps in a row in epoch ${epoch + 1}: restored the checkpoint of epoch ${back.epoch}`
              : `warning: ${skipped} non-finite steps in a row in epoch ${epoch + 1}, and no checkpoint yet to restore: going on`,
          );
          skipped = 0;
        }
      }
      progress.update({
        epoch,
        epochs: config.epochs,
        step: i + 1,
        steps: config.stepsPerEpoch,
        loss: lossSum / Math.max(1, lossCount),
      });
    }
    const record: Record<string, unknown> = {
      epoch: epoch + 1,
      loss: lossSum / Math.max(1, lossCount),
      skippedSteps: config.stepsPerEpoch - lossCount,
      // The batch mean and standard deviation of s at each step of the epoch.
      symbolMean,
      symbolStd,
      wallSeconds: elapsed(),
    };
    if (run.memory) {
      // Tasks whose stored program explains this epoch's last batch (the ones being imitated).
      record.remembered = run.memory.errors.filter(
        (e) => e <= config.imitationThreshold,
      ).length;
    }
    const isLast = epoch + 1 === config.epochs;
    const evaluated = isLast || (epoch + 1) % config.evalEvery === 0;
    if (evaluated) {
      evaluation = evaluateRun(run);
      Object.assign(record, logMetrics(evaluation.metrics));
    }
    appendLog(config.out, record);
    progress.line(
      `epoch ${epoch + 1}/${config.epochs}  loss ${(record.loss as number).toFixed(4)}` +
        (evaluated && evaluation
          ? `  ${describeMetrics(evaluation.metrics)}`
          : "") +
        `  ${elapsed().toFixed(0)} s`,
    );
    await saveRun(run, epoch + 1, elapsed());
  }
  if (!evaluation || lastEpoch !== config.epochs) evaluation = evaluateRun(run);
  const { metrics } = evaluation;
  const wallSeconds = elapsed();
  let referenceAccuracy: number | undefined;
  let referenceSymbolAccuracy: number | undefined;
  if (config.reference) {
    progress.line(
      "training the supervised reference grounder on the labels...",
    );
    referenceAccuracy = trainSupervisedReference(config, run.train, run.test);
    referenceSymbolAccuracy = trainSupervisedReference(
      config,
      run.train,
      run.test,
      "symbols",
    );
  }
  const result: TrainResult = {
    metrics,
    knowledge,
    wallSeconds,
    backend: backend.name,
    epochs: lastEpoch,
    referenceAccuracy,
    referenceSymbolAccuracy,
  };
  writeFileAtomic(
    path.join(config.out, "metrics.json"),
    JSON.stringify(
      {
        ...metrics,
        knowledge,
        referenceAccuracy,
        referenceSymbolAccuracy,
        wallSeconds: result.wallSeconds,
        backend: backend.description,
        epochs: lastEpoch,
        dataset: run.datasetName,
        heldOutTasks: run.heldOut?.tasks.map((t) => t.text) ?? [],
        config,
      },
      null,
      2,
    ) + "\n",
  );
  writeFileAtomic(
    path.join(config.out, "programs.txt"),
    formatPrograms(run, evaluation),
  );
  run.model.dispose();
  run.optimizer.dispose();
  return result;
}
