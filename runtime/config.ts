// Every knob of a training run, with the defaults for this 2-core CPU. Each default says where
// it comes from: the paper (Sec. 4.1) or a measurement here (docs/results.md).

import type { BackendName } from "./backend.js";
import type { CnnMlpVariant } from "./nets/baselines.js";

/** A named set of defaults: `cpu` (this machine, with additions beyond the paper) or `paper`. */
export type PresetName = "cpu" | "paper";

/** How the grounder's raw output becomes a symbol (model.ts `symbolsOf`). */
export type GrounderOutput = "sigmoid" | "linear" | "categorical";

/** The grounder outputs, for the CLI. */
export const GROUNDER_OUTPUTS: readonly GrounderOutput[] = [
  "sigmoid",
  "linear",
  "categorical",
];

/** The values abduction tries for a symbol (memory.ts `abduceSymbols`). */
export type AbductionAlphabet = "gold" | "codebook";

/**
 * The categorical grounder's abduction targets: `posterior`, abduction's marginals with g's own
 * probabilities as the prior (soft); `hard`, the best tuple's values with the distance to the
 * expected g(x) as the prior.
 */
export type AbductionTargets = "posterior" | "hard";
export const ABDUCTION_TARGETS: readonly AbductionTargets[] = [
  "posterior",
  "hard",
];
/**
 * The width of abduction's Gaussian likelihood per evidence task: `spread`, the task's output
 * spread sigma_t (Eq. 4's); `residual`, the residual of its stored program on the symbols a first
 * pass abduces, floored at a tenth of sigma_t (memory.ts `abduceSymbols`).
 */
export type AbductionWidth = "spread" | "residual";
export const ABDUCTION_WIDTHS: readonly AbductionWidth[] = [
  "spread",
  "residual",
];

/**
 * Whose stored programs abduction pools: `batch`, the step's tasks'; `all`, every training
 * task's within the evidence threshold (their outputs on the step's pairs are training data).
 */
export type AbductionEvidence = "batch" | "all";
export const ABDUCTION_EVIDENCE: readonly AbductionEvidence[] = [
  "batch",
  "all",
];

/**
 * The pairs r reads at evaluation (`TrainConfig.inferencePairs`): `all`, the 2B inference
 * pairs; `confident`, the B of them that the categorical grounder is surest of.
 */
export type InferencePairs = "all" | "confident";
export const INFERENCE_PAIRS: readonly InferencePairs[] = ["all", "confident"];

/**
 * The pairs of a training step (`TrainConfig.stepPairs`): `random`, B drawn at random;
 * `confident`, the B of 2B drawn that the categorical grounder is surest of.
 */
export type StepPairs = "random" | "confident";
export const STEP_PAIRS: readonly StepPairs[] = ["random", "confident"];

/** What learns the outputs (Table 1's rows): ROAP, or a baseline (nets/baselines.ts). */
export type ModelName = "roap" | "cnn-mlp" | "no-amortization";

export const MODEL_NAMES: readonly ModelName[] = [
  "roap",
  "cnn-mlp",
  "no-amortization",
];

/** Where the tasks come from (domains/): the paper's, the sketch's own language, a task file. */
export type DomainName = "arith" | "enumerate" | "file";

/** The domain names, for the CLI. */
export const DOMAIN_NAMES: readonly DomainName[] = [
  "arith",
  "enumerate",
  "file",
];

/** How the program memory stores a program (`TrainConfig.memoryLayout`). */
export type MemoryLayout = "canonical" | "found";
export const MEMORY_LAYOUTS: readonly MemoryLayout[] = ["canonical", "found"];

/** How r's targets order a symmetric operator's arguments (`TrainConfig.targetArgOrder`). */
export type TargetArgOrder = "sorted" | "stored";
export const TARGET_ARG_ORDERS: readonly TargetArgOrder[] = [
  "sorted",
  "stored",
];

