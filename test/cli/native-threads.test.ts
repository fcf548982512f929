// Training does not depend on the number of threads of the native kernels (OpenBLAS's count:
// OPENBLAS_NUM_THREADS), beyond floating-point summation order: two tiny runs of the real binary,
// on 1 and on 2 threads, give the same losses and metrics. The LayerNorm and interpreter kernels
// split fixed blocks between threads; OpenBLAS's sgemm splits rows and columns, not the inner sum.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { nativeStatus } from "../../runtime/kernels/native.js";
import { ensureBuilt, SKETCHC_BIN } from "../built-binary.js";

const SAMPLE = path.resolve("runtime/data/fixtures/fashion-mnist-sample");
const SKETCH = path.resolve("sketches/arith.sketch");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-threads-"));

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Trains the tiny run with `threads` native threads; returns its metrics and epoch losses. */
function train(threads: number): {
  metrics: Record<string, unknown>;
  losses: number[];
} {
  const out = path.join(root, `threads-${threads}`);
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
    {
      encoding: "utf8",
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads) },
    },
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

describe.runIf(nativeStatus().on)("native kernels on 1 and 2 threads", () => {
  it("train to the same losses and metrics", { timeout: 300_000 }, () => {
    expect(ensureBuilt()).toBeUndefined();
    const one = train(1);
    const two = train(2);
    expect(JSON.stringify(one.metrics)).toMatch(
      /native kernels \(.*1 thread\)/,
    );
    expect(JSON.stringify(two.metrics)).toMatch(
      /native kernels \(.*2 threads\)/,
    );
    expect(one.losses.length).toBeGreaterThan(0);
    expect(two.losses.length).toBe(one.losses.length);
    two.losses.forEach((loss, i) =>
      expect(Math.abs(loss - one.losses[i])).toBeLessThanOrEqual(
        1e-5 * Math.abs(one.losses[i]),
      ),
    );
    for (const key of [
      "programSuccess",
      "foundProgramSuccess",
      "groundingAccuracy",
    ]) {
      expect(one.metrics[key]).toBeDefined();
      expect(two.metrics[key]).toEqual(one.metrics[key]);
    }
  });
});
