// Eq. 3-4 as losses, by hand.

import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { objective, reconstructionLoss } from "../../runtime/objective.js";

beforeAll(async () => {
  await selectBackend("wasm");
});

const value = (t: tf.Tensor): number => t.dataSync()[0];

describe("reconstructionLoss", () => {
  // Task 0: errors 1 and 3 at sigma 1 -> (1 + 9) / 2 = 5 summed; task 1: errors 2, 0 at sigma 2
  // -> 4 / 8 = 0.5 summed. Mean over the 4 terms: 5.5 / 4.
  const y = () =>
    tf.tensor2d([
      [1, 3],
      [2, 0],
    ]);
  const yHat = () => tf.zeros([2, 2]) as tf.Tensor2D;
  const sigma = () => tf.tensor1d([1, 2]);

  it("is the mean over tasks and pairs of (y - yHat)^2 / (2 sigma^2)", () => {
    expect(value(reconstructionLoss(y(), yHat(), sigma()))).toBeCloseTo(
      5.5 / 4,
      6,
    );
  });
});

describe("objective", () => {
  const reconstruction = () => tf.scalar(1);
  const lengths = () => tf.tensor1d([2, 6]);

  it("adds lambda times the mean expected length", () => {
    expect(value(objective(reconstruction(), lengths(), 0.5))).toBeCloseTo(
      3,
      6,
    );
    expect(value(objective(reconstruction(), lengths(), 0))).toBe(1);
  });
});