/**
 * What trains r on a task whose stored program is imitated (`TrainConfig.solvedObjective`):
 * `both`, the relaxed objective of Eq. 3-6 and the imitation loss; `imitation`, the imitation
 * loss alone (memoised wake-sleep's MAP update).
 */
export type SolvedObjective = "both" | "imitation";
export const SOLVED_OBJECTIVES: readonly SolvedObjective[] = [
  "both",
  "imitation",
];

export interface TrainConfig {
  /** The preset the defaults came from (recorded; flags given override it). */
  readonly preset: PresetName;
  /** The .sketch file to train. */
  readonly sketch: string;
  /** Image dataset folder (IDX or CIFAR-10 binary); undefined: Debian's Fashion-MNIST, else the committed sample. */
  readonly data: string | undefined;
  /** Where metrics.json, programs.txt, log.jsonl, checkpoint.json and the compiled module go. */
  readonly out: string;
  readonly seed: number;
  readonly backend: BackendName;
  /**
   * `roap`; `cnn-mlp`, "w/o program": y = MLP(s) per task (Table 1); `no-amortization`, "w/o
   * amortized inference": each task's program logits are free parameters, no recognizer.
   */
  readonly model: ModelName;
  /** The CNN+MLP variant: one MLP per task, or one shared MLP on [s; one-hot(task)]. */
  readonly cnnMlp: CnnMlpVariant;
  /**
   * New tasks (not trained on, not held out) for the generalization loss of Sec. 4.3, at the end
   * of training and in `sketchc eval`; 0: off (generalization.ts).
   */
  readonly generalizationTasks: number;

  // Data (Sec. 4.1): T tasks sharing N symbol tuples and their images.
  /**
   * The task domain (domains/create.ts); undefined: `file` with a task file, else `arith` when the
   * sketch has 3 inputs and add, sub and mul, else `enumerate`.
   */
  readonly domain: DomainName | undefined;
  /** The JSON Lines task file of the `file` domain (docs/tasks.md). */
  readonly taskFile: string | undefined;
  /** `enumerate`: the most operator applications of a task (the paper's tasks: 3). */
  readonly maxOps: number;
  /**
   * The value of each image class (class k is symbol k); undefined: the task file's `symbols`
   * line, else (k + 1) / 10 for the dataset's C classes (0.1..1.0 for 10).
   */
  readonly symbols: readonly number[] | undefined;
  /** T: training tasks drawn from the domain (paper: 500 of the 1,101 formulas; a file: all its tasks). */
  readonly tasks: number;
  /** N: training pairs shared by all tasks (paper: 1e6; each step samples `batch` of them). */
  readonly trainPairs: number;
  /** Test pairs (paper: 1000); metrics are computed on these. */
  readonly testPairs: number;

  // Optimisation.
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  /** B: pairs per step, shared by all tasks. */
  readonly batch: number;
  /** Tasks per step, drawn at random (0 or >= tasks: every task every step, as the paper). */
  readonly taskBatch: number;
  /** Adam: lr 1e-3 on this CPU preset (the paper: 3e-4 over far more steps), eps 1e-5. */
  readonly learningRate: number;
  /**
   * Adam's learning rate is `learningRate` times this from `lateEpoch` on (beyond the paper,
   * which keeps it constant); 1: constant.
   */
  readonly lateLearningRate: number;
  /**
   * Evaluation reads an exponential moving average of the trained weights with this decay
   * (weight-average.ts; beyond the paper, which evaluates the last step's); 0: the last step's.
   */
  readonly weightAverage: number;
  readonly adamEpsilon: number;
  /** Global gradient-norm clip; 0 disables (the paper does not clip). */
  readonly clipNorm: number;

  // Relaxation and prior (Sec. 4.1).
  readonly gumbel: boolean;
  /** Straight-through samples: one-hot programs forward, soft gradients backward (beyond the paper). */
  readonly straightThrough: boolean;
  readonly sharpness: number;
  readonly lateSharpness: number;
  readonly lateEpoch: number;
  readonly priorEpoch: number;
  /** lambda of Eq. 6; undefined: the sketch's `prior length`. */
  readonly lengthPrior: number | undefined;

