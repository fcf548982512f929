// The grounder's backward pass in chunks of images (train.ts `chunkedGrads`): the same step as
// one pass, no leaked tensors, and ResNet-18 training at the default batch on wasm (here on 8x8
// images, so that CI can afford it; docs/performance.md has the 28x28 measurement).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isOutOfMemory, selectBackend } from "../../runtime/backend.js";
import { DEFAULT_CONFIG } from "../../runtime/config.js";
import { writeIdx } from "../../runtime/data/idx.js";
import { IDX_FILES } from "../../runtime/data/images.js";
import { grounderChunkOf } from "../../runtime/model.js";
import { createRun, trainStep } from "../../runtime/train.js";
import { outOfMemoryMessage } from "../../cli/train-command.js";
import { createRng } from "../../runtime/random.js";
import { disposeRun, tinyRunConfig } from "./tiny-run.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-chunk-"));

beforeAll(async () => {
  await selectBackend("wasm");
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** An IDX dataset of `size` x `size` random images in 10 classes. */
function writeSmallImages(size: number, train: number, test: number): string {
  const dir = path.join(root, `images-${size}`);
  fs.mkdirSync(dir, { recursive: true });
  const rng = createRng(11);
  const split = (images: string, labels: string, n: number) => {
    writeIdx(
      path.join(dir, images),
      [n, size, size],
      Uint8Array.from({ length: n * size * size }, () =>
        Math.floor(rng.next() * 256),
      ),
      false,
    );
    writeIdx(
      path.join(dir, labels),
      [n],
      Uint8Array.from({ length: n }, (_, i) => i % 10),
      false,
    );
  };
  split(IDX_FILES.trainImages, IDX_FILES.trainLabels, train);
  split(IDX_FILES.testImages, IDX_FILES.testLabels, test);
  return dir;
}

/** Every trainable value of a run, flattened. */
function weights(run: Awaited<ReturnType<typeof createRun>>): Float32Array[] {
  return run.model.variables.map((v) => v.dataSync() as Float32Array);
}

describe("the grounder's chunked backward pass", () => {
  it("takes the same step as one pass over the batch", async () => {
    // 6 pairs of 3 images: chunks of 6 images (2 pairs) give 3 chunks.
    const whole = await createRun(tinyRunConfig(root, "whole", { batch: 6 }));
    const chunked = await createRun(
      tinyRunConfig(root, "chunked", { batch: 6, grounderChunk: 6 }),
    );
    for (let step = 0; step < 3; step++) {
      const a = await trainStep(whole, 0, step);
      const b = await trainStep(chunked, 0, step);
      expect(b.loss).toBeCloseTo(a.loss, 5);
      expect(b.symbols.mean).toBeCloseTo(a.symbols.mean, 5);
    }
    const wa = weights(whole);
    const wb = weights(chunked);
    let worst = 0;
    wa.forEach((w, i) =>
      w.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - wb[i][j])))),
    );
    // Adam's first steps move each weight by about the learning rate: 3e-3 a step.
    expect(worst).toBeLessThan(1e-5);
    disposeRun(whole);
    disposeRun(chunked);
  });

  it("leaks no tensors", async () => {
    const run = await createRun(
      tinyRunConfig(root, "leak", { batch: 6, grounderChunk: 4 }),
    );
    await trainStep(run, 0, 0);
    const before = tf.memory().numTensors;
    await trainStep(run, 0, 1);
    expect(tf.memory().numTensors).toBe(before);
    disposeRun(run);
  });

  it("chunks ResNet-18 by default and the small CNN never", () => {
    expect(grounderChunkOf({ grounder: "resnet18", grounderChunk: 0 })).toBe(
      32,
    );
    expect(grounderChunkOf({ grounder: "small-cnn", grounderChunk: 0 })).toBe(
      Infinity,
    );
    expect(grounderChunkOf({ grounder: "small-cnn", grounderChunk: 9 })).toBe(
      9,
    );
  });

  it("trains ResNet-18 at the default batch of 32 pairs (96 images) on wasm", async () => {
    const data = writeSmallImages(8, 200, 40);
    const run = await createRun(
      tinyRunConfig(root, "resnet", {
        grounder: "resnet18",
        data,
        batch: DEFAULT_CONFIG.batch,
        trainPairs: 100,
        testPairs: 10,
      }),
    );
    const losses = [await trainStep(run, 0, 0), await trainStep(run, 0, 1)];
    expect(losses.every((r) => r.finite)).toBe(true);
    disposeRun(run);
  }, 120_000);
});

describe("running out of memory", () => {
  it("recognizes the wasm heap's failures and names the settings to lower", () => {
    expect(
      isOutOfMemory(
        new WebAssembly.RuntimeError("memory access out of bounds"),
      ),
    ).toBe(true);
    expect(
      isOutOfMemory(new RangeError("Array buffer allocation failed")),
    ).toBe(true);
    expect(isOutOfMemory(new Error("shape mismatch"))).toBe(false);
    const message = outOfMemoryMessage({
      ...DEFAULT_CONFIG,
      sketch: "a.sketch",
      grounder: "resnet18",
    });
    expect(message).toMatch(/lower --batch \(now 32 pairs a step\)/);
    expect(message).toMatch(
      /--grounder-chunk \(now 32 images through resnet18 at a time\)/,
    );
  });
});
