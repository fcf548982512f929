// Table 1's baselines at a tiny scale: the CNN+MLP (both variants) and the free per-task logits
// of "w/o amortized inference": shapes, the loss falls, no tensor leaks, resume takes the same
// next step (the checkpoint holds the new parameters), and the CNN+MLP solves no program.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import type { TrainConfig } from "../../runtime/config.js";
import {
  createFreeLogits,
  createOutputMlp,
} from "../../runtime/nets/baselines.js";
import { createRun, evaluateRun, trainStep } from "../../runtime/train.js";
import {
  disposeRun,
  expectSameStepAfterResume,
  tinyRunConfig,
} from "../runtime/tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-baselines-"));
const tiny = (out: string, overrides: Partial<TrainConfig>) =>
  tinyRunConfig(root, out, { generalizationTasks: 0, ...overrides });

beforeAll(async () => {
  await selectBackend("wasm");
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const variants: [string, Partial<TrainConfig>][] = [
  ["cnn-mlp per-task", { model: "cnn-mlp", cnnMlp: "per-task" }],
  ["cnn-mlp shared", { model: "cnn-mlp", cnnMlp: "shared" }],
  ["no-amortization", { model: "no-amortization" }],
];

describe("the baseline nets", () => {
  it("free logits: one row per requested task, masked as r's", () => {
    const sketch = {
      name: "t",
      source: "t.sketch",
      model: "straight" as const,
      numInputs: 2,
      constants: [],
      size: 2,
      operators: [],
      heads: [
        {
          name: "op",
          shape: [2, 3] as [number, number],
          mask: [
            [1, 1, 0],
            [1, 1, 1],
          ],
        },
      ],
      lengthPrior: 0,
    };
    const r = createFreeLogits({ sketch, numTasks: 5, seed: 1 });
    const logits = r.call(
      tf.zeros([4, 2]) as tf.Tensor2D,
      tf.zeros([2, 4]) as tf.Tensor2D,
      [4, 1],
    );
    expect(logits.op.shape).toEqual([2, 2, 3]);
    const values = logits.op.arraySync() as number[][][];
    expect(values[0][0][2]).toBe(-1e9);
    expect(Math.abs(values[0][1][2])).toBeLessThan(1);
    expect(() =>
      r.call(
        tf.zeros([4, 2]) as tf.Tensor2D,
        tf.zeros([1, 4]) as tf.Tensor2D,
        [5],
      ),
    ).toThrow(/beyond the 5 trained tasks/);
    Object.values(logits).forEach((t) => t.dispose());
    r.dispose();
  });

  it("output MLPs: [tasks, B] from [B, V], both variants", () => {
    for (const variant of ["per-task", "shared"] as const) {
      const mlp = createOutputMlp({
        numInputs: 3,
        numTasks: 6,
        hidden: 8,
        variant,
        seed: 2,
      });
      const y = mlp.call(tf.ones([5, 3]) as tf.Tensor2D, [0, 2, 5, 2]);
      expect(y.shape).toEqual([4, 5]);
      const rows = y.arraySync() as number[][];
      // The same task twice gives the same row; different tasks differ.
      expect(rows[1]).toEqual(rows[3]);
      expect(rows[0]).not.toEqual(rows[1]);
      y.dispose();
      mlp.dispose();
    }
  });
});

describe.each(variants)("%s", (name, overrides) => {
  const folder = name.replace(/\W+/g, "-");

  it("lowers the loss over a few steps", async () => {
    const run = await createRun(
      tiny(`${folder}-fall`, {
        ...overrides,
        batch: 16,
        gumbel: false,
        symbolPrior: 0,
      }),
    );
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) losses.push((await trainStep(run, 0, 0)).loss);
    disposeRun(run);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(0.75 * losses[0]);
  });

  it("leaks no tensors in a step or an evaluation", async () => {
    const run = await createRun(tiny(`${folder}-leak`, overrides));
    await trainStep(run, 0, 0);
    const before = tf.memory().numTensors;
    await trainStep(run, 0, 1);
    await trainStep(run, 0, 2);
    await evaluateRun(run);
    expect(tf.memory().numTensors).toBe(before);
    disposeRun(run);
  });

  it("takes the same next step after a checkpoint is resumed", async () => {
    await expectSameStepAfterResume(tiny(`${folder}-resume`, overrides));
  });

  it("evaluates without held-out tasks; the CNN+MLP solves no program", async () => {
    const run = await createRun(tiny(`${folder}-eval`, overrides));
    const { metrics } = await evaluateRun(run);
    expect(metrics.heldOutProgramSuccess).toBeUndefined();
    expect(metrics.programSuccess.total).toBe(8);
    if (overrides.model === "cnn-mlp") {
      expect(metrics.programSuccess.count).toBe(0);
      expect(metrics.foundProgramSuccess.count).toBe(0);
    }
    expect(Number.isFinite(metrics.testLoss)).toBe(true);
    expect(Number.isFinite(metrics.symbolicLoss)).toBe(true);
    disposeRun(run);
  });
});
