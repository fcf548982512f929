// NaN and Inf recovery, forced through the failpoints (util/failpoints.ts): a non-finite loss or
// gradient skips the update; three in a row restore the last checkpoint, or say that there is
// none; training then goes on to a finite loss.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import type { Progress } from "../../runtime/progress.js";
import { train } from "../../runtime/train.js";
import { tinyRunConfig } from "./tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-nan-"));

beforeAll(async () => {
  await selectBackend("wasm");
});

afterEach(() => {
  delete process.env.SKETCHC_FAILPOINTS;
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Trains a tiny run (3 epochs of 3 steps) with `failpoints`; returns its warnings and log. */
async function trainWith(out: string, failpoints: string) {
  const warnings: string[] = [];
  const progress: Progress = {
    update() {},
    line() {},
    warn: (text) => warnings.push(text),
  };
  process.env.SKETCHC_FAILPOINTS = failpoints;
  const config = tinyRunConfig(root, out, { epochs: 3, evalEvery: 3 });
  await train(config, { progress });
  const log = fs
    .readFileSync(path.join(config.out, "log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { loss: number | null; skippedSteps: number });
  return { warnings, log };
}

describe("non-finite steps", () => {
  it("skips the update of a step whose loss is NaN and goes on", async () => {
    const { warnings, log } = await trainWith("loss", "nan@loss-4");
    expect(warnings).toEqual([
      "step 4: the loss or a gradient is NaN/Inf; the update was skipped",
    ]);
    expect(log.map((r) => r.skippedSteps)).toEqual([0, 1, 0]);
    expect(log.every((r) => Number.isFinite(r.loss))).toBe(true);
  });

  it("skips a step whose gradient is Inf", async () => {
    const { warnings, log } = await trainWith("grad", "nan@grad-7");
    expect(warnings).toEqual([
      "step 7: the loss or a gradient is NaN/Inf; the update was skipped",
    ]);
    expect(log.map((r) => r.skippedSteps)).toEqual([0, 0, 1]);
  });

  it("restores the last checkpoint after three in a row, then trains to a finite loss", async () => {
    const { warnings, log } = await trainWith(
      "restore",
      "nan@loss-3,nan@grad-4,nan@loss-5",
    );
    expect(warnings.at(-1)).toBe(
      "3 non-finite steps in a row in epoch 2: restored the checkpoint of epoch 1",
    );
    expect(log[1].skippedSteps).toBe(3);
    expect(log[2].skippedSteps).toBe(0);
    expect(Number.isFinite(log[2].loss)).toBe(true);
  });

  it("says when there is no checkpoint to restore yet", async () => {
    const { warnings, log } = await trainWith(
      "none",
      "nan@loss-0,nan@loss-1,nan@loss-2",
    );
    expect(warnings.at(-1)).toBe(
      "3 non-finite steps in a row in epoch 1, and no checkpoint yet to restore: going on",
    );
    expect(log.map((r) => r.skippedSteps)).toEqual([3, 0, 0]);
    expect(log[0].loss).toBeNull();
    expect(Number.isFinite(log[1].loss)).toBe(true);
  });
});
