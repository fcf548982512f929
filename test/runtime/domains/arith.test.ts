// The arith domain is the paper's task family exactly as before domains existed: the same 1,101
// formulas, the same seeded training and held-out sample, the same pairs and outputs bit for bit.
// The pinned hashes were computed with the code before the refactor (sampleTasks, makeSplits and
// withTasks with the hard-wired 0.1..1.0 alphabet) on the committed Fashion-MNIST sample.

import { describe, expect, it } from "vitest";
import {
  loadImageDataset,
  sampleDatasetDir,
} from "../../../runtime/data/images.js";
import { makeSplits, withTasks } from "../../../runtime/data/pairs.js";
import {
  alphabetStats,
  defaultAlphabet,
} from "../../../runtime/domains/alphabet.js";
import { createArithDomain } from "../../../runtime/domains/arith.js";

/** FNV-1a over the bytes of a typed array, as 8 hex digits. */
function fnv(a: Float32Array | Int32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

const PINNED = [
  {
    seed: 0,
    ids: "215f0d5e",
    first: ["s1", "s1 * s2", "s1 + s3", "s2 * s2", "s2 + s2"],
    held: "326a40f4",
    heldFirst: ["s3", "s2 - s1", "s1 * s1 * s1"],
    trainSymbols: "ebf53d0d",
    trainClasses: "c044fe12",
    trainImages: "7d8df4c8",
    trainOutputs: "4c86e88a",
    testSymbols: "451e9d58",
    testOutputs: "e971b00d",
    heldOutputs: "75f79d95",
  },
  {
    seed: 7,
    ids: "32cdffe2",
    first: ["s3", "s1 * s1", "s1 * s3", "s2 * s2", "s2 + s2"],
    held: "63910c85",
    heldFirst: ["s2 * s3", "s1 * s1 - s3", "s1 * s2 + s3"],
    trainSymbols: "e2ecc710",
    trainClasses: "33180fb3",
    trainImages: "76b2cd12",
    trainOutputs: "386faf17",
    testSymbols: "ffaa2226",
    testOutputs: "6d323dde",
    heldOutputs: "e97e3549",
  },
];

describe("the arith domain", () => {
  const domain = createArithDomain(defaultAlphabet(10));
  const dataset = loadImageDataset(sampleDatasetDir());

  it("holds the paper's 1,101 formulas over 3 symbols", () => {
    expect(domain.poolSize).toBe(1101);
    expect(domain.numInputs).toBe(3);
    expect(domain.alphabet).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
    ]);
  });

  it.each(PINNED)(
    "draws the same tasks, pairs and outputs as before domains (seed $seed)",
    (pin) => {
      const { train: tasks, heldOut } = domain.drawTasks(500, 100, pin.seed);
      expect(tasks).toHaveLength(500);
      expect(heldOut).toHaveLength(100);
      expect(fnv(Int32Array.from(tasks, (t) => t.id))).toBe(pin.ids);
      expect(tasks.slice(0, 5).map((t) => t.text)).toEqual(pin.first);
      expect(fnv(Int32Array.from(heldOut, (t) => t.id))).toBe(pin.held);
      expect(heldOut.slice(0, 3).map((t) => t.text)).toEqual(pin.heldFirst);
      const output = domain.output.bind(domain);
      const { train, test } = makeSplits({
        dataset,
        tasks,
        output,
        alphabet: domain.alphabet,
        numPairs: 200,
        numTestPairs: 50,
        numInputs: 3,
        seed: pin.seed,
      });
      expect(fnv(train.symbols)).toBe(pin.trainSymbols);
      expect(fnv(train.classes)).toBe(pin.trainClasses);
      expect(fnv(train.images)).toBe(pin.trainImages);
      expect(fnv(train.outputs)).toBe(pin.trainOutputs);
      expect(fnv(test.symbols)).toBe(pin.testSymbols);
      expect(fnv(test.outputs)).toBe(pin.testOutputs);
      expect(fnv(withTasks(test, heldOut, output).outputs)).toBe(
        pin.heldOutputs,
      );
    },
  );

  it("gives every task when asked for more than the pool holds", () => {
    const { train, heldOut } = domain.drawTasks(5000, 10, 1);
    expect(train).toHaveLength(1101);
    expect(heldOut).toEqual([]);
  });

  it("has the documented prior target for 0.1..1.0, the same in float32", () => {
    const { mean, variance } = alphabetStats(domain.alphabet);
    expect(mean).toBeCloseTo(0.55, 15);
    expect(variance).toBeCloseTo(0.0825, 15);
    expect(Math.fround(mean)).toBe(Math.fround(0.55));
    expect(Math.fround(variance)).toBe(Math.fround(0.0825));
  });
});
