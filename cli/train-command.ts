// `sketchc train SKETCH [options]` and `sketchc eval RUN_DIR`: option parsing and the metrics table.
// Flags map one to one onto TrainConfig (runtime/config.ts); bad values name the flag at fault.

import * as fs from "node:fs";
import { parseArgs } from "node:util";
import {
  BACKEND_NAMES,
  isOutOfMemory,
  type BackendName,
} from "../runtime/backend.js";
import {
  DEFAULT_CONFIG,
  DOMAIN_NAMES,
  GROUNDER_OUTPUTS,
  MEMORY_LAYOUTS,
  TARGET_ARG_ORDERS,
  MODEL_NAMES,
  SOLVED_OBJECTIVES,
  INFERENCE_PAIRS,
  STEP_PAIRS,
  type StepPairs,
  type InferencePairs,
  type SolvedObjective,
  type ModelName,
  PRESETS,
  presetConfig,
  type AbductionAlphabet,
  type AbductionTargets,
  ABDUCTION_TARGETS,
  type AbductionWidth,
  ABDUCTION_WIDTHS,
  type AbductionEvidence,
  ABDUCTION_EVIDENCE,
  type DomainName,
  type GrounderOutput,
  type MemoryLayout,
  type TargetArgOrder,
  type PresetName,
  type TrainConfig,
} from "../runtime/config.js";
import { SketchCompileError } from "../runtime/load-sketch.js";
import { DataError } from "../runtime/data/errors.js";
import { RunError } from "../runtime/train.js";
import { CheckpointError } from "../runtime/checkpoint.js";
import { grounderChunkOf } from "../runtime/model.js";
import type { CnnMlpVariant } from "../runtime/nets/baselines.js";
import { FileWriteError } from "../util/files.js";
import type { Count, Metrics } from "../runtime/metrics.js";
import { CliError } from "./main.js";
import { choiceFlag, decayFlag, intFlag, numFlag, shareFlag } from "./flags.js";

