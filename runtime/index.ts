// The runtime's public API: train a compiled sketch on images, evaluate a saved run, and the
// pieces (nets, relaxation, metrics, data, task domains) for users who assemble their own loop.

import * as fs from "node:fs";
import * as path from "node:path";
import { selectBackend } from "./backend.js";
import { CheckpointError, loadCheckpoint } from "./checkpoint.js";
import { DEFAULT_CONFIG, knowledgeOf, type TrainConfig } from "./config.js";
import type { Metrics } from "./metrics.js";
import {
  CHECKPOINT_FILE,
  createRun,
  evaluateTrained,
  evaluateWith,
  resumeRun,
  weightsOf,
  RunError,
  withGeneralization,
  type RunState,
} from "./train.js";

export {
  train,
  createRun,
  trainStep,
  evaluateRun,
  type TrainResult,
  type RunContext,
} from "./train.js";
export {
  DEFAULT_CONFIG,
  PRESETS,
  presetConfig,
  knowledgeOf,
  type TrainConfig,
} from "./config.js";
export { selectBackend, type BackendName } from "./backend.js";
export type { DomainTask, TaskDomain } from "./domains/domain.js";
export { createDomain, resolveDomainName } from "./domains/create.js";
export { defaultAlphabet, type Alphabet } from "./domains/alphabet.js";
export { createArithDomain } from "./domains/arith.js";
export {
  createEnumerateDomain,
  enumeratePrograms,
} from "./domains/enumerate.js";
export { createFileDomain, readTaskFile } from "./domains/file.js";
export { loadSketch } from "./load-sketch.js";
export {
  computeMetrics,
  pickBest,
  solvedTasks,
  type Count,
  type Metrics,
} from "./metrics.js";
export { createModel, forward, type RoapModel } from "./model.js";
export { sampleRelaxed, sharpnessAt, lengthWeightAt } from "./relaxation.js";
export type {
  SketchModule,
  SketchInfo,
  HeadInfo,
  ProgramParams,
} from "./sketch-module.js";

/**
 * Recomputes the metrics of a run folder from its checkpoint (`sketchc eval`), on the dataset the
 * run was trained on (recorded in the checkpoint) unless `overrides.data` names another.
 */
export async function evaluateSaved(
  runDir: string,
  overrides: Partial<
    Pick<
      TrainConfig,
      | "decodeSamples"
      | "backend"
      | "data"
      | "transductiveEval"
      | "inferencePairs"
      | "weightAverage"
    >
  > = {},
): Promise<{
  metrics: Metrics;
  wallSeconds: number;
  knowledge: string[];
  /** The weights the metrics were computed on (train.ts `weightsOf`). */
  weights: string;
  /** Set when the newest checkpoint was damaged and the previous one was evaluated. */
  warning?: string;
}> {
  const file = path.join(runDir, CHECKPOINT_FILE);
  const loaded = loadCheckpoint<RunState>(file);
  if (!loaded)
    throw new CheckpointError(
      `${file}: no checkpoint (is this a run folder of sketchc train?)`,
    );
  const ckpt = loaded.checkpoint;
  // Defaults first: a checkpoint from an older sketchc lacks the newer fields.
  const config: TrainConfig = {
    ...DEFAULT_CONFIG,
    ...ckpt.state.config,
    out: runDir,
    ...overrides,
  };
  if (config.data !== undefined && !fs.existsSync(config.data))
    throw new RunError(
      `${file}: the run's dataset '${config.data}' is gone; restore it or pass --data DIR`,
    );
  await selectBackend(config.backend);
  const run = await createRun(config);
  await resumeRun(run, loaded);
  const evaluation = await evaluateTrained(run);
  const metrics = await evaluateWith(run, () =>
    withGeneralization(run, evaluation.metrics),
  );
  const weights = weightsOf(run);
  run.model.dispose();
  run.average?.dispose();
  return {
    metrics,
    weights,
    wallSeconds: ckpt.state.wallSeconds,
    knowledge: knowledgeOf(run.config, {
      givenPrograms: run.inferred.length < run.tasks.length,
      dreams: run.dreams !== undefined,
    }),
    warning: loaded.warning,
  };
}
