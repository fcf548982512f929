// The training loop at a tiny scale on the wasm backend: the loss falls, a resumed run takes
// the same next step, a step leaks no tensors, and a full `train` call writes the run folder.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { DEFAULT_CONFIG, type TrainConfig } from "../../runtime/config.js";
import { expectedSymbols, forward, groundLogits } from "../../runtime/model.js";
import {
  batchIndices,
  confidentStepPairs,
  createRun,
  evaluateRun,
  gatherBatch,
  holdSymbolValues,
  resumeClash,
  resumeRun,
  saveRun,
  train,
  trainStep,
} from "../../runtime/train.js";
import { createProgress } from "../../runtime/progress.js";
import {
  permutedRehearsal,
  rehearsalPermutation,
  rehearsalTasks,
} from "../../runtime/rehearsal.js";
import { trainSupervisedReference } from "../../runtime/reference.js";
import { evaluateSaved } from "../../runtime/index.js";
import { CliError } from "../../cli/main.js";
import { disposeRun, tinyRunConfig } from "./tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-train-"));

/** A tiny run (tiny-run.ts): 8 tasks, 4 pairs a step, a 3-line sketch, the paper's objective. */
const tinyConfig = (out: string, overrides: Partial<TrainConfig> = {}) =>
  tinyRunConfig(root, out, overrides);

