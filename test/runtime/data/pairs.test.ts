// Tests of the I/O pairs (Sec. 4.1): shapes, that each image's label is its gold symbol's
// class, that outputs are the tasks evaluated on the gold symbols, seeding, the symbol
// range of the generalisation split, and the train/test separation.

import { describe, expect, it } from "vitest";
import { DataError } from "../../../runtime/data/errors.js";
import { defaultAlphabet } from "../../../runtime/domains/alphabet.js";
import {
  loadImageDataset,
  sampleDatasetDir,
  type ImageDataset,
} from "../../../runtime/data/images.js";
import {
  indexByClass,
  makeSplit,
  makeSplits,
} from "../../../runtime/data/pairs.js";
import {
  enumerateTasks,
  evaluateFormula,
  sampleTasks,
  type Task,
} from "../../../runtime/data/tasks.js";
import { rowOf, syntheticSet } from "./helpers.js";

const dataset = syntheticSet(60);
const tasks = sampleTasks(20, 4);
/** The arithmetic tasks' outputs (domains/arith.ts does the same). */
const output = (task: Task, s: readonly number[]) =>
  evaluateFormula(task.formula, s);
const alphabet = defaultAlphabet(10);

describe("makeSplit", () => {
  const split = makeSplit({
    dataset,
    tasks,
    output,
    alphabet,
    numPairs: 200,
    numInputs: 3,
    seed: 1,
  });

  it("has the documented shapes", () => {
    expect([split.numPairs, split.numInputs, split.numTasks]).toEqual([
      200, 3, 20,
    ]);
    expect([split.height, split.width, split.channels]).toEqual([2, 2, 1]);
    expect(split.symbols.length).toBe(600);
    expect(split.classes.length).toBe(600);
    expect(split.images.length).toBe(600 * 4);
    expect(split.outputs.length).toBe(20 * 200);
  });

  it("draws symbols k / 10 with k in 1..10, every value occurring, and classes k - 1", () => {
    const seen = new Set<number>();
    split.classes.forEach((cls, c) => {
      expect(cls >= 0 && cls <= 9).toBe(true);
      expect(split.symbols[c]).toBe(Math.fround((cls + 1) / 10));
      seen.add(cls);
    });
    expect(seen.size).toBe(10);
  });

  it("gives image (i, j) at row i * V + j a label equal to its gold symbol's class", () => {
    const rows = new Set<number>();
    for (let c = 0; c < 600; c++) {
      const row = rowOf(split.images[c * 4]);
      expect(dataset.labels[row]).toBe(split.classes[c]);
      expect(Array.from(split.images.subarray(c * 4, c * 4 + 4))).toEqual(
        Array.from(dataset.images.subarray(row * 4, row * 4 + 4)),
      );
      rows.add(row);
    }
    expect(rows.size).toBe(60); // with 600 draws over 6 images per class, all are used
  });

  it("sets outputs[t, i] to the task evaluated on the gold symbols", () => {
    tasks.forEach((task, t) => {
      for (let i = 0; i < 200; i++) {
        const s = [0, 1, 2].map((j) => (split.classes[i * 3 + j] + 1) / 10);
        expect(split.outputs[t * 200 + i]).toBe(
          Math.fround(evaluateFormula(task.formula, s)),
        );
      }
    });
  });

  it("is reproducible from its seed", () => {
    const again = makeSplit({
      dataset,
      tasks,
      output,
      alphabet,
      numPairs: 200,
      numInputs: 3,
      seed: 1,
    });
    const other = makeSplit({
      dataset,
      tasks,
      output,
      alphabet,
      numPairs: 200,
      numInputs: 3,
      seed: 2,
    });
    expect(again).toEqual(split);
    expect(other.classes).not.toEqual(split.classes);
  });

  it("restricts symbols to classRange (the generalisation split)", () => {
    const small = makeSplit({
      dataset,
      tasks,
      output,
      alphabet,
      numPairs: 100,
      seed: 3,
      numInputs: 3,
      classRange: [0, 4],
    });
    const large = makeSplit({
      dataset,
      tasks,
      output,
      alphabet,
      numPairs: 100,
      seed: 3,
      numInputs: 3,
      classRange: [5, 9],
    });
    expect(small.numInputs).toBe(3);
    expect(Math.max(...small.classes)).toBe(4);
    expect(Math.min(...large.classes)).toBe(5);
  });

  it("errors clearly when a needed class has no images or a count is bad", () => {
    const sevenClasses = syntheticSet(21, 7);
    expect(() =>
      makeSplit({
        dataset: sevenClasses,
        tasks,
        output,
        alphabet,
        numPairs: 5,
        numInputs: 3,
        seed: 0,
      }),
    ).toThrow(
      new DataError(
        "symbol 8 needs images of class 7, but this split has none",
      ),
    );
    expect(() =>
      makeSplit({
        dataset,
        tasks,
        output,
        alphabet,
        numPairs: 0,
        numInputs: 3,
        seed: 0,
      }),
    ).toThrow(/numPairs must be an integer >= 1/);
  });

  it("draws over any alphabet's classes and feeds the tasks its values", () => {
    const values = [5, -1, 2];
    const three = makeSplit({
      dataset: syntheticSet(30, 3),
      tasks,
      output,
      alphabet: values,
      numPairs: 50,
      numInputs: 3,
      seed: 4,
    });
    expect(new Set(three.classes)).toEqual(new Set([0, 1, 2]));
    three.classes.forEach((k, c) => expect(three.symbols[c]).toBe(values[k]));
    const s = [0, 1, 2].map((j) => values[three.classes[j]]);
    expect(three.outputs[0]).toBe(
      Math.fround(evaluateFormula(tasks[0].formula, s)),
    );
    expect(three.alphabet).toBe(values);
  });

  it("indexes rows by class", () => {
    const byClass = indexByClass(syntheticSet(23));
    expect(byClass.map((rows) => rows.length)).toEqual([
      3, 3, 3, 2, 2, 2, 2, 2, 2, 2,
    ]);
    expect(Array.from(byClass[2])).toEqual([2, 12, 22]);
  });
});

