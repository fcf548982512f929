// Abduction and the memory's search on the host thread (runtime/host-thread.ts) give the same
// training as on the main thread, to the bit: the built thread (dist/) answers an abduction and a
// search as the functions compute them in place, and tiny runs of the real binary with the thread
// and with SKETCHC_HOST_THREAD=0 end at the same losses and metrics (metrics.json says which).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../compiler/compile.js";
import type * as HostThreadModule from "../../runtime/host-thread.js";
import type * as MemoryModule from "../../runtime/memory.js";
import type * as ExpressionModule from "../../runtime/domains/expression.js";
import type * as LoadSketchModule from "../../runtime/load-sketch.js";
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

/** A module of the built package (dist/runtime), as the binary runs it. */
async function built<T>(file: string): Promise<T> {
  const url = pathToFileURL(path.join(PACKAGE_ROOT, "dist", "runtime", file));
  return (await import(url.href)) as T;
}

describe("the host thread", () => {
  it(
    "answers an abduction and a search as they run in place",
    { timeout: 120_000 },
    async () => {
      expect(ensureBuilt()).toBeUndefined();
      const { startHostThread } =
        await built<typeof HostThreadModule>("host-thread.js");
      const memory = await built<typeof MemoryModule>("memory.js");
      const { languageOf } = await built<typeof ExpressionModule>(
        "domains/expression.js",
      );
      const { loadSketch, moduleFileOf } =
        await built<typeof LoadSketchModule>("load-sketch.js");
      const sketch = path.resolve("sketches/arith.sketch");
      const dir = path.join(root, "module");
      const module = await loadSketch(sketch, dir);
      const line = (op: string, args: number[]) => ({ op, args });
      // Straight-line programs of arith (3 inputs, 30 lines, the output the last line).
      const program = (...last: { op: string; args: number[] }[]) => ({
        lines: [...new Array(30 - last.length).fill(null), ...last],
      });
      const programs = [
        program(line("add", [0, 1])),
        program(line("mul", [0, 2]), line("sub", [31, 1])),
        program(line("mul", [1, 1]), line("add", [31, 2])),
        program(line("skip", [2])),
      ];
      const B = 12;
      const alphabet = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
      let seed = 7;
      const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      const gold = Array.from({ length: B }, () =>
        Array.from({ length: 3 }, () => alphabet[Math.floor(next() * 10)]),
      );
      const symbols = Float32Array.from(
        gold.flat(),
        (v) => v + 0.04 * (next() - 0.5),
      );
      const tasks = programs.map((_, t) => t);
      const y = Float32Array.from({ length: tasks.length * B }, (_, i) =>
        module.evaluate(programs[Math.floor(i / B)], gold[i % B]),
      );
      const job = {
        tasks,
        weights: Float32Array.from(tasks, () => 1),
        symbols,
        y,
        sigma: Float32Array.from(tasks, () => 0.3),
        alphabet,
        options: { residualWidth: 0.1 },
        product: "javascript" as const,
      };
      const inPlace = () => memory.abduceFrom({ programs }, module, job);
      const thread = startHostThread(moduleFileOf(sketch, dir), undefined);
      expect(thread).toBeDefined();
      let ranInPlace = false;
      const abduced = thread!.abduce(programs, job, () => {
        ranInPlace = true;
        return inPlace();
      })();
      expect(ranInPlace).toBe(false);
      expect(abduced).toEqual(inPlace());
      const rows = gold;
      const outputs = programs.map((p) =>
        rows.map((r) => module.evaluate(p, r)),
      );
      const search = { symbols: rows, outputs, maxSize: 2, tolerance: 1e-6 };
      const found = thread!.search(search, () => {
        ranInPlace = true;
        return [];
      })();
      expect(ranInPlace).toBe(false);
      expect(found).toEqual(
        memory.findExpressions(languageOf(module), rows, outputs, 2, 1e-6),
      );
      expect(found.filter((e) => e !== undefined).length).toBeGreaterThan(0);
      expect(thread!.serving()).toBe(true);
      thread!.close();
    },
  );

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
