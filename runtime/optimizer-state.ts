// Adam's whole state as checkpoint arrays, so a resumed run takes exactly the steps the
// uninterrupted one would. TF.js's own getWeights/setWeights lose two things: the step count is
// an int32 tensor (its bits must not be stored as float32), and setWeights recomputes the bias
// corrections beta^(t+1) with pow instead of the running product, which differs in the last bit.

import * as tf from "@tensorflow/tfjs-core";
import type { NamedArray } from "./checkpoint.js";

/** The parts of tf.AdamOptimizer's state that getWeights does not return. */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment?: { variable: tf.Variable }[];
  accumulatedSecondMoment?: { variable: tf.Variable }[];
}

function internals(optimizer: tf.AdamOptimizer): AdamInternals {
  const inner = optimizer as unknown as AdamInternals;
  if (!(inner.accBeta1 instanceof tf.Variable)) {
    // An internal bug (a TF.js version whose Adam is laid out differently), not a user error.
    throw new Error(
      "optimizer-state: this TF.js AdamOptimizer has no accBeta1 variable; update optimizer-state.ts",
    );
  }
  return inner;
}

const PREFIX = "optimizer/";

/** Adam's step count, bias corrections and moments, in the order TF.js keeps them. */
export async function optimizerToArrays(
  optimizer: tf.AdamOptimizer,
): Promise<NamedArray[]> {
  const weights = await optimizer.getWeights();
  const { accBeta1, accBeta2 } = internals(optimizer);
  const arrays: NamedArray[] = [];
  for (const [i, w] of weights.entries()) {
    arrays.push({
      name: `${PREFIX}${i}`,
      shape: w.tensor.shape,
      // The step count is int32: convert its value, do not reinterpret its bits.
      data: Float32Array.from(await w.tensor.data()),
    });
  }
  if (weights[0]) weights[0].tensor.dispose(); // saveIterations makes a fresh scalar
  arrays.push(
    {
      name: `${PREFIX}accBeta1`,
      shape: [],
      data: Float32Array.from(await accBeta1.data()),
    },
    {
      name: `${PREFIX}accBeta2`,
      shape: [],
      data: Float32Array.from(await accBeta2.data()),
    },
  );
  return arrays;
}

/** Restores what `optimizerToArrays` saved; arrays without optimizer state leave Adam fresh. */
export async function loadOptimizer(
  optimizer: tf.AdamOptimizer,
  arrays: readonly NamedArray[],
): Promise<void> {
  const indexed = arrays
    .filter(
      (a) =>
        a.name.startsWith(PREFIX) && /^\d+$/.test(a.name.slice(PREFIX.length)),
    )
    .sort(
      (a, b) =>
        Number(a.name.slice(PREFIX.length)) -
        Number(b.name.slice(PREFIX.length)),
    );
  if (indexed.length === 0) return;
  const inner = internals(optimizer);
  // setWeights replaces the moment variables without disposing the old ones.
  for (const m of [
    ...(inner.accumulatedFirstMoment ?? []),
    ...(inner.accumulatedSecondMoment ?? []),
  ])
    m.variable.dispose();
  const tensors = indexed.map((a, i) =>
    i === 0
      ? tf.scalar(Math.round(a.data[0]), "int32")
      : tf.tensor(a.data, [...a.shape]),
  );
  await optimizer.setWeights(
    tensors.map((tensor, i) => ({ name: i === 0 ? "iter" : `w${i}`, tensor })),
  );
  tf.dispose(tensors);
  const beta1 = arrays.find((a) => a.name === `${PREFIX}accBeta1`);
  const beta2 = arrays.find((a) => a.name === `${PREFIX}accBeta2`);
  if (beta1 && beta2) {
    tf.tidy(() => {
      inner.accBeta1.assign(tf.scalar(beta1.data[0]));
      inner.accBeta2.assign(tf.scalar(beta2.data[0]));
    });
  }
}

/**
 * Sets Adam's learning rate for the next updates. TF.js reads the constructor's `learningRate`
 * field on every update and offers no setter; the check keeps a TF.js without that field from
 * being silently ignored.
 */
export function setLearningRate(optimizer: tf.AdamOptimizer, lr: number): void {
  const inner = optimizer as unknown as { learningRate: unknown };
  if (typeof inner.learningRate !== "number")
    throw new Error(
      "optimizer-state: this TF.js AdamOptimizer has no numeric learningRate; update optimizer-state.ts",
    );
  inner.learningRate = lr;
}
