// Labelled image datasets for the symbol grounder: one loader that recognises an IDX folder
// (MNIST, Fashion-MNIST) or the CIFAR-10 binary batches and returns float NHWC images in
// [0, 1], plus the choice between the system Fashion-MNIST and the committed sample.

import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CIFAR_CHANNELS,
  CIFAR_SIZE,
  CIFAR_TEST_FILE,
  findCifarDir,
  readCifar10,
  type CifarBatch,
} from "./cifar10.js";
import { DataError } from "./errors.js";
import { firstExisting } from "./files.js";
import { readIdx } from "./idx.js";

/** One split of labelled images. */
export interface ImageSet {
  /** [count, height, width, channels], pixel values scaled to [0, 1]. */
  readonly images: Float32Array;
  /** [count], class indices in 0..numClasses-1. */
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** A dataset with its train and test splits. */
export interface ImageDataset {
  /** `cifar-10`, or the IDX folder's name (e.g. `fashion-mnist`). */
  readonly name: string;
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly numClasses: number;
}

/** Options for `loadImageDataset`. */
export interface LoadImageDatasetOptions {
  /** Labels must lie in 0..numClasses-1; default 10 (MNIST, Fashion-MNIST, CIFAR-10). */
  readonly numClasses?: number;
}

/** Where the Debian package `dataset-fashion-mnist` installs its IDX files. */
export const DEFAULT_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The four IDX base names; each may also be present with a `.gz` suffix. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

const DEFAULT_NUM_CLASSES = 10;
const PIXEL_MAX = 255;

/**
 * Converts unsigned-byte NHWC pixels to an `ImageSet`, checking every label.
 * @param labelsFile named in the error when a label is out of range
 */
export function toImageSet(
  pixels: Uint8Array,
  labels: Uint8Array,
  shape: { count: number; height: number; width: number; channels: number },
  numClasses: number,
  labelsFile: string,
): ImageSet {
  const { count, height, width, channels } = shape;
  for (let n = 0; n < count; n++) {
    if (labels[n] >= numClasses) {
      throw new DataError(
        `label ${labels[n]} at index ${n} is out of range 0..${numClasses - 1}`,
        labelsFile,
      );
    }
  }
  const images = new Float32Array(pixels.length);
  for (let k = 0; k < pixels.length; k++) images[k] = pixels[k] / PIXEL_MAX;
  return { images, labels, count, height, width, channels };
}

/** Finds `<dir>/<base>` or `<dir>/<base>.gz`. */
function findIdxFile(dir: string, base: string): string | undefined {
  return firstExisting([join(dir, base), join(dir, `${base}.gz`)]);
}

function requireIdxFile(dir: string, base: string): string {
  const path = findIdxFile(dir, base);
  if (path === undefined)
    throw new DataError(`missing ${base} (or ${base}.gz)`, dir);
  return path;
}

/** Reads one IDX images/labels pair and checks that their shapes agree. */
function readIdxSplit(
  imagesFile: string,
  labelsFile: string,
  numClasses: number,
): ImageSet {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new DataError(
      `expected image dims [N, H, W] or [N, H, W, C], found [${images.dims.join(", ")}]`,
      imagesFile,
    );
  }
  if (labels.dims.length !== 1) {
    throw new DataError(
      `expected label dims [N], found [${labels.dims.join(", ")}]`,
      labelsFile,
    );
  }
  const [count, height, width, channels = 1] = images.dims;
  if (labels.dims[0] !== count) {
    throw new DataError(
      `has ${labels.dims[0]} labels but ${imagesFile} has ${count} images`,
      labelsFile,
    );
  }
  return toImageSet(
    images.data,
    labels.data,
    { count, height, width, channels },
    numClasses,
    labelsFile,
  );
}

