// Builds the committed Fashion-MNIST sample (runtime/data/fixtures/fashion-mnist-sample):
// a fixed-seed, class-balanced subset of the full dataset, written as gzipped IDX files so
// the loader reads it through the same code path as the full data. Run it from the repo root:
//   npx tsc --ignoreConfig --outDir /tmp/sketchc-sample --rootDir . --module nodenext \
//     --target es2022 --types node runtime/data/make-sample.ts \
//     && node /tmp/sketchc-sample/runtime/data/make-sample.js [outDir]

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRng } from "../random.js";
import { writeIdx } from "./idx.js";
import {
  DEFAULT_FASHION_MNIST_DIR,
  IDX_FILES,
  loadImageDataset,
  sampleDatasetDir,
  type ImageSet,
} from "./images.js";

/** Options of `makeFashionMnistSample`; the defaults made the committed sample. */
export interface MakeSampleOptions {
  readonly sourceDir?: string;
  readonly outDir?: string;
  readonly trainPerClass?: number;
  readonly testPerClass?: number;
  readonly seed?: number;
}

/** The committed sample's parameters. */
export const SAMPLE_DEFAULTS = {
  trainPerClass: 500,
  testPerClass: 100,
  seed: 20220601,
} as const;

/** Picks `perClass` rows of every class with `rng`, returned in ascending (original) order. */
function pickRows(
  set: ImageSet,
  numClasses: number,
  perClass: number,
  seed: number,
): number[] {
  const rng = createRng(seed);
  const rows: number[] = [];
  for (let k = 0; k < numClasses; k++) {
    const ofClass: number[] = [];
    for (let n = 0; n < set.count; n++)
      if (set.labels[n] === k) ofClass.push(n);
    if (ofClass.length < perClass) {
      throw new RangeError(
        `class ${k} has ${ofClass.length} images, fewer than ${perClass}`,
      );
    }
    rows.push(...rng.shuffle(ofClass).slice(0, perClass));
  }
  return rows.sort((a, b) => a - b);
}

/** Writes the chosen rows of `set` as an IDX images file and an IDX labels file (gzipped). */
function writeRows(
  set: ImageSet,
  rows: readonly number[],
  imagesPath: string,
  labelsPath: string,
): void {
  const pixels = set.height * set.width * set.channels;
  const bytes = new Uint8Array(rows.length * pixels);
  const labels = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    labels[i] = set.labels[row];
    for (let p = 0; p < pixels; p++)
      bytes[i * pixels + p] = Math.round(set.images[row * pixels + p] * 255);
  });
  const dims =
    set.channels === 1
      ? [rows.length, set.height, set.width]
      : [rows.length, set.height, set.width, set.channels];
  writeIdx(imagesPath, dims, bytes, true);
  writeIdx(labelsPath, [rows.length], labels, true);
}

/**
 * Writes the four `.gz` IDX files of a class-balanced sample of the dataset in `sourceDir`
 * to `outDir` (LICENSE and README.md are maintained by hand).
 */
export function makeFashionMnistSample(options: MakeSampleOptions = {}): void {
  const sourceDir = options.sourceDir ?? DEFAULT_FASHION_MNIST_DIR;
  const outDir = options.outDir ?? sampleDatasetDir();
  const seed = options.seed ?? SAMPLE_DEFAULTS.seed;
  const source = loadImageDataset(sourceDir);
  mkdirSync(outDir, { recursive: true });
  const out = (base: string): string => join(outDir, `${base}.gz`);
  const trainRows = pickRows(
    source.train,
    source.numClasses,
    options.trainPerClass ?? SAMPLE_DEFAULTS.trainPerClass,
    seed,
  );
  const testRows = pickRows(
    source.test,
    source.numClasses,
    options.testPerClass ?? SAMPLE_DEFAULTS.testPerClass,
    seed + 1,
  );
  writeRows(
    source.train,
    trainRows,
    out(IDX_FILES.trainImages),
    out(IDX_FILES.trainLabels),
  );
  writeRows(
    source.test,
    testRows,
    out(IDX_FILES.testImages),
    out(IDX_FILES.testLabels),
  );
}

if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  // Compiled to /tmp, this module cannot find the fixtures beside itself: default to the cwd's.
  const outDir =
    process.argv[2] ??
    join(process.cwd(), "runtime/data/fixtures/fashion-mnist-sample");
  makeFashionMnistSample({ outDir });
  console.log(`wrote the Fashion-MNIST sample to ${outDir}`);
}
