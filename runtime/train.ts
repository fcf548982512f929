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
  loadCheckpoint,
  previousCheckpointFile,
  type LoadedCheckpoint,
  snapshotToArrays,
  writeCheckpoint,
  type NamedArray,
} from "./checkpoint.js";
import { DEFAULT_CONFIG, knowledgeOf, type TrainConfig } from "./config.js";
import {
  CODEBOOK_RATE,
  codebookToArrays,
  CODEBOOK_FIT_RATE,
  createCodebook,
  loadCodebook,
  nearest,
  splitDeadValue,
  trackUsage,
  resetStrayValues,
  spreadCodebook,
  updateCodebook,
  type Codebook,
} from "./codebook.js";
import { loadImageDataset, resolveDefaultDataset } from "./data/images.js";
import {
  makeSplitFromRows,
  makeSplits,
  outputRows,
  selectTasks,
  withTasks,
  type Split,
} from "./data/pairs.js";
import {
  alphabetSpacing,
  alphabetStats,
  createSymbolReader,
  describeAlphabet,
  symbolBounds,
} from "./domains/alphabet.js";
import { createDomain } from "./domains/create.js";
import { createRunDreams, dreamStep, type DreamPool } from "./dreams.js";
import {
  HELD_OUT_STREAM,
  type DomainTask,
  type TaskDomain,
} from "./domains/domain.js";
import { choicesToParams, createProgramSpace } from "./domains/embed.js";
import { inputRelabeling, rehearsalLoss } from "./rehearsal.js";
import { createWeightAverage, type WeightAverage } from "./weight-average.js";
import { languageOf } from "./domains/expression.js";
import {
  appendToFile,
  makeFolder,
  removeStaleTemps,
  writeFileAtomic,
} from "../util/files.js";
import { failpoint, killpoint } from "../util/failpoints.js";
import { loadSketch, moduleFileOf } from "./load-sketch.js";
import {
  hostThreadEnabled,
  startHostThread,
  type AbductionJob,
  type HostThread,
} from "./host-thread.js";
import { crossProductAddon } from "./kernels/native.js";
import { applyAdam } from "./kernels/adam.js";
import {
  computeMetrics,
  confidentPairs,
  countSolved,
  groundingConfusion,
  groundSplit,
  inferPrograms,
  pairConfidence,
  pickBest,
  readSplit,
  sameOutput,
  solvedTasks,
  type HeldOutSuccess,
  type Metrics,
} from "./metrics.js";
import {
  clearMemory,
  createMemory,
  imitationLoss,
  loadMemory,
  memoryToArrays,
  proposeAround,
  storedPrograms,
  storeProgram,
  abduceFrom,
  abduceSymbols,
  activeCrossProduct,
  crossProductJs,
  type AbducedSymbols,
  RESIDUAL_WIDTH_FLOOR,
  MAX_ABDUCED_TUPLES,
  beginUpdate,
  type ProgramMemory,
} from "./memory.js";
import {
  createModel,
  expectedSymbols,
  forward,
  groundLogits,
  groundSymbols,
  grounderChunkOf,
  type RoapModel,
} from "./model.js";
import {
  abductionCrossEntropy,
  classBalancePrior,
  objective,
  outputSigma,
  reconstructionLoss,
  softAbductionCrossEntropy,
  symbolPrior,
} from "./objective.js";
import { createProgress, type Progress } from "./progress.js";
import { readsSynchronously } from "./host-read.js";
import { pretrainGrounder } from "./pretrain.js";
import { RunError } from "./run-error.js";
import {
  loadOptimizer,
  optimizerToArrays,
  setLearningRate,
} from "./optimizer-state.js";
import { createRng, deriveSeed } from "./random.js";
import {
  learningRateAt,
  lengthWeightAt,
  sampleChoices,
  sharpnessAt,
} from "./relaxation.js";
import { trainSupervisedReference } from "./reference.js";
import { fitAndPredict } from "./nets/baselines.js";
import {
  createGeneralizationData,
  drawNewTasks,
  generalizationLoss,
  synthesisFit,
  type GeneralizationData,
  type GeneralizationReport,
} from "./generalization.js";
import {
  evaluateAll,
  type ProgramParams,
  type SketchModule,
} from "./sketch-module.js";

/** What a checkpoint remembers besides the tensors. */
export interface RunState {
  readonly config: TrainConfig;
  /** Epochs completed. */
  readonly epoch: number;
  readonly wallSeconds: number;
}

export interface TrainResult {
  readonly metrics: Metrics;
  /** What the run knew beyond its images and training outputs (config.ts `knowledgeOf`). */
  readonly knowledge: readonly string[];
  /** The weights the metrics were computed on (`weightsOf`). */
  readonly weights: string;
  readonly wallSeconds: number;
  readonly backend: string;
  readonly epochs: number;
  /** Test accuracy of the same grounder trained as a classifier on the labels (`reference: true`). */
  readonly referenceAccuracy?: number;
  /** The symbolic loss of that classifier's reading (its most probable class's value). */
  readonly referenceSymbolicLoss?: number;
  /** Grounding accuracy of g trained on the gold symbols themselves (`reference: true`). */
  readonly referenceSymbolAccuracy?: number;
}

/** A task's given program (a task file's `"given": true`), decoded and encoded once. */
export interface GivenProgram {
  /** The module's discrete program. */
  readonly program: unknown;
  /** Its one-hot z per head ([rows * choices], from the module's `encode`). */
  readonly z: Readonly<Record<string, Float32Array>>;
}

/** Everything a run needs, built once. */
export interface RunContext {
  readonly config: TrainConfig;
  readonly module: SketchModule;
  /** Where the tasks come from: alphabet, tasks, outputs (domains/domain.ts). */
  readonly domain: TaskDomain;
  readonly tasks: readonly DomainTask[];
  /** Per task, its given program; undefined for the tasks the recognizer infers. */
  readonly given: readonly (GivenProgram | undefined)[];
  /** The tasks the recognizer infers (not given), in task order. */
  readonly inferred: readonly number[];
  readonly train: Split;
  readonly test: Split;
  /** sigma^t of Eq. 4 per task. */
  readonly sigma: Float32Array;
  readonly model: RoapModel;
  readonly optimizer: tf.AdamOptimizer;
  /** The average of the trained weights evaluation reads, with `config.weightAverage` > 0. */
  readonly average: WeightAverage | undefined;
  /** The program memory, when `config.imitation` > 0 (memory.ts). */
  readonly memory: ProgramMemory | undefined;
  /** Abduction's learned symbol values, with `abductionAlphabet: "codebook"` (codebook.ts). */
  readonly codebook: Codebook | undefined;
  /**
   * The interval the run knows the symbols lie in (the alphabet's statistics with the symbol
   * prior, else the bounded output's): the categorical codebook starts spread over it, and a
   * restart sets back the values thrown far off it (`resetStrayValues`).
   */
  readonly symbolRange: { readonly low: number; readonly high: number };
  /** The programs dreams draw from, with `config.dreams` > 0 (dreams.ts). */
  readonly dreams: DreamPool | undefined;
  /** New tasks and their small- and large-symbol pairs, for the generalization loss. */
  readonly generalization: GeneralizationData | undefined;
  /** Tasks never trained on, with the test split's pairs, for `heldOutProgramSuccess`. */
  readonly heldOut:
    { readonly tasks: readonly DomainTask[]; readonly test: Split } | undefined;
  readonly datasetName: string;
  /** C: the dataset's image classes (one symbol each). */
  readonly numClasses: number;
  /** How many distinct symbols (image classes) the pairs use. */
  readonly numSymbols: number;
  /** What the set-up changed or decided for the user to know (printed at the start). */
  readonly notes: readonly string[];
}

export const CHECKPOINT_FILE = "checkpoint.ckpt";

export { RunError };

/**
 * 1. Set-up: sketch module, data, task domain, nets and optimizer (no backend selection, no
 * resume). The run's config records the dataset folder it resolved, so a checkpoint is evaluated
 * on its own.
 */