export const TRAIN_HELP = `Usage: sketchc train SKETCH [options]

Trains ROAP (grounder + recognizer + the sketch's interpreter) on tasks over images: the paper's
arithmetic tasks, the sketch's own language, or a task file of yours (docs/tasks.md).

Presets (any flag overrides the preset's value; docs/training.md lists both):
  --preset NAME        cpu (the default: this 2-core machine, with a program memory, abduction,
                       a symbol prior and a bounded grounder beyond the paper) | paper (the
                       paper's method:
                       ${describePreset("paper")})

Options (defaults are the cpu preset):
  --data DIR           image dataset (IDX or CIFAR-10 binary); default: /usr/share/datasets/fashion-mnist
                       if installed, else the Fashion-MNIST sample committed in the package
  --domain D           where the tasks come from: arith (the paper's 1,101 formulas over s1..s3) |
                       enumerate (every distinct program of the sketch with at most --max-ops
                       operators) | file (--task-file); default: file with a task file, else arith
                       for a sketch with 3 inputs and add, sub, mul, else enumerate
  --task-file F        JSON Lines tasks: formulas in the sketch's operator names, given programs,
                       or pairs of images with outputs (docs/tasks.md)
  --max-ops K          enumerate: most operator applications of a task (${DEFAULT_CONFIG.maxOps})
  --symbols V1,V2,...  the value of each image class (default (k + 1) / 10 for class k: 0.1..1.0
                       for 10 classes); one value per class of the dataset
  --tasks N            training tasks drawn from the domain (${DEFAULT_CONFIG.tasks}; a task file: all of its tasks)
  --epochs N           epochs (${DEFAULT_CONFIG.epochs})
  --steps N            steps per epoch (${DEFAULT_CONFIG.stepsPerEpoch})
  --batch N            pairs per step, shared by all tasks (${DEFAULT_CONFIG.batch})
  --task-batch N|all   tasks per step, drawn at random (${DEFAULT_CONFIG.taskBatch}; all: every task, the paper)
  --train-pairs N      training pairs (${DEFAULT_CONFIG.trainPairs})
  --test-pairs N       test pairs for the metrics (${DEFAULT_CONFIG.testPairs})
  --lr X               Adam learning rate (${DEFAULT_CONFIG.learningRate}; paper 3e-4)
  --clip-norm X        clip gradients to this global norm (${DEFAULT_CONFIG.clipNorm}; 0: off, the paper)
  --prior X            length-prior weight lambda (default: the sketch's 'prior length')
  --prior-epoch N      epoch the prior starts (${DEFAULT_CONFIG.priorEpoch})
  --late-epoch N       epoch the sharpness rises to --late-sharpness (${DEFAULT_CONFIG.lateEpoch})
  --late-sharpness X   (${DEFAULT_CONFIG.lateSharpness})
  --late-lr X          Adam's learning rate times X from --late-epoch on (${DEFAULT_CONFIG.lateLearningRate}: constant)
  --weight-average D   evaluate an exponential moving average of g's and r's weights with decay D,
                       warmed up over the first steps, in place of the last step's (${DEFAULT_CONFIG.weightAverage}: off)
  --no-gumbel          plain softmax instead of gumbel-softmax samples (ablation)
  --straight-through   one-hot samples forward, soft gradients backward
  --imitation X        weight of the program memory's imitation loss (${DEFAULT_CONFIG.imitation}; 0: off)
  --imitation-threshold X
                       normalized error under which a stored program is imitated (${DEFAULT_CONFIG.imitationThreshold})
  --solved-objective O both: an imitated task keeps the relaxed objective (Eq. 3-6) too |
                       imitation: it leaves it, r learns it by imitation alone and g from its
                       stored program run exactly (${DEFAULT_CONFIG.solvedObjective})
  --memory-samples N   proposals per task and step for the memory: samples of q recombined with the
                       stored program (${DEFAULT_CONFIG.memorySamples})
  --memory-search N    each step, offers every task the program of at most N operators that fits its
                       outputs on the step's symbols best, if it fits them within 0.01 (bottom-up
                       enumeration; knows the programs' size; ${DEFAULT_CONFIG.memorySearch}; 0: off)
  --abduction X        weight of abduced symbols as targets for g, with the memory (${DEFAULT_CONFIG.abduction})
  --abduction-threshold X
                       normalized error under which a stored program is evidence for g (${DEFAULT_CONFIG.abductionThreshold})
  --abduction-alphabet gold|codebook
                       the values abduction tries: the alphabet's (knows it), or as many values as
                       the data has classes, fitted to the outputs the stored programs explain
                       (${DEFAULT_CONFIG.abductionAlphabet})
  --abduction-targets posterior|hard
                       the categorical grounder's targets: abduction's posterior with g's
                       probabilities as its prior, or the best tuple (${DEFAULT_CONFIG.abductionTargets})
  --abduction-width spread|residual
                       the likelihood's width per evidence program: its task's output spread, or
                       its residual on the abduced symbols, floored at a tenth of the spread
                       (${DEFAULT_CONFIG.abductionWidth})
  --abduction-evidence batch|all
                       the stored programs abduction pools: the step's tasks', or every training
                       task's (${DEFAULT_CONFIG.abductionEvidence})
  --symbol-prior W     weight of the prior on the symbols' batch mean and variance, which knows the
                       alphabet's (${DEFAULT_CONFIG.symbolPrior}; 0: off, the paper)
  --grounder-output F  sigmoid: g's output bounded to 1.5 times the alphabet's range ((0, 1.5) for
                       0.1..1.0), which knows the symbols' range | linear: g's raw output, the
                       paper | categorical: K logits, the symbol their expected value over the
                       abduction alphabet's K values (codebook: knows the class count and starts
                       on the symbols' range; gold: knows the alphabet), trained by cross-entropy
                       on the abduced symbols (${DEFAULT_CONFIG.grounderOutput})
  --memory-layout L    canonical: the memory stores each program in the sketch's canonical
                       placement of its expression, so r imitates one layout per function | found:
                       as the search found it (${DEFAULT_CONFIG.memoryLayout})
  --target-arg-order O sorted: r's targets (imitation, rehearsal, dreams) list a symmetric
                       operator's arguments by slot, so add(s3, s1) is taught as add(s1, s3) |
                       stored: as the memory holds them (${DEFAULT_CONFIG.targetArgOrder})
  --pretrain-steps N   steps of self-supervised pretraining of g before ROAP: IIC clustering of two
                       augmented views of the training images into C clusters, no labels; knows
                       the class-count (${DEFAULT_CONFIG.pretrainSteps}; 0: off)
  --mutation-rate X    chance a stored row takes the sample's choice in a proposal (${DEFAULT_CONFIG.mutationRate})
  --rehearsal N        imitated tasks per step beyond the task batch, drawn among the solved tasks
                       outside it: r alone imitates their stored programs on the step's g(x)
                       (${DEFAULT_CONFIG.rehearsal}; 0: off)
  --rehearsal-permute  the rehearsed pairs read the symbols in a random order each step, and r
                       imitates the stored program with its input reads moved to match (off)
  --rehearsal-permute-share P
                       with --rehearsal-permute, the share of each step's rehearsed tasks that
                       read the permuted order, drawn per step; the others read it as it is
                       (${DEFAULT_CONFIG.rehearsalPermuteShare}: all)
  --no-codebook-split  the categorical grounder's codebook never moves a value no symbol is
                       abduced to next to one that reads about two classes (the split assumes
                       roughly balanced classes)
  --memory-restart A   forget every stored program when, at the end of an epoch, g's own reading
                       agrees with the abduced symbols on fewer than a share A of them (a memory
                       locked into programs that fit misread symbols; label-free), after at least
                       150 steps since the start or the last restart, at most twice
                       (${DEFAULT_CONFIG.memoryRestart}; 0: off)
  --step-pairs P       random: each step's B pairs drawn at random | confident: the B of 2B drawn
                       that the categorical grounder is surest of (${DEFAULT_CONFIG.stepPairs})
  --dreams N           dream tasks per step: programs of the domain's pool that the run neither
                       trains on nor measures, run exactly on the step's g(x), r trained on their
                       canonical z; knows the task-distribution (${DEFAULT_CONFIG.dreams}; 0: off)
  --dream-weight W     weight of the dream loss (${DEFAULT_CONFIG.dreamWeight})
  --model M            roap | cnn-mlp (w/o program: y = MLP(s)) | no-amortization (free program
                       logits per task, no recognizer): Table 1's baselines (${DEFAULT_CONFIG.model})
  --cnn-mlp V          per-task (one MLP per task) | shared (one MLP on [s; one-hot(task)])
                       (${DEFAULT_CONFIG.cnnMlp})
  --generalization-tasks N
                       new tasks for the generalization loss of Sec. 4.3 (${DEFAULT_CONFIG.generalizationTasks}; 0: off)
  --oracle-symbols     train the recognizer on the gold symbols (upper bound; no grounder)
  --reference          also train the grounder on the labels, as a classifier and as g: the
                       grounding-accuracy references
  --grounder NAME      small-cnn | resnet18 (${DEFAULT_CONFIG.grounder})
  --grounder-chunk N   images through the grounder at a time (backward in training, forward in
                       evaluation), bounding memory; 0: by backbone, 32 for resnet18, the whole
                       batch for small-cnn (${DEFAULT_CONFIG.grounderChunk})
  --hidden N           recognizer MLP width (${DEFAULT_CONFIG.recognizerHidden}; paper 256)
  --decode-samples N   programs sampled from q per task at evaluation for foundProgramSuccess and
                       the held-out tasks (${DEFAULT_CONFIG.decodeSamples}; 0: argmax only)
  --held-out-tasks N   tasks of the domain never trained on, for heldOutProgramSuccess
                       (${DEFAULT_CONFIG.heldOutTasks}; 0: none; a task file has none)
  --inference-pairs P  all: r reads every one of the 2B inference pairs at evaluation | confident:
                       the B pairs the categorical grounder is surest of (${DEFAULT_CONFIG.inferencePairs})
  --transductive-eval  also report transductiveProgramSuccess: candidates scored on symbols abduced
                       from every task's inference outputs over the alphabet
  --eval-every N       compute the metrics every N epochs (${DEFAULT_CONFIG.evalEvery})
  --seed N             (${DEFAULT_CONFIG.seed})
  --backend B          ${BACKEND_NAMES.join(" | ")} (${DEFAULT_CONFIG.backend})
  --out DIR            run folder (${DEFAULT_CONFIG.out}); an existing checkpoint there is resumed
  --fresh              ignore an existing checkpoint in --out
  --quiet              no progress output
`;