describe("makeSplits", () => {
  it("draws train images from the training set and test images from the test set", () => {
    const ds: ImageDataset = {
      name: "synthetic",
      train: syntheticSet(50),
      test: syntheticSet(30, 10, 500),
      numClasses: 10,
    };
    const { train, test } = makeSplits({
      dataset: ds,
      tasks: enumerateTasks().slice(0, 5),
      output,
      alphabet,
      numPairs: 40,
      numInputs: 3,
      numTestPairs: 10,
      seed: 7,
    });
    expect([train.numPairs, test.numPairs]).toEqual([40, 10]);
    for (let c = 0; c < train.classes.length; c++)
      expect(rowOf(train.images[c * 4])).toBeLessThan(500);
    for (let c = 0; c < test.classes.length; c++)
      expect(rowOf(test.images[c * 4])).toBeGreaterThanOrEqual(500);
    expect(Array.from(test.classes)).not.toEqual(
      Array.from(train.classes.subarray(0, 30)),
    );
  });
});

describe("makeSplit on the committed Fashion-MNIST sample", () => {
  it("copies, for every cell, an image of the gold symbol's class", () => {
    const set = loadImageDataset(sampleDatasetDir()).train;
    const split = makeSplit({
      dataset: set,
      tasks,
      output,
      alphabet,
      numPairs: 10,
      numInputs: 3,
      seed: 8,
    });
    const pixels = 28 * 28;
    const byClass = indexByClass(set);
    for (let c = 0; c < 30; c++) {
      const image = split.images.subarray(c * pixels, (c + 1) * pixels);
      const match = Array.from(byClass[split.classes[c]]).some((row) =>
        image.every((x, p) => x === set.images[row * pixels + p]),
      );
      expect(match).toBe(true);
    }
  });
});