export async function createRun(requested: TrainConfig): Promise<RunContext> {
  let config: TrainConfig = {
    ...requested,
    data: requested.data ?? resolveDefaultDataset().dir,
  };
  const module = await loadSketch(
    config.sketch,
    path.join(config.out, "module"),
  );
  // Any class count a label byte can hold; the alphabet then gives every class its value.
  const dataset = loadImageDataset(config.data!, { numClasses: 256 });
  const domain = createDomain(config, module, dataset);
  const V = module.sketch.numInputs;
  if (domain.numInputs !== V)
    throw new RunError(
      `the ${domain.name} tasks have ${domain.numInputs} symbols, but ${config.sketch} declares 'inputs ${V}'`,
    );
  const notes: string[] = [];
  const drawn = domain.drawTasks(
    config.tasks,
    config.heldOutTasks,
    config.seed,
  );
  const tasks = drawn.train;
  if (domain.name !== "file" && tasks.length < config.tasks)
    notes.push(
      `the ${domain.name} domain has ${domain.poolSize} tasks: training on all of them (--tasks ${config.tasks})`,
    );
  const { alphabet } = domain;
  const output = (task: DomainTask, s: readonly number[]) =>
    domain.output(task, s);
  const { train, test } = domain.pairs
    ? {
        train: makeSplitFromRows({
          dataset: dataset.train,
          rows: domain.pairs.train,
          tasks,
          output: (task, s, i) => task.data?.train[i] ?? output(task, s),
          alphabet,
          numInputs: V,
        }),
        test: makeSplitFromRows({
          dataset: dataset.train,
          rows: domain.pairs.test,
          tasks,
          output: (task, s, i) => task.data?.test[i] ?? output(task, s),
          alphabet,
          numInputs: V,
        }),
      }
    : makeSplits({
        dataset,
        tasks,
        output,
        alphabet,
        numPairs: config.trainPairs,
        numTestPairs: config.testPairs,
        numInputs: V,
        seed: config.seed,
      });
  checkOutputs(tasks, train);
  checkOutputs(tasks, test);
  const numSymbols = new Set(train.classes).size;
  // Abduction tries every tuple of symbols: too many, and it stays off.
  const tried =
    config.abductionAlphabet === "codebook" ? numSymbols : alphabet.length;
  if (
    config.imitation > 0 &&
    (config.abduction > 0 || config.transductiveEval) &&
    tried ** V > MAX_ABDUCED_TUPLES
  ) {
    notes.push(
      `abduction off: it tries every tuple of symbols, and ${tried}^${V} is over ${MAX_ABDUCED_TUPLES}`,
    );
    config = { ...config, abduction: 0, transductiveEval: false };
  }
  if (config.model === "cnn-mlp" && config.imitation > 0) {
    notes.push(
      "program memory and abduction off: the CNN+MLP baseline has no programs",
    );
    config = { ...config, imitation: 0, abduction: 0, transductiveEval: false };
  }
  if (config.stepPairs === "confident" && config.model !== "roap") {
    notes.push(
      `step pairs drawn at random: the ${config.model} baseline has no recognizer to read the confident pairs (--step-pairs confident)`,
    );
    config = { ...config, stepPairs: "random" };
  }
  if (
    config.stepPairs === "confident" &&
    (config.grounderOutput !== "categorical" || config.oracleSymbols)
  ) {
    notes.push(
      `step pairs drawn at random: --step-pairs confident reads the categorical grounder's probabilities, and ${config.oracleSymbols ? "the symbols are the gold ones" : `the grounder's output is ${config.grounderOutput}`}`,
    );
    config = { ...config, stepPairs: "random" };
  }
  if (
    config.rehearsalPermute &&
    config.rehearsal > 0 &&
    !inputRelabeling(module.sketch, [...Array(V).keys()])
  )
    notes.push(
      `rehearsal reads the inputs in order: ${config.sketch} does not allow every input wherever one is allowed, so a permuted program could leave the sketch (--rehearsal-permute)`,
    );
  checkAsynchronousReads(config, tasks);
  // The baselines keep parameters per training task: they cannot infer a task never trained on.
  const amortized = config.model === "roap";
  if (!amortized && drawn.heldOut.length > 0)
    notes.push(
      `no held-out tasks: ${config.model} has no amortized inference for tasks it never trained on`,
    );
  const sigma = outputSigma(train.outputs, train.numTasks, train.numPairs);
  const categorical = config.grounderOutput === "categorical";
  // The learned symbol values: abduction's, and the categorical grounder's classes.
  const codebook =
    config.abductionAlphabet === "codebook" &&
    ((config.imitation > 0 && config.abduction > 0) || categorical)
      ? createCodebook(numSymbols)
      : undefined;
  // With the symbol prior the run knows the alphabet's mean and variance: the symbols lie in the
  // interval of the uniform distribution that has them (mean +- sqrt(3 variance); for an evenly
  // spaced alphabet, within 0.002 of its values), else in the bounded output's.
  const symbolRange =
    config.symbolPrior > 0
      ? uniformInterval(alphabetStats(alphabet))
      : symbolBounds(alphabet);
  if (codebook && categorical) {
    // The categorical grounder's symbols are blends of the codebook's values, so the first
    // batch's quantiles would all be one value: the values start spread over the symbols' range,
    // and only the fit to the outputs moves them (`abduceStep`).
    spreadCodebook(codebook, symbolRange.low, symbolRange.high);
    if (!(config.imitation > 0 && config.abduction > 0))
      notes.push(
        "the categorical grounder's symbol values stay where they start: without abduction nothing fits them",
      );
  }
  const model = createModel({
    model: config.model,
    numTasks: tasks.length,
    cnnMlp: config.cnnMlp,
    module,
    grounder: config.grounder,
    grounderOutput: config.grounderOutput,
    alphabet,
    numSymbolValues: codebook ? numSymbols : alphabet.length,
    imageShape: [train.height, train.width, train.channels],
    recognizerHidden: config.recognizerHidden,
    seed: config.seed,
  });
  const given = givenPrograms(module, domain, tasks, test);
  const optimizer = tf.train.adam(
    config.learningRate,
    0.9,
    0.999,
    config.adamEpsilon,
  );
  const heldOutTasks = amortized ? drawn.heldOut : [];
  const generalization = createGeneralizationData({
    domain,
    tasks: drawNewTasks(
      domain,
      [...tasks, ...drawn.heldOut],
      config.generalizationTasks,
      config.seed,
    ),
    images: dataset.test,
    numInputs: V,
    seed: config.seed,
  });
  if (config.generalizationTasks > 0 && !generalization)
    notes.push(
      `no generalization loss: the ${domain.name} domain has no new tasks, or the test images lack a class`,
    );
  const dreams = createRunDreams(config, module, domain, [
    ...tasks,
    ...drawn.heldOut,
    ...(generalization?.tasks ?? []),
  ]);
  if (dreams.note) notes.push(dreams.note);
  const memory =
    config.imitation > 0
      ? createMemory(module, tasks.length, {
          canonical: config.memoryLayout === "canonical",
          searchSize: config.memorySearch,
          sortedArguments: config.targetArgOrder === "sorted",
        })
      : undefined;
  // Given programs are stored as exact (error 0): evidence for abduction, never replaced.
  if (memory)
    given.forEach((g, t) => g && storeProgram(memory, module, t, g.program, 0));
  return {
    config,
    module,
    domain,
    tasks,
    given,
    inferred: tasks.flatMap((_, t) => (given[t] ? [] : [t])),
    train,
    test,
    sigma,
    model,
    optimizer,
    average:
      config.weightAverage > 0
        ? createWeightAverage(
            trainableVariables({ config, model }),
            config.weightAverage,
          )
        : undefined,
    memory,
    codebook,
    symbolRange,
    dreams: dreams.pool,
    generalization,
    heldOut:
      heldOutTasks.length > 0
        ? {
            tasks: heldOutTasks,
            test: withTasks(test, heldOutTasks, output),
          }
        : undefined,
    datasetName: `${dataset.name} (${config.data})`,
    numClasses: alphabet.length,
    numSymbols,
    notes,
  };
}

/**
 * On a backend that reads tensors only asynchronously (webgpu, host-read.ts), the parts of a run
 * that read them in the middle of a step or of evaluation cannot run: says which, in one line.
 */
function checkAsynchronousReads(
  config: TrainConfig,
  tasks: readonly DomainTask[],
): void {
  if (readsSynchronously()) return;
  const parts = [
    config.imitation > 0 ? "the program memory (--imitation 0)" : "",
    config.dreams > 0 ? "dreams (--dreams 0)" : "",
    config.pretrainSteps > 0 ? "pretraining (--pretrain-steps 0)" : "",
    config.reference ? "the supervised reference (no --reference)" : "",
    config.model !== "roap"
      ? `the ${config.model} baseline (--model roap)`
      : "",
    tasks.some((t) => t.given) ? "the task file's given programs" : "",
  ].filter((p) => p !== "");
  if (parts.length === 0) return;
  throw new RunError(
    `backend '${tf.getBackend()}' reads tensors only asynchronously, and these parts of the run ` +
      `read them within a step: ${parts.join(", ")}; turn them off (--preset paper does) or use ` +
      `--backend wasm`,
  );
}

/** The interval of the uniform distribution with this mean and variance. */
export function uniformInterval(stats: { mean: number; variance: number }): {
  low: number;
  high: number;
} {
  const half = Math.sqrt(3 * stats.variance);
  return { low: stats.mean - half, high: stats.mean + half };
}

/** A task whose outputs are not all finite cannot be trained on: the user's to fix. */
function checkOutputs(tasks: readonly DomainTask[], split: Split): void {
  const N = split.numPairs;
  tasks.forEach((task, t) => {
    for (let i = 0; i < N; i++) {
      if (!Number.isFinite(split.outputs[t * N + i]))
        throw new RunError(
          `task '${task.text}' has a non-finite output (${split.outputs[t * N + i]}) on the symbols [${Array.from(split.symbols.subarray(i * split.numInputs, (i + 1) * split.numInputs)).join(", ")}]`,
        );
    }
  });
}

/**
 * The given programs of `tasks`: each placement (embed.ts) decoded by the module into its own
 * program, checked against the domain's outputs on the test split's first pairs, and encoded.
 */
function givenPrograms(
  module: SketchModule,
  domain: TaskDomain,
  tasks: readonly DomainTask[],
  test: Split,
): (GivenProgram | undefined)[] {
  const m = module as SketchModule<unknown>;
  if (!tasks.some((t) => t.given)) return tasks.map(() => undefined);
  const space = createProgramSpace(module, languageOf(module));
  const V = test.numInputs;
  return tasks.map((task) => {
    if (!task.given) return undefined;
    const z = choicesToParams(space, [task.given]);
    const program = m.decode(z)[0];
    Object.values(z).forEach((x) => x.dispose());
    for (let i = 0; i < Math.min(8, test.numPairs); i++) {
      const s = Array.from(test.symbols.subarray(i * V, (i + 1) * V));
      if (!sameOutput(m.evaluate(program, s), domain.output(task, s)))
        throw new Error(
          `the given program of task '${task.text}' decodes to ${m.formula(program)}, which computes something else`,
        );
    }
    const encoded = m.encode(program);
    const arrays = Object.fromEntries(
      Object.entries(encoded).map(([name, t]) => [
        name,
        t.dataSync() as Float32Array,
      ]),
    );
    Object.values(encoded).forEach((x) => x.dispose());
    return { program, z: arrays };
  });
}

