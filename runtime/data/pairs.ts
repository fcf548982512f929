// The I/O pairs of Sec. 4.1: gold symbols s*_{i,j} drawn uniformly over the alphabet's classes
// (shared by all tasks), an image x_{i,j} drawn uniformly from the images of that class, and
// outputs y_{t,i} = z*_t(s*_i) for every task. Train and test splits use different images and
// seeds. The alphabet (domains/alphabet.ts) gives each class its value; the tasks and their
// outputs come from the caller (a task domain), so nothing here knows a task family.

import type { Alphabet } from "../domains/alphabet.js";
import { createRng, deriveSeed } from "../random.js";
import { DataError } from "./errors.js";
import type { ImageDataset, ImageSet } from "./images.js";

/** A task's output at the gold symbol values `s` of pair `pair` (float64, stored as float32). */
export type OutputOf<T> = (
  task: T,
  s: readonly number[],
  pair: number,
) => number;

/** Options of `makeSplit`. */
export interface SplitOptions<T> {
  /** Images to draw from; symbol k uses the images of class k. */
  readonly dataset: ImageSet;
  readonly tasks: readonly T[];
  readonly output: OutputOf<T>;
  /** The value of each class (the task domain's alphabet). */
  readonly alphabet: Alphabet;
  /** N: I/O pairs per task. */
  readonly numPairs: number;
  /** V: symbols per input. */
  readonly numInputs: number;
  readonly seed: number;
  /**
   * Inclusive range of classes the gold symbols are drawn from, default all of the alphabet's;
   * e.g. [0, 4] and [5, 9] for the generalisation loss.
   */
  readonly classRange?: readonly [number, number];
}

