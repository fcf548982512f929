// The task domain of a run, from its config, its compiled sketch and its dataset: which domain
// (`--domain`, or the default), which alphabet (`--symbols`, the task file's, or (k + 1) / 10 per
// class), checked against each other. Mismatches are the user's to fix: RunError or DataError.

import type { DomainName, TrainConfig } from "../config.js";
import type { ImageDataset } from "../data/images.js";
import { RunError } from "../run-error.js";
import type { SketchModule } from "../sketch-module.js";
import { defaultAlphabet, type Alphabet } from "./alphabet.js";
import { ARITH_INPUTS, createArithDomain, paperOperators } from "./arith.js";
import type { TaskDomain } from "./domain.js";
import { createEnumerateDomain } from "./enumerate.js";
import { languageOf, type Language } from "./expression.js";
import {
  createFileDomain,
  readTaskFile,
  taskFileError,
  type TaskFile,
} from "./file.js";

/** Image classes of a dataset: one more than its largest label, over both splits. */
export function countClasses(dataset: ImageDataset): number {
  let max = -1;
  for (const set of [dataset.train, dataset.test])
    for (let n = 0; n < set.count; n++) max = Math.max(max, set.labels[n]);
  return max + 1;
}

/** Whether the language has binary operators computing a + b, a - b and a * b (Sec. 4.1's). */
export function hasPaperOperators(language: Language): boolean {
  return paperOperators(language) !== undefined;
}

/**
 * The domain a config asks for: `--domain`, else `file` with a task file, else `arith` for a
 * sketch with 3 inputs and the paper's operators, else `enumerate`.
 */
export function resolveDomainName(
  config: Pick<TrainConfig, "domain" | "taskFile">,
  module: SketchModule,
): DomainName {
  if (config.domain !== undefined) return config.domain;
  if (config.taskFile !== undefined) return "file";
  const language = languageOf(module);
  return language.numInputs === ARITH_INPUTS && hasPaperOperators(language)
    ? "arith"
    : "enumerate";
}

/** The alphabet: `--symbols`, else the task file's, else (k + 1) / 10; one value per class. */
function resolveAlphabet(
  config: TrainConfig,
  numClasses: number,
  datasetName: string,
  taskFile?: TaskFile,
): Alphabet {
  const fromFile = taskFile?.symbols;
  if (config.symbols !== undefined && fromFile !== undefined)
    throw new RunError(
      `--symbols and ${taskFile!.file}:${fromFile.line} both give the alphabet; keep one`,
    );
  const alphabet = config.symbols ?? fromFile?.values;
  if (alphabet === undefined) return defaultAlphabet(numClasses);
  if (alphabet.length !== numClasses) {
    const what =
      alphabet.length < numClasses
        ? `the dataset ${datasetName} has ${numClasses} classes, and the alphabet lacks classes ${alphabet.length}..${numClasses - 1}`
        : `the dataset ${datasetName} has only ${numClasses} classes`;
    const message = `${alphabet.length} values given, but ${what}: give one value per class`;
    if (config.symbols !== undefined)
      throw new RunError(`--symbols: ${message}`);
    throw taskFileError(taskFile!.file, fromFile!.line, "symbols", message);
  }
  return alphabet;
}

/**
 * The run's task domain.
 * @throws RunError or DataError (naming the flag or the file) when the config, the sketch, the
 *   task file and the dataset do not fit together
 */
export function createDomain(
  config: TrainConfig,
  module: SketchModule,
  dataset: ImageDataset,
): TaskDomain {
  const name = resolveDomainName(config, module);
  const numClasses = countClasses(dataset);
  const language = languageOf(module);
  if (config.taskFile !== undefined && name !== "file")
    throw new RunError(
      `--task-file is for --domain file, not --domain ${name}`,
    );
  switch (name) {
    case "file": {
      if (config.taskFile === undefined)
        throw new RunError("--domain file needs --task-file FILE");
      const taskFile = readTaskFile(config.taskFile, language, config.sketch);
      const alphabet = resolveAlphabet(
        config,
        numClasses,
        dataset.name,
        taskFile,
      );
      return createFileDomain(taskFile, module, alphabet, dataset.train);
    }
    case "arith": {
      if (language.numInputs !== ARITH_INPUTS)
        throw new RunError(
          `--domain arith: the paper's tasks have ${ARITH_INPUTS} symbols, but ${config.sketch} declares 'inputs ${language.numInputs}' (try --domain enumerate)`,
        );
      return createArithDomain(
        resolveAlphabet(config, numClasses, dataset.name),
        language,
      );
    }
    case "enumerate":
      return createEnumerateDomain(
        module,
        resolveAlphabet(config, numClasses, dataset.name),
        config.maxOps,
      );
  }
}