/** One-hot z [n, rows, choices] per head of the given programs of `tasks`. */
function givenParams(run: RunContext, tasks: readonly number[]): ProgramParams {
  const z: Record<string, tf.Tensor3D> = {};
  for (const h of run.module.sketch.heads) {
    const [rows, choices] = h.shape;
    const data = new Float32Array(tasks.length * rows * choices);
    tasks.forEach((t, k) =>
      data.set(run.given[t]!.z[h.name], k * rows * choices),
    );
    z[h.name] = tf.tensor3d(data, [tasks.length, rows, choices]);
  }
  return z;
}

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
function trainableVariables(
  run: Pick<RunContext, "config" | "model">,
): tf.Variable[] {
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
  const { numInputs: V, height: H, width: W, channels: C } = split;
  const perPair = V * H * W * C;
  const images = new Float32Array(pairs.length * perPair);
  pairs.forEach((i, b) =>
    images.set(
      split.images.subarray(i * perPair, (i + 1) * perPair),
      b * perPair,
    ),
  );
  return {
    images: tf.tensor4d(images, [pairs.length * V, H, W, C]),
    y: tf.tensor2d(outputRows(split, pairs, tasks), [
      tasks.length,
      pairs.length,
    ]),
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

/** The random stream of `confidentStepPairs`' second B pairs, one per step above it. */
const CANDIDATE_PAIR_STREAM = 3_000_017;

/** The pairs r reads in a step, and their symbols g(x) [B * V], taken as data. */
export interface StepRead {
  readonly pairs: readonly number[];
  readonly symbols: Float32Array;
}

/**
 * `stepPairs: "confident"`: B more pairs drawn from (seed, step) beside the step's `drawn`, and
 * of those 2B the B whose images the categorical grounder is surest of now (`pairConfidence`'s
 * product of top class probabilities; ties to the earlier draw), in draw order, with their
 * symbols (g's expected values, the values held for the step). A function of the seed, the step
 * and g's weights, so a resumed run reads the same pairs.
 */
export async function confidentStepPairs(
  run: Pick<RunContext, "config" | "model" | "train">,
  drawn: readonly number[],
  step: number,
): Promise<StepRead> {
  const { config, model, train } = run;
  const rng = createRng(deriveSeed(config.seed, CANDIDATE_PAIR_STREAM + step));
  const pool = [
    ...drawn,
    ...Array.from({ length: drawn.length }, () => rng.int(train.numPairs)),
  ];
  const V = train.numInputs;
  const [confidence, symbols] = tf.tidy(() => {
    const logits = groundLogits(model, gatherBatch(train, pool, []).images);
    const top = tf.max(tf.softmax(logits), 1);
    return [
      tf.prod(tf.reshape(top, [pool.length, V]), 1),
      expectedSymbols(logits, model.symbolValues),
    ];
  });
  const [values, all] = [await confidence.data(), await symbols.data()];
  tf.dispose([confidence, symbols]);
  const chosen = confidentPairs(values, pool.length, drawn.length);
  return {
    pairs: chosen.map((i) => pool[i]),
    symbols: Float32Array.from(
      { length: chosen.length * V },
      (_, k) => all[chosen[Math.floor(k / V)] * V + (k % V)],
    ),
  };
}

export interface StepResult {
  readonly loss: number;
  readonly finite: boolean;
  /** Mean and standard deviation of the step's symbols s (g(x), or the gold ones): collapse shows here. */
  readonly symbols: { readonly mean: number; readonly std: number };
  /** The dream loss before its weight (dreams.ts), when the step dreamt. */
  readonly dreamLoss?: number;
  /**
   * Of the step's constrained symbols, how many abduction and g(x) read right, and how many g(x)
   * reads as abduction does (`tallyAbduction`).
   */
  readonly abduced?: {
    readonly right: number;
    readonly grounderRight: number;
    readonly agreed: number;
    readonly total: number;
  };
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

/**
 * The gradient of `lossOf(ground(images))` with the grounder's backward pass in chunks of `chunk`
 * images, so that memory holds one chunk's activations and gradients, not the batch's (ResNet-18
 * needs about 50 MB an image on wasm). `ground` maps whole pairs of images to g's output as the
 * loss reads it, one row per pair (s [B, V], or the categorical logits [B, V, K]). The same
 * gradient as one pass, by the chain rule: (1) s = g(x) without a tape, chunk by chunk; (2) the
 * loss's gradient in the recognizer's variables and in s; (3) per chunk, the gradient of
 * sum(g(x_chunk) * dL/ds_chunk) in the grounder's variables, summed. The grounder runs forward
 * twice.
 */
function chunkedGrads<S extends tf.Tensor>(
  model: RoapModel,
  images: tf.Tensor4D, // [B * V, H, W, C]
  V: number,
  chunk: number,
  ground: (images: tf.Tensor4D) => S,
  lossOf: (s: S) => tf.Scalar,
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const n = images.shape[0];
  const perChunk = Math.max(V, chunk - (chunk % V)); // whole pairs per chunk
  const starts: number[] = [];
  for (let at = 0; at < n; at += perChunk) starts.push(at);
  const slice = (at: number) =>
    tf.slice(images, [at, 0, 0, 0], [Math.min(perChunk, n - at), -1, -1, -1]);
  // 1. s = g(x), one chunk at a time.
  const s = tf.concat(
    starts.map((at) => tf.tidy(() => ground(slice(at)))),
  ) as S; // [B, V] | [B, V, K]
  // 2. dL/d(recognizer) and dL/ds.
  const sVar = tf.variable(s, true);
  try {
    const recognizer = model.recognizer.variables;
    const { value, grads } = tf.variableGrads(
      () => lossOf(sVar as unknown as S),
      [...recognizer, sVar],
    );
    const ds = grads[sVar.name]; // [B, V] | [B, V, K]
    // 3. The grounder's gradient, chunk by chunk.
    const total: tf.NamedTensorMap = {};
    for (const at of starts) {
      const rows = Math.min(perChunk, n - at) / V;
      const part = tf.tidy(() => {
        const dsChunk = tf.slice(ds, [at / V], [rows]); // the chunk's pairs
        return tf.variableGrads(
          () => tf.sum(tf.mul(ground(slice(at)), dsChunk)),
          model.grounder.variables,
        );
      });
      part.value.dispose();
      for (const [name, g] of Object.entries(part.grads)) {
        const sum = total[name];
        total[name] = sum ? tf.add(sum, g) : g;
        if (sum) {
          sum.dispose();
          g.dispose();
        }
      }
    }
    delete grads[sVar.name];
    ds.dispose();
    return { value, grads: { ...grads, ...total } };
  } finally {
    sVar.dispose();
  }
}

/** 2. One training step: forward (Fig. 2), objective (Eq. 3), clipped Adam update unless non-finite. */
export async function trainStep(
  run: RunContext,
  epoch: number,
  step: number,
): Promise<StepResult> {
  const { config, model, optimizer } = run;
  const { pairs, tasks } = batchIndices(
    config,
    run.train.numPairs,
    run.train.numTasks,
    step,
  );
  const lambda = lengthWeightAt(epoch, scheduleOf(run));
  setLearningRate(optimizer, learningRateAt(epoch, config));
  // The recognizer infers the tasks without a given program; the given ones run exactly, for
  // the grounder alone (so with oracle symbols they have nothing to teach).
  const inferred = tasks.filter((t) => run.given[t] === undefined);
  const given = config.oracleSymbols
    ? []
    : tasks.filter((t) => run.given[t] !== undefined);
  const symbols = { mean: NaN, std: NaN };
  let lastAbduction: Abduction | undefined;
  if (inferred.length + given.length === 0)
    return { loss: 0, finite: true, symbols };
  // Kept out of the tape and read after it (host-read.ts): the step's symbols and dream loss.
  let keptSymbols: tf.Tensor | undefined;
  let keptDream: tf.Tensor | undefined;
  holdSymbolValues(run);
  // What r reads: the step's pairs, or with `stepPairs: "confident"` g's surest of 2B as data.
  const read =
    config.stepPairs === "confident" && inferred.length > 0
      ? await confidentStepPairs(run, pairs, step)
      : undefined;
  const { value, grads } = tf.tidy(() => {
    const batch = gatherBatch(run.train, pairs, [...inferred, ...given]);
    // With confident step pairs, the pairs r reads are grounded in the same pass, after the
    // batch's: s of both comes from one g(x), so r's loss reaches g through what it reads.
    const images = read
      ? (tf.concat([
          batch.images,
          gatherBatch(run.train, read.pairs, []).images,
        ]) as tf.Tensor4D)
      : batch.images;
    const B = pairs.length;
    const y =
      given.length === 0
        ? batch.y
        : (tf.slice(batch.y, [0, 0], [inferred.length, B]) as tf.Tensor2D);
    const sigma = tf.tensor1d(inferred.map((t) => run.sigma[t]));
    const V = run.train.numInputs;
    // logits: the categorical grounder's [B * V, K], for its abduction loss.
    // sAll: [B, V], or [2B, V] with the pairs r reads after the batch's; logitsAll likewise.
    const lossOf = (sAll: tf.Tensor2D, logitsAll?: tf.Tensor2D): tf.Scalar =>
      read
        ? lossOfBatch(
            tf.slice(sAll, [0, 0], [B, V]),
            logitsAll && tf.slice(logitsAll, [0, 0], [B * V, -1]),
            tf.slice(sAll, [B, 0], [B, V]),
          )
        : lossOfBatch(sAll, logitsAll);
    const lossOfBatch = (
      s: tf.Tensor2D,
      logits?: tf.Tensor2D,
      /** g(x) [B, V] of the pairs r reads (`read`). */
      sRead?: tf.Tensor2D,
    ): tf.Scalar => {
      keptSymbols = tf.keep(tf.clone(s));
      let loss: tf.Scalar;
      if (model.outputMlp) {
        // w/o program: y = MLP(s), Eq. 4 alone (no program, so no length prior).
        const mlpOut = model.outputMlp.call(s, [...inferred, ...given]);
        loss = reconstructionLoss(
          batch.y,
          mlpOut,
          tf.tensor1d([...inferred, ...given].map((t) => run.sigma[t])),
        );
      } else if (inferred.length > 0) {
        // With `solvedObjective: "imitation"`, the imitated tasks leave Eq. 3-6 (and are not run).
        const relaxed = relaxedRows(run, inferred);
        const out = forward(model, images, y, {
          tasks: inferred,
          sharpness: sharpnessAt(epoch, scheduleOf(run)),
          gumbel: config.gumbel,
          seed: deriveSeed(config.seed, step),
          fused: usesFusedInterpreter(),
          hard: config.straightThrough,
          symbols: s,
          relaxedRows: relaxed,
          read: read &&
            sRead && {
              s: sRead,
              y: tf.tensor2d(outputRows(run.train, read.pairs, inferred), [
                inferred.length,
                B,
              ]),
            },
        });
        let reconstruction = relaxedReconstruction(y, out.yHat, sigma, relaxed);
        if (given.length > 0) {
          // Eq. 4 averaged over every task of the step, given ones included.
          const exact = givenReconstruction(run, given, batch.y, s);
          reconstruction = tf.div(
            tf.add(
              tf.mul(inferred.length, reconstruction),
              tf.mul(given.length, exact),
            ),
            inferred.length + given.length,
          ) as tf.Scalar;
        }
        // Eq. 6 summed over the relaxed rows, over all the step's inferred tasks.
        const share =
          relaxed === undefined ? 1 : relaxed.length / inferred.length;
        loss = objective(
          reconstruction,
          lambda > 0 && share > 0
            ? model.module.expectedLength(out.zRelaxed)
            : tf.zeros([1]),
          lambda * share,
        );
        if (run.memory) {
          // Abduction pools the stored programs of the inferred and the given tasks. Where a
          // host thread runs, it runs beside the memory's proposals, and the search beside the
          // codebook's update: neither pair reads what the other computes.
          const pending = beginAbduction(
            run,
            run.memory,
            s,
            batch.y,
            [...inferred, ...given],
            pairs,
            logits,
          );
          const proposals = proposePrograms(
            run,
            run.memory,
            out,
            inferred,
            step,
          );
          const abduction = pending.join();
          lastAbduction = abduction;
          // The symbols and outputs the step's candidates are scored on, the search's too.
          const rows = scoringRows(run, abduction, pairs, inferred);
          const search = beginSearch(run, run.memory, rows);
          pending.updateCodebook();
          loss = tf.add(
            loss,
            memoryLosses(
              run,
              run.memory,
              out,
              y,
              sigma,
              pairs,
              inferred,
              step,
              abduction,
              proposals,
              rows,
              search,
              logits,
              read,
            ),
          ) as tf.Scalar;
        }
      } else {
        loss = givenReconstruction(run, given, batch.y, s);
        if (run.memory) {
          const pending = beginAbduction(
            run,
            run.memory,
            s,
            batch.y,
            given,
            pairs,
            logits,
          );
          const abduction = pending.join();
          pending.updateCodebook();
          lastAbduction = abduction;
          const gap = grounderAbductionLoss(run, abduction, s, logits);
          if (gap) loss = tf.add(loss, gap) as tf.Scalar;
        }
      }
      // Sleep: r alone learns from dreams on this step's symbols (dreams.ts).
      const dream =
        run.dreams &&
        dreamStep(model.recognizer, run.module, run.dreams, config, step, s);
      if (dream) {
        keptDream = tf.keep(tf.clone(dream));
        loss = tf.add(loss, tf.mul(config.dreamWeight, dream)) as tf.Scalar;
      }
      if (config.symbolPrior <= 0) return loss;
      let prior = symbolPrior(s, alphabetStats(run.domain.alphabet));
      if (logits) prior = tf.add(prior, classBalancePrior(logits)) as tf.Scalar;
      return tf.add(loss, tf.mul(config.symbolPrior, prior)) as tf.Scalar;
    };
    if (config.oracleSymbols)
      return tf.variableGrads(
        () => lossOf(gatherSymbols(run.train, pairs)),
        trainableVariables(run),
      );
    const chunk = grounderChunkOf(config);
    if (model.grounderOutput === "categorical") {
      // The loss reads g's logits [B, V, K]: s is their expected value (model.ts).
      const K = model.symbolValues.length;
      const ground = (x: tf.Tensor4D) =>
        tf.reshape(groundLogits(model, x), [-1, V, K]) as tf.Tensor3D;
      const lossOfLogits = (logits: tf.Tensor3D) => {
        const flat = tf.reshape(logits, [-1, K]) as tf.Tensor2D; // [B * V, K]
        const s = expectedSymbols(flat, model.symbolValues);
        return lossOf(tf.reshape(s, [-1, V]) as tf.Tensor2D, flat);
      };
      if (images.shape[0] <= chunk)
        return tf.variableGrads(
          () => lossOfLogits(ground(images)),
          trainableVariables(run),
        );
      return chunkedGrads(model, images, V, chunk, ground, lossOfLogits);
    }
    if (images.shape[0] <= chunk)
      return tf.variableGrads(
        () => lossOf(groundSymbols(model, images, V)), // s: [B, V]
        trainableVariables(run),
      );
    return chunkedGrads(
      model,
      images,
      V,
      chunk,
      (x) => groundSymbols(model, x, V),
      lossOf,
    );
  });
  // The failpoints let the NaN-recovery tests poison the loss or a gradient of a chosen step.
  const loss = failpoint("nan", `loss-${step}`) ? NaN : (await value.data())[0];
  value.dispose();
  const names = Object.keys(grads);
  let norm = Infinity;
  if (!failpoint("nan", `grad-${step}`)) {
    // Summed one by one, in addN's order: webgpu's AddN takes at most 8 inputs on lavapipe (its
    // storage-buffer limit), ResNet-18 has over 100 variables.
    const squares = tf.tidy(() =>
      names
        .map((n) => tf.sum(tf.square(grads[n])))
        .reduce((sum, x) => tf.add(sum, x)),
    );
    norm = Math.sqrt((await squares.data())[0]);
    squares.dispose();
  }
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
    applyAdam(optimizer, clipped);
    if (clipped !== grads) Object.values(clipped).forEach((t) => t.dispose());
  }
  Object.values(grads).forEach((t) => t.dispose());
  let dreamLoss: number | undefined;
  if (keptDream) {
    dreamLoss = (await keptDream.data())[0];
    keptDream.dispose();
  }
  const abduced = lastAbduction && tallyAbduction(run, lastAbduction, pairs);
  if (!keptSymbols) return { loss, finite, symbols, dreamLoss, abduced };
  const stats = symbolStats(await keptSymbols.data());
  keptSymbols.dispose();
  return { loss, finite, symbols: stats, dreamLoss, abduced };
}

/**
 * The rows of the step's inferred tasks that keep the relaxed objective (Eq. 3-6): with
 * `solvedObjective: "imitation"` and the memory, those whose stored program is not imitated
 * (within `imitationThreshold`, as `imitationLoss` decides before this step's update).
 * Undefined when every task keeps it.
 */
function relaxedRows(
  run: RunContext,
  tasks: readonly number[],
): number[] | undefined {
  const { memory, config } = run;
  if (!memory || config.solvedObjective !== "imitation") return undefined;
  return tasks.flatMap((t, k) =>
    memory.programs[t] !== undefined &&
    memory.errors[t] <= config.imitationThreshold
      ? []
      : [k],
  );
}

/**
 * Eq. 4 over the relaxed rows (`relaxedRows`; all when undefined) of y [T, B] and sigma [T],
 * yHat [rows, B], as a mean over all T tasks: the rows left out add 0.
 */
function relaxedReconstruction(
  y: tf.Tensor2D,
  yHat: tf.Tensor2D,
  sigma: tf.Tensor1D,
  rows: readonly number[] | undefined,
): tf.Scalar {
  if (rows === undefined) return reconstructionLoss(y, yHat, sigma);
  if (rows.length === 0) return tf.scalar(0);
  const index = tf.tensor1d(Int32Array.from(rows), "int32");
  return tf.mul(
    reconstructionLoss(tf.gather(y, index), yHat, tf.gather(sigma, index)),
    rows.length / y.shape[0],
  ) as tf.Scalar;
}

/**
 * How many of the step's constrained symbols abduction and g(x) read right (as the nearest
 * alphabet value, against the gold symbols): the log's view of whether g absorbs what abduction
 * knows. Undefined without abduced symbols.
 */
function tallyAbduction(
  run: RunContext,
  { abduced, grounded, alphabet }: Abduction,
  pairs: readonly number[],
): StepResult["abduced"] {
  if (!abduced) return undefined;
  const V = run.train.numInputs;
  const reader = createSymbolReader(run.domain.alphabet);
  let right = 0;
  let grounderRight = 0;
  let agreed = 0;
  let total = 0;
  pairs.forEach((i, b) => {
    for (let j = 0; j < V; j++) {
      const k = b * V + j;
      if (!abduced.constrained[k]) continue;
      const gold = run.domain.alphabet[run.train.classes[i * V + j]];
      total++;
      if (reader.read(abduced.symbols[k]) === gold) right++;
      if (reader.read(grounded[k]) === gold) grounderRight++;
      // Label-free: g's own reading (the value nearest to g(x)) is the abduced one.
      if (nearest(alphabet, grounded[k]) === abduced.indices[k]) agreed++;
    }
  });
  return { right, grounderRight, agreed, total };
}

/**
 * Eq. 4 for the step's tasks with a given program: the program run exactly on the symbols s
 * ([B, V]), so that only the grounder learns from it. yAll: the outputs [inferred + given, B]
 * of the step, the given tasks' rows last.
 */
function givenReconstruction(
  run: RunContext,
  given: readonly number[],
  yAll: tf.Tensor2D,
  s: tf.Tensor2D,
): tf.Scalar {
  const [rows, B] = yAll.shape;
  const y = tf.slice(yAll, [rows - given.length, 0], [given.length, B]);
  const execute = usesFusedInterpreter()
    ? (run.module.executeFused ?? run.module.execute)
    : run.module.execute;
  const yHat = execute(givenParams(run, given), s); // [given, B]
  const sigma = tf.tensor1d(given.map((t) => run.sigma[t]));
  return reconstructionLoss(y as tf.Tensor2D, yHat, sigma);
}

/**
 * This step's programs for each task, from q alone: the argmax of q, the discrete program behind
 * the training sample z (a sample of q: the argmax of a gumbel-perturbed softmax), and
 * `memorySamples` proposals (`rememberPrograms` offers them to the memory).
 */
function proposePrograms(
  run: RunContext,
  memory: ProgramMemory,
  out: ReturnType<typeof forward>,
  tasks: readonly number[],
  step: number,
): unknown[][] {
  const module = run.module as SketchModule<unknown>;
  const candidates: unknown[][] = tasks.map(() => []);
  const add = (programs: unknown[]) =>
    programs.forEach((p, k) => candidates[k].push(p));
  add(module.decode(out.logits));
  add(module.decode(out.z));
  const random = createRng(deriveSeed(run.config.seed, 5_000_011 + step));
  // Samples of q (memorySamples per task), drawn on the host from the step's logits.
  const sampling = createRng(
    deriveSeed(run.config.seed, 7_000_003 + step * 97),
  );
  const samples = Object.fromEntries(
    Object.keys(out.logits)
      .sort()
      .map((name) => {
        const logits = out.logits[name]; // [T, rows, choices]
        const choices = logits.shape[2];
        return [
          name,
          sampleChoices(
            logits.dataSync(),
            choices,
            run.config.memorySamples,
            () => sampling.next(),
          ),
        ];
      }),
  );
  for (let k = 0; k < run.config.memorySamples; k++) {
    // A sample of q, recombined with the stored programs (memory.ts).
    add(
      proposeAround(
        memory,
        module,
        tasks,
        Object.fromEntries(
          Object.entries(samples).map(([name, drawn]) => [name, drawn[k]]),
        ),
        run.config.mutationRate,
        () => random.next(),
      ),
    );
  }
  return candidates;
}

/**
 * Offers the memory this step's programs for each task (`proposePrograms`, and the search's),
 * scored on this step's pairs and scoring symbols (`scoringRows`).
 */
function rememberPrograms(
  run: RunContext,
  memory: ProgramMemory,
  candidates: readonly unknown[][],
  search: () => readonly (unknown | undefined)[] | undefined,
  { symbols, outputs }: ScoringRows,
  tasks: readonly number[],
): void {
  const module = run.module as SketchModule<unknown>;
  // q's candidates first, while the search may still run on the host thread; its program
  // comes last for each task, as if offered with the others.
  const updates = tasks.map((t, k) => {
    const update = beginUpdate(
      memory,
      module,
      t,
      symbols,
      outputs[k],
      run.sigma[t],
    );
    update.offer(candidates[k]);
    return update;
  });
  const found = search();
  updates.forEach((update, k) => {
    const p = found?.[k];
    if (p) update.offer([p]);
    update.finish();
  });
}

/** What the step's candidates are scored on: symbols [B][V] and the tasks' outputs [tasks][B]. */
interface ScoringRows {
  readonly symbols: readonly (readonly number[])[];
  readonly outputs: readonly (readonly number[])[];
}

/**
 * The step's scoring symbols as rows (the abduced ones where some program constrains them, else
 * g(x)) and the tasks' outputs on its pairs.
 */
function scoringRows(
  run: RunContext,
  { grounded, abduced }: Abduction,
  pairs: readonly number[],
  tasks: readonly number[],
): ScoringRows {
  const s = abduced
    ? grounded.map((g, i) => (abduced.constrained[i] ? abduced.symbols[i] : g))
    : grounded;
  const V = run.train.numInputs;
  const N = run.train.numPairs;
  return {
    symbols: pairs.map((_, b) => Array.from(s.subarray(b * V, (b + 1) * V))),
    outputs: tasks.map((t) => pairs.map((i) => run.train.outputs[t * N + i])),
  };
}

/**
 * Starts the memory's enumerative search over the step's scoring symbols (memory.ts; one search
 * serves every task), on the host thread where one runs; the function returned gives each
 * task's program (undefined: none fits), or undefined without a search.
 */
function beginSearch(
  run: RunContext,
  memory: ProgramMemory,
  { symbols, outputs }: ScoringRows,
): () => readonly (unknown | undefined)[] | undefined {
  const searcher = memory.search;
  if (!searcher) return () => undefined;
  const inPlace = () => searcher.find(symbols, outputs);
  const join =
    hostThreadOf(run)?.search(
      {
        symbols,
        outputs,
        maxSize: searcher.maxSize,
        tolerance: searcher.tolerance,
      },
      inPlace,
    ) ?? inPlace;
  return () => join().map((expr) => expr && searcher.place(expr));
}

/**
 * The program memory's part of the objective (memory.ts, beyond the paper), in this order:
 * 1. abduction (`beginAbduction`, with `abduction` > 0 and g in use): the symbols the stored programs
 *    within `abductionThreshold` explain best, for this step's pairs;
 * 2. the step's candidate programs offered to the memory, scored on the abduced symbols where
 *    some program reads them (they pool the evidence of every imitated task), else on g(x);
 * 3. imitation: -log q of the stored programs within `imitationThreshold`, and rehearsal
 *    (`rehearsalLoss`): the same for solved tasks outside the step's batch, by r alone;
 * 4. with g in use, the stored programs within `abductionThreshold` run exactly on g(x)
 *    (Eq. 4), and g's squared gap to the abduced symbols (Eq. 4's scale with sigma = the
 *    alphabet's spacing), or the categorical grounder's cross-entropy on them, over the symbols
 *    some of those programs read (`grounderAbductionLoss`).
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
  abduction: Abduction,
  /** This step's programs from q (`proposePrograms`). */
  proposals: readonly unknown[][],
  /** What they are scored on (`scoringRows`). */
  rows: ScoringRows,
  /** The search's program per task (`beginSearch`). */
  search: () => readonly (unknown | undefined)[] | undefined,
  /** The categorical grounder's logits [B * V, K]. */
  logits: tf.Tensor2D | undefined,
  /** The pairs r reads and their symbols, where they are not the step's (`confidentStepPairs`). */
  read?: StepRead,
): tf.Scalar {
  const { config, model } = run;
  const { grounded } = abduction;
  const evidence = config.abductionThreshold;
  rememberPrograms(run, memory, proposals, search, rows, tasks);

  let loss = tf.mul(
    config.imitation,
    imitationLoss(memory, tasks, out.logits, config.imitationThreshold),
  ) as tf.Scalar;
  const rehearsal = rehearsalLoss(
    {
      ...run,
      memory,
      recognizer: model.recognizer,
      sketch: model.module.sketch,
    },
    read?.symbols ?? grounded,
    read?.pairs ?? pairs,
    tasks,
    step,
  );
  if (rehearsal) loss = tf.add(loss, rehearsal) as tf.Scalar;
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
  const gap = grounderAbductionLoss(run, abduction, out.s, logits);
  return gap ? (tf.add(loss, gap) as tf.Scalar) : loss;
}

/** The rows `rows` of x ([?, width], row-major), in that order. */
function rowsOf(
  x: Float32Array,
  width: number,
  rows: readonly number[],
): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) =>
    out.set(x.subarray(r * width, (r + 1) * width), k * width),
  );
  return out;
}