/** A split of I/O pairs; T tasks share the same N inputs. */
export interface Split {
  /** [N, V]: gold symbols, alphabet[classes[c]]. */
  readonly symbols: Float32Array;
  /** [N, V]: the class of each gold symbol. */
  readonly classes: Int32Array;
  /** [N * V, H, W, C]: the image for (i, j) is row i * V + j; its label equals classes[i * V + j]. */
  readonly images: Float32Array;
  /** [T, N]: the task's output on pair i, in task order. */
  readonly outputs: Float32Array;
  /** The value of each class. */
  readonly alphabet: Alphabet;
  readonly numPairs: number;
  readonly numInputs: number;
  readonly numTasks: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** The outputs of `tasks` on the split's pairs `pairs`, task-major: [tasks.length * pairs.length]. */
export function outputRows(
  split: Split,
  pairs: readonly number[],
  tasks: readonly number[],
): Float32Array {
  const N = split.numPairs;
  const y = new Float32Array(tasks.length * pairs.length);
  tasks.forEach((t, k) =>
    pairs.forEach(
      (i, b) => (y[k * pairs.length + b] = split.outputs[t * N + i]),
    ),
  );
  return y;
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
 * @throws DataError when a class the gold symbols need has no images
 */
export function makeSplit<T>(options: SplitOptions<T>): Split {
  const { dataset, numPairs, numInputs, seed } = options;
  const { alphabet } = options;
  const [first, last] = options.classRange ?? [0, alphabet.length - 1];
  checkCount("numPairs", numPairs, 1);
  checkCount("numInputs", numInputs, 1);
  checkCount("classRange[0]", first, 0);
  checkCount("classRange[1]", last, first);
  if (last >= alphabet.length)
    throw new RangeError(
      `makeSplit: class ${last} is beyond the alphabet's ${alphabet.length} values`,
    );

  // 1. Each class the gold symbols need must have images.
  const byClass = indexByClass(dataset);
  for (let k = first; k <= last; k++) {
    if ((byClass[k]?.length ?? 0) === 0) {
      throw new DataError(
        `symbol ${k + 1} needs images of class ${k}, but this split has none`,
      );
    }
  }

  // 2. Gold symbols s*_{i,j}, uniform over the classes, shared by all tasks.
  const cells = numPairs * numInputs;
  const symbolRng = createRng(deriveSeed(seed, 0));
  const classes = new Int32Array(cells);
  for (let c = 0; c < cells; c++)
    classes[c] = first + symbolRng.int(last - first + 1);

  // 3. Perceptual inputs x_{i,j}: a uniform image of the symbol's class.
  const imageRng = createRng(deriveSeed(seed, 1));
  const rows = Int32Array.from(classes, (k) => {
    const pool = byClass[k];
    return pool[imageRng.int(pool.length)];
  });
  return assembleSplit(options, alphabet, classes, rows);
}

/**
 * A split of the pairs that show the images `rows` ([N * V] rows of `dataset`, pair i showing
 * rows[i * V + j] as symbol j): their labels are the gold classes.
 * @throws DataError when an image's class is beyond the alphabet
 */
export function makeSplitFromRows<T>(
  options: Omit<SplitOptions<T>, "numPairs" | "seed" | "classRange"> & {
    readonly rows: Int32Array;
  },
): Split {
  const { alphabet } = options;
  const classes = Int32Array.from(options.rows, (row) => {
    const k = options.dataset.labels[row];
    if (k >= alphabet.length)
      throw new DataError(
        `image ${row} is class ${k}, which the alphabet of ${alphabet.length} symbols lacks`,
      );
    return k;
  });
  return assembleSplit(
    { ...options, numPairs: options.rows.length / options.numInputs },
    alphabet,
    classes,
    options.rows,
  );
}

/** Step 4: the images of `rows`, the gold symbols of `classes` and every task's outputs. */
function assembleSplit<T>(
  options: Pick<
    SplitOptions<T>,
    "dataset" | "tasks" | "output" | "numPairs" | "numInputs"
  >,
  alphabet: Alphabet,
  classes: Int32Array,
  rows: Int32Array,
): Split {
  const { dataset, tasks, output, numPairs, numInputs } = options;
  const { height, width, channels } = dataset;
  const pixels = height * width * channels;
  const images = new Float32Array(classes.length * pixels);
  rows.forEach((row, c) =>
    images.set(
      dataset.images.subarray(row * pixels, (row + 1) * pixels),
      c * pixels,
    ),
  );
  return {
    symbols: Float32Array.from(classes, (k) => alphabet[k]),
    classes,
    images,
    outputs: taskOutputs(tasks, output, alphabet, classes, numPairs, numInputs),
    alphabet,
    numPairs,
    numInputs,
    numTasks: tasks.length,
    height,
    width,
    channels,
  };
}

/**
 * Outputs y_{t,i} = z*_t(s*_i) [T, N], from the classes of the gold symbols (so the tasks see the
 * alphabet's float64 values, not their float32 rounding).
 */
function taskOutputs<T>(
  tasks: readonly T[],
  output: OutputOf<T>,
  alphabet: Alphabet,
  classes: Int32Array,
  numPairs: number,
  numInputs: number,
): Float32Array {
  const outputs = new Float32Array(tasks.length * numPairs);
  const s = new Array<number>(numInputs);
  tasks.forEach((task, t) => {
    for (let i = 0; i < numPairs; i++) {
      for (let j = 0; j < numInputs; j++)
        s[j] = alphabet[classes[i * numInputs + j]];
      outputs[t * numPairs + i] = output(task, s, i);
    }
  });
  return outputs;
}

/**
 * The same pairs (symbols and images) for other tasks: e.g. held-out tasks measured on the test
 * split's images.
 */
export function withTasks<T>(
  split: Split,
  tasks: readonly T[],
  output: OutputOf<T>,
): Split {
  return {
    ...split,
    outputs: taskOutputs(
      tasks,
      output,
      split.alphabet,
      split.classes,
      split.numPairs,
      split.numInputs,
    ),
    numTasks: tasks.length,
  };
}

/** The same pairs for a subset of the split's tasks (rows of `outputs`, in the order given). */
export function selectTasks(split: Split, tasks: readonly number[]): Split {
  const N = split.numPairs;
  const outputs = new Float32Array(tasks.length * N);
  tasks.forEach((t, k) =>
    outputs.set(split.outputs.subarray(t * N, (t + 1) * N), k * N),
  );
  return { ...split, outputs, numTasks: tasks.length };
}

/** Options of `makeSplits`: one seed and a dataset give both splits. */
export interface SplitsOptions<T> extends Omit<
  SplitOptions<T>,
  "dataset" | "classRange"
> {
  readonly dataset: ImageDataset;
  /** N for the test split; default `numPairs`. */
  readonly numTestPairs?: number;
  readonly trainClassRange?: readonly [number, number];
  readonly testClassRange?: readonly [number, number];
}

/**
 * The train split from the training images and the test split from the test images,
 * with distinct seeds derived from `seed`, so they share neither images nor symbols.
 */
export function makeSplits<T>(options: SplitsOptions<T>): {
  train: Split;
  test: Split;
} {
  const {
    dataset,
    numTestPairs,
    trainClassRange,
    testClassRange,
    seed,
    ...shared
  } = options;
  return {
    train: makeSplit({
      ...shared,
      dataset: dataset.train,
      seed: deriveSeed(seed, 100),
      classRange: trainClassRange,
    }),
    test: makeSplit({
      ...shared,
      dataset: dataset.test,
      numPairs: numTestPairs ?? shared.numPairs,
      seed: deriveSeed(seed, 101),
      classRange: testClassRange,
    }),
  };
}
