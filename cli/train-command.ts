// `sketchc train SKETCH [options]` and `sketchc eval RUN_DIR`: option parsing and the metrics table.
// Flags map one to one onto TrainConfig (runtime/config.ts); bad values name the flag at fault.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { BACKEND_NAMES, type BackendName } from "../runtime/backend.js";
import { DEFAULT_CONFIG, type TrainConfig } from "../runtime/config.js";
import { SketchCompileError } from "../runtime/load-sketch.js";
import { DataError } from "../runtime/data/errors.js";
import { RunError } from "../runtime/train.js";
import { CheckpointError } from "../runtime/checkpoint.js";
import type { Metrics } from "../runtime/metrics.js";
import { CliError } from "./main.js";

export const TRAIN_HELP = `Usage: sketchc train SKETCH [options]

Trains ROAP (grounder + recognizer + the sketch's interpreter) on arithmetic tasks over images.

Options (defaults are the CPU preset, see docs/results.md):
  --data DIR           image dataset (IDX or CIFAR-10 binary); default: /usr/share/datasets/fashion-mnist
                       if installed, else the Fashion-MNIST sample committed in the package
  --tasks N            tasks sampled from the 1,101 formulas (${DEFAULT_CONFIG.tasks})
  --epochs N           epochs (${DEFAULT_CONFIG.epochs})
  --steps N            steps per epoch (${DEFAULT_CONFIG.stepsPerEpoch})
  --batch N            pairs per step, shared by all tasks (${DEFAULT_CONFIG.batch})
  --task-batch N       tasks per step, drawn at random (${DEFAULT_CONFIG.taskBatch})
  --train-pairs N      training pairs (${DEFAULT_CONFIG.trainPairs})
  --test-pairs N       test pairs for the metrics (${DEFAULT_CONFIG.testPairs})
  --lr X               Adam learning rate (${DEFAULT_CONFIG.learningRate})
  --prior X            length-prior weight lambda (default: the sketch's 'prior length')
  --prior-epoch N      epoch the prior starts (${DEFAULT_CONFIG.priorEpoch})
  --late-epoch N       epoch the sharpness rises to --late-sharpness (${DEFAULT_CONFIG.lateEpoch})
  --late-sharpness X   (${DEFAULT_CONFIG.lateSharpness})
  --no-gumbel          plain softmax instead of gumbel-softmax samples (ablation)
  --straight-through   one-hot samples forward, soft gradients backward
  --imitation X        weight of the program memory's imitation loss (${DEFAULT_CONFIG.imitation}; 0: off)
  --imitation-threshold X
                       normalized error under which a stored program is imitated (${DEFAULT_CONFIG.imitationThreshold})
  --memory-samples N   proposals per task and step for the memory: samples of q recombined with the
                       stored program (${DEFAULT_CONFIG.memorySamples})
  --abduction X        weight of abduced symbols as targets for g, with the memory (${DEFAULT_CONFIG.abduction})
  --abduction-threshold X
                       normalized error under which a stored program is evidence for g (${DEFAULT_CONFIG.abductionThreshold})
  --mutation-rate X    chance a stored row takes the sample's choice in a proposal (${DEFAULT_CONFIG.mutationRate})
  --oracle-symbols     train the recognizer on the gold symbols (upper bound; no grounder)
  --reference          also train the grounder on the labels, as a classifier and as g: the
                       grounding-accuracy references
  --grounder NAME      small-cnn | resnet18 (${DEFAULT_CONFIG.grounder})
  --hidden N           recognizer MLP width (${DEFAULT_CONFIG.recognizerHidden}; paper 256)
  --decode-samples N   programs sampled from q per task at evaluation, best on the inference pairs
                       kept (${DEFAULT_CONFIG.decodeSamples}; 0: the paper's argmax decoding)
  --eval-every N       compute the metrics every N epochs (${DEFAULT_CONFIG.evalEvery})
  --seed N             (${DEFAULT_CONFIG.seed})
  --backend B          ${BACKEND_NAMES.join(" | ")} (${DEFAULT_CONFIG.backend})
  --out DIR            run folder (${DEFAULT_CONFIG.out}); an existing checkpoint there is resumed
  --fresh              ignore an existing checkpoint in --out
  --quiet              no progress output
`;

function intFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(
      `--${name} must be an integer >= ${min}, got '${value}'`,
    );
  return n;
}

function numFlag(
  name: string,
  value: string | undefined,
  fallback: number | undefined,
): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new CliError(`--${name} must be a number >= 0, got '${value}'`);
  return n;
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
        "no-gumbel": { type: "boolean" },
        "straight-through": { type: "boolean" },
        imitation: { type: "string" },
        "imitation-threshold": { type: "string" },
        "memory-samples": { type: "string" },
        "mutation-rate": { type: "string" },
        abduction: { type: "string" },
        "abduction-threshold": { type: "string" },
        "oracle-symbols": { type: "boolean" },
        reference: { type: "boolean" },
        grounder: { type: "string" },
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
  const backend = (v.backend ?? DEFAULT_CONFIG.backend) as BackendName;
  if (!BACKEND_NAMES.includes(backend))
    throw new CliError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}, got '${v.backend}'`,
    );
  const grounder = v.grounder ?? DEFAULT_CONFIG.grounder;
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
  const config: TrainConfig = {
    ...DEFAULT_CONFIG,
    sketch: parsed.positionals[0] ?? "",
    data: v.data,
    out: v.out ?? DEFAULT_CONFIG.out,
    seed: intFlag("seed", v.seed, DEFAULT_CONFIG.seed, 0),
    backend,
    tasks: intFlag("tasks", v.tasks, DEFAULT_CONFIG.tasks),
    taskBatch: intFlag("task-batch", v["task-batch"], DEFAULT_CONFIG.taskBatch),
    trainPairs: intFlag(
      "train-pairs",
      v["train-pairs"],
      DEFAULT_CONFIG.trainPairs,
    ),
    testPairs: intFlag("test-pairs", v["test-pairs"], DEFAULT_CONFIG.testPairs),
    epochs: intFlag("epochs", v.epochs, DEFAULT_CONFIG.epochs),
    stepsPerEpoch: intFlag("steps", v.steps, DEFAULT_CONFIG.stepsPerEpoch),
    batch: intFlag("batch", v.batch, DEFAULT_CONFIG.batch),
    learningRate: numFlag("lr", v.lr, DEFAULT_CONFIG.learningRate)!,
    lengthPrior: numFlag("prior", v.prior, DEFAULT_CONFIG.lengthPrior),
    priorEpoch: intFlag(
      "prior-epoch",
      v["prior-epoch"],
      DEFAULT_CONFIG.priorEpoch,
      0,
    ),
    lateEpoch: intFlag(
      "late-epoch",
      v["late-epoch"],
      DEFAULT_CONFIG.lateEpoch,
      0,
    ),
    lateSharpness: numFlag(
      "late-sharpness",
      v["late-sharpness"],
      DEFAULT_CONFIG.lateSharpness,
    )!,
    gumbel: v["no-gumbel"] !== true,
    straightThrough: v["straight-through"] === true,
    imitation: numFlag("imitation", v.imitation, DEFAULT_CONFIG.imitation)!,
    imitationThreshold: numFlag(
      "imitation-threshold",
      v["imitation-threshold"],
      DEFAULT_CONFIG.imitationThreshold,
    )!,
    memorySamples: intFlag(
      "memory-samples",
      v["memory-samples"],
      DEFAULT_CONFIG.memorySamples,
      0,
    ),
    mutationRate: numFlag(
      "mutation-rate",
      v["mutation-rate"],
      DEFAULT_CONFIG.mutationRate,
    )!,
    abduction: numFlag("abduction", v.abduction, DEFAULT_CONFIG.abduction)!,
    abductionThreshold: numFlag(
      "abduction-threshold",
      v["abduction-threshold"],
      DEFAULT_CONFIG.abductionThreshold,
    )!,
    oracleSymbols: v["oracle-symbols"] === true,
    reference: v.reference === true,
    grounder,
    recognizerHidden: intFlag(
      "hidden",
      v.hidden,
      DEFAULT_CONFIG.recognizerHidden,
    ),
    decodeSamples: intFlag(
      "decode-samples",
      v["decode-samples"],
      DEFAULT_CONFIG.decodeSamples,
      0,
    ),
    evalEvery: intFlag("eval-every", v["eval-every"], DEFAULT_CONFIG.evalEvery),
  };
  return { config, fresh: v.fresh === true, quiet: v.quiet === true, help };
}

/** `sketchc eval RUN_DIR [--decode-samples N]`. */
export function parseEvalArgs(args: readonly string[]): {
  dir: string;
  decodeSamples: number | undefined;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { "decode-samples": { type: "string" } },
    });
  } catch (e) {
    throw new CliError(
      `${(e as Error).message} (usage: sketchc eval RUN_DIR [--decode-samples N])`,
    );
  }
  if (parsed.positionals.length !== 1) {
    throw new CliError("usage: sketchc eval RUN_DIR [--decode-samples N]");
  }
  const samples = parsed.values["decode-samples"];
  return {
    dir: parsed.positionals[0],
    decodeSamples:
      samples === undefined
        ? undefined
        : intFlag("decode-samples", samples, 0, 0),
  };
}

/** The metrics as a small table. */
export function formatMetrics(
  m: Metrics,
  wallSeconds: number,
  reference?: { classes?: number; symbols?: number },
): string {
  const count = (c: Metrics["programSuccess"]) =>
    `${c.count} / ${c.total} (${(100 * c.rate).toFixed(1)}%)`;
  const optional = (
    label: string,
    c: Metrics["programSuccess"] | undefined,
  ): [string, string][] => (c === undefined ? [] : [[label, count(c)]]);
  const percent = (label: string, v: number | undefined): [string, string][] =>
    v === undefined ? [] : [[label, `${(100 * v).toFixed(2)}%`]];
  const rows: [string, string][] = [
    ["program success", count(m.programSuccess)],
    ...optional("  with argmax decoding", m.argmaxProgramSuccess),
    ...optional("  memory alone", m.memoryProgramSuccess),
    ["symbolic loss", m.symbolicLoss.toExponential(3)],
    ["test loss", m.testLoss.toExponential(3)],
    ["grounding accuracy", `${(100 * m.groundingAccuracy).toFixed(2)}%`],
    ...percent("  reference: g on the symbols", reference?.symbols),
    ...percent("  reference: classifier", reference?.classes),
    ["mean program length", m.meanProgramLength.toFixed(2)],
    ["wall time", `${wallSeconds.toFixed(1)} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}

