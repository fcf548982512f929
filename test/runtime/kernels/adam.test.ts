// The native Adam kernel (kernels/adam.ts, native/blas.cc `Adam`) against TF.js AdamOptimizer on
// the wasm backend: the same variables, moments, bias corrections and step count after several
// steps, to the bit, with and without gradient entries of every size; and TF.js's own update
// where the kernel is not registered.

import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";

import { selectBackend } from "../../../runtime/backend.js";
import { applyAdam, nativeAdamActive } from "../../../runtime/kernels/adam.js";
import {
  installNativeKernels,
  nativeStatus,
  uninstallNativeKernels,
} from "../../../runtime/kernels/native.js";
import { createRandom } from "../../sketches/programs.js";

const SHAPES: number[][] = [[7], [3, 5], [2, 4, 6], []];

/** Variables of SHAPES with seeded values, named `${prefix}k`. */
function variables(prefix: string, next: () => number): tf.Variable[] {
  return SHAPES.map((shape, k) =>
    tf.tidy(() =>
      tf.variable(
        tf.tensor(
          Array.from(
            { length: tf.util.sizeFromShape(shape) },
            () => next() - 0.5,
          ),
          shape,
        ),
        true,
        `${prefix}${k}`,
      ),
    ),
  );
}

/** Steps of seeded gradients (spanning 1e-6 to 1e2) through `apply`; the state as plain arrays. */
async function train(
  prefix: string,
  apply: (o: tf.AdamOptimizer, g: Record<string, tf.Tensor>) => void,
): Promise<number[][]> {
  const next = createRandom(11);
  const vars = variables(prefix, next);
  const optimizer = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  for (let step = 0; step < 6; step++) {
    const grads = Object.fromEntries(
      vars.map((v, k) => [
        v.name,
        tf.tensor(
          Array.from(
            { length: v.size },
            () => (next() - 0.5) * 10 ** (Math.floor(next() * 9) - 6),
          ),
          v.shape,
        ),
      ]),
    );
    apply(optimizer, grads);
    Object.values(grads).forEach((g) => g.dispose());
  }
  const weights = await optimizer.getWeights();
  const state = [
    ...vars.map((v) => Array.from(v.dataSync())),
    ...weights.map((w) => Array.from(w.tensor.dataSync())),
  ];
  weights[0].tensor.dispose(); // the step count, a fresh scalar
  optimizer.dispose();
  vars.forEach((v) => v.dispose());
  return state;
}

describe.runIf(nativeStatus().on)("the native Adam kernel", () => {
  it("gives TF.js AdamOptimizer's bits on wasm", async () => {
    await selectBackend("wasm");
    installNativeKernels();
    expect(nativeAdamActive()).toBe(true);
    const tensors = tf.memory().numTensors;
    const native = await train("native", applyAdam);
    // No tensor left behind: the optimizer's are disposed with it.
    expect(tf.memory().numTensors).toBe(tensors);
    const stock = await train("stock", (o, g) =>
      o.applyGradients(g as Record<string, tf.Variable>),
    );
    expect(native.length).toBe(stock.length);
    native.forEach((values, k) => expect(values).toEqual(stock[k]));
  });

  it("leaves the update to TF.js where the kernel is not registered", async () => {
    await selectBackend("wasm");
    uninstallNativeKernels();
    try {
      expect(nativeAdamActive()).toBe(false);
      const fallback = await train("fallback", applyAdam);
      const stock = await train("stock2", (o, g) =>
        o.applyGradients(g as Record<string, tf.Variable>),
      );
      fallback.forEach((values, k) => expect(values).toEqual(stock[k]));
    } finally {
      installNativeKernels();
    }
  });
});