  /**
   * Weight of the symbol-statistics prior (objective.ts), which knows the alphabet's mean and
   * variance; 0 disables (the paper has none).
   */
  readonly symbolPrior: number;
  /**
   * `sigmoid`: g's output is bounded to the alphabet's range with headroom ((0, 1.5) for
   * 0.1..1.0; `symbolBounds`), which knows the symbols' range (beyond the paper); `linear`: g's
   * raw output, as the paper; `categorical`: K logits per image, the symbol their softmax's
   * expected value over the K symbol values (the codebook's, or the alphabet's with
   * `abductionAlphabet: "gold"`), trained by cross-entropy on the abduced symbols (beyond the
   * paper; knows what abduction knows, and with the codebook the symbol range it starts on).
   */
  readonly grounderOutput: GrounderOutput;

  /**
   * Weight of the program memory's imitation loss (memory.ts, beyond the paper): -log q of each
   * task's best program found so far, for tasks whose best program explains the outputs. 0: off.
   */
  readonly imitation: number;
  /** A stored program is imitated when its normalized error (memory.ts) is at most this. */
  readonly imitationThreshold: number;
  /**
   * Rehearsal (beyond the paper): imitated tasks per step beyond the step's task batch, drawn at
   * random among the training tasks outside it whose stored program is imitated; r alone learns
   * them by imitation on the step's pairs, g(x) taken as data. They cost r's forward and backward
   * pass only (no relaxed sample, proposals or search). 0: off.
   */
  readonly rehearsal: number;
  /**
   * Rehearsal with the inputs permuted (rehearsal.ts): each step's rehearsed pairs read the
   * symbols in a random order, and r imitates the stored program with its input reads moved to
   * match. Needs a sketch whose scopes allow all inputs alike; otherwise the inputs stay in order.
   */
  readonly rehearsalPermute: boolean;
  /**
   * With `rehearsalPermute`, the share of each step's rehearsed tasks that read the permuted
   * inputs (drawn per step); the others read the symbols in order (rehearsal.ts). 1: all.
   */
  readonly rehearsalPermuteShare: number;
  /**
   * The categorical grounder's codebook splits a value no symbol is abduced to next to one that
   * reads about two classes (codebook.ts `splitDeadValue`; beyond the paper). Assumes roughly
   * balanced classes.
   */
  readonly codebookSplit: boolean;
  /**
   * Restarts a locked program memory (beyond the paper): at the end of an epoch, when g's own
   * reading agrees with the abduced symbols on fewer than this share of them (the label-free
   * `abductionAgreement`), after at least `RESTART_PATIENCE_STEPS` steps since the start or the
   * last restart, every stored program but the given ones is forgotten (train.ts
   * `lockedMemory`), at most `MAX_MEMORY_RESTARTS` times. 0: off.
   */
  readonly memoryRestart: number;
  /**
   * The pairs of each training step (beyond the paper, which draws them at random): `random`, B
   * pairs drawn from (seed, step); `confident`, 2B drawn so and the B whose symbols the
   * categorical grounder is surest of before the step (the product of its top class
   * probabilities over the pair's images), as `inferencePairs: "confident"` chooses at
   * evaluation: r reads them (grounded in the batch's pass, so its loss reaches g), while the
   * relaxed objective, abduction, g's targets and the memory keep the step's random pairs.
   * Other grounder outputs, and oracle symbols, draw at random (a run note says so).
   */
  readonly stepPairs: StepPairs;
  /**
   * `imitation`: a task whose stored program is imitated leaves the relaxed reconstruction and
   * the length prior (r learns it by imitation alone, g from the stored program run exactly on
   * g(x)); `both`: every task keeps the relaxed objective too (beyond the paper either way: the
   * paper has no memory).
   */
  readonly solvedObjective: SolvedObjective;
  /**
   * How the memory stores a program (beyond the paper): `canonical`, rewritten into the sketch's
   * canonical placement of the same expression (memory.ts `createCanonicalizer`), so r imitates
   * one layout per function; `found`, the encoding the search found.
   */
  readonly memoryLayout: MemoryLayout;
  /**
   * How r's targets (imitation, rehearsal, dreams) order the arguments of a symmetric operator
   * (beyond the paper; arg-order.ts): `sorted`, by slot number, one order per function; `stored`,
   * as the memory or the placement has them.
   */
  readonly targetArgOrder: TargetArgOrder;
  /**
   * A stored program is evidence for g (abduction, and run exactly on g(x)) when its normalized
   * error is at most this.
   */
  readonly abductionThreshold: number;
  /**
   * Proposals per task and step for the memory, beyond the training sample and the argmax: samples
   * of q recombined with the stored program (memory.ts `proposeAround`).
   */
  readonly memorySamples: number;
  /**
   * Enumerative proposals for the memory (memory.ts `createSearcher`, beyond the paper): each
   * step, every task is offered the program of at most this many operators that fits its outputs
   * on the step's symbols best. 0: off, the memory sees only q's samples.
   */
  readonly memorySearch: number;
  /**
   * Weight of abduction (memory.ts `abduceSymbols`, beyond the paper): g(x) is pulled towards the
   * alphabet symbols that the imitated stored programs explain best. 0: off; needs the memory.
   */
  readonly abduction: number;
  /**
   * What abduction tries per symbol: `gold`, the alphabet's values; `codebook`, as many values as
   * the dataset has classes, learned from g's outputs by k-means (knows only the class count).
   */
  readonly abductionAlphabet: AbductionAlphabet;
  /** The categorical grounder's abduction targets (`AbductionTargets`). */
  readonly abductionTargets: AbductionTargets;
  /** The likelihood's width in abduction (`AbductionWidth`). */
  readonly abductionWidth: AbductionWidth;
  /** The tasks whose stored programs abduction pools (`AbductionEvidence`). */
  readonly abductionEvidence: AbductionEvidence;
  /** In a proposal, the chance that a live row of the stored program takes the sample's choice. */
  readonly mutationRate: number;
  /**
   * Dream tasks per step (dreams.ts, beyond the paper; DreamCoder's sleep phase): programs of the
   * domain's pool that the run neither trains on nor measures, run exactly on the step's g(x),
   * and r trained on -log q of their canonical z. 0: off. Knows the `task-distribution`.
   */
  readonly dreams: number;
  /** Weight of the dream loss. */
  readonly dreamWeight: number;