/**
 * The host thread of the process (runtime/host-thread.ts), for the run's module: one at a time,
 * started by the first abduction of a run and replaced when another run's module asks.
 */
let host: { module: SketchModule; thread: HostThread | undefined } | undefined;
function hostThreadOf(run: RunContext): HostThread | undefined {
  if (host?.module === run.module) return host.thread;
  host?.thread?.close();
  const file = moduleFileOf(
    run.config.sketch,
    path.join(run.config.out, "module"),
  );
  host = {
    module: run.module,
    thread: fs.existsSync(file)
      ? startHostThread(file, crossProductAddon()?.file)
      : undefined,
  };
  return host.thread;
}

/** Stops `run`'s host thread (the run is over; a later step starts another). */
function closeHostThread(run: RunContext): void {
  if (host?.module !== run.module) return;
  host.thread?.close();
  host = undefined;
}

/** This step's abduction: g(x) of the batch, and the abduced symbols when abduction is on. */
interface Abduction {
  /** g(x) [B * V]. */
  readonly grounded: Float32Array;
  readonly abduced?: ReturnType<typeof abduceSymbols>;
  /** The values tried (the alphabet, or the codebook's). */
  readonly alphabet: readonly number[];
}

/**
 * Step 1 of `memoryLosses`: the codebook update and, with `abduction` > 0 and g in use, the
 * symbols that the stored programs within `abductionThreshold` of `tasks` (given programs
 * included: they are stored with error 0) explain best. yAll: [tasks.length, B]. Starts the
 * abduction (on the host thread where one runs, runtime/host-thread.ts) and returns the function
 * that finishes it: the step calls it after r's forward pass and the memory's proposals, which
 * do not read what abduction and the codebook update compute.
 */
