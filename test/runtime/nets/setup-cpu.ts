// Shared helpers of the net tests; they run on tfjs's pure-JS cpu backend.

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core's node bundle registers no gradients; the per-op ESM files load under vitest.
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";

import type { ParamStore } from "../../../runtime/nets/params.js";

export async function useCpuBackend(): Promise<void> {
  await tf.setBackend("cpu");
  await tf.ready();
}

/** Largest |a - b| over all entries. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Tensors left alive by running `step` inside a tidy (which keeps nothing). */
export function countLeakedTensors(step: () => unknown): number {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    step();
  });
  return tf.memory().numTensors - before;
}

/**
 * Central differences against autodiff: for each variable, at its entry with the largest
 * gradient, returns the variables whose analytic and numeric derivatives differ by more than
 * `relTol` (float32, so a coarse step and tolerance).
 */
export function gradientMismatches(
  params: ParamStore,
  loss: () => tf.Scalar,
  eps = 1e-2,
  relTol = 0.05,
): string[] {
  const { value, grads } = tf.variableGrads(loss, params.variables());
  const bad: string[] = [];
  for (const name of params.names()) {
    const v = params.get(name);
    const g = grads[v.name].dataSync();
    let at = 0;
    for (let i = 1; i < g.length; i++)
      if (Math.abs(g[i]) > Math.abs(g[at])) at = i;
    const original = v.dataSync().slice();
    const lossAt = (delta: number): number => {
      const shifted = original.slice();
      shifted[at] += delta;
      tf.tidy(() => v.assign(tf.tensor(shifted, v.shape)));
      return tf.tidy(() => loss().dataSync()[0]);
    };
    const numeric = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
    tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
    if (Math.abs(numeric - g[at]) > relTol * Math.max(Math.abs(g[at]), 1e-3)) {
      bad.push(`${name}: autodiff ${g[at]}, numeric ${numeric}`);
    }
  }
  tf.dispose([value, ...Object.values(grads)]);
  return bad;
}

/** Names of the variables of `params` whose gradient of `loss` is missing or all zero. */
export function namesWithoutGradient(
  params: ParamStore,
  loss: () => tf.Scalar,
): string[] {
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(loss, params.variables());
    return params.names().filter((name) => {
      const g = grads[params.get(name).name];
      return g === undefined || tf.max(tf.abs(g)).dataSync()[0] === 0;
    });
  });
}