beforeAll(async () => {
  await selectBackend("wasm");
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const dispose = disposeRun;

describe("trainStep", () => {
  it("lowers the loss over a few steps with a fixed seed", async () => {
    // No gumbel noise and the same batch every time: the loss on it must go down.
    const run = await createRun(
      tinyConfig("fall", { batch: 16, gumbel: false, symbolPrior: 0 }),
    );
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) losses.push((await trainStep(run, 0, 0)).loss);
    dispose(run);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(0.75 * losses[0]);
  });

  it("leaks no tensors", async () => {
    const run = await createRun(tinyConfig("leak"));
    await trainStep(run, 0, 0); // creates the optimizer's slots
    const before = tf.memory().numTensors;
    await trainStep(run, 0, 1);
    await trainStep(run, 0, 2);
    expect(tf.memory().numTensors).toBe(before);
    dispose(run);
  });

  it("takes the same next step after a checkpoint is resumed", async () => {
    const config = tinyConfig("resume");
    const a = await createRun(config);
    for (let step = 0; step < 3; step++) await trainStep(a, 0, step);
    await saveRun(a, 1, 0);
    const expected = (await trainStep(a, 1, 3)).loss;
    dispose(a);

    const b = await createRun(config);
    expect(await resumeRun(b)).toEqual({ epoch: 1, wallSeconds: 0 });
    const got = (await trainStep(b, 1, 3)).loss;
    dispose(b);
    expect(got).toBeCloseTo(expected, 5);
  });
});

describe("the default objective across the domain refactor", () => {
  it("takes the steps it took before domains existed (arith, the cpu preset)", async () => {
    // Measured with the code before runtime/domains: the same tasks, pairs, symbol prior target
    // and grounder range give the same losses and metrics. Re-pinned once since, when the
    // memory's proposals began to sample q on the host (relaxation.ts `sampleChoices`: the same
    // distribution, another random stream); with the earlier sampler the old values still held.
    const run = await createRun({
      ...DEFAULT_CONFIG,
      sketch: "sketches/arith-depth3.sketch",
      data: "runtime/data/fixtures/fashion-mnist-sample",
      out: path.join(root, "pinned"),
      backend: "wasm",
      tasks: 8,
      taskBatch: 8,
      trainPairs: 64,
      testPairs: 16,
      batch: 4,
      recognizerHidden: 16,
      heldOutTasks: 4,
      decodeSamples: 2,
      memorySamples: 2,
      imitationThreshold: 10,
      // The alphabet abduction used before the codebook became the default, and the grounder
      // output, abduction and memory of that time.
      abductionAlphabet: "gold",
      grounderOutput: "sigmoid",
      abductionWidth: "spread",
      abductionEvidence: "batch",
      memorySearch: 0,
      solvedObjective: "both",
      // The imitation targets as stored, before sorted argument targets became the default.
      targetArgOrder: "stored",
    });
    const losses: number[] = [];
    for (const step of [0, 1, 2])
      losses.push((await trainStep(run, 0, step)).loss);
    const { metrics } = await evaluateRun(run);
    dispose(run);
    [8.404936790466309, 9.667245864868164, 9.414959907531738].forEach((l, i) =>
      expect(losses[i]).toBeCloseTo(l, 5),
    );
    expect(metrics.symbolicLoss).toBeCloseTo(0.41224898584865705, 6);
    expect(metrics.testLoss).toBeCloseTo(0.7434160212257376, 6);
    expect(metrics.meanProgramLength).toBe(1.625);
  });
});

/** A tiny run with the program memory; after one step every task's program is imitated. */
const memoryConfig = (out: string, overrides: Partial<TrainConfig> = {}) =>
  tinyConfig(out, {
    imitation: 1,
    imitationThreshold: 10,
    memorySamples: 2,
    abduction: 1,
    ...overrides,
  });

describe("trainStep with the program memory", () => {
  it("fills the memory, leaks no tensors, and resumes to the same next step", async () => {
    const a = await createRun(memoryConfig("memory"));
    await trainStep(a, 0, 0);
    const before = tf.memory().numTensors;
    await trainStep(a, 0, 1);
    await trainStep(a, 0, 2);
    expect(tf.memory().numTensors).toBe(before);
    const stored = a.memory!.programs.filter((p) => p !== undefined).length;
    expect(stored).toBe(a.tasks.length); // every task of the (full) batch got a program
    await saveRun(a, 1, 0);
    const expected = (await trainStep(a, 1, 3)).loss;
    const errorsAfter = Array.from(a.memory!.errors);
    dispose(a);

    const b = await createRun(memoryConfig("memory"));
    await resumeRun(b);
    const got = (await trainStep(b, 1, 3)).loss;
    expect(got).toBeCloseTo(expected, 5);
    expect(Array.from(b.memory!.errors)).toEqual(errorsAfter);
    const { metrics } = await evaluateRun(b);
    dispose(b);
    expect(metrics.memoryProgramSuccess).toBeDefined();
    expect(metrics.transductiveProgramSuccess).toBeUndefined(); // only when asked
  });
});

describe("solvedObjective", () => {
  // After one step every task has a stored program within the (loose) threshold.
  const solvedConfig = (out: string, overrides: Partial<TrainConfig> = {}) =>
    memoryConfig(out, { priorEpoch: 0, lengthPrior: 0, ...overrides });

  it("runs the relaxed rows only, as the same rows of a full forward pass", async () => {
    const run = await createRun(solvedConfig("rows"));
    const tasks = [0, 1, 2, 3];
    const batch = gatherBatch(run.train, [0, 1, 2, 3], tasks);
    const options = { sharpness: 1, gumbel: true, seed: 3, fused: true, tasks };
    const [full, some, none] = tf.tidy(() => {
      const all = forward(run.model, batch.images, batch.y, options);
      const rows = forward(run.model, batch.images, batch.y, {
        ...options,
        relaxedRows: [1, 3],
      });
      const empty = forward(run.model, batch.images, batch.y, {
        ...options,
        relaxedRows: [],
      });
      return [all.yHat.arraySync(), rows.yHat.arraySync(), empty.yHat.shape];
    });
    batch.images.dispose();
    batch.y.dispose();
    dispose(run);
    expect(some).toHaveLength(2);
    some.forEach((row, k) =>
      row.forEach((v, b) => expect(v).toBeCloseTo(full[[1, 3][k]][b], 6)),
    );
    expect(none).toEqual([0, 4]);
  });

  it("imitation: a solved task's loss has no relaxed part, so the length prior drops out", async () => {
    const first = await createRun(solvedConfig("solved"));
    await trainStep(first, 0, 0);
    await saveRun(first, 1, 0);
    dispose(first);
    const lossOf = async (overrides: Partial<TrainConfig>) => {
      const run = await createRun(solvedConfig("solved", overrides));
      await resumeRun(run);
      expect(Array.from(run.memory!.errors).every((e) => e <= 10)).toBe(true);
      const { loss } = await trainStep(run, 1, 1);
      dispose(run);
      return loss;
    };
    const imitation0 = await lossOf({ solvedObjective: "imitation" });
    const imitation5 = await lossOf({
      solvedObjective: "imitation",
      lengthPrior: 5,
    });
    const both0 = await lossOf({ solvedObjective: "both" });
    const both5 = await lossOf({ solvedObjective: "both", lengthPrior: 5 });
    expect(imitation5).toBeCloseTo(imitation0, 5);
    // Half the tasks unsolved: their relaxed rows run and are differentiated (the step is finite
    // and the length prior counts again, for those tasks only).
    const halfOf = async (lengthPrior: number) => {
      const run = await createRun(
        solvedConfig("solved", { solvedObjective: "imitation", lengthPrior }),
      );
      await resumeRun(run);
      for (let t = 1; t < run.memory!.numTasks; t += 2)
        run.memory!.errors[t] = Infinity;
      const result = await trainStep(run, 1, 1);
      dispose(run);
      return result;
    };
    const half0 = await halfOf(0);
    const half5 = await halfOf(5);
    expect(half0.finite && half5.finite).toBe(true);
    expect(half5.loss - half0.loss).toBeGreaterThan(2);
    // With the relaxed objective kept, a length prior of 5 adds at least 5 * 1 line per task.
    expect(both5 - both0).toBeGreaterThan(4);
    // And the relaxed reconstruction itself is gone: the losses differ by more than rounding.
    expect(Math.abs(both0 - imitation0)).toBeGreaterThan(1e-4);
  });
});

describe("the late learning rate", () => {
  it("takes Adam's steps at lr * lateLearningRate from the late epoch", async () => {
    // lateLearningRate 0: from the late epoch on an update changes nothing; before it, it does.
    const moved = async (epoch: number) => {
      const run = await createRun(
        tinyConfig("late-lr", { lateLearningRate: 0, lateEpoch: 1 }),
      );
      const before = run.model.recognizer.variables.map((v) =>
        Array.from(v.dataSync()),
      );
      await trainStep(run, epoch, 0);
      const after = run.model.recognizer.variables.map((v) =>
        Array.from(v.dataSync()),
      );
      dispose(run);
      return after.some((v, i) => v.some((x, j) => x !== before[i][j]));
    };
    expect(await moved(0)).toBe(true);
    expect(await moved(1)).toBe(false);
  });
});

describe("confident step pairs", () => {
  it("reads the B of 2B drawn pairs that g is surest of, with g's symbols, the same for the same step", async () => {
    const run = await createRun(tinyConfig("confident-pairs", { batch: 6 }));
    holdSymbolValues(run);
    const drawn = batchIndices(run.config, run.train.numPairs, 8, 5).pairs;
    const read = await confidentStepPairs(run, drawn, 5);
    expect(read.pairs).toHaveLength(6);
    expect(await confidentStepPairs(run, drawn, 5)).toEqual(read);
    // One pair at a time: the product of g's top class probabilities, and its expected symbols.
    const grounded = (pair: number) =>
      tf.tidy(() => {
        const { images } = gatherBatch(run.train, [pair], []);
        const logits = groundLogits(run.model, images);
        const top = tf.max(tf.softmax(logits), 1).dataSync();
        return {
          confidence: Array.from(top).reduce((p, x) => p * x, 1),
          symbols: Array.from(
            expectedSymbols(logits, run.model.symbolValues).dataSync(),
          ),
        };
      });
    read.pairs.forEach((p, b) => {
      const want = grounded(p).symbols;
      want.forEach((v, j) => expect(read.symbols[b * 3 + j]).toBeCloseTo(v, 5));
    });
    const other = await confidentStepPairs(run, drawn, 6);
    expect(other.pairs).not.toEqual(read.pairs);
    // The step's own draw is in the pool: those left out are no surer than the least sure chosen.
    const worstChosen = Math.min(
      ...read.pairs.map((p) => grounded(p).confidence),
    );
    for (const p of drawn.filter((p) => !read.pairs.includes(p)))
      expect(grounded(p).confidence).toBeLessThanOrEqual(worstChosen + 1e-6);
    dispose(run);
  });

  it("changes r's step, leaks no tensors, and is noted off without categorical g", async () => {
    const stepOf = async (stepPairs: "random" | "confident") => {
      const run = await createRun(
        tinyConfig("confident-step", { stepPairs, batch: 6 }),
      );
      await trainStep(run, 0, 0);
      const before = tf.memory().numTensors;
      const { loss } = await trainStep(run, 0, 1);
      expect(tf.memory().numTensors).toBe(before);
      dispose(run);
      return loss;
    };
    expect(await stepOf("confident")).not.toBeCloseTo(
      await stepOf("random"),
      6,
    );
    const linear = await createRun(
      tinyConfig("confident-linear", {
        stepPairs: "confident",
        grounderOutput: "linear",
      }),
    );
    expect(linear.config.stepPairs).toBe("random");
    expect(linear.notes.join("\n")).toMatch(/step pairs drawn at random/);
    dispose(linear);
    const baseline = await createRun(
      tinyConfig("confident-cnn-mlp", {
        stepPairs: "confident",
        model: "cnn-mlp",
        heldOutTasks: 0,
      }),
    );
    expect(baseline.config.stepPairs).toBe("random");
    expect(baseline.notes.join("\n")).toMatch(
      /the cnn-mlp baseline has no recognizer to read the confident pairs/,
    );
    dispose(baseline);
  });
});

describe("rehearsal", () => {
  // After one step over every task, each has a stored program within the (loose) threshold.
  const rehearsalConfig = (out: string, overrides: Partial<TrainConfig> = {}) =>
    memoryConfig(out, { clipNorm: 0, ...overrides });
  const solvedRun = async (out: string, overrides: Partial<TrainConfig>) => {
    const first = await createRun(rehearsalConfig(out));
    await trainStep(first, 0, 0);
    await saveRun(first, 1, 0);
    dispose(first);
    const run = await createRun(rehearsalConfig(out, overrides));
    await resumeRun(run);
    return run;
  };

  it("draws imitated tasks outside the batch, the same for the same step", async () => {
    const run = await solvedRun("draw", { rehearsal: 3 });
    const memory = run.memory!;
    memory.errors[5] = Infinity; // not imitated
    const batch = [0, 1];
    const drawn = rehearsalTasks(run.config, run.given, memory, batch, 4);
    expect(drawn).toHaveLength(3);
    expect(drawn).toEqual([...drawn].sort((a, b) => a - b));
    for (const t of drawn) {
      expect(batch).not.toContain(t);
      expect(t).not.toBe(5);
    }
    expect(rehearsalTasks(run.config, run.given, memory, batch, 4)).toEqual(
      drawn,
    );
    // Every imitated task outside the batch, when there are fewer than asked.
    const wide = { ...run.config, rehearsal: 100 };
    expect(rehearsalTasks(wide, run.given, memory, batch, 4)).toEqual([
      2, 3, 4, 6, 7,
    ]);
    const off = { ...run.config, rehearsal: 0 };
    expect(rehearsalTasks(off, run.given, memory, batch, 4)).toEqual([]);
    dispose(run);
  });

  it("trains r alone: g takes the same step, r another, and the loss grows by the rehearsal", async () => {
    const stepOf = async (rehearsal: number, rehearsalPermute = false) => {
      const run = await solvedRun("alone", {
        rehearsal,
        rehearsalPermute,
        taskBatch: 3,
      });
      const result = await trainStep(run, 1, 2);
      const values = (vars: tf.Variable[]) =>
        vars.map((v) => Array.from(v.dataSync()));
      const g = values(run.model.grounder.variables);
      const r = values(run.model.recognizer.variables);
      dispose(run);
      return { loss: result.loss, g, r };
    };
    const without = await stepOf(0);
    const with4 = await stepOf(4);
    // With the inputs permuted (step 2 draws a permutation other than the identity), g still
    // takes the same step and r's targets change.
    expect(rehearsalPermutation(rehearsalConfig("alone"), 3, 2)).not.toEqual([
      0, 1, 2,
    ]);
    const permuted = await stepOf(4, true);
    expect(permuted.g).toEqual(without.g);
    expect(Math.abs(permuted.loss - with4.loss)).toBeGreaterThan(1e-3);
    expect(with4.g).toEqual(without.g);
    const moved = with4.r.some((v, i) =>
      v.some((x, j) => Math.abs(x - without.r[i][j]) > 1e-7),
    );
    expect(moved).toBe(true);
    // -log q of 4 stored programs, each weighed as 1 of the 3 batch tasks: well above 0.
    expect(with4.loss - without.loss).toBeGreaterThan(0.1);
  });

  it("permutes a share of the rehearsed tasks, drawn per step; 1 is all, 0 none", async () => {
    const rehearsed = [1, 3, 4, 8, 9, 12, 20];
    const split = (share: number, step: number) =>
      permutedRehearsal(
        { seed: 3, rehearsalPermuteShare: share },
        rehearsed,
        step,
      );
    expect(split(1, 5)).toEqual({ permuted: rehearsed, plain: [] });
    expect(split(0, 5)).toEqual({ permuted: [], plain: rehearsed });
    const half = split(0.5, 5);
    expect(half.permuted).toHaveLength(4); // round(3.5)
    expect(half.permuted).toEqual([...half.permuted].sort((a, b) => a - b));
    expect(half.plain).toEqual([...half.plain].sort((a, b) => a - b));
    expect([...half.permuted, ...half.plain].sort((a, b) => a - b)).toEqual(
      rehearsed,
    );
    expect(split(0.5, 5)).toEqual(half);
    const drawn = new Set(
      Array.from({ length: 20 }, (_, step) =>
        split(0.5, step).permuted.join(","),
      ),
    );
    expect(drawn.size).toBeGreaterThan(1);

    // In a step: share 1 is --rehearsal-permute as before, share 0 the inputs in order, and a
    // share in between neither; g takes the same step in all.
    const stepOf = async (name: string, overrides: Partial<TrainConfig>) => {
      const run = await solvedRun(name, {
        rehearsal: 4,
        taskBatch: 3,
        ...overrides,
      });
      const result = await trainStep(run, 1, 2);
      const g = run.model.grounder.variables.map((v) =>
        Array.from(v.dataSync()),
      );
      dispose(run);
      return { loss: result.loss, g };
    };
    const all = await stepOf("share-all", { rehearsalPermute: true });
    const one = await stepOf("share-1", {
      rehearsalPermute: true,
      rehearsalPermuteShare: 1,
    });
    const plain = await stepOf("share-plain", {});
    const none = await stepOf("share-0", {
      rehearsalPermute: true,
      rehearsalPermuteShare: 0,
    });
    const mixed = await stepOf("share-half", {
      rehearsalPermute: true,
      rehearsalPermuteShare: 0.5,
    });
    expect(one.loss).toBe(all.loss);
    expect(none.loss).toBe(plain.loss);
    expect(Math.abs(mixed.loss - all.loss)).toBeGreaterThan(1e-4);
    expect(Math.abs(mixed.loss - plain.loss)).toBeGreaterThan(1e-4);
    expect(mixed.g).toEqual(plain.g);
  });
});

describe("evaluateRun", () => {
  it("keeps the argmax program unless a sample from q fits the inference pairs better", async () => {
    const config = tinyConfig("decode", {
      oracleSymbols: true,
      decodeSamples: 8,
    });
    const run = await createRun(config);
    for (let step = 0; step < 10; step++) await trainStep(run, 0, step);
    const { metrics } = await evaluateRun(run);
    dispose(run);
    expect(metrics.foundProgramSuccess.count).toBeGreaterThanOrEqual(
      metrics.programSuccess.count,
    );
    expect(metrics.groundingAccuracy).toBe(1); // oracle symbols
  });
});

describe("evaluateRun without the transductive option", () => {
  it("never reads another task's outputs", async () => {
    const run = await createRun(
      tinyConfig("isolated", {
        imitation: 1,
        imitationThreshold: 10,
        memorySamples: 2,
        abduction: 1,
        decodeSamples: 4,
        heldOutTasks: 4,
      }),
    );
    for (let step = 0; step < 4; step++) await trainStep(run, 0, step);
    const before = await evaluateRun(run);
    // Every other task's test outputs (inference pairs included) become noise.
    const { outputs, numPairs } = run.test;
    for (let i = numPairs; i < outputs.length; i++) outputs[i] = Math.sin(i);
    const after = await evaluateRun(run);
    const m = run.module;
    expect(m.formula(after.argmax[0] as never)).toBe(
      m.formula(before.argmax[0] as never),
    );
    expect(m.format(after.found[0] as never)).toBe(
      m.format(before.found[0] as never),
    );
    expect(after.argmaxSolved[0]).toBe(before.argmaxSolved[0]);
    expect(after.foundSolved[0]).toBe(before.foundSolved[0]);
    // The held-out tasks have their own outputs: unchanged too.
    expect(after.metrics.heldOutProgramSuccess).toEqual(
      before.metrics.heldOutProgramSuccess,
    );
    const heldOut = before.metrics.heldOutProgramSuccess!;
    expect(heldOut.argmax.total).toBe(4);
    // Per task, in the held-out tasks' order, adding up to the counts.
    expect(heldOut.perTask.map((t) => t.task)).toEqual(
      run.heldOut!.tasks.map((t) => t.text),
    );
    expect(heldOut.perTask.filter((t) => t.argmax).length).toBe(
      heldOut.argmax.count,
    );
    expect(heldOut.perTask.filter((t) => t.sampled).length).toBe(
      heldOut.sampled.count,
    );
    // With the transductive option, task 0's scoring symbols do pool the others' outputs.
    expect(
      (
        await evaluateRun({
          ...run,
          config: { ...run.config, transductiveEval: true },
        })
      ).metrics.transductiveProgramSuccess,
    ).toBeDefined();
    dispose(run);
  });

  it("draws held-out tasks the run never trains on", async () => {
    const run = await createRun(tinyConfig("held-out", { heldOutTasks: 20 }));
    const trained = new Set(run.tasks.map((t) => t.id));
    expect(run.heldOut!.tasks).toHaveLength(20);
    expect(run.heldOut!.tasks.some((t) => trained.has(t.id))).toBe(false);
    expect(run.heldOut!.test.numTasks).toBe(20);
    expect(run.heldOut!.test.images).toBe(run.test.images); // the same test images
    dispose(run);
  });
});

describe("trainSupervisedReference", () => {
  it("learns the labels well above chance", async () => {
    const config = tinyConfig("ref", {
      epochs: 1,
      stepsPerEpoch: 40,
      batch: 16,
      testPairs: 40,
    });
    const run = await createRun(config);
    const accuracy = trainSupervisedReference(config, run.train, run.test);
    const symbols = trainSupervisedReference(
      config,
      run.train,
      run.test,
      "symbols",
    );
    dispose(run);
    expect(accuracy.accuracy).toBeGreaterThan(0.4); // chance is 0.1
    expect(symbols.accuracy).toBeGreaterThan(0.15); // g regressed on the symbols, rounded; chance 0.1
    // The classifier's symbolic loss: zero on the images it reads right, at most 0.9^2 on the
    // others (the alphabet 0.1..1.0), and below a uniform guess's 2 * 0.0825.
    const wrong = 1 - accuracy.accuracy;
    expect(accuracy.symbolicLoss).toBeGreaterThan(wrong > 0 ? 0 : -1);
    expect(accuracy.symbolicLoss).toBeLessThanOrEqual(0.81 * wrong + 1e-9);
    expect(accuracy.symbolicLoss).toBeLessThan(0.165);
    expect(symbols.symbolicLoss).toBeLessThan(0.165);
  });
});

describe("train", () => {
  it("writes metrics, programs, the log and a checkpoint, and resumes to the end", async () => {
    const config = tinyConfig("full");
    const quiet = createProgress(undefined, true);
    const first = await train(config, { progress: quiet, maxEpochs: 1 });
    expect(first.epochs).toBe(1);
    const second = await train(config, { progress: quiet });
    expect(second.epochs).toBe(2);
    const files = fs.readdirSync(config.out).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        "checkpoint.ckpt",
        "log.jsonl",
        "metrics.json",
        "module",
        "programs.txt",
      ]),
    );
    const log = fs
      .readFileSync(path.join(config.out, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log.map((r) => r.epoch)).toEqual([1, 2]);
    // The categorical grounder's codebook: its values and its splits so far, every epoch.
    for (const r of log) {
      expect(r.symbolValues).toHaveLength(10);
      expect(r.codebookSplits).toBe(0);
    }
    const metrics = JSON.parse(
      fs.readFileSync(path.join(config.out, "metrics.json"), "utf8"),
    );
    expect(metrics.programSuccess.total).toBe(8);
    expect(metrics.symbolicLoss).toBeGreaterThanOrEqual(0);
    const programs = fs.readFileSync(
      path.join(config.out, "programs.txt"),
      "utf8",
    );
    expect(programs.match(/^# task \d+: gold y = /gm)).toHaveLength(8);

    // The default categorical grounder knows the class count (one class per symbol value).
    expect(metrics.knowledge).toEqual([
      "alphabet-statistics",
      "symbol-range",
      "class-count",
    ]);
    expect(metrics.config.data).toBe(config.data);

    // `sketchc eval` recomputes the same metrics from the checkpoint.
    const again = await evaluateSaved(config.out);
    expect(again.metrics.programSuccess).toEqual(metrics.programSuccess);
    expect(again.metrics.foundProgramSuccess).toEqual(
      metrics.foundProgramSuccess,
    );
    expect(again.metrics.symbolicLoss).toBeCloseTo(metrics.symbolicLoss, 6);
  });

  it("refuses to resume a run under another seed or task set, naming the flags", async () => {
    const config = tinyConfig("clash", { epochs: 2 });
    const quiet = createProgress(undefined, true);
    await train(config, { progress: quiet, maxEpochs: 1 });
    await expect(
      train({ ...config, seed: config.seed + 1 }, { progress: quiet }),
    ).rejects.toThrow(
      new RegExp(
        `checkpoint.ckpt: this run was trained with --seed ${config.seed}; the command says --seed ${config.seed + 1}\\. .*--fresh`,
      ),
    );
    await expect(
      train({ ...config, tasks: 6, taskFile: "t.jsonl" }, { progress: quiet }),
    ).rejects.toThrow(
      /trained with no --task-file --tasks 8; the command says --task-file t\.jsonl --tasks 6/,
    );
    expect(
      resumeClash(
        { ...config, taskFile: "tasks/t.jsonl" },
        { ...config, taskFile: `./tasks/../tasks/t.jsonl` },
      ),
    ).toBeUndefined();
    // More epochs, another learning rate: the same run, resumed.
    const resumed = await train(
      { ...config, epochs: 3, learningRate: 1e-3 },
      { progress: quiet },
    );
    expect(resumed.epochs).toBe(3);
    // --fresh starts over whatever the checkpoint says.
    const fresh = await train(
      { ...config, seed: config.seed + 1 },
      { progress: quiet, resume: false },
    );
    expect(fresh.epochs).toBe(2);
  });

  it("evaluates a saved run on its own dataset, and says so when it is gone", async () => {
    const data = path.join(root, "own-data");
    fs.cpSync("runtime/data/fixtures/fashion-mnist-sample", data, {
      recursive: true,
    });
    const config = tinyConfig("own-data-run", { data, epochs: 1 });
    const quiet = createProgress(undefined, true);
    const trained = await train(config, { progress: quiet });
    const again = await evaluateSaved(config.out);
    expect(again.metrics.symbolicLoss).toBeCloseTo(
      trained.metrics.symbolicLoss,
      6,
    );
    fs.rmSync(data, { recursive: true });
    const { runTrainCommand } = await import("../../cli/train-command.js");
    const failure = runTrainCommand("eval", [config.out]);
    await expect(failure).rejects.toBeInstanceOf(CliError);
    await expect(runTrainCommand("eval", [config.out])).rejects.toThrow(
      /checkpoint\.ckpt: the run's dataset '.*own-data' is gone; restore it or pass --data DIR/,
    );
  });
});
