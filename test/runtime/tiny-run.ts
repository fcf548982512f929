// The tiny training runs the runtime tests share: 8 tasks, 4 pairs a step, 16-wide nets, the
// committed image sample, the wasm backend and the paper's objective (no memory, no abduction),
// so each step takes milliseconds. Tests override what they exercise.

import * as path from "node:path";
import { DEFAULT_CONFIG, type TrainConfig } from "../../runtime/config.js";
import type { RunContext } from "../../runtime/train.js";

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

/** Frees a run's nets and optimizer. */
export function disposeRun(run: RunContext): void {
  run.model.dispose();
  run.optimizer.dispose();
}