function beginAbduction(
  run: RunContext,
  memory: ProgramMemory,
  s: tf.Tensor2D,
  yAll: tf.Tensor2D,
  tasks: readonly number[],
  /** The step's pairs (indices into the training split). */
  pairs: readonly number[],
  /** The categorical grounder's logits [B * V, K]: its probabilities are abduction's prior. */
  logits?: tf.Tensor2D,
): PendingAbduction {
  const { config } = run;
  const module = run.module as SketchModule<unknown>;
  const grounded = s.dataSync() as Float32Array;
  const categorical = run.model.grounderOutput === "categorical";
  if (run.codebook && !run.codebook.initialized)
    updateCodebook(run.codebook, grounded);
  // The categorical grounder's values held for this step (its class k is the k-th).
  const alphabet = categorical
    ? Array.from(run.model.symbolValues)
    : run.codebook
      ? Array.from(run.codebook.values)
      : run.domain.alphabet;
  // Stored programs within `evidence` inform g (abduction, exact runs on g(x)); within
  // `imitationThreshold` they are also imitated by r.
  const evidence = config.abductionThreshold;
  if (!(config.abduction > 0 && !config.oracleSymbols))
    return { join: () => ({ grounded, alphabet }), updateCodebook: () => {} };
  // The evidence: the step's tasks and their outputs, or every training task with a stored
  // program within `evidence` and its outputs on the step's pairs.
  const evidenceTasks =
    config.abductionEvidence === "all"
      ? Array.from({ length: run.train.numTasks }, (_, t) => t).filter(
          (t) =>
            memory.programs[t] !== undefined && memory.errors[t] <= evidence,
        )
      : tasks;
  const B = pairs.length;
  const y =
    config.abductionEvidence === "all"
      ? outputRows(run.train, pairs, evidenceTasks)
      : (yAll.dataSync() as Float32Array);
  // With posterior targets, abduction is Bayes' rule: g's probabilities times the programs'
  // likelihood, so where the programs are silent the target is g's own belief, not its argmax.
  const posterior =
    categorical &&
    logits !== undefined &&
    config.abductionTargets === "posterior";
  // The thread has JavaScript's product and the addon's: another (a test's) keeps it here.
  const active = activeCrossProduct();
  const product =
    active === crossProductJs
      ? "javascript"
      : active === crossProductAddon()?.product
        ? "native"
        : undefined;
  const job: AbductionJob = {
    product: product ?? "javascript",
    tasks: evidenceTasks,
    weights: Float32Array.from(evidenceTasks, (t) =>
      memory.errors[t] <= evidence ? 1 : 0,
    ),
    symbols: grounded,
    y,
    sigma: Float32Array.from(evidenceTasks, (t) => run.sigma[t]),
    alphabet,
    options: {
      ...(posterior
        ? {
            logPrior: tf.tidy(() =>
              tf.logSoftmax(logits).dataSync(),
            ) as Float32Array,
            posterior: true,
          }
        : {}),
      ...(config.abductionWidth === "residual"
        ? { residualWidth: RESIDUAL_WIDTH_FLOOR }
        : {}),
    },
  };
  const inPlace = () => abduceFrom(memory, module, job);
  const join =
    (product && hostThreadOf(run)?.abduce(memory.programs, job, inPlace)) ??
    inPlace;
  let abduced: AbducedSymbols | undefined;
  return {
    join: () => ({ grounded, abduced: (abduced ??= join()), alphabet }),
    updateCodebook: () =>
      followCodebook(run, grounded, abduced!, evidenceTasks, y, B),
  };
}

/** A started abduction (`beginAbduction`). */
interface PendingAbduction {
  /** Waits for abduction's symbols. */
  join(): Abduction;
  /** Then the codebook's update from them (it changes the next step's values, not this one's). */
  updateCodebook(): void;
}

/** The rest of `beginAbduction` once abduction has answered: the codebook's update. */
function followCodebook(
  run: RunContext,
  grounded: Float32Array,
  abduced: AbducedSymbols,
  evidenceTasks: readonly number[],
  y: Float32Array,
  B: number,
): void {
  const { config } = run;
  const memory = run.memory!;
  const module = run.module as SketchModule<unknown>;
  const evidence = config.abductionThreshold;
  const categorical = run.model.grounderOutput === "categorical";
  if (run.codebook) {
    // The codebook follows the outputs of the evidence tasks' programs (codebook.ts).
    const used = evidenceTasks.flatMap((t, k) =>
      memory.errors[t] <= evidence && memory.programs[t] !== undefined
        ? [k]
        : [],
    );
    const usedPrograms = used.map((k) => memory.programs[evidenceTasks[k]]);
    // No k-means for the categorical grounder: its symbols are blends of the values themselves,
    // and following them would only pull the values together.
    updateCodebook(
      run.codebook,
      grounded,
      {
        numInputs: run.train.numInputs,
        programs: usedPrograms.map(
          (p) => (x: readonly number[]) => module.evaluate(p, x),
        ),
        evaluateRows: (u, symbols, out) =>
          evaluateAll(module, usedPrograms[u], symbols, out),
        indices: abduced.indices,
        y: rowsOf(y, B, used),
        sigma: Float32Array.from(used, (k) => run.sigma[evidenceTasks[k]]),
      },
      categorical ? 0 : CODEBOOK_RATE,
      CODEBOOK_FIT_RATE,
      categorical,
    );
    if (categorical && config.codebookSplit) {
      // A value no image is abduced to while another reads two classes: split (codebook.ts).
      trackUsage(run.codebook, abduced.indices, abduced.constrained);
      splitDeadValue(run.codebook);
    }
  }
}

/**
 * Abduction's loss for g, over the abduced symbols some evidence program constrains: `abduction`
 * * the squared gap of s to them (`abductionGap`), or with the categorical grounder (`logits`,
 * [B * V, K]) `abduction` * the cross-entropy of its logits on their indices, which are the
 * indices of its classes (objective.ts `abductionCrossEntropy`).
 */
function grounderAbductionLoss(
  run: RunContext,
  abduction: Abduction,
  s: tf.Tensor2D,
  logits: tf.Tensor2D | undefined,
): tf.Scalar | undefined {
  const { abduced } = abduction;
  if (!abduced) return undefined;
  if (!logits) return abductionGap(run, abduction, s);
  return tf.mul(
    run.config.abduction,
    abduced.posterior
      ? softAbductionCrossEntropy(
          logits,
          abduced.posterior,
          Float32Array.from(abduced.constrained),
        )
      : abductionCrossEntropy(logits, abduced.indices, abduced.constrained),
  ) as tf.Scalar;
}

