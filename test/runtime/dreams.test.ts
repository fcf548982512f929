// Dreams (runtime/dreams.ts) on arith-depth3 with the paper's tasks: the pool's programs decode to
// their formulas, dream outputs are the exact ones, the loss is -log q by hand, held-out tasks are
// never dreamt, the draws are a function of (seed, step), r learns from dreams, and a run with
// dreams logs their loss, leaks no tensors and resumes to the same next step.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { loadSketch } from "../../runtime/load-sketch.js";
import { defaultAlphabet } from "../../runtime/domains/alphabet.js";
import { createArithDomain } from "../../runtime/domains/arith.js";
import type { DomainTask, TaskDomain } from "../../runtime/domains/domain.js";
import { createProgramSpace, placeExpr } from "../../runtime/domains/embed.js";
import {
  evaluateExpr,
  languageOf,
  type Expr,
} from "../../runtime/domains/expression.js";
import {
  createDreamPool,
  dreamBatch,
  dreamLoss,
  drawDreams,
  type DreamPool,
} from "../../runtime/dreams.js";
import { createRecognizer } from "../../runtime/nets/recognizer.js";
import { createProgress } from "../../runtime/progress.js";
import { createRng } from "../../runtime/random.js";
import type { SketchModule } from "../../runtime/sketch-module.js";
import {
  createRun,
  resumeRun,
  saveRun,
  train,
  trainStep,
} from "../../runtime/train.js";
import { disposeRun, tinyRunConfig } from "./tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-dreams-"));
let module: SketchModule<unknown>;
let domain: TaskDomain;
/** The whole pool: no task excluded. */
let full: DreamPool;

beforeAll(async () => {
  await selectBackend("wasm");
  module = await loadSketch(
    "sketches/arith-depth3.sketch",
    path.join(root, "module"),
  );
  domain = createArithDomain(defaultAlphabet(10), languageOf(module));
  full = createDreamPool(module, domain, []);
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** `n` tuples of symbols uniform in (0, 1.5), the sigmoid grounder's range, as [n * 3]. */
function randomSymbols(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * 3 }, () => 1.5 * rng.next());
}

/** |a - b| within 1e-12 of the larger magnitude (float64 evaluations of one function). */
function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** A function's outputs at fixed points, to 9 digits: equal for equal polynomials. */
function fingerprint(f: (s: number[]) => number): string {
  const rng = createRng(99);
  return Array.from({ length: 12 }, () =>
    f([rng.next() * 2 - 1, rng.next() * 2 - 1, rng.next() * 2 - 1]).toPrecision(
      9,
    ),
  ).join(",");
}

const taskPrint = (t: DomainTask) => fingerprint((s) => domain.output(t, s));

describe("the dream pool", () => {
  it("places every formula the 3-line sketch can express, and each decodes to its own formula", () => {
    const language = languageOf(module);
    const space = createProgramSpace(module, language);
    expect(full.programs.length + full.unplaceable).toBe(domain.poolSize);
    expect(full.programs.length).toBeGreaterThan(100);
    const points = Array.from({ length: 8 }, (_, i) =>
      Array.from(randomSymbols(1, 10 + i)),
    );
    for (const p of full.programs) {
      const expr = domain.program!(p.task) as Expr;
      for (const s of points) {
        const want = domain.output(p.task, s);
        expect(near(module.evaluate(p.program, s), want)).toBe(true);
        expect(near(evaluateExpr(language, expr, s), want)).toBe(true);
      }
      // Canonical: the decoded program encodes back to the placement on its live rows, and the
      // placement of the formula is always the same.
      const encoded = module.encode(p.program);
      const again = placeExpr(space, expr)!;
      for (const h of full.heads) {
        const choice = tf.tidy(
          () => tf.argMax(encoded[h.name], -1).dataSync() as Int32Array,
        );
        for (let r = 0; r < h.rows; r++) {
          expect(again[h.name][r]).toBe(p.choices[h.name][r]);
          if (p.live[h.name][r]) expect(choice[r]).toBe(p.choices[h.name][r]);
        }
      }
      Object.values(encoded).forEach((t) => t.dispose());
    }
  });

  it("never holds a held-out or training task's function, over many seeds and draws", () => {
    let control = 0;
    for (let seed = 0; seed < 4; seed++) {
      const drawn = domain.drawTasks(40, 100, seed);
      const pool = createDreamPool(module, domain, [
        ...drawn.train,
        ...drawn.heldOut,
      ]);
      const heldOut = new Set(drawn.heldOut.map(taskPrint));
      const trained = new Set(drawn.train.map(taskPrint));
      for (let step = 0; step < 100; step++) {
        for (const k of drawDreams(pool, 16, seed, step)) {
          const print = fingerprint((s) =>
            module.evaluate(pool.programs[k].program, s),
          );
          expect(heldOut.has(print)).toBe(false);
          expect(trained.has(print)).toBe(false);
        }
        // The same draws from the whole pool do meet held-out tasks: the check above can fail.
        for (const k of drawDreams(full, 16, seed, step))
          if (heldOut.has(taskPrint(full.programs[k].task))) control++;
      }
    }
    expect(control).toBeGreaterThan(0);
  });
});