/** A preset's settings as text, for the help. */
function describePreset(name: PresetName): string {
  return Object.entries(PRESETS[name])
    .filter(([k]) => k !== "preset")
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

/** `--symbols v1,v2,...`: finite numbers, at least one. */
function symbolsFlag(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((p) => p.trim());
  const values = parts.map((p) => (p === "" ? NaN : Number(p)));
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new CliError(
      `--symbols must be numbers separated by commas, one per class, got '${parts[bad]}'`,
    );
  return values;
}

/** Parses `sketchc train` arguments into a TrainConfig. */
export function parseTrainArgs(args: readonly string[]): {
  config: TrainConfig;
  fresh: boolean;
  quiet: boolean;
  help: boolean;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        data: { type: "string" },
        domain: { type: "string" },
        "task-file": { type: "string" },
        "max-ops": { type: "string" },
        symbols: { type: "string" },
        tasks: { type: "string" },
        epochs: { type: "string" },
        steps: { type: "string" },
        batch: { type: "string" },
        "task-batch": { type: "string" },
        "train-pairs": { type: "string" },
        "test-pairs": { type: "string" },
        lr: { type: "string" },
        prior: { type: "string" },
        "prior-epoch": { type: "string" },
        "late-epoch": { type: "string" },
        "late-sharpness": { type: "string" },
        "late-lr": { type: "string" },
        "weight-average": { type: "string" },
        "no-gumbel": { type: "boolean" },
        "straight-through": { type: "boolean" },
        imitation: { type: "string" },
        "imitation-threshold": { type: "string" },
        "solved-objective": { type: "string" },
        "memory-samples": { type: "string" },
        "memory-search": { type: "string" },
        "mutation-rate": { type: "string" },
        dreams: { type: "string" },
        rehearsal: { type: "string" },
        "rehearsal-permute": { type: "boolean" },
        "rehearsal-permute-share": { type: "string" },
        "no-codebook-split": { type: "boolean" },
        "step-pairs": { type: "string" },
        "dream-weight": { type: "string" },
        "memory-layout": { type: "string" },
        "target-arg-order": { type: "string" },
        abduction: { type: "string" },
        "abduction-threshold": { type: "string" },
        "memory-restart": { type: "string" },
        "abduction-alphabet": { type: "string" },
        "abduction-targets": { type: "string" },
        "abduction-width": { type: "string" },
        "abduction-evidence": { type: "string" },
        "pretrain-steps": { type: "string" },
        "symbol-prior": { type: "string" },
        "grounder-output": { type: "string" },
        "clip-norm": { type: "string" },
        "held-out-tasks": { type: "string" },
        "transductive-eval": { type: "boolean" },
        "inference-pairs": { type: "string" },
        preset: { type: "string" },
        "oracle-symbols": { type: "boolean" },
        model: { type: "string" },
        "cnn-mlp": { type: "string" },
        "generalization-tasks": { type: "string" },
        reference: { type: "boolean" },
        grounder: { type: "string" },
        "grounder-chunk": { type: "string" },
        hidden: { type: "string" },
        "eval-every": { type: "string" },
        "decode-samples": { type: "string" },
        seed: { type: "string" },
        backend: { type: "string" },
        out: { type: "string" },
        fresh: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message} (try 'sketchc train --help')`);
  }
  const v = parsed.values;
  const help = v.help === true;
  if (!help && parsed.positionals.length !== 1)
    throw new CliError(
      "sketchc train takes one SKETCH file (try 'sketchc train --help')",
    );
  const preset = choiceFlag<PresetName>(
    "preset",
    v.preset,
    Object.keys(PRESETS) as PresetName[],
    "cpu",
  );
  const base = presetConfig(preset);
  const backend = (v.backend ?? base.backend) as BackendName;
  if (!BACKEND_NAMES.includes(backend))
    throw new CliError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}, got '${v.backend}'`,
    );
  const grounder = v.grounder ?? base.grounder;
  if (grounder !== "small-cnn" && grounder !== "resnet18")
    throw new CliError(
      `--grounder must be small-cnn or resnet18, got '${grounder}'`,
    );
  if (v.data !== undefined && !fs.existsSync(v.data))
    throw new CliError(`--data: no such folder '${v.data}'`);
  if (
    v.out !== undefined &&
    fs.existsSync(v.out) &&
    !fs.statSync(v.out).isDirectory()
  )
    throw new CliError(`--out: '${v.out}' exists and is not a folder`);
  const domain =
    v.domain === undefined
      ? undefined
      : choiceFlag<DomainName>("domain", v.domain, DOMAIN_NAMES, "arith");
  const taskFile = v["task-file"];
  if (taskFile !== undefined && !fs.existsSync(taskFile))
    throw new CliError(`--task-file: no such file '${taskFile}'`);
  if (taskFile !== undefined && domain !== undefined && domain !== "file")
    throw new CliError(
      `--task-file is for --domain file, not --domain ${domain}`,
    );
  if (domain === "file" && taskFile === undefined)
    throw new CliError("--domain file needs --task-file FILE");
  if (
    v["rehearsal-permute-share"] !== undefined &&
    v["rehearsal-permute"] !== true &&
    !base.rehearsalPermute
  )
    throw new CliError(
      "--rehearsal-permute-share needs --rehearsal-permute (the share of the rehearsed tasks it permutes)",
    );
  const config: TrainConfig = {
    ...base,
    sketch: parsed.positionals[0] ?? "",
    data: v.data,
    domain,
    taskFile,
    maxOps: intFlag("max-ops", v["max-ops"], base.maxOps, 0),
    symbols: symbolsFlag(v.symbols),
    out: v.out ?? base.out,
    seed: intFlag("seed", v.seed, base.seed, 0),
    backend,
    tasks: intFlag("tasks", v.tasks, base.tasks),
    taskBatch:
      v["task-batch"] === "all"
        ? 0
        : intFlag("task-batch", v["task-batch"], base.taskBatch),
    trainPairs: intFlag("train-pairs", v["train-pairs"], base.trainPairs),
    testPairs: intFlag("test-pairs", v["test-pairs"], base.testPairs),
    epochs: intFlag("epochs", v.epochs, base.epochs),
    stepsPerEpoch: intFlag("steps", v.steps, base.stepsPerEpoch),
    batch: intFlag("batch", v.batch, base.batch),
    learningRate: numFlag("lr", v.lr, base.learningRate)!,
    lateLearningRate: numFlag("late-lr", v["late-lr"], base.lateLearningRate)!,
    weightAverage: decayFlag(v["weight-average"], base.weightAverage),
    lengthPrior: numFlag("prior", v.prior, base.lengthPrior),
    priorEpoch: intFlag("prior-epoch", v["prior-epoch"], base.priorEpoch, 0),
    lateEpoch: intFlag("late-epoch", v["late-epoch"], base.lateEpoch, 0),
    lateSharpness: numFlag(
      "late-sharpness",
      v["late-sharpness"],
      base.lateSharpness,
    )!,
    gumbel: v["no-gumbel"] !== true && base.gumbel,
    straightThrough: v["straight-through"] === true || base.straightThrough,
    imitation: numFlag("imitation", v.imitation, base.imitation)!,
    imitationThreshold: numFlag(
      "imitation-threshold",
      v["imitation-threshold"],
      base.imitationThreshold,
    )!,
    inferencePairs: choiceFlag<InferencePairs>(
      "inference-pairs",
      v["inference-pairs"],
      INFERENCE_PAIRS,
      base.inferencePairs,
    ),
    solvedObjective: choiceFlag<SolvedObjective>(
      "solved-objective",
      v["solved-objective"],
      SOLVED_OBJECTIVES,
      base.solvedObjective,
    ),
    memorySamples: intFlag(
      "memory-samples",
      v["memory-samples"],
      base.memorySamples,
      0,
    ),
    memorySearch: intFlag(
      "memory-search",
      v["memory-search"],
      base.memorySearch,
      0,
    ),
    mutationRate: numFlag(
      "mutation-rate",
      v["mutation-rate"],
      base.mutationRate,
    )!,
    dreams: intFlag("dreams", v.dreams, base.dreams, 0),
    rehearsal: intFlag("rehearsal", v.rehearsal, base.rehearsal, 0),
    rehearsalPermute: v["rehearsal-permute"] === true || base.rehearsalPermute,
    rehearsalPermuteShare: shareFlag(
      "rehearsal-permute-share",
      v["rehearsal-permute-share"],
      base.rehearsalPermuteShare,
    ),
    codebookSplit: v["no-codebook-split"] !== true && base.codebookSplit,
    memoryRestart: shareFlag(
      "memory-restart",
      v["memory-restart"],
      base.memoryRestart,
    ),
    stepPairs: choiceFlag<StepPairs>(
      "step-pairs",
      v["step-pairs"],
      STEP_PAIRS,
      base.stepPairs,
    ),
    dreamWeight: numFlag("dream-weight", v["dream-weight"], base.dreamWeight)!,
    abduction: numFlag("abduction", v.abduction, base.abduction)!,
    abductionThreshold: numFlag(
      "abduction-threshold",
      v["abduction-threshold"],
      base.abductionThreshold,
    )!,
    oracleSymbols: v["oracle-symbols"] === true || base.oracleSymbols,
    model: choiceFlag<ModelName>("model", v.model, MODEL_NAMES, base.model),
    cnnMlp: choiceFlag<CnnMlpVariant>(
      "cnn-mlp",
      v["cnn-mlp"],
      ["per-task", "shared"],
      base.cnnMlp,
    ),
    generalizationTasks: intFlag(
      "generalization-tasks",
      v["generalization-tasks"],
      base.generalizationTasks,
      0,
    ),
    reference: v.reference === true || base.reference,
    grounder,
    grounderChunk: intFlag(
      "grounder-chunk",
      v["grounder-chunk"],
      base.grounderChunk,
      0,
    ),
    recognizerHidden: intFlag("hidden", v.hidden, base.recognizerHidden),
    decodeSamples: intFlag(
      "decode-samples",
      v["decode-samples"],
      base.decodeSamples,
      0,
    ),
    heldOutTasks: intFlag(
      "held-out-tasks",
      v["held-out-tasks"],
      base.heldOutTasks,
      0,
    ),
    transductiveEval: v["transductive-eval"] === true || base.transductiveEval,
    abductionAlphabet: choiceFlag<AbductionAlphabet>(
      "abduction-alphabet",
      v["abduction-alphabet"],
      ["gold", "codebook"],
      base.abductionAlphabet,
    ),
    pretrainSteps: intFlag(
      "pretrain-steps",
      v["pretrain-steps"],
      base.pretrainSteps,
      0,
    ),
    abductionTargets: choiceFlag<AbductionTargets>(
      "abduction-targets",
      v["abduction-targets"],
      ABDUCTION_TARGETS,
      base.abductionTargets,
    ),
    abductionWidth: choiceFlag<AbductionWidth>(
      "abduction-width",
      v["abduction-width"],
      ABDUCTION_WIDTHS,
      base.abductionWidth,
    ),
    abductionEvidence: choiceFlag<AbductionEvidence>(
      "abduction-evidence",
      v["abduction-evidence"],
      ABDUCTION_EVIDENCE,
      base.abductionEvidence,
    ),
    symbolPrior: numFlag("symbol-prior", v["symbol-prior"], base.symbolPrior)!,
    memoryLayout: choiceFlag<MemoryLayout>(
      "memory-layout",
      v["memory-layout"],
      MEMORY_LAYOUTS,
      base.memoryLayout,
    ),
    targetArgOrder: choiceFlag<TargetArgOrder>(
      "target-arg-order",
      v["target-arg-order"],
      TARGET_ARG_ORDERS,
      base.targetArgOrder,
    ),
    grounderOutput: choiceFlag<GrounderOutput>(
      "grounder-output",
      v["grounder-output"],
      GROUNDER_OUTPUTS,
      base.grounderOutput,
    ),
    clipNorm: numFlag("clip-norm", v["clip-norm"], base.clipNorm)!,
    evalEvery: intFlag("eval-every", v["eval-every"], base.evalEvery),
  };
  return { config, fresh: v.fresh === true, quiet: v.quiet === true, help };
}

