// Restarting a locked program memory (`--memory-restart`, train.ts `lockedMemory`): when it fires,
// what the log says, that a run interrupted around a restart resumes to the same end, and that a
// restart sets back a codebook value thrown off the symbols' range.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCheckpoint } from "../../runtime/checkpoint.js";
import { createMemory } from "../../runtime/memory.js";
import { alphabetStats } from "../../runtime/domains/alphabet.js";
import { createProgress } from "../../runtime/progress.js";
import {
  CHECKPOINT_FILE,
  lockedMemory,
  MAX_MEMORY_RESTARTS,
  RESTART_PATIENCE_STEPS,
  train,
  uniformInterval,
} from "../../runtime/train.js";
import { tinyRunConfig, writeFile } from "./tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-restart-"));
afterAll(() => {
  delete process.env.SKETCHC_FAILPOINTS;
  fs.rmSync(root, { recursive: true, force: true });
});

describe("lockedMemory", () => {
  const memory = () =>
    createMemory(
      { sketch: { heads: [{ name: "op", shape: [3, 4] }] } } as never,
      2,
    );

  it("fires on low agreement after the patience, never when off", () => {
    const m = memory();
    const after = RESTART_PATIENCE_STEPS;
    expect(lockedMemory(m, 0.2, after, 0.35)).toBe(true);
    expect(lockedMemory(m, 0.2, after - 1, 0.35)).toBe(false);
    expect(lockedMemory(m, 0.35, after, 0.35)).toBe(false);
    expect(lockedMemory(m, 0.2, after, 0)).toBe(false);
    // No abduction this epoch: nothing to judge.
    expect(lockedMemory(m, undefined, after, 0.35)).toBe(false);
  });

  it("waits the patience again after a restart, and stops after the most restarts", () => {
    const m = memory();
    m.restarts = 1;
    m.restartStep = 400;
    expect(lockedMemory(m, 0.1, 400 + RESTART_PATIENCE_STEPS - 1, 0.5)).toBe(
      false,
    );
    expect(lockedMemory(m, 0.1, 400 + RESTART_PATIENCE_STEPS, 0.5)).toBe(true);
    m.restarts = MAX_MEMORY_RESTARTS;
    expect(lockedMemory(m, 0.1, 10_000, 0.5)).toBe(false);
  });
});

describe("a run with --memory-restart", () => {
  // The memory, abduction and the search on; agreement is below 1 in any young run, so a
  // threshold of 1 restarts as soon as the patience allows: at the end of epoch 3 (150 steps).
  const config = (out: string) =>
    tinyRunConfig(root, out, {
      imitation: 1,
      abduction: 1,
      memorySamples: 2,
      memorySearch: 2,
      memoryRestart: 1,
      epochs: 4,
      stepsPerEpoch: RESTART_PATIENCE_STEPS / 3,
      evalEvery: 2,
      generalizationTasks: 0,
    });
  const readLog = (out: string) =>
    fs
      .readFileSync(path.join(out, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("restarts after the patience, logs it, and resumes across it to the same end", async () => {
    const quiet = createProgress(undefined, true);
    const whole = config("whole");
    const a = await train(whole, { progress: quiet });
    const log = readLog(whole.out);
    expect(log.map((r) => r.memoryRestarts)).toEqual([0, 0, 1, 1]);
    // The memory fills again after the restart.
    expect(log[3].remembered).toBeGreaterThan(0);

    // Interrupted after the restart's epoch, then resumed: the same log and metrics.
    const split = config("split");
    await train(split, { progress: quiet, maxEpochs: 3 });
    const b = await train(split, { progress: quiet });
    const strip = (r: Record<string, unknown>) => {
      const { wallSeconds: _, ...rest } = r;
      return rest;
    };
    expect(readLog(split.out).map(strip)).toEqual(log.map(strip));
    expect(b.metrics.programSuccess).toEqual(a.metrics.programSuccess);
    expect(b.metrics.foundProgramSuccess).toEqual(
      a.metrics.foundProgramSuccess,
    );
  }, 300_000);

  it("keeps the given programs, which are exact", async () => {
    const tasks = writeFile(
      root,
      "mixed.jsonl",
      [
        '{"formula": "add(s1, s2)", "given": true}',
        '{"formula": "mul(s1, s2)"}',
        '{"formula": "add(mul(s1, s1), s2)"}',
      ].join("\n"),
    );
    const run = { ...config("given"), taskFile: tasks, epochs: 3 };
    // Value 0 of the codebook is thrown off the range (NaN) just before the restart.
    process.env.SKETCHC_FAILPOINTS = "nan@codebook-3";
    try {
      await train(run, { progress: createProgress(undefined, true) });
    } finally {
      delete process.env.SKETCHC_FAILPOINTS;
    }
    expect(readLog(run.out).map((r) => r.memoryRestarts)).toEqual([0, 0, 1]);
    const arrays = readCheckpoint(path.join(run.out, CHECKPOINT_FILE)).tensors;
    const errors = arrays.find((a) => a.name === "memory/errors")!.data;
    // Saved right after the restart: the given task's program alone, at error 0.
    expect(Array.from(errors)).toEqual([0, Infinity, Infinity]);
    const restarts = arrays.find((a) => a.name === "memory/restarts")!.data;
    expect(Array.from(restarts)).toEqual([1, RESTART_PATIENCE_STEPS]);
    // The restart set value 0 back to its start, the first place over the symbols' range (the
    // alphabet's uniform interval, with the symbol prior); the other values kept theirs.
    const values = arrays.find((a) => a.name === "codebook/values")!.data;
    const { low, high } = uniformInterval(
      alphabetStats([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]),
    );
    expect(values[0]).toBe(
      Math.fround(low + (0.5 * (high - low)) / values.length),
    );
    expect(Array.from(values).every(Number.isFinite)).toBe(true);
  }, 300_000);
});
