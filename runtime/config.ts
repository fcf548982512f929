// Every knob of a training run, with the defaults for this 2-core CPU. Each default says where
// it comes from: the paper (Sec. 4.1) or a measurement here (docs/results.md).

import type { BackendName } from "./backend.js";

export interface TrainConfig {
  /** The .sketch file to train. */
  readonly sketch: string;
  /** Image dataset folder (IDX or CIFAR-10 binary); undefined: Debian's Fashion-MNIST, else the committed sample. */
  readonly data: string | undefined;
  /** Where metrics.json, programs.txt, log.jsonl, checkpoint.json and the compiled module go. */
  readonly out: string;
  readonly seed: number;
  readonly backend: BackendName;

  // Data (Sec. 4.1): T tasks sharing N symbol tuples and their images.
  /** T: tasks sampled from the 1,101 distinct formulas (paper: 500). */
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
  /** Tasks per step, drawn at random (>= tasks: every task every step, as the paper). */
  readonly taskBatch: number;
  /** Adam: lr 1e-3 on this CPU preset (the paper: 3e-4 over far more steps), eps 1e-5. */
  readonly learningRate: number;
  readonly adamEpsilon: number;
  /** Global gradient-norm clip; 0 disables. */
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

  /** Weight of the symbol-statistics prior (objective.ts); 0 disables (the paper has none). */
  readonly symbolPrior: number;

  /**
   * Weight of the program memory's imitation loss (memory.ts, beyond the paper): -log q of each
   * task's best program found so far, for tasks whose best program explains the outputs. 0: off.
   */
  readonly imitation: number;
  /** A stored program is imitated when its normalized error (memory.ts) is at most this. */
  readonly imitationThreshold: number;
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
   * Weight of abduction (memory.ts `abduceSymbols`, beyond the paper): g(x) is pulled towards the
   * alphabet symbols that the imitated stored programs explain best. 0: off; needs the memory.
   */
  readonly abduction: number;
  /** In a proposal, the chance that a live row of the stored program takes the sample's choice. */
  readonly mutationRate: number;

  /** Feed the gold symbols instead of g(x): trains the recognizer alone (an upper bound). */
  readonly oracleSymbols: boolean;

  // Nets.
  readonly grounder: "small-cnn" | "resnet18";
  /** Hidden width of the recognizer's MLPs (paper: 256). */
  readonly recognizerHidden: number;
  /** Train the same grounder on the labels too, for the grounding-accuracy reference. */
  readonly reference: boolean;
  /**
   * Programs sampled from q per task at evaluation, beyond the argmax (beyond the paper): the one
   * with the lowest error on the inference pairs is kept. 0 is the paper's argmax decoding.
   */
  readonly decodeSamples: number;
  /** Evaluate the metrics every this many epochs (and always at the end). */
  readonly evalEvery: number;
}

export const DEFAULT_CONFIG: Omit<TrainConfig, "sketch"> = {
  data: undefined,
  out: "runs/latest",
  seed: 0,
  backend: "auto",
  tasks: 500,
  trainPairs: 10_000,
  testPairs: 1_000,
  epochs: 20,
  stepsPerEpoch: 50,
  batch: 32,
  taskBatch: 100,
  learningRate: 1e-3,
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
  imitation: 1,
  imitationThreshold: 0.05,
  abductionThreshold: 0.2,
  memorySamples: 6,
  mutationRate: 0.2,
  abduction: 1,
  oracleSymbols: false,
  grounder: "small-cnn",
  recognizerHidden: 128,
  reference: false,
  decodeSamples: 16,
  evalEvery: 5,
};