/** `abduction` * g's squared gap to the abduced symbols it constrains. */
function abductionGap(
  run: RunContext,
  { abduced, alphabet }: Abduction,
  s: tf.Tensor2D,
): tf.Scalar | undefined {
  if (!abduced) return undefined;
  const spacing = alphabetSpacing(alphabet);
  const gap = tf.sub(tf.reshape(s, [-1]), tf.tensor1d(abduced.symbols));
  const mask = tf.tensor1d(Float32Array.from(abduced.constrained));
  const loss = tf.div(
    tf.sum(tf.mul(mask, tf.square(gap))),
    2 * spacing * spacing * abduced.symbols.length,
  );
  return tf.mul(run.config.abduction, loss) as tf.Scalar;
}

/** Steps a program memory gets, from the start or its last restart, before it can be judged locked. */
export const RESTART_PATIENCE_STEPS = 150;
/** The most restarts of one run's memory. */
export const MAX_MEMORY_RESTARTS = 2;

/**
 * Whether the program memory is locked (`TrainConfig.memoryRestart`): it filled with programs
 * that fit the outputs on symbols abduced through those same programs, and g, which reads the
 * images, disagrees with them. agreement: the epoch's `abductionAgreement` (undefined: no
 * abduction this epoch); stepsDone: the steps trained so far; threshold: 0 never restarts.
 */
export function lockedMemory(
  memory: ProgramMemory,
  agreement: number | undefined,
  stepsDone: number,
  threshold: number,
): boolean {
  return (
    threshold > 0 &&
    agreement !== undefined &&
    agreement < threshold &&
    memory.restarts < MAX_MEMORY_RESTARTS &&
    stepsDone - memory.restartStep >= RESTART_PATIENCE_STEPS
  );
}

/**
 * Forgets every stored program but the given ones, which are exact (`lockedMemory`), and sets
 * back the codebook's values thrown far off the symbols' range (`resetStrayValues`); returns how
 * many values were set back.
 */
function restartMemory(
  run: RunContext,
  memory: ProgramMemory,
  stepsDone: number,
): number {
  clearMemory(memory, stepsDone);
  run.given.forEach(
    (g, t) => g && storeProgram(memory, run.module, t, g.program, 0),
  );
  if (!run.codebook) return 0;
  const { low, high } = run.symbolRange;
  // The next step's `holdSymbolValues` hands the categorical grounder the values set back.
  return resetStrayValues(
    run.codebook,
    low,
    high,
    run.model.grounderOutput === "categorical",
  );
}

/**
 * Sets the categorical grounder's K symbol values for the next step or evaluation: the
 * codebook's (value k is class k's, in the order they started: ascending unless a split moved
 * one) or the alphabet's, sorted ascending, so class k is the k-th value.
 * Held in the model, they stay the same through the step while abduction refits the codebook.
 */
export function holdSymbolValues(run: RunContext): void {
  if (run.model.grounderOutput !== "categorical") return;
  const values = run.codebook
    ? run.codebook.values
    : [...run.domain.alphabet].sort((a, b) => a - b);
  run.model.symbolValues.set(values);
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
  /**
   * The argmax of q per task (the paper's decoding; a given task's given program) and whether it
   * solves the task.
   */
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
 * The test pairs r reads (`config.inferencePairs`): with `confident` and the categorical
 * grounder, the B of the `pairs` inference pairs g is surest of; else undefined (all of them).
 */
async function inferenceReadOf(
  run: RunContext,
  pairs: number,
): Promise<number[] | undefined> {
  const { config } = run;
  if (config.inferencePairs !== "confident" || config.oracleSymbols)
    return undefined;
  const confidence = await pairConfidence(
    run.model,
    run.test,
    Math.min(512, grounderChunkOf(config)),
  );
  return confidence && confidentPairs(confidence, pairs, config.batch);
}

/**
 * 3. Evaluation on the test split (metrics.ts): amortized inference from each task's own
 * inference pairs; the paper's metric on the argmax; the found programs (argmax, samples of q,
 * the stored program) chosen on g(x) of those pairs; the held-out tasks; and only with
 * `transductiveEval` the candidates scored on abduced symbols.
 */
export async function evaluateRun(run: RunContext): Promise<Evaluation> {
  const { config, test } = run;
  const module = run.module as SketchModule<unknown>;
  holdSymbolValues(run);
  const grounded = config.oracleSymbols
    ? test.symbols
    : await groundSplit(
        run.model,
        test,
        Math.min(512, grounderChunkOf(run.config)),
      );
  const pairs = inferencePairsOf(run);
  // Inference for the tasks without a given program, on their rows of the test split.
  const ids = run.inferred;
  const own = selectTasks(test, ids);
  if (run.model.outputMlp) return evaluateOutputMlp(run, grounded);
  const readPairs = await inferenceReadOf(run, pairs);
  const inferred = await inferPrograms<unknown>(
    run.model,
    grounded,
    own,
    pairs,
    {
      samples: config.decodeSamples,
      seed: config.seed,
      taskIds: ids,
      read: readPairs,
    },
  );
  const stored = run.memory?.programs;
  const candidates = inferred.argmax.map((p, k) => [
    p,
    ...inferred.samples[k],
    stored?.[ids[k]],
  ]);
  const found = pickBest(module, candidates, grounded, own, pairs);
  // Per task of the run: the given program where there is one.
  const everyTask = (programs: readonly unknown[]): unknown[] => {
    const all = run.given.map((g) => g?.program);
    ids.forEach((t, k) => (all[t] = programs[k]));
    return all;
  };
  const argmax = everyTask(inferred.argmax);
  const argmaxSolved = solvedTasks(module, argmax, test);
  const foundAll = everyTask(found);
  const foundSolved = solvedTasks(module, foundAll, test);
  const isInferred = run.given.map((g) => g === undefined);
  const lengths = inferred.argmax.reduce<number>(
    (n, p) => n + module.length(p),
    0,
  );
  // The categorical grounder reads as its most probable class; the others as g(x).
  const categorical =
    run.model.grounderOutput === "categorical" && !config.oracleSymbols;
  const read = categorical
    ? await readSplit(
        run.model,
        test,
        Math.min(512, grounderChunkOf(run.config)),
      )
    : grounded;
  let metrics: Metrics = {
    ...computeMetrics(module, argmax, grounded, test, read),
    groundingConfusion: groundingConfusion(read, test),
    ...(categorical
      ? {
          expectedGroundingAccuracy: computeMetrics(
            module,
            [],
            grounded,
            selectTasks(test, []),
          ).groundingAccuracy,
        }
      : {}),
    // The program counts and length are of the inferred tasks; the losses of every task.
    programSuccess: countSolved(argmaxSolved, isInferred),
    meanProgramLength: ids.length === 0 ? 0 : lengths / ids.length,
    foundProgramSuccess: countSolved(foundSolved, isInferred),
  };
  if (stored) {
    const alone = stored.map((p, t) => p ?? argmax[t]);
    metrics = {
      ...metrics,
      memoryProgramSuccess: countSolved(
        solvedTasks(module, alone, test),
        isInferred,
      ),
    };
  }
  const heldOut = await evaluateHeldOut(run, grounded, pairs, readPairs);
  if (heldOut) metrics = { ...metrics, heldOutProgramSuccess: heldOut };
  const abduced = config.transductiveEval
    ? abduceInferencePairs(run, grounded, pairs)
    : undefined;
  if (abduced) {
    const chosen = pickBest(module, candidates, abduced, own, pairs);
    metrics = {
      ...metrics,
      transductiveProgramSuccess: countSolved(solvedTasks(module, chosen, own)),
    };
  }
  return { metrics, argmax, argmaxSolved, found: foundAll, foundSolved };
}

/**
 * The CNN+MLP baseline's metrics: no program, so no task is solved (programSuccess 0 by
 * definition); the symbolic loss and grounding accuracy of g; the test loss of MLP(g(x)).
 */
function evaluateOutputMlp(
  run: RunContext,
  grounded: Float32Array,
): Evaluation {
  const { test } = run;
  const mlp = run.model.outputMlp!;
  const V = test.numInputs;
  const N = test.numPairs;
  const g = computeMetrics(
    run.module as SketchModule<unknown>,
    [],
    grounded,
    selectTasks(test, []),
  );
  let sum = 0;
  const taskChunk = 50;
  for (let t0 = 0; t0 < run.tasks.length; t0 += taskChunk) {
    const ids = run.tasks.slice(t0, t0 + taskChunk).map((_, k) => t0 + k);
    const yHat = tf.tidy(() =>
      mlp.call(tf.tensor2d(grounded, [N, V]), ids).dataSync(),
    ); // [ids, N]
    ids.forEach((t, k) => {
      for (let i = 0; i < N; i++) {
        const d = yHat[k * N + i] - test.outputs[t * N + i];
        sum += Number.isFinite(d) ? d * d : 1e12;
      }
    });
  }
  const none = countSolved(run.tasks.map(() => false));
  return {
    metrics: {
      ...g,
      programSuccess: none,
      foundProgramSuccess: none,
      testLoss: run.tasks.length === 0 ? 0 : sum / (run.tasks.length * N),
      meanProgramLength: 0,
    },
    argmax: [],
    argmaxSolved: run.tasks.map(() => false),
    found: [],
    foundSolved: run.tasks.map(() => false),
  };
}

/**
 * Sec. 4.3's generalization loss of a run (generalization.ts): the new tasks' pairs grounded by g
 * (the gold symbols with `oracleSymbols`); a program synthesized on the small-symbol pairs, or for
 * the CNN+MLP baseline a new MLP fitted on them, tested on the large-symbol pairs.
 */
export async function evaluateGeneralization(
  run: RunContext,
): Promise<GeneralizationReport | undefined> {
  const data = run.generalization;
  if (!data) return undefined;
  holdSymbolValues(run);
  const grounded = run.config.oracleSymbols
    ? data.split.symbols
    : await groundSplit(
        run.model,
        data.split,
        Math.min(512, grounderChunkOf(run.config)),
      );
  const fit = run.model.outputMlp
    ? (r: Parameters<Parameters<typeof generalizationLoss>[2]>[0]) => ({
        predictions: fitAndPredict({
          train: r.train.s,
          y: r.train.y,
          test: r.test.s,
          hidden: run.config.recognizerHidden,
          seed: run.config.seed,
        }),
      })
    : synthesisFit(languageOf(run.module), run.config.maxOps);
  return generalizationLoss(data, grounded, fit);
}

/**
 * Runs `fn` on the weights evaluation reads: the average of the trained ones with
 * `config.weightAverage` > 0 (weight-average.ts), else the last step's.
 */
export function evaluateWith<T>(
  run: RunContext,
  fn: () => Promise<T>,
): Promise<T> {
  return run.average ? run.average.evaluate(fn) : fn();
}

/** Which weights `evaluateWith` reads, in words (metrics.json `"weights"`, the metrics table). */
export function weightsOf(run: RunContext): string {
  return run.average ? `average (decay ${run.average.decay})` : "last step's";
}

/** `evaluateRun` on the weights evaluation reads (`evaluateWith`). */
export function evaluateTrained(run: RunContext): Promise<Evaluation> {
  return evaluateWith(run, () => evaluateRun(run));
}

/** The metrics with the generalization loss added (when the run has new tasks). */
export async function withGeneralization(
  run: RunContext,
  metrics: Metrics,
): Promise<Metrics> {
  const report = await evaluateGeneralization(run);
  return report
    ? { ...metrics, generalizationLoss: report.loss, generalization: report }
    : metrics;
}

/**
 * Amortized inference on the held-out tasks: the same test images (so the same g(x)), the
 * held-out tasks' own outputs; the argmax and the best of it and the samples of q.
 */
async function evaluateHeldOut(
  run: RunContext,
  grounded: Float32Array,
  pairs: number,
  /** The pairs r reads (`inferenceReadOf`: the held-out tasks share the test images). */
  read: readonly number[] | undefined,
): Promise<HeldOutSuccess | undefined> {
  if (!run.heldOut) return undefined;
  const { tasks, test } = run.heldOut;
  const module = run.module as SketchModule<unknown>;
  const inferred = await inferPrograms<unknown>(
    run.model,
    grounded,
    test,
    pairs,
    {
      samples: run.config.decodeSamples,
      seed: deriveSeed(run.config.seed, HELD_OUT_STREAM),
      read,
    },
  );
  const sampled = pickBest(
    module,
    inferred.argmax.map((p, t) => [p, ...inferred.samples[t]]),
    grounded,
    test,
    pairs,
  );
  const argmaxSolved = solvedTasks(module, inferred.argmax, test);
  const sampledSolved = solvedTasks(module, sampled, test);
  const ops = [
    ...new Set(
      tasks.flatMap((t) => (t.numOps === undefined ? [] : [t.numOps])),
    ),
  ].sort((a, b) => a - b);
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
    perTask: tasks.map((t, k) => ({
      task: t.text,
      numOps: t.numOps ?? null,
      argmax: argmaxSolved[k],
      sampled: sampledSolved[k],
    })),
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
    run.domain.alphabet,
  );
  return s.map((g, i) => (abduced.constrained[i] ? abduced.symbols[i] : g));
}

