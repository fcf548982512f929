// The average of the trained weights (runtime/weight-average.ts): its warm-up, the update by hand,
// evaluation on the average with the live weights put back (also when evaluation throws), its
// checkpoint arrays, and in a tiny run: training untouched by it, evaluation reading it, a
// resumed run averaging exactly as the uninterrupted one.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import {
  createRun,
  evaluateRun,
  evaluateTrained,
  resumeRun,
  saveRun,
  trainStep,
  type RunContext,
} from "../../runtime/train.js";
import {
  averageDecay,
  createWeightAverage,
} from "../../runtime/weight-average.js";
import { disposeRun, tinyRunConfig } from "./tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-average-"));

beforeAll(async () => {
  await selectBackend("wasm");
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const values = (v: tf.Tensor) => Array.from(v.dataSync());
const set = (v: tf.Variable, x: number[] | number[][]) =>
  tf.tidy(() => v.assign(tf.tensor(x)));

describe("weight average", () => {
  it("warms its decay up from 0.1 and then holds it", () => {
    expect(averageDecay(0.99, 0)).toBeCloseTo(1 / 10, 12);
    expect(averageDecay(0.99, 8)).toBeCloseTo(9 / 18, 12);
    expect(averageDecay(0.99, 10_000)).toBe(0.99);
    expect(averageDecay(0.5, 20)).toBe(0.5);
  });

  it("averages as computed by hand, and evaluates on the average with the live weights put back", async () => {
    const a = tf.variable(tf.tensor([1, 2]));
    const b = tf.variable(tf.tensor([[4]]));
    const average = createWeightAverage([a, b], 0.5);
    const before = tf.memory().numTensors;
    // Step 0: d = 0.1. Step 1: d = min(0.5, 2 / 11).
    let avgA = [1, 2];
    let avgB = 4;
    set(a, [3, 6]);
    set(b, [[0]]);
    average.update(0);
    avgA = avgA.map((x, i) => 0.1 * x + 0.9 * [3, 6][i]);
    avgB = 0.1 * avgB + 0.9 * 0;
    set(a, [-1, 0]);
    set(b, [[2]]);
    average.update(1);
    const d = 2 / 11;
    avgA = avgA.map((x, i) => d * x + (1 - d) * [-1, 0][i]);
    avgB = d * avgB + (1 - d) * 2;
    const seen = await average.evaluate(async () => [values(a), values(b)]);
    expect(seen[0][0]).toBeCloseTo(avgA[0], 5);
    expect(seen[0][1]).toBeCloseTo(avgA[1], 5);
    expect(seen[1][0]).toBeCloseTo(avgB, 5);
    expect(values(a)).toEqual([-1, 0]);
    expect(values(b)).toEqual([2]);
    // An evaluation that throws still puts the live weights back.
    await expect(
      average.evaluate(async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(values(a)).toEqual([-1, 0]);
    expect(tf.memory().numTensors).toBe(before);
    average.dispose();
    a.dispose();
    b.dispose();
  });

  it("round-trips through checkpoint arrays; a checkpoint without them starts it at the live weights", async () => {
    const a = tf.variable(tf.tensor([1, 2]));
    const average = createWeightAverage([a], 0.9);
    set(a, [5, 5]);
    average.update(0);
    const arrays = await average.toArrays();
    const other = createWeightAverage([a], 0.9);
    expect(other.load(arrays)).toBe(true);
    expect(await other.evaluate(async () => values(a))).toEqual(
      await average.evaluate(async () => values(a)),
    );
    expect(other.load([])).toBe(false);
    expect(await other.evaluate(async () => values(a))).toEqual([5, 5]);
    expect(() =>
      other.load([
        { name: "average/0", shape: [3], data: new Float32Array(3) },
      ]),
    ).toThrow(/average\/0 has shape \[3\]/);
    expect(() => createWeightAverage([a], 1)).toThrow(/decay/);
    average.dispose();
    other.dispose();
    a.dispose();
  });
});

describe("a run with --weight-average", () => {
  const config = (out: string, weightAverage: number) =>
    tinyRunConfig(root, out, { weightAverage, heldOutTasks: 0 });
  const steps = async (run: RunContext, from: number, to: number) => {
    const losses: number[] = [];
    for (let step = from; step < to; step++) {
      losses.push((await trainStep(run, 0, step)).loss);
      run.average?.update(step);
    }
    return losses;
  };

  it("trains as without it, and evaluation reads the average", async () => {
    const plain = await createRun(config("plain", 0));
    const averaged = await createRun(config("averaged", 0.8));
    expect(plain.average).toBeUndefined();
    expect(await steps(averaged, 0, 4)).toEqual(await steps(plain, 0, 4));
    const live = (await evaluateRun(averaged)).metrics;
    expect(live.symbolicLoss).toBe(
      (await evaluateTrained(plain)).metrics.symbolicLoss,
    );
    const read = (await evaluateTrained(averaged)).metrics;
    expect(read.symbolicLoss).not.toBe(live.symbolicLoss);
    // The live weights are back after the evaluation.
    expect((await evaluateRun(averaged)).metrics.symbolicLoss).toBe(
      live.symbolicLoss,
    );
    disposeRun(plain);
    disposeRun(averaged);
  });

  it("resumes to the same average as the uninterrupted run", async () => {
    const a = await createRun(config("resume", 0.8));
    await steps(a, 0, 3);
    await saveRun(a, 1, 0);
    await steps(a, 3, 5);
    const expected = await a.average!.toArrays();
    disposeRun(a);
    const b = await createRun(config("resume", 0.8));
    await resumeRun(b);
    await steps(b, 3, 5);
    const got = await b.average!.toArrays();
    disposeRun(b);
    expect(got.map((x) => x.name)).toEqual(expected.map((x) => x.name));
    got.forEach((x, i) => expect(x.data).toEqual(expected[i].data));
  });
});