  /** Feed the gold symbols instead of g(x): trains the recognizer alone (an upper bound). */
  readonly oracleSymbols: boolean;

  // Nets.
  readonly grounder: "small-cnn" | "resnet18";
  /**
   * Images through the grounder at a time: its backward pass in training, its forward pass in
   * evaluation, bounding memory (0: by backbone, model.ts `grounderChunkOf`).
   */
  readonly grounderChunk: number;
  /**
   * Steps of self-supervised pretraining of g's features before ROAP (pretrain.ts: IIC clustering
   * of two augmented views into as many clusters as the dataset has classes, on the training
   * images, no labels; knows the `class-count`). 0: off (the paper has none).
   */
  readonly pretrainSteps: number;
  /** Hidden width of the recognizer's MLPs (paper: 256). */
  readonly recognizerHidden: number;
  /** Train the same grounder on the labels too, for the grounding-accuracy reference. */
  readonly reference: boolean;
  /**
   * Programs sampled from q per task at evaluation, beyond the argmax (beyond the paper): the one
   * with the lowest error on the inference pairs is kept. 0 is the paper's argmax decoding.
   */
  readonly decodeSamples: number;
  /**
   * Which of a task's 2B inference pairs r reads at evaluation (beyond the paper, which reads
   * all): `all`; `confident`, the B pairs whose symbols the categorical grounder is surest of
   * (the product of its top class probabilities over the pair's images), in their order, as
   * many as r reads in a training step. g's own output chooses them, so they know nothing more;
   * choosing among the candidates (`foundProgramSuccess`) still scores all 2B pairs. Other
   * grounder outputs have no such probability and read all.
   */
  readonly inferencePairs: InferencePairs;
  /**
   * Held-out tasks: tasks of the domain's pool never trained on, drawn with the seed, on which
   * amortized inference is measured (`heldOutProgramSuccess`); 0: none (a task file has none).
   */
  readonly heldOutTasks: number;
  /**
   * Also report `transductiveProgramSuccess`: candidates scored on symbols abduced from every
   * task's inference outputs over the alphabet (knows the other tasks' outputs and the alphabet).
   */
  readonly transductiveEval: boolean;
  /** Evaluate the metrics every this many epochs (and always at the end). */
  readonly evalEvery: number;
}