describe("drawDreams and dreamBatch", () => {
  it("are a function of (seed, step): the same batch again, another for another step or seed", () => {
    const s = randomSymbols(8, 1);
    const a = drawDreams(full, 12, 3, 17);
    expect(new Set(a).size).toBe(12);
    expect(drawDreams(full, 12, 3, 17)).toEqual(a);
    expect(drawDreams(full, 12, 3, 18)).not.toEqual(a);
    expect(drawDreams(full, 12, 4, 17)).not.toEqual(a);
    expect(dreamBatch(module, full, a, s)).toEqual(
      dreamBatch(module, full, drawDreams(full, 12, 3, 17), s),
    );
    expect(drawDreams(full, 10 * full.programs.length, 3, 17)).toHaveLength(
      full.programs.length,
    );
  });

  it("gives each program's exact outputs on the symbols, in float32, and drops non-finite ones", () => {
    const B = 5;
    const s = randomSymbols(B, 2);
    const drawn = drawDreams(full, 20, 0, 0);
    const batch = dreamBatch(module, full, drawn, s);
    expect(batch.programs).toEqual(drawn);
    batch.programs.forEach((k, row) => {
      for (let b = 0; b < B; b++) {
        const tuple = Array.from(s.subarray(3 * b, 3 * b + 3));
        expect(batch.y[row * B + b]).toBe(
          Math.fround(domain.output(full.programs[k].task, tuple)),
        );
      }
    });
    // Symbols of 1e20: a product of two overflows float32 (a sum does not), so it is dropped.
    const huge = new Float32Array(3).fill(1e20);
    const text = (k: number) => full.programs[k].task.text;
    const sum = full.programs.findIndex((p) => p.task.text === "s1 + s2");
    const product = full.programs.findIndex((p) => p.task.text === "s1 * s2");
    expect(
      dreamBatch(module, full, [sum, product], huge).programs.map(text),
    ).toEqual(["s1 + s2"]);
  });
});