export async function runTrainCommand(
  command: "train" | "eval",
  args: readonly string[],
): Promise<number> {
  const { train, evaluateSaved } = await import("../runtime/index.js");
  try {
    if (command === "eval") {
      const { dir, decodeSamples } = parseEvalArgs(args);
      const { metrics, wallSeconds } = await evaluateSaved(
        dir,
        decodeSamples === undefined ? {} : { decodeSamples },
      );
      process.stdout.write(formatMetrics(metrics, wallSeconds));
      return 0;
    }
    const { config, fresh, quiet, help } = parseTrainArgs(args);
    if (help) {
      process.stdout.write(TRAIN_HELP);
      return 0;
    }
    if (fresh)
      fs.rmSync(path.join(config.out, "checkpoint.ckpt"), { force: true });
    const { createProgress } = await import("../runtime/progress.js");
    const result = await train(config, {
      progress: createProgress(process.stderr, quiet),
    });
    process.stdout.write(
      `\nROAP on ${config.sketch}: metrics on the test pairs (${config.out}/metrics.json)\n`,
    );
    process.stdout.write(
      formatMetrics(result.metrics, result.wallSeconds, {
        classes: result.referenceAccuracy,
        symbols: result.referenceSymbolAccuracy,
      }),
    );
    return 0;
  } catch (e) {
    if (e instanceof SketchCompileError) {
      process.stderr.write(e.message + "\n");
      return 1;
    }
    if (e instanceof CliError) throw e;
    // Bad data, a damaged or foreign checkpoint: the user's to fix, so one line, no stack.
    if (
      e instanceof DataError ||
      e instanceof RunError ||
      e instanceof CheckpointError
    ) {
      throw new CliError(e.message, 1);
    }
    throw e;
  }
}
