// The generalization loss of Sec. 4.3: the search sees only pairs whose gold symbols are all in
// the alphabet's lower half, the loss is measured on pairs all in the upper half, and with the
// gold symbols a task the search can express has a loss of about 0.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { languageOf } from "../../runtime/domains/expression.js";
import {
  alphabetHalves,
  generalizationLoss,
  synthesisFit,
  type FitRequest,
} from "../../runtime/generalization.js";
import { createRun, evaluateGeneralization } from "../../runtime/train.js";
import { disposeRun, tinyRunConfig } from "../runtime/tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-general-"));
beforeAll(async () => {
  await selectBackend("wasm");
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("alphabetHalves", () => {
  it("splits 0.1..1.0 at 0.5, and other alphabets at their lower half by value", () => {
    const ten = Array.from({ length: 10 }, (_, k) => (k + 1) / 10);
    expect(alphabetHalves(ten)).toEqual({
      small: [0, 1, 2, 3, 4],
      large: [5, 6, 7, 8, 9],
    });
    expect(alphabetHalves([3, -1, 2, 0])).toEqual({
      small: [1, 3],
      large: [2, 0],
    });
  });
});

describe("the generalization loss", () => {
  it("never gives the search a pair with a large symbol", async () => {
    const run = await createRun(
      tinyRunConfig(root, "split", { generalizationTasks: 4 }),
    );
    const data = run.generalization!;
    expect(data.tasks.length).toBe(4);
    const used = new Set(run.tasks.map((t) => t.id));
    run.heldOut?.tasks.forEach((t) => used.add(t.id));
    expect(data.tasks.some((t) => used.has(t.id))).toBe(false);
    const V = data.split.numInputs;
    const seen: FitRequest[] = [];
    generalizationLoss(data, data.split.symbols, (request) => {
      seen.push(request);
      return { predictions: request.test.s.map(() => 0) };
    });
    expect(seen).toHaveLength(4);
    for (const r of seen) {
      expect(r.train.pairs.length).toBeGreaterThan(0);
      for (const [k, i] of r.train.pairs.entries()) {
        const gold = Array.from(
          data.split.symbols.subarray(i * V, (i + 1) * V),
        );
        expect(Math.max(...gold)).toBeLessThanOrEqual(0.5 + 1e-6);
        expect(r.train.s[k]).toEqual(gold);
      }
      for (const i of r.test.pairs)
        expect(
          Math.min(...data.split.symbols.subarray(i * V, (i + 1) * V)),
        ).toBeGreaterThan(0.5 + 1e-6);
    }
    disposeRun(run);
  });

  it("is about 0 with the gold symbols for tasks within the search's size", async () => {
    const run = await createRun(
      tinyRunConfig(root, "oracle", {
        generalizationTasks: 5,
        oracleSymbols: true,
      }),
    );
    const data = run.generalization!;
    const report = generalizationLoss(
      data,
      data.split.symbols,
      synthesisFit(languageOf(run.module), 3),
    );
    report.perTask.forEach((p, t) => {
      if ((data.tasks[t].numOps ?? 99) <= 3) expect(p.loss).toBeLessThan(1e-8);
    });
    expect(report.tasks).toBe(5);
    // The run's own evaluation (oracle symbols: the gold ones) agrees.
    const own = (await evaluateGeneralization(run))!;
    expect(own.loss).toBeCloseTo(report.loss, 10);
    disposeRun(run);
  });
});
