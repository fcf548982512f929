// The tiny training runs the runtime tests share: 8 tasks, 4 pairs a step, 16-wide nets, the
// committed image sample, the wasm backend and the paper's objective (no memory, no abduction)
// with the cpu preset's grounder (categorical), so each step takes milliseconds. Tests override
// what they exercise.

import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { DEFAULT_CONFIG, type TrainConfig } from "../../runtime/config.js";
import {
  createRun,
  resumeRun,
  saveRun,
  trainStep,
  type RunContext,
} from "../../runtime/train.js";

export const SAMPLE_DATA = "runtime/data/fixtures/fashion-mnist-sample";

/** A tiny run's config, its run folder `out` under `root`. */
export function tinyRunConfig(
  root: string,
  out: string,
  overrides: Partial<TrainConfig> = {},
): TrainConfig {
  return {
    ...DEFAULT_CONFIG,
    sketch: "sketches/arith-depth3.sketch",
    data: SAMPLE_DATA,
    out: path.join(root, out),
    backend: "wasm",
    tasks: 8,
    taskBatch: 8,
    trainPairs: 64,
    testPairs: 16,
    batch: 4,
    recognizerHidden: 16,
    learningRate: 3e-3,
    epochs: 2,
    stepsPerEpoch: 3,
    evalEvery: 1,
    seed: 7,
    imitation: 0,
    memorySamples: 0,
    abduction: 0,
    ...overrides,
  };
}

/** Frees a run's nets, optimizer and weight average. */
export function disposeRun(run: RunContext): void {
  run.model.dispose();
  run.optimizer.dispose();
  run.average?.dispose();
}

/** Writes `text` to `root`/`name` and returns its path. */
export function writeFile(root: string, name: string, text: string): string {
  const file = path.join(root, name);
  fs.writeFileSync(file, text);
  return file;
}

/**
 * Three steps, a checkpoint after them, and the next step of the run against the next step of a
 * run resumed from the checkpoint: their losses must agree (and be finite). Also checks that the
 * steps leak no tensors.
 */
export async function expectSameStepAfterResume(
  config: TrainConfig,
): Promise<void> {
  const a = await createRun(config);
  await trainStep(a, 0, 0);
  const before = tf.memory().numTensors;
  await trainStep(a, 0, 1);
  await trainStep(a, 0, 2);
  expect(tf.memory().numTensors).toBe(before);
  await saveRun(a, 1, 0);
  const expected = (await trainStep(a, 1, 3)).loss;
  disposeRun(a);
  const b = await createRun(config);
  expect(await resumeRun(b)).toEqual({ epoch: 1, wallSeconds: 0 });
  const got = (await trainStep(b, 1, 3)).loss;
  disposeRun(b);
  expect(Number.isFinite(got)).toBe(true);
  expect(got).toBeCloseTo(expected, 5);
}