const EVAL_USAGE =
  "sketchc eval RUN_DIR [--decode-samples N] [--inference-pairs all|confident] [--weights averaged|live] [--data DIR] [--transductive-eval]";

export const EVAL_HELP = `Usage: ${EVAL_USAGE}

Recomputes the metrics of a trained run from its checkpoint (RUN_DIR, a 'sketchc train --out'
folder) and prints them; the run's own files are left as they are. Options:
  --decode-samples N   programs sampled from q per task for foundProgramSuccess and the held-out
                       samples (the run's own setting)
  --inference-pairs P  all | confident: the pairs r reads (the run's own setting)
  --weights W          averaged (the weight average of a --weight-average run, the default) |
                       live (the last step's weights)
  --data DIR           the images' folder, when it moved since training
  --transductive-eval  also report transductiveProgramSuccess (candidates scored on abduced
                       symbols; never a headline)
  -h, --help           this help
`;

/** `sketchc eval RUN_DIR [--decode-samples N] [--inference-pairs P] [--weights W] [--data DIR] [--transductive-eval]`. */
export function parseEvalArgs(args: readonly string[]): {
  dir: string;
  help: boolean;
  overrides: Partial<
    Pick<
      TrainConfig,
      | "decodeSamples"
      | "data"
      | "transductiveEval"
      | "inferencePairs"
      | "weightAverage"
    >
  >;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        "decode-samples": { type: "string" },
        data: { type: "string" },
        "transductive-eval": { type: "boolean" },
        "inference-pairs": { type: "string" },
        weights: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message} (usage: ${EVAL_USAGE})`);
  }
  if (parsed.values.help) return { dir: "", help: true, overrides: {} };
  if (parsed.positionals.length !== 1) {
    throw new CliError(`usage: ${EVAL_USAGE}`);
  }
  const v = parsed.values;
  if (v.data !== undefined && !fs.existsSync(v.data))
    throw new CliError(`--data: no such folder '${v.data}'`);
  return {
    dir: parsed.positionals[0],
    help: false,
    overrides: {
      ...(v["decode-samples"] === undefined
        ? {}
        : {
            decodeSamples: intFlag("decode-samples", v["decode-samples"], 0, 0),
          }),
      ...(v.data === undefined ? {} : { data: v.data }),
      ...(v["transductive-eval"] ? { transductiveEval: true } : {}),
      // `live`: the last step's weights of a run trained with --weight-average.
      ...(choiceFlag("weights", v.weights, ["averaged", "live"], "averaged") ===
      "live"
        ? { weightAverage: 0 }
        : {}),
      ...(v["inference-pairs"] === undefined
        ? {}
        : {
            inferencePairs: choiceFlag<InferencePairs>(
              "inference-pairs",
              v["inference-pairs"],
              INFERENCE_PAIRS,
              "all",
            ),
          }),
    },
  };
}

/** The metrics as a small table: the paper's metric first. */
export function formatMetrics(
  m: Metrics,
  wallSeconds: number,
  extra: {
    knowledge?: readonly string[];
    /** The weights evaluated, shown when they are not the last step's (`--weight-average`). */
    weights?: string;
    reference?: {
      classes?: number;
      classifierSymbolicLoss?: number;
      symbols?: number;
    };
  } = {},
): string {
  const count = (c: Count) =>
    `${c.count} / ${c.total} (${(100 * c.rate).toFixed(1)}%)`;
  const optional = (label: string, c: Count | undefined): [string, string][] =>
    c === undefined ? [] : [[label, count(c)]];
  const percent = (label: string, v: number | undefined): [string, string][] =>
    v === undefined ? [] : [[label, `${(100 * v).toFixed(2)}%`]];
  const h = m.heldOutProgramSuccess;
  const rows: [string, string][] = [
    ["program success (argmax of q, the paper's)", count(m.programSuccess)],
    ["found program success (best on own pairs)", count(m.foundProgramSuccess)],
    ...optional("  the stored programs alone", m.memoryProgramSuccess),
    ...optional("held-out program success, argmax", h?.argmax),
    ...optional("held-out program success, best of samples", h?.sampled),
    ...optional(
      "transductive program success (abduced symbols)",
      m.transductiveProgramSuccess,
    ),
    ["symbolic loss", m.symbolicLoss.toExponential(3)],
    ["test loss", m.testLoss.toExponential(3)],
    ...(m.generalizationLoss === undefined
      ? []
      : [
          [
            `generalization loss (${m.generalization?.tasks ?? "?"} new tasks)`,
            m.generalizationLoss.toExponential(3),
          ] as [string, string],
        ]),
    ["grounding accuracy", `${(100 * m.groundingAccuracy).toFixed(2)}%`],
    ...percent("  reference: g on the symbols", extra.reference?.symbols),
    ...percent("  reference: classifier", extra.reference?.classes),
    ...(extra.reference?.classifierSymbolicLoss === undefined
      ? []
      : [
          [
            "  reference: classifier's symbolic loss",
            extra.reference.classifierSymbolicLoss.toExponential(3),
          ] as [string, string],
        ]),
    ["mean program length", m.meanProgramLength.toFixed(2)],
    ...(extra.knowledge
      ? [
          [
            "knowledge used",
            extra.knowledge.length > 0 ? extra.knowledge.join(", ") : "none",
          ] as [string, string],
        ]
      : []),
    ...(extra.weights && extra.weights !== "last step's"
      ? [["weights evaluated", extra.weights] as [string, string]]
      : []),
    ["wall time", `${wallSeconds.toFixed(1)} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}