export const DEFAULT_CONFIG: Omit<TrainConfig, "sketch"> = {
  preset: "cpu",
  data: undefined,
  out: "runs/latest",
  seed: 0,
  backend: "auto",
  model: "roap",
  cnnMlp: "per-task",
  generalizationTasks: 20,
  domain: undefined,
  taskFile: undefined,
  maxOps: 3,
  symbols: undefined,
  tasks: 500,
  trainPairs: 10_000,
  testPairs: 1_000,
  epochs: 20,
  stepsPerEpoch: 50,
  batch: 32,
  taskBatch: 100,
  learningRate: 1e-3,
  lateLearningRate: 1,
  weightAverage: 0,
  adamEpsilon: 1e-5,
  clipNorm: 10,
  gumbel: true,
  straightThrough: false,
  sharpness: 1,
  lateSharpness: 3,
  lateEpoch: 15,
  priorEpoch: 10,
  lengthPrior: undefined,
  symbolPrior: 1,
  // Categorical since issue 13's second round (docs/results.md): with residual widths and every
  // task's evidence, abduction reads the symbols right and the cross-entropy teaches g classes.
  grounderOutput: "categorical",
  imitation: 1,
  imitationThreshold: 0.05,
  rehearsal: 0,
  rehearsalPermute: false,
  rehearsalPermuteShare: 1,
  codebookSplit: true,
  // On since issue 15's seed round (docs/results.md): the locked seeds 1 and 3 (agreement 0.18
  // and 0.26 at step 150) filled their memories right after one restart; healthy runs are at
  // 0.49 or more there and never restart.
  memoryRestart: 0.35,
  stepPairs: "random",
  // Imitation alone for solved tasks since issue 15's round (docs/results.md): programSuccess
  // 162 -> 214 at 1,000 steps, and a step that runs only the unsolved tasks' relaxed samples.
  solvedObjective: "imitation",
  memoryLayout: "found",
  targetArgOrder: "sorted",
  abductionThreshold: 0.2,
  memorySamples: 6,
  memorySearch: 3,
  mutationRate: 0.2,
  // Off until measured at the cpu preset's scale (docs/training.md, "Dreams").
  dreams: 0,
  dreamWeight: 1,
  abductionAlphabet: "codebook",
  // Hard targets taught g its own early mistakes (docs/results.md, issue 13).
  abductionTargets: "posterior",
  abductionWidth: "residual",
  abductionEvidence: "all",
  abduction: 1,
  oracleSymbols: false,
  grounder: "small-cnn",
  grounderChunk: 0,
  pretrainSteps: 0,
  recognizerHidden: 128,
  reference: false,
  decodeSamples: 16,
  // Confident since issue 15's round (docs/results.md): programSuccess 183 -> 211 on the main
  // command's checkpoint and 289 -> 324 at 2,500 steps, held-out inference within a few tasks.
  inferencePairs: "confident",
  heldOutTasks: 100,
  transductiveEval: false,
  evalEvery: 5,
};