/** The four IDX files of `dir` as a dataset named after the folder. */
function loadIdxFolder(dir: string, numClasses: number): ImageDataset {
  const file = (base: string): string => requireIdxFile(dir, base);
  const train = readIdxSplit(
    file(IDX_FILES.trainImages),
    file(IDX_FILES.trainLabels),
    numClasses,
  );
  const test = readIdxSplit(
    file(IDX_FILES.testImages),
    file(IDX_FILES.testLabels),
    numClasses,
  );
  const size = (set: ImageSet): string =>
    `${set.height}x${set.width}x${set.channels}`;
  if (size(test) !== size(train)) {
    throw new DataError(
      `test images are ${size(test)} but training images are ${size(train)}`,
      file(IDX_FILES.testImages),
    );
  }
  return { name: basename(resolve(dir)), train, test, numClasses };
}

/** The CIFAR-10 batches in `cifarDir` (labels are 0..9, checked against `numClasses`). */
function loadCifarFolder(cifarDir: string, numClasses: number): ImageDataset {
  const raw = readCifar10(cifarDir);
  const toSet = (batch: CifarBatch, labelsFile: string): ImageSet =>
    toImageSet(
      batch.pixels,
      batch.labels,
      {
        count: batch.count,
        height: CIFAR_SIZE,
        width: CIFAR_SIZE,
        channels: CIFAR_CHANNELS,
      },
      numClasses,
      join(cifarDir, labelsFile),
    );
  return {
    name: "cifar-10",
    train: toSet(raw.train, "data_batch_{1..5}.bin"),
    test: toSet(raw.test, CIFAR_TEST_FILE),
    numClasses,
  };
}

/**
 * Loads the dataset in `dir`, recognising either the four IDX files (raw or `.gz`) or the
 * CIFAR-10 binary batches (in `dir` or its `cifar-10-batches-bin/` subfolder).
 * @throws DataError naming the file when anything is missing, malformed or inconsistent
 */
export function loadImageDataset(
  dir: string,
  options: LoadImageDatasetOptions = {},
): ImageDataset {
  const numClasses = options.numClasses ?? DEFAULT_NUM_CLASSES;
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new RangeError(
      `numClasses must be an integer in 1..256, got ${numClasses}`,
    );
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DataError("dataset folder not found", dir);
  }
  if (findIdxFile(dir, IDX_FILES.trainImages) !== undefined) {
    return loadIdxFolder(dir, numClasses);
  }
  const cifarDir = findCifarDir(dir);
  if (cifarDir !== undefined) return loadCifarFolder(cifarDir, numClasses);
  throw new DataError(
    `no dataset found: expected ${IDX_FILES.trainImages}[.gz] and the other IDX files, or CIFAR-10 data_batch_1.bin (possibly under cifar-10-batches-bin/)`,
    dir,
  );
}

/**
 * The committed Fashion-MNIST sample (runtime/data/fixtures/fashion-mnist-sample), found
 * next to this module when run from source, or from the package root when run from dist/.
 */
export function sampleDatasetDir(): string {
  const candidates = [
    "./fixtures/fashion-mnist-sample",
    "../../../runtime/data/fixtures/fashion-mnist-sample",
  ].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return firstExisting(candidates) ?? candidates[0];
}

/** Which dataset `resolveDefaultDataset` chose. */
export interface DefaultDatasetChoice {
  readonly dir: string;
  /** `system`: the full Fashion-MNIST package; `sample`: the small committed sample. */
  readonly source: "system" | "sample";
}

/**
 * The full Fashion-MNIST at `DEFAULT_FASHION_MNIST_DIR` when it is installed, otherwise
 * the committed sample, so training runs on a fresh checkout. Load it with `loadImageDataset`.
 */
export function resolveDefaultDataset(
  systemDir: string = DEFAULT_FASHION_MNIST_DIR,
): DefaultDatasetChoice {
  if (findIdxFile(systemDir, IDX_FILES.trainImages) !== undefined) {
    return { dir: systemDir, source: "system" };
  }
  return { dir: sampleDatasetDir(), source: "sample" };
}