/** What to lower when a run runs out of memory, with the values it ran with. */
export function outOfMemoryMessage(config: TrainConfig | undefined): string {
  if (!config)
    return "the backend ran out of memory: lower --batch or --grounder-chunk";
  const chunk = grounderChunkOf(config);
  const through = Number.isFinite(chunk)
    ? `${chunk} images through ${config.grounder} at a time`
    : `the whole batch through ${config.grounder} at once`;
  return (
    `the backend ran out of memory (the wasm heap holds at most 4 GB): lower --batch ` +
    `(now ${config.batch} pairs a step) or --grounder-chunk (now ${through}); ` +
    `--task-batch and --test-pairs also bound what a step and an evaluation hold`
  );
}

export async function runTrainCommand(
  command: "train" | "eval",
  args: readonly string[],
): Promise<number> {
  const { train, evaluateSaved } = await import("../runtime/index.js");
  let running: TrainConfig | undefined;
  try {
    if (command === "eval") {
      const { dir, help, overrides } = parseEvalArgs(args);
      if (help) {
        process.stdout.write(EVAL_HELP);
        return 0;
      }
      const { metrics, wallSeconds, knowledge, weights, warning } =
        await evaluateSaved(dir, overrides);
      if (warning) process.stderr.write(`sketchc: warning: ${warning}\n`);
      process.stdout.write(
        formatMetrics(metrics, wallSeconds, { knowledge, weights }),
      );
      return 0;
    }
    const { config, fresh, quiet, help } = parseTrainArgs(args);
    if (help) {
      process.stdout.write(TRAIN_HELP);
      return 0;
    }
    running = config;
    const { createProgress } = await import("../runtime/progress.js");
    const result = await train(config, {
      progress: createProgress(process.stderr, quiet),
      resume: !fresh,
    });
    process.stdout.write(
      `\nROAP on ${config.sketch}: metrics on the test pairs (${config.out}/metrics.json)\n`,
    );
    process.stdout.write(
      formatMetrics(result.metrics, result.wallSeconds, {
        knowledge: result.knowledge,
        weights: result.weights,
        reference: {
          classes: result.referenceAccuracy,
          classifierSymbolicLoss: result.referenceSymbolicLoss,
          symbols: result.referenceSymbolAccuracy,
        },
      }),
    );
    // The run's report (its metrics and training curves); a failure to draw it loses nothing.
    try {
      const { writeReport } = await import("./experiments/report.js");
      await writeReport(config.out);
      process.stdout.write(`  report: ${config.out}/report.html\n`);
    } catch (e) {
      process.stderr.write(
        `sketchc: warning: no report for ${config.out}: ${(e as Error).message}\n`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof SketchCompileError) {
      process.stderr.write(e.message + "\n");
      return 1;
    }
    if (e instanceof CliError) throw e;
    if (isOutOfMemory(e)) throw new CliError(outOfMemoryMessage(running), 1);
    // Bad data, a damaged or foreign checkpoint: the user's to fix, so one line, no stack.
    if (
      e instanceof DataError ||
      e instanceof RunError ||
      e instanceof CheckpointError ||
      e instanceof FileWriteError
    ) {
      throw new CliError(e.message, 1);
    }
    throw e;
  }
}