/** Model and optimizer state as named arrays, for checkpoints. */
async function saveTensors(run: RunContext): Promise<NamedArray[]> {
  const snap = await run.model.save();
  return [
    ...snapshotToArrays("grounder", snap.grounder),
    ...snapshotToArrays("recognizer", snap.recognizer),
    ...(await optimizerToArrays(run.optimizer)),
    ...(run.memory ? memoryToArrays(run.memory) : []),
    ...(run.codebook ? codebookToArrays(run.codebook) : []),
    ...(run.average ? await run.average.toArrays() : []),
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
  await loadOptimizer(run.optimizer, arrays);
  // A checkpoint of a run without the average starts it at the loaded weights.
  run.average?.load(arrays);
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

/**
 * Loads the run folder's newest complete checkpoint into `run` (the previous one when the newest is
 * damaged, with a warning); returns the epochs done and time spent, or undefined when there is none.
 */
export async function resumeRun(
  run: RunContext,
  /** The checkpoint when the caller has read it already (`evaluateSaved`). */
  loaded: LoadedCheckpoint<RunState> | undefined = loadCheckpoint<RunState>(
    path.join(run.config.out, CHECKPOINT_FILE),
  ),
): Promise<
  { epoch: number; wallSeconds: number; warning?: string } | undefined
> {
  if (!loaded) return undefined;
  try {
    await loadTensors(run, loaded.checkpoint.tensors);
  } catch (e) {
    throw new RunError(
      `${loaded.file}: cannot resume: ${(e as Error).message}. The checkpoint was written by a ` +
        `different configuration (sketch, nets or sizes); pass --fresh or another --out.`,
    );
  }
  const { epoch, wallSeconds } = loaded.checkpoint.state;
  return { epoch, wallSeconds, warning: loaded.warning };
}

/**
 * The settings that choose a run's data and tasks, with their flags: resuming a checkpoint under
 * others would train its nets and memory on another run's tasks without a word (another --seed
 * draws other formulas; the shapes still fit). Schedules, weights of losses and the like may
 * change on resume (e.g. more --epochs); a moved dataset may be named anew with --data.
 */
const RUN_IDENTITY: readonly (readonly [keyof TrainConfig, string])[] = [
  ["seed", "--seed"],
  ["domain", "--domain"],
  ["taskFile", "--task-file"],
  ["maxOps", "--max-ops"],
  ["symbols", "--symbols"],
  ["tasks", "--tasks"],
  ["trainPairs", "--train-pairs"],
  ["testPairs", "--test-pairs"],
  ["heldOutTasks", "--held-out-tasks"],
];

/**
 * Where a checkpoint's config and a resuming command's differ in `RUN_IDENTITY`, as flags
 * (`--seed 1` against `--seed 0`), or undefined. A setting the checkpoint lacks is undefined
 * there when the run's default is (no --task-file), and not compared when it has a default
 * (a checkpoint from before the setting existed).
 */
export function resumeClash(
  saved: Partial<TrainConfig>,
  requested: TrainConfig,
): { saved: string; requested: string } | undefined {
  const show = (flag: string, value: unknown) =>
    value === undefined
      ? `no ${flag}`
      : `${flag} ${Array.isArray(value) ? value.join(",") : String(value)}`;
  // A task file named by another spelling of the same path is the same file.
  const same = (key: keyof TrainConfig, a: unknown, b: unknown) =>
    key === "taskFile" && typeof a === "string" && typeof b === "string"
      ? path.resolve(a) === path.resolve(b)
      : JSON.stringify(a) === JSON.stringify(b);
  const differ = RUN_IDENTITY.filter(
    ([key]) =>
      (key in saved ||
        DEFAULT_CONFIG[key as keyof typeof DEFAULT_CONFIG] === undefined) &&
      !same(key, saved[key], requested[key]),
  );
  if (differ.length === 0) return undefined;
  return {
    saved: differ.map(([key, flag]) => show(flag, saved[key])).join(" "),
    requested: differ
      .map(([key, flag]) => show(flag, requested[key]))
      .join(" "),
  };
}

/** The files of a run folder that a fresh run replaces. */
export const RUN_FILES = [
  CHECKPOINT_FILE,
  previousCheckpointFile(CHECKPOINT_FILE),
  "log.jsonl",
  "metrics.json",
  "programs.txt",
  // Written by `sketchc train` after the metrics (cli/experiments/report.ts).
  "report.html",
  "report.md",
  "results.json",
] as const;

/** Removes a run folder's files (`--fresh`), leaving anything else in the folder alone. */
export function clearRun(out: string): void {
  for (const f of RUN_FILES) fs.rmSync(path.join(out, f), { force: true });
}

/**
 * Keeps the records of log.jsonl up to `epoch` (the checkpoint's): a run killed after logging an
 * epoch but before its checkpoint logs that epoch again when it resumes, so the log of a resumed
 * run equals the uninterrupted one. A line cut short by the kill is dropped with the rest.
 */
function trimLog(out: string, epoch: number): void {
  const file = path.join(out, "log.jsonl");
  if (!fs.existsSync(file)) return;
  const kept: string[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    let record: { epoch?: unknown };
    try {
      record = JSON.parse(line);
    } catch {
      break;
    }
    if (typeof record.epoch !== "number" || record.epoch > epoch) break;
    kept.push(line + "\n");
  }
  writeFileAtomic(file, kept.join(""));
}

function appendLog(out: string, record: object): void {
  appendToFile(path.join(out, "log.jsonl"), JSON.stringify(record) + "\n");
}

/**
 * programs.txt: per task, the gold formula (or the data's origin), the argmax program (the
 * paper's) and, where it differs, the found one, each with whether it solves the task; a given
 * task's given program.
 */
export function formatPrograms(
  run: RunContext,
  evaluation: Evaluation,
): string {
  const m = run.module as SketchModule<unknown>;
  if (run.model.outputMlp)
    return `# the CNN+MLP baseline (w/o program, ${run.model.outputMlp.variant}): y = MLP(s), no programs\n`;
  const mark = (solved: boolean) => (solved ? "solved" : "not solved");
  return run.tasks
    .map((task, t) => {
      const a = evaluation.argmax[t];
      const f = evaluation.found[t];
      if (run.given[t])
        return [
          `# task ${t + 1}: given y = ${task.text}  [not inferred, ${mark(evaluation.argmaxSolved[t])}]`,
          `given y = ${m.formula(a)}  (length ${m.length(a)})`,
          m.format(a),
          "",
        ].join("\n");
      const gold = task.data ? `data ${task.text}` : `gold y = ${task.text}`;
      const lines = [
        `# task ${t + 1}: ${gold}  [argmax ${mark(evaluation.argmaxSolved[t])}, found ${mark(evaluation.foundSolved[t])}]`,
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

/** `1 task`, `3 tasks`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** What a run trains on: its domain, V, C, the alphabet and the task counts (for metrics.json). */
export function describeTasks(run: RunContext): {
  domain: string;
  numInputs: number;
  numClasses: number;
  alphabet: readonly number[];
  poolSize: number;
  taskCount: number;
  givenTaskCount: number;
  heldOutTaskCount: number;
} {
  return {
    domain: run.domain.name,
    numInputs: run.train.numInputs,
    numClasses: run.numClasses,
    alphabet: run.domain.alphabet,
    poolSize: run.domain.poolSize,
    taskCount: run.tasks.length,
    givenTaskCount: run.tasks.length - run.inferred.length,
    heldOutTaskCount: run.heldOut?.tasks.length ?? 0,
  };
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
    expectedGroundingAccuracy: m.expectedGroundingAccuracy,
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

/** The outermost of `dir` and its ancestors that does not exist: what `mkdir -p dir` makes. */
function outermostMissing(dir: string): string | undefined {
  let missing: string | undefined;
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing = d;
    if (path.dirname(d) === d) break;
  }
  return missing;
}

/** Pretraining of g's features (pretrain.ts) on the training split's images, logged. */
function pretrain(run: RunContext, progress: Progress): void {
  const { train, config } = run;
  const t0 = performance.now();
  const losses = pretrainGrounder(run.model.grounder, {
    images: train.images,
    count: train.numPairs * train.numInputs,
    height: train.height,
    width: train.width,
    channels: train.channels,
    steps: config.pretrainSteps,
    batch: PRETRAIN_BATCH,
    clusters: run.numClasses,
    learningRate: config.learningRate,
    seed: config.seed,
  });
  const seconds = (performance.now() - t0) / 1000;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 10));
  const last = mean(losses.slice(-10));
  progress.line(
    `pretrained g: ${config.pretrainSteps} IIC steps, loss ${first.toFixed(3)} -> ${last.toFixed(3)} (-log K = ${(-Math.log(run.numClasses)).toFixed(3)}), ${seconds.toFixed(0)} s`,
  );
  appendLog(config.out, {
    epoch: 0,
    pretrainSteps: config.pretrainSteps,
    pretrainLoss: losses.filter(
      (_, i) => i % 10 === 0 || i === losses.length - 1,
    ),
    wallSeconds: seconds,
  });
}

/** Images per pretraining step (each in two views): IIC's joint needs a full batch per cluster. */
const PRETRAIN_BATCH = 256;

/** Trains a sketch end to end and writes the run folder. The library entry point. */
export async function train(
  requested: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const progress = options.progress ?? createProgress();
  const backend = await selectBackend(requested.backend);
  // A checkpoint to resume, checked before the run is built: it must be this run's.
  const saved =
    options.resume === false
      ? undefined
      : loadCheckpoint<RunState>(path.join(requested.out, CHECKPOINT_FILE));
  const clash = saved && resumeClash(saved.checkpoint.state.config, requested);
  if (saved && clash)
    throw new RunError(
      `${saved.file}: this run was trained with ${clash.saved}; the command says ${clash.requested}. ` +
        `Resume it with the run's settings, or pass --fresh (or another --out) to start over.`,
    );
  // A run that cannot start (a bad dataset or task file) leaves behind no folder it made.
  const made = outermostMissing(path.join(requested.out, "module"));
  makeFolder(requested.out);
  let run: RunContext;
  try {
    run = await createRun(requested);
  } catch (e) {
    if (made !== undefined) fs.rmSync(made, { recursive: true, force: true });
    throw e;
  }
  const { config } = run;
  const knowledge = knowledgeOf(config, {
    givenPrograms: run.inferred.length < run.tasks.length,
    dreams: run.dreams !== undefined,
  });
  const summary = describeTasks(run);
  progress.line(
    `sketchc train: ${config.sketch} on ${run.datasetName}, ${plural(run.tasks.length, "task")}` +
      ` (${run.heldOut?.tasks.length ?? 0} held out), preset ${config.preset}, backend ${backend.description}`,
  );
  progress.line(
    `tasks: domain ${summary.domain} (${run.domain.description}); V = ${summary.numInputs} symbols, C = ${summary.numClasses} classes, alphabet ${describeAlphabet(summary.alphabet)}; ${plural(summary.taskCount, "training task")} (${summary.givenTaskCount} given), ${summary.heldOutTaskCount} held out`,
  );
  for (const note of run.notes) progress.line(`note: ${note}`);
  progress.line(
    `knowledge beyond images and training outputs: ${knowledge.length > 0 ? knowledge.join(", ") : "none"}`,
  );
  let startEpoch = 0;
  let spent = 0;
  removeStaleTemps(config.out);
  if (options.resume === false) clearRun(config.out);
  const resumed = await resumeRun(run, saved);
  if (resumed) {
    if (resumed.warning) progress.warn(resumed.warning);
    startEpoch = resumed.epoch;
    spent = resumed.wallSeconds;
    progress.line(
      `resumed from ${path.join(config.out, CHECKPOINT_FILE)} after epoch ${startEpoch}`,
    );
  }
  trimLog(config.out, startEpoch);
  const started = performance.now();
  if (!resumed && config.pretrainSteps > 0) pretrain(run, progress);
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
    let dreamSum = 0;
    let dreamCount = 0;
    const symbolMean: number[] = [];
    const symbolStd: number[] = [];
    const tally = { right: 0, grounderRight: 0, agreed: 0, total: 0 };
    for (let i = 0; i < config.stepsPerEpoch; i++) {
      const step = epoch * config.stepsPerEpoch + i;
      killpoint("step");
      const r = await trainStep(run, epoch, step);
      run.average?.update(step);
      symbolMean.push(Number(r.symbols.mean.toPrecision(4)));
      symbolStd.push(Number(r.symbols.std.toPrecision(4)));
      if (r.abduced) {
        tally.right += r.abduced.right;
        tally.grounderRight += r.abduced.grounderRight;
        tally.agreed += r.abduced.agreed;
        tally.total += r.abduced.total;
      }
      if (r.finite) {
        lossSum += r.loss;
        lossCount++;
        skipped = 0;
        if (r.dreamLoss !== undefined) {
          dreamSum += r.dreamLoss;
          dreamCount++;
        }
      } else {
        skipped++;
        progress.warn(
          `step ${step}: the loss or a gradient is NaN/Inf; the update was skipped`,
        );
        if (skipped >= 3) {
          // Recover from the last checkpoint (the paper lost runs to overflow).
          const back = await resumeRun(run);
          if (back?.warning) progress.warn(back.warning);
          progress.warn(
            back
              ? `${skipped} non-finite steps in a row in epoch ${epoch + 1}: restored the checkpoint of epoch ${back.epoch}`
              : `${skipped} non-finite steps in a row in epoch ${epoch + 1}, and no checkpoint yet to restore: going on`,
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
      // null when every step of the epoch was skipped: there is no loss to average.
      loss: lossCount > 0 ? lossSum / lossCount : null,
      skippedSteps: config.stepsPerEpoch - lossCount,
      // The batch mean and standard deviation of s at each step of the epoch.
      symbolMean,
      symbolStd,
      wallSeconds: elapsed(),
    };
    // Of the epoch's constrained symbols, the share abduction and g(x) read right.
    if (tally.total > 0) {
      record.abducedAccuracy = tally.right / tally.total;
      record.batchGroundingAccuracy = tally.grounderRight / tally.total;
      // Without labels: how often g's own reading is the abduced one. Runs whose memory locked
      // into programs that fit misread symbols stay low here (docs/results.md, "Seeds").
      record.abductionAgreement = tally.agreed / tally.total;
    }
    // The mean dream loss (-log q per dream task, before --dream-weight) of the epoch's steps.
    if (run.dreams)
      record.dreamLoss = dreamCount > 0 ? dreamSum / dreamCount : null;
    const stepsDone = (epoch + 1) * config.stepsPerEpoch;
    let restart = false;
    if (run.memory) {
      // Tasks whose stored program explains this epoch's last batch (the ones being imitated).
      record.remembered = run.memory.errors.filter(
        (e) => e <= config.imitationThreshold,
      ).length;
      restart = lockedMemory(
        run.memory,
        record.abductionAgreement as number | undefined,
        stepsDone,
        config.memoryRestart,
      );
      // Restarts so far, this epoch's included (it happens after the epoch's evaluation).
      record.memoryRestarts = run.memory.restarts + (restart ? 1 : 0);
    }
    // Dead symbol values moved so far (codebook.ts `splitDeadValue`), and the values now.
    if (run.codebook && run.model.grounderOutput === "categorical") {
      record.codebookSplits = run.codebook.splits;
      record.symbolValues = Array.from(run.codebook.values, (v) =>
        Number(v.toFixed(4)),
      );
    }
    const isLast = epoch + 1 === config.epochs;
    const evaluated = isLast || (epoch + 1) % config.evalEvery === 0;
    let live: Metrics | undefined;
    if (evaluated) {
      killpoint("evaluate");
      evaluation = await evaluateTrained(run);
      Object.assign(record, logMetrics(evaluation.metrics));
      // With the average, the last step's weights too: what the average changes, step by step.
      if (run.average) {
        live = (await evaluateRun(run)).metrics;
        record.liveWeights = logMetrics(live);
      }
    }
    appendLog(config.out, record);
    killpoint("epoch-logged");
    progress.line(
      `epoch ${epoch + 1}/${config.epochs}  loss ${record.loss === null ? "none (every step skipped)" : (record.loss as number).toFixed(4)}` +
        (evaluated && evaluation
          ? `  ${describeMetrics(evaluation.metrics)}`
          : "") +
        (evaluated && live
          ? `  (last step's weights: solved ${live.programSuccess.count}, held-out ${live.heldOutProgramSuccess?.argmax.count ?? "-"})`
          : "") +
        `  ${elapsed().toFixed(0)} s`,
    );
    // The restart tests throw a codebook value off the range (`resetStrayValues`).
    if (run.codebook && failpoint("nan", `codebook-${epoch + 1}`))
      run.codebook.values[0] = NaN;
    if (restart && run.memory) {
      const reset = restartMemory(run, run.memory, stepsDone);
      progress.line(
        `epoch ${epoch + 1}: g's reading agrees with the abduced symbols on ` +
          `${(100 * (record.abductionAgreement as number)).toFixed(0)}% of them (under ` +
          `--memory-restart ${config.memoryRestart}): the program memory starts again ` +
          `(restart ${run.memory.restarts} of at most ${MAX_MEMORY_RESTARTS})` +
          (reset > 0
            ? `; ${plural(reset, "symbol value")} far off the symbols' range set back to ${reset === 1 ? "its" : "their"} start`
            : ""),
      );
    }
    await saveRun(run, epoch + 1, elapsed());
  }
  if (!evaluation || lastEpoch !== config.epochs)
    evaluation = await evaluateTrained(run);
  const metrics = await evaluateWith(run, () =>
    withGeneralization(run, evaluation!.metrics),
  );
  const wallSeconds = elapsed();
  let referenceAccuracy: number | undefined;
  let referenceSymbolicLoss: number | undefined;
  let referenceSymbolAccuracy: number | undefined;
  if (config.reference) {
    progress.line(
      "training the supervised reference grounder on the labels...",
    );
    const classifier = trainSupervisedReference(config, run.train, run.test);
    referenceAccuracy = classifier.accuracy;
    referenceSymbolicLoss = classifier.symbolicLoss;
    referenceSymbolAccuracy = trainSupervisedReference(
      config,
      run.train,
      run.test,
      "symbols",
    ).accuracy;
  }
  const result: TrainResult = {
    metrics,
    knowledge,
    weights: weightsOf(run),
    wallSeconds,
    backend: backend.name,
    epochs: lastEpoch,
    referenceAccuracy,
    referenceSymbolicLoss,
    referenceSymbolAccuracy,
  };
  writeFileAtomic(
    path.join(config.out, "metrics.json"),
    JSON.stringify(
      {
        ...metrics,
        knowledge,
        weights: result.weights,
        referenceAccuracy,
        referenceSymbolicLoss,
        referenceSymbolAccuracy,
        wallSeconds: result.wallSeconds,
        backend: backend.description,
        // Whether abduction and the memory's search run beside the nets (host-thread.ts).
        hostThread: hostThreadEnabled(),
        epochs: lastEpoch,
        dataset: run.datasetName,
        ...describeTasks(run),
        heldOutTasks: run.heldOut?.tasks.map((t) => t.text) ?? [],
        // Per task: its gold program's operators and whether the argmax solves it (Fig. 5).
        perTask: run.tasks.map((t, k) => ({
          task: t.text,
          numOps: t.numOps ?? null,
          solved: evaluation.argmaxSolved[k],
        })),
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
  closeHostThread(run);
  run.model.dispose();
  run.average?.dispose();
  run.optimizer.dispose();
  return result;
}
