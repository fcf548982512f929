// A tiny training run of the real binary (dist/, test/built-binary.ts) on the committed sample:
// 40 tasks, 2 epochs of 3 steps, on wasm. The CLI tests that compare two settings of one run
// (thread counts, the host thread) train it under two environments.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import { SKETCHC_BIN } from "../built-binary.js";

const SAMPLE = path.resolve("runtime/data/fixtures/fashion-mnist-sample");
const SKETCH = path.resolve("sketches/arith.sketch");

/** Trains the tiny run into `out` under `env`; returns its metrics and epoch losses. */
export function trainTiny(
  out: string,
  env: NodeJS.ProcessEnv,
): { metrics: Record<string, unknown>; losses: number[] } {
  const result = spawnSync(
    process.execPath,
    [
      SKETCHC_BIN,
      "train",
      SKETCH,
      "--data",
      SAMPLE,
      "--tasks",
      "40",
      "--task-batch",
      "40",
      "--epochs",
      "2",
      "--steps",
      "3",
      "--batch",
      "16",
      "--train-pairs",
      "64",
      "--test-pairs",
      "16",
      "--held-out-tasks",
      "4",
      "--hidden",
      "64",
      "--backend",
      "wasm",
      "--quiet",
      "--out",
      out,
    ],
    { encoding: "utf8", env },
  );
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  const metrics = JSON.parse(
    fs.readFileSync(path.join(out, "metrics.json"), "utf8"),
  ) as Record<string, unknown>;
  const losses = fs
    .readFileSync(path.join(out, "log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { loss?: number | null })
    .filter((entry) => typeof entry.loss === "number")
    .map((entry) => entry.loss as number);
  return { metrics, losses };
}
