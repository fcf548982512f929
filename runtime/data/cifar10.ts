// Reader for the CIFAR-10 binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin).
// Each record is 1 label byte and 3072 pixel bytes: the R, then G, then B 32x32 planes;
// records are returned transposed to NHWC, the layout the rest of the runtime uses.

import { join } from "node:path";
import { DataError } from "./errors.js";
import { firstExisting, readBytes } from "./files.js";

export const CIFAR_SIZE = 32;
export const CIFAR_CHANNELS = 3;
export const CIFAR_CLASSES = 10;
const PLANE = CIFAR_SIZE * CIFAR_SIZE; // 1024 pixels per channel plane
const RECORD = 1 + CIFAR_CHANNELS * PLANE; // 3073 bytes

/** The training batch file names, in order. */
export const CIFAR_TRAIN_FILES = [1, 2, 3, 4, 5].map(
  (k) => `data_batch_${k}.bin`,
);
/** The test batch file name. */
export const CIFAR_TEST_FILE = "test_batch.bin";
/** The folder the official archive unpacks to. */
export const CIFAR_SUBFOLDER = "cifar-10-batches-bin";

/** Decoded CIFAR records: `pixels` is [count, 32, 32, 3] unsigned bytes, NHWC. */
export interface CifarBatch {
  readonly count: number;
  readonly labels: Uint8Array;
  readonly pixels: Uint8Array;
}

/**
 * Decodes CIFAR-10 binary records; `file` is used only in error messages.
 * @throws DataError when the length is not a multiple of 3073 or a label exceeds 9
 */
export function decodeCifarBatch(bytes: Uint8Array, file: string): CifarBatch {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DataError(
      `not a CIFAR-10 batch: length ${bytes.length} is not a positive multiple of the ${RECORD}-byte record`,
      file,
    );
  }
  const count = bytes.length / RECORD;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * PLANE * CIFAR_CHANNELS);
  for (let n = 0; n < count; n++) {
    const base = n * RECORD;
    const label = bytes[base];
    if (label >= CIFAR_CLASSES) {
      throw new DataError(
        `record ${n} has label ${label}; CIFAR-10 labels are 0..9`,
        file,
      );
    }
    labels[n] = label;
    // Planar CHW -> interleaved HWC.
    const out = n * PLANE * CIFAR_CHANNELS;
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      const plane = base + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++)
        pixels[out + p * CIFAR_CHANNELS + c] = bytes[plane + p];
    }
  }
  return { count, labels, pixels };
}

/**
 * Reads one CIFAR-10 batch file (raw, or gzipped).
 * @throws DataError naming `path` on any problem
 */
export function readCifarBatch(path: string): CifarBatch {
  return decodeCifarBatch(readBytes(path), path);
}

/** Concatenates batches in order. */
export function concatCifarBatches(batches: readonly CifarBatch[]): CifarBatch {
  const count = batches.reduce((s, b) => s + b.count, 0);
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * PLANE * CIFAR_CHANNELS);
  let offset = 0;
  for (const b of batches) {
    labels.set(b.labels, offset);
    pixels.set(b.pixels, offset * PLANE * CIFAR_CHANNELS);
    offset += b.count;
  }
  return { count, labels, pixels };
}

/**
 * The folder holding the CIFAR-10 batches: `dir` itself or its `cifar-10-batches-bin/`,
 * or undefined when neither has `data_batch_1.bin`.
 */
export function findCifarDir(dir: string): string | undefined {
  const found = firstExisting([
    join(dir, CIFAR_TRAIN_FILES[0]),
    join(dir, CIFAR_SUBFOLDER, CIFAR_TRAIN_FILES[0]),
  ]);
  return found === undefined ? undefined : join(found, "..");
}

/**
 * Reads the five training batches and the test batch from `dir` (or its
 * `cifar-10-batches-bin/` subfolder).
 * @throws DataError naming the first missing or malformed file
 */
export function readCifar10(dir: string): {
  train: CifarBatch;
  test: CifarBatch;
} {
  const root = findCifarDir(dir) ?? dir;
  const train = concatCifarBatches(
    CIFAR_TRAIN_FILES.map((f) => readCifarBatch(join(root, f))),
  );
  const test = readCifarBatch(join(root, CIFAR_TEST_FILE));
  return { train, test };
}
