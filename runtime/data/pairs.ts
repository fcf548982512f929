// The I/O pairs of Sec. 4.1: gold symbols s*_{i,j} uniform in {1..10} (shared by all
// tasks), an image x_{i,j} drawn uniformly from the images of class s*_{i,j}, and outputs
// y_{t,i} = z*_t(s*_i) for every task. Train and test splits use different images and seeds.

import { createRng, deriveSeed } from "../random.js";
import { DataError } from "./errors.js";
import type { ImageDataset, ImageSet } from "./images.js";
import { evaluateFormula, type Task } from "./tasks.js";

/** Gold symbols are integers k in {1..10}, fed to the program as k / SYMBOL_SCALE. */
export const SYMBOL_SCALE = 10;
/** The paper's symbol range, {1, ..., 10}. */
export const DEFAULT_SYMBOL_RANGE: readonly [number, number] = [1, 10];

/** Options of `makeSplit`. */
export interface SplitOptions {
  /** Images to draw from; symbol k uses the images of class k - 1. */
  readonly dataset: ImageSet;
  readonly tasks: readonly Task[];
  /** N: I/O pairs per task. */
  readonly numPairs: number;
  /** V: symbols per input; default 3. */
  readonly numInputs?: number;
  readonly seed: number;
  /** Inclusive integer range of gold symbols, default [1, 10]; e.g. [1, 5] and [6, 10] for the generalisation loss. */
  readonly symbolRange?: readonly [number, number];
}

/** A split of I/O pairs; T tasks share the same N inputs. */
export interface Split {
  /** [N, V]: gold symbols k / 10. */
  readonly symbols: Float32Array;
  /** [N, V]: the class of each gold symbol, k - 1 (= symbol * 10 - 1). */
  readonly classes: Int32Array;
  /** [N * V, H, W, C]: the image for (i, j) is row i * V + j; its label equals classes[i * V + j]. */
  readonly images: Float32Array;
  /** [T, N]: evaluateFormula(tasks[t].formula, symbols of pair i), in task order. */
  readonly outputs: Float32Array;
  readonly numPairs: number;
  readonly numInputs: number;
  readonly numTasks: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** Row indices of `set`, grouped by label (computed once per split). */
export function indexByClass(set: ImageSet): Int32Array[] {
  const counts: number[] = [];
  for (let n = 0; n < set.count; n++)
    counts[set.labels[n]] = (counts[set.labels[n]] ?? 0) + 1;
  const byClass = Array.from(counts, (c) => new Int32Array(c ?? 0));
  const filled = new Array<number>(byClass.length).fill(0);
  for (let n = 0; n < set.count; n++)
    byClass[set.labels[n]][filled[set.labels[n]]++] = n;
  return byClass;
}

function checkCount(what: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `makeSplit: ${what} must be an integer >= ${min}, got ${value}`,
    );
  }
}

/**
 * Builds one split of I/O pairs (Sec. 4.1).
 * @throws DataError when a class needed by the symbol range has no images
 */
export function makeSplit(options: SplitOptions): Split {
  const { dataset, tasks, numPairs, seed } = options;
  const numInputs = options.numInputs ?? 3;
  const [minSymbol, maxSymbol] = options.symbolRange ?? DEFAULT_SYMBOL_RANGE;
  checkCount("numPairs", numPairs, 1);
  checkCount("numInputs", numInputs, 1);
  checkCount("symbolRange[0]", minSymbol, 1);
  checkCount("symbolRange[1]", maxSymbol, minSymbol);

  // 1. Each class the symbol range needs must have images.
  const byClass = indexByClass(dataset);
  for (let k = minSymbol; k <= maxSymbol; k++) {
    if ((byClass[k - 1]?.length ?? 0) === 0) {
      throw new DataError(
        `symbol ${k} needs images of class ${k - 1}, but this split has none`,
      );
    }
  }

  // 2. Gold symbols s*_{i,j}, uniform in the range, shared by all tasks.
  const cells = numPairs * numInputs;
  const symbolRng = createRng(deriveSeed(seed, 0));
  const symbols = new Float32Array(cells);
  const classes = new Int32Array(cells);
  for (let c = 0; c < cells; c++) {
    const k = minSymbol + symbolRng.int(maxSymbol - minSymbol + 1);
    classes[c] = k - 1;
    symbols[c] = k / SYMBOL_SCALE;
  }

  // 3. Perceptual inputs x_{i,j}: a uniform image of the symbol's class.
  const { height, width, channels } = dataset;
  const pixels = height * width * channels;
  const imageRng = createRng(deriveSeed(seed, 1));
  const images = new Float32Array(cells * pixels);
  for (let c = 0; c < cells; c++) {
    const pool = byClass[classes[c]];
    const row = pool[imageRng.int(pool.length)];
    images.set(
      dataset.images.subarray(row * pixels, (row + 1) * pixels),
      c * pixels,
    );
  }

  return {
    symbols,
    classes,
    images,
    outputs: taskOutputs(tasks, classes, numPairs, numInputs),
    numPairs,
    numInputs,
    numTasks: tasks.length,
    height,
    width,
    channels,
  };
}

/**
 * Step 4 of `makeSplit`: outputs y_{t,i} = z*_t(s*_i) [T, N], from the classes k - 1 of the gold
 * symbols (so the formulas see k / 10 in float64, not its float32 rounding).
 */
function taskOutputs(
  tasks: readonly Task[],
  classes: Int32Array,
  numPairs: number,
  numInputs: number,
): Float32Array {
  const outputs = new Float32Array(tasks.length * numPairs);
  const s = new Array<number>(numInputs);
  tasks.forEach((task, t) => {
    for (let i = 0; i < numPairs; i++) {
      for (let j = 0; j < numInputs; j++)
        s[j] = (classes[i * numInputs + j] + 1) / SYMBOL_SCALE;
      outputs[t * numPairs + i] = evaluateFormula(task.formula, s);
    }
  });
  return outputs;
}

/**
 * The same pairs (symbols and images) for other tasks: e.g. held-out tasks measured on the test
 * split's images.
 */
export function withTasks(split: Split, tasks: readonly Task[]): Split {
  return {
    ...split,
    outputs: taskOutputs(tasks, split.classes, split.numPairs, split.numInputs),
    numTasks: tasks.length,
  };
}

/** Options of `makeSplits`: one seed and a dataset give both splits. */
export interface SplitsOptions extends Omit<
  SplitOptions,
  "dataset" | "symbolRange"
> {
  readonly dataset: ImageDataset;
  /** N for the test split; default `numPairs`. */
  readonly numTestPairs?: number;
  readonly trainSymbolRange?: readonly [number, number];
  readonly testSymbolRange?: readonly [number, number];
}

/**
 * The train split from the training images and the test split from the test images,
 * with distinct seeds derived from `seed`, so they share neither images nor symbols.
 */
export function makeSplits(options: SplitsOptions): {
  train: Split;
  test: Split;
} {
  const {
    dataset,
    numTestPairs,
    trainSymbolRange,
    testSymbolRange,
    seed,
    ...shared
  } = options;
  return {
    train: makeSplit({
      ...shared,
      dataset: dataset.train,
      seed: deriveSeed(seed, 100),
      symbolRange: trainSymbolRange,
    }),
    test: makeSplit({
      ...shared,
      dataset: dataset.test,
      numPairs: numTestPairs ?? shared.numPairs,
      seed: deriveSeed(seed, 101),
      symbolRange: testSymbolRange,
    }),
  };
}
