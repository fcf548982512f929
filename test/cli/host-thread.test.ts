// Abduction and the memory's search on the host thread (runtime/host-thread.ts) give the same
// training as on the main thread, to the bit: tiny runs of the real binary (the thread runs the
// built worker, dist/) with the thread and with SKETCHC_HOST_THREAD=0 end at the same losses and
// metrics, and metrics.json says which one ran.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureBuilt, SKETCHC_BIN } from "../built-binary.js";

const SAMPLE = path.resolve("runtime/data/fixtures/fashion-mnist-sample");
const SKETCH = path.resolve("sketches/arith.sketch");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-host-thread-"));

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Trains the tiny run with `SKETCHC_HOST_THREAD=value`; returns its metrics and step losses. */
function train(
  name: string,
  value: string | undefined,
): { metrics: Record<string, unknown>; losses: number[] } {
  const out = path.join(root, name);
  const env = { ...process.env };
  delete env.SKETCHC_HOST_THREAD;
  if (value !== undefined) env.SKETCHC_HOST_THREAD = value;
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
      "4",
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

describe("the host thread", () => {
  it(
    "trains to the same losses and metrics as the main thread alone",
    { timeout: 300_000 },
    () => {
      expect(ensureBuilt()).toBeUndefined();
      const alone = train("alone", "0");
      const beside = train("beside", undefined);
      expect(alone.metrics.hostThread).toBe(false);
      expect(beside.metrics.hostThread).toBe(true);
      expect(alone.losses.length).toBe(2);
      expect(beside.losses).toEqual(alone.losses);
      for (const key of [
        "programSuccess",
        "foundProgramSuccess",
        "memoryProgramSuccess",
        "groundingAccuracy",
        "symbolicLoss",
      ]) {
        expect(alone.metrics[key]).toBeDefined();
        expect(beside.metrics[key]).toEqual(alone.metrics[key]);
      }
    },
  );
});
