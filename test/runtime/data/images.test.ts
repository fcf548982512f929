// Tests of loadImageDataset on IDX folders (consistency checks naming the file), of the
// committed Fashion-MNIST sample, and of the choice between system data and the sample.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataError } from "../../../runtime/data/errors.js";
import { writeIdx } from "../../../runtime/data/idx.js";
import {
  IDX_FILES,
  loadImageDataset,
  resolveDefaultDataset,
  sampleDatasetDir,
} from "../../../runtime/data/images.js";
import { tempDir } from "./helpers.js";

interface Counts {
  train?: number;
  trainLabels?: number;
  test?: number;
  labelValue?: number;
}

/** An IDX folder of 3x4 images, with the given counts; gzipped or raw. */
function writeIdxFolder(gzip: boolean, counts: Counts = {}): string {
  const dir = tempDir();
  const suffix = gzip ? ".gz" : "";
  const split = (
    imagesBase: string,
    labelsBase: string,
    n: number,
    nLabels: number,
  ): void => {
    const pixels = Uint8Array.from({ length: n * 12 }, (_, i) => i % 256);
    const labels = Uint8Array.from(
      { length: nLabels },
      (_, i) => counts.labelValue ?? i % 10,
    );
    writeIdx(join(dir, imagesBase + suffix), [n, 3, 4], pixels, gzip);
    writeIdx(join(dir, labelsBase + suffix), [nLabels], labels, gzip);
  };
  const train = counts.train ?? 20;
  split(
    IDX_FILES.trainImages,
    IDX_FILES.trainLabels,
    train,
    counts.trainLabels ?? train,
  );
  split(
    IDX_FILES.testImages,
    IDX_FILES.testLabels,
    counts.test ?? 10,
    counts.test ?? 10,
  );
  return dir;
}

function catchDataError(f: () => unknown): DataError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error("expected a DataError");
}

describe("loadImageDataset on IDX folders", () => {
  it.each([false, true])(
    "loads four IDX files (gzip=%s), scaling pixels to [0, 1]",
    (gzip) => {
      const dir = writeIdxFolder(gzip);
      const ds = loadImageDataset(dir);
      expect([
        ds.train.count,
        ds.train.height,
        ds.train.width,
        ds.train.channels,
      ]).toEqual([20, 3, 4, 1]);
      expect(ds.test.count).toBe(10);
      expect(ds.train.images[13]).toBeCloseTo(13 / 255, 6);
      expect(ds.train.labels[19]).toBe(9);
    },
  );

  it("names the labels file when counts differ", () => {
    const dir = writeIdxFolder(false, { trainLabels: 19 });
    const error = catchDataError(() => loadImageDataset(dir));
    expect(error.file).toBe(join(dir, IDX_FILES.trainLabels));
    expect(error.message).toMatch(
      /has 19 labels but .*train-images-idx3-ubyte has 20 images/,
    );
  });

  it("names the labels file when a label is out of range", () => {
    const dir = writeIdxFolder(true, { labelValue: 12 });
    const error = catchDataError(() => loadImageDataset(dir));
    expect(error.message).toBe(
      `${join(dir, IDX_FILES.trainLabels)}.gz: label 12 at index 0 is out of range 0..9`,
    );
  });

  it("names a missing file, a broken file, and an unrecognised folder", () => {
    const dir = writeIdxFolder(false);
    writeFileSync(
      join(dir, IDX_FILES.testImages),
      new Uint8Array([0, 0, 8, 3, 0]),
    );
    expect(catchDataError(() => loadImageDataset(dir)).file).toBe(
      join(dir, IDX_FILES.testImages),
    );

    const empty = tempDir();
    expect(catchDataError(() => loadImageDataset(empty)).message).toMatch(
      /no dataset found/,
    );
    expect(
      catchDataError(() => loadImageDataset(join(empty, "absent"))).message,
    ).toMatch(/dataset folder not found/);
  });
});

describe("the committed Fashion-MNIST sample", () => {
  it("loads through loadImageDataset with 500 / 100 images per class", () => {
    const ds = loadImageDataset(sampleDatasetDir());
    expect(ds.name).toBe("fashion-mnist-sample");
    expect(ds.numClasses).toBe(10);
    expect([
      ds.train.count,
      ds.train.height,
      ds.train.width,
      ds.train.channels,
    ]).toEqual([5000, 28, 28, 1]);
    expect(ds.test.count).toBe(1000);
    for (const [set, perClass] of [
      [ds.train, 500],
      [ds.test, 100],
    ] as const) {
      const counts = new Array<number>(10).fill(0);
      set.labels.forEach((l) => counts[l]++);
      expect(counts).toEqual(new Array<number>(10).fill(perClass));
    }
    let min = Infinity;
    let max = -Infinity;
    for (const x of ds.train.images) {
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    expect([min, max]).toEqual([0, 1]);
  });

  it("is chosen by resolveDefaultDataset when the system data is absent", () => {
    expect(resolveDefaultDataset(join(tempDir(), "absent"))).toEqual({
      dir: sampleDatasetDir(),
      source: "sample",
    });
    const system = writeIdxFolder(true);
    expect(resolveDefaultDataset(system)).toEqual({
      dir: system,
      source: "system",
    });
  });
});
