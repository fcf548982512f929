// Abduction and the memory's search on the host thread (runtime/host-thread.ts) give the same
// training as on the main thread, to the bit: tiny runs of the real binary (the thread runs the
// built worker, dist/) with the thread and with SKETCHC_HOST_THREAD=0 end at the same losses and
// metrics, and metrics.json says which one ran.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../built-binary.js";
import { trainTiny } from "./tiny-train.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-host-thread-"));

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Trains the tiny run with `SKETCHC_HOST_THREAD=value`; returns its metrics and epoch losses. */
function train(
  name: string,
  value: string | undefined,
): { metrics: Record<string, unknown>; losses: number[] } {
  const env = { ...process.env };
  delete env.SKETCHC_HOST_THREAD;
  if (value !== undefined) env.SKETCHC_HOST_THREAD = value;
  return trainTiny(path.join(root, name), env);
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
