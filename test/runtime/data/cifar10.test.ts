// Tests of the CIFAR-10 batch reader: the planar RGB -> NHWC transpose, loading a whole
// (tiny) CIFAR folder, and the DataErrors for bad lengths, bad labels and missing batches.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CIFAR_TEST_FILE,
  CIFAR_TRAIN_FILES,
  readCifarBatch,
} from "../../../runtime/data/cifar10.js";
import { DataError } from "../../../runtime/data/errors.js";
import { loadImageDataset } from "../../../runtime/data/images.js";
import { tempDir } from "./helpers.js";

const PLANE = 1024;
const RECORD = 3073;

/** A pixel value that identifies record n, channel c, position p. */
function code(n: number, c: number, p: number): number {
  return (n * 7 + c * 50 + p) % 256;
}

/** `count` records with labels `(first + n) % 10`. */
function batch(count: number, first = 0): Uint8Array {
  const bytes = new Uint8Array(count * RECORD);
  for (let n = 0; n < count; n++) {
    bytes[n * RECORD] = (first + n) % 10;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < PLANE; p++)
        bytes[n * RECORD + 1 + c * PLANE + p] = code(n, c, p);
    }
  }
  return bytes;
}

function writeFolder(root: string): string {
  const dir = join(root, "cifar-10-batches-bin");
  mkdirSync(dir);
  CIFAR_TRAIN_FILES.forEach((f, k) =>
    writeFileSync(join(dir, f), batch(2, 2 * k)),
  );
  writeFileSync(join(dir, CIFAR_TEST_FILE), batch(3));
  return dir;
}

describe("readCifarBatch", () => {
  it("transposes R, G, B planes to NHWC", () => {
    const path = join(tempDir(), "data_batch_1.bin");
    writeFileSync(path, batch(2));
    const b = readCifarBatch(path);
    expect(b.count).toBe(2);
    expect(Array.from(b.labels)).toEqual([0, 1]);
    for (const [n, h, w, c] of [
      [0, 0, 0, 0],
      [1, 0, 5, 2],
      [1, 31, 31, 1],
    ]) {
      expect(b.pixels[((n * 32 + h) * 32 + w) * 3 + c]).toBe(
        code(n, c, h * 32 + w),
      );
    }
  });

  it("rejects a length that is not a multiple of 3073", () => {
    const path = join(tempDir(), "data_batch_2.bin");
    writeFileSync(path, batch(1).subarray(0, 3000));
    expect(() => readCifarBatch(path)).toThrow(
      new DataError(
        "not a CIFAR-10 batch: length 3000 is not a positive multiple of the 3073-byte record",
        path,
      ),
    );
  });

  it("rejects a label above 9", () => {
    const path = join(tempDir(), "test_batch.bin");
    const bytes = batch(2);
    bytes[RECORD] = 10;
    writeFileSync(path, bytes);
    expect(() => readCifarBatch(path)).toThrow(
      `${path}: record 1 has label 10; CIFAR-10 labels are 0..9`,
    );
  });
});

describe("loadImageDataset on CIFAR-10", () => {
  it("finds the batches in cifar-10-batches-bin/ and concatenates them", () => {
    const root = tempDir();
    writeFolder(root);
    const ds = loadImageDataset(root);
    expect(ds.name).toBe("cifar-10");
    expect(ds.numClasses).toBe(10);
    expect([
      ds.train.count,
      ds.train.height,
      ds.train.width,
      ds.train.channels,
    ]).toEqual([10, 32, 32, 3]);
    expect(ds.test.count).toBe(3);
    expect(Array.from(ds.train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ds.train.images.length).toBe(10 * 32 * 32 * 3);
    // Pixel (h=0, w=1, c=2) of the third training image (record 0 of data_batch_2).
    expect(ds.train.images[2 * 3072 + 1 * 3 + 2]).toBeCloseTo(
      code(0, 2, 1) / 255,
      6,
    );
  });

  it("names a missing batch file", () => {
    const root = tempDir();
    const dir = writeFolder(root);
    rmSync(join(dir, "data_batch_3.bin"));
    expect(() => loadImageDataset(root)).toThrow(
      new DataError("file not found", join(dir, "data_batch_3.bin")),
    );
  });
});