/**
 * What each preset sets on top of DEFAULT_CONFIG (which is the `cpu` preset). `paper` is the
 * method of Sec. 3-4.1 exactly, as far as this runtime goes: no memory, no abduction, no symbol
 * prior, no bound on g's output, no gradient clipping, lr 3e-4, MLPs of width 256, every task
 * every step, argmax decoding. It keeps the CPU preset's data sizes (10,000 training pairs),
 * epochs and grounder (the small CNN: `--grounder resnet18` is the paper's); docs/results.md.
 */
export const PRESETS: Record<
  PresetName,
  Partial<Omit<TrainConfig, "sketch">>
> = {
  cpu: {},
  paper: {
    preset: "paper",
    imitation: 0,
    memorySamples: 0,
    abduction: 0,
    symbolPrior: 0,
    grounderOutput: "linear",
    memorySearch: 0,
    clipNorm: 0,
    learningRate: 3e-4,
    recognizerHidden: 256,
    taskBatch: 0,
    decodeSamples: 0,
    inferencePairs: "all",
  },
};

/** The defaults of a preset. */
export function presetConfig(name: PresetName): Omit<TrainConfig, "sketch"> {
  return { ...DEFAULT_CONFIG, ...PRESETS[name] };
}

/**
 * What a run knows beyond its images and the tasks' training outputs, recorded in metrics.json so
 * that a number never travels without it:
 * - `alphabet`: the gold symbol values, e.g. 0.1..1.0 (abduction over them, transductive evaluation);
 * - `alphabet-statistics`: their mean and variance (the symbol prior);
 * - `symbol-range`: the interval the symbols lie in (the bounded grounder output; the start of the
 *   categorical grounder's codebook);
 * - `class-count`: how many symbols there are (the abduction codebook; the categorical grounder's
 *   K);
 * - `gold-symbols`: the symbols themselves (`oracleSymbols`);
 * - `other-tasks-test-outputs`: evaluation pools every task's inference outputs (transductive);
 * - `given-programs`: some tasks' programs are given (a task file's `"given": true`);
 * - `task-distribution`: programs drawn from the domain's pool, the family the held-out tasks come
 *   from too (dreams; `run.dreams` says whether the run has any).
 */
export function knowledgeOf(
  config: TrainConfig,
  run: { readonly givenPrograms?: boolean; readonly dreams?: boolean } = {},
): string[] {
  const k: string[] = [];
  if (run.givenPrograms) k.push("given-programs");
  if (run.dreams ?? (config.dreams > 0 && config.model === "roap"))
    k.push("task-distribution");
  const abduces =
    config.imitation > 0 && config.abduction > 0 && !config.oracleSymbols;
  const transductive =
    config.transductiveEval && config.imitation > 0 && !config.oracleSymbols;
  // The categorical grounder has one class per symbol value: the alphabet's, or the codebook's,
  // which it starts spread over the symbol range (train.ts `createRun`).
  const categorical =
    config.grounderOutput === "categorical" && !config.oracleSymbols;
  const gold = config.abductionAlphabet === "gold";
  if (config.oracleSymbols) k.push("gold-symbols");
  if (((abduces || categorical) && gold) || transductive) k.push("alphabet");
  if (config.symbolPrior > 0 && !config.oracleSymbols)
    k.push("alphabet-statistics");
  if (
    (config.grounderOutput === "sigmoid" || (categorical && !gold)) &&
    !config.oracleSymbols
  )
    k.push("symbol-range");
  if (((abduces || categorical) && !gold) || config.pretrainSteps > 0)
    k.push("class-count");
  if (transductive) k.push("other-tasks-test-outputs");
  // The search's size bound is chosen knowing how large the tasks' programs are.
  if (
    config.memorySearch > 0 &&
    config.imitation > 0 &&
    config.model === "roap"
  )
    k.push("program-size");
  return k;
}
