// Shared helpers for the gradient-replacement tests: deterministic inputs, backend switching
// and a relative comparison of a tensor against a reference computed on the cpu backend.

import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { selectBackend } from "../../../runtime/backend.js";
import { installWasmGradients } from "../../../runtime/kernels/index.js";

export const BACKENDS = ["cpu", "wasm"] as const;
export type TestBackend = (typeof BACKENDS)[number];

/** Values sin(1.7 i + seed): deterministic, irregular, no ties. */
export function wave(shape: number[], seed = 0.3): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size }, (_, i) =>
    Math.sin(1.7 * i + seed),
  );
  return tf.tensor(values, shape);
}

/**
 * Runs `f` on `backend` with the replacement gradients installed (selectBackend installs them
 * only for wasm), and returns its result as plain numbers.
 */
export async function on(
  backend: TestBackend,
  f: () => tf.Tensor,
): Promise<number[]> {
  await selectBackend(backend);
  installWasmGradients();
  return tf.tidy(() => Array.from(f().dataSync()));
}

/** Expects max |actual - expected| <= 1e-4 * max |expected|. */
export function expectClose(
  actual: number[],
  expected: number[],
  tolerance = 1e-4,
): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1e-6, ...expected.map(Math.abs));
  const error = Math.max(0, ...actual.map((v, i) => Math.abs(v - expected[i])));
  expect(error / scale).toBeLessThanOrEqual(tolerance);
}