describe("dreamLoss", () => {
  it("is the mean over dream tasks of -log q of the canonical z over the live rows, by hand", () => {
    const recognizer = createRecognizer({
      sketch: module.sketch,
      hidden: 8,
      featureSize: 8,
      seed: 5,
    });
    const B = 4;
    const sValues = randomSymbols(B, 3);
    const drawn = drawDreams(full, 6, 1, 2);
    const batch = dreamBatch(module, full, drawn, sValues);
    const s = tf.tensor2d(sValues, [B, 3]);
    const loss = dreamLoss(recognizer, full, batch, s);
    const got = loss.dataSync()[0];
    loss.dispose();

    const n = batch.programs.length;
    const logits = tf.tidy(() =>
      recognizer.call(s, tf.tensor2d(batch.y, [n, B])),
    );
    let sum = 0;
    let liveRows = 0;
    for (const h of full.heads) {
      const l = logits[h.name].arraySync();
      batch.programs.forEach((p, k) => {
        const { choices, live } = full.programs[p];
        for (let r = 0; r < h.rows; r++) {
          if (!live[h.name][r]) continue;
          liveRows++;
          const row = l[k][r];
          const max = Math.max(...row);
          const logZ =
            max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
          sum += logZ - row[choices[h.name][r]];
        }
      });
    }
    Object.values(logits).forEach((t) => t.dispose());
    expect(liveRows).toBeGreaterThan(n); // some program uses more than one row
    expect(got).toBeCloseTo(sum / n, 4);
    expect(got).toBeGreaterThan(0);

    // s is data: no gradient reaches it; r's variables get one.
    const sVar = tf.variable(s);
    const { value, grads } = tf.variableGrads(
      () => dreamLoss(recognizer, full, batch, sVar),
      [sVar, ...recognizer.variables],
    );
    expect(grads[sVar.name] == null).toBe(true); // no path from s to the loss
    const rGrad = recognizer.variables.reduce(
      (a, v) => a + tf.sum(tf.abs(grads[v.name])).dataSync()[0],
      0,
    );
    expect(rGrad).toBeGreaterThan(0);
    value.dispose();
    Object.values(grads).forEach((t) => t?.dispose());
    sVar.dispose();
    s.dispose();
    recognizer.dispose();
  });

  it("falls as r trains on a fixed dream batch alone", () => {
    const recognizer = createRecognizer({
      sketch: module.sketch,
      hidden: 32,
      featureSize: 32,
      seed: 6,
    });
    const B = 16;
    const sValues = randomSymbols(B, 4);
    const batch = dreamBatch(module, full, drawDreams(full, 8, 2, 0), sValues);
    const s = tf.tensor2d(sValues, [B, 3]);
    const optimizer = tf.train.adam(1e-2);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const value = optimizer.minimize(
        () => dreamLoss(recognizer, full, batch, s),
        true,
        recognizer.variables,
      )!;
      losses.push(value.dataSync()[0]);
      value.dispose();
    }
    optimizer.dispose();
    s.dispose();
    recognizer.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]);
  });
});

describe("training with dreams", () => {
  const config = (out: string) =>
    tinyRunConfig(root, out, { dreams: 6, heldOutTasks: 10 });

  it("adds the dream loss to the step, leaks no tensors, and resumes to the same next step", async () => {
    const a = await createRun(config("resume"));
    expect(a.dreams!.programs.length).toBeGreaterThan(0);
    const measured = new Set(
      [...a.tasks, ...a.heldOut!.tasks, ...(a.generalization?.tasks ?? [])].map(
        (t) => t.id,
      ),
    );
    expect(a.dreams!.programs.some((p) => measured.has(p.task.id))).toBe(false);
    const first = await trainStep(a, 0, 0); // creates the optimizer's slots
    expect(first.dreamLoss).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    await trainStep(a, 0, 1);
    await trainStep(a, 0, 2);
    expect(tf.memory().numTensors).toBe(before);
    await saveRun(a, 1, 0);
    const expected = await trainStep(a, 1, 3);
    disposeRun(a);

    const b = await createRun(config("resume"));
    await resumeRun(b);
    const got = await trainStep(b, 1, 3);
    disposeRun(b);
    expect(got.loss).toBeCloseTo(expected.loss, 5);
    expect(got.dreamLoss).toBeCloseTo(expected.dreamLoss!, 5);
  });

  it("logs dreamLoss per epoch and records the task-distribution knowledge", async () => {
    const c = config("full");
    const result = await train(c, {
      progress: createProgress(undefined, true),
    });
    const log = fs
      .readFileSync(path.join(c.out, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log).toHaveLength(2);
    for (const record of log) expect(record.dreamLoss).toBeGreaterThan(0);
    expect(result.knowledge).toContain("task-distribution");
    const off = tinyRunConfig(root, "off");
    const run = await createRun(off);
    expect(run.dreams).toBeUndefined();
    disposeRun(run);
  });
});
