// An exponential moving average of the trained weights (Polyak averaging; beyond the paper),
// which evaluation reads in place of the last step's. Late in a run the argmax of q swings by tens
// of tasks between evaluations 250 steps apart (docs/results.md); the average of the recent
// weights is the estimate that does not depend on where the last step happened to land.
//
// The average follows every trainable variable of the model (g and r alike, so r is evaluated on
// the symbols of the g it was averaged with). Its decay warms up as TensorFlow's
// ExponentialMovingAverage with num_updates does, min(decay, (1 + t) / (10 + t)) at step t, so
// the first steps do not keep the initial weights for thousands of steps; the step index alone
// sets it, so a resumed run averages exactly as the uninterrupted one.

import * as tf from "@tensorflow/tfjs-core";
import type { NamedArray } from "./checkpoint.js";

const PREFIX = "average/";

export interface WeightAverage {
  /** The decay d of avg <- d avg + (1 - d) w, before its warm-up. */
  readonly decay: number;
  /** Folds the variables' current values into the average, after the update of `step` (0-based). */
  update(step: number): void;
  /** Runs `fn` with the averaged values in the variables, then puts the live ones back. */
  evaluate<T>(fn: () => Promise<T>): Promise<T>;
  toArrays(): Promise<NamedArray[]>;
  /** Loads the average from a checkpoint's arrays; false when it has none (it keeps the live). */
  load(arrays: readonly NamedArray[]): boolean;
  dispose(): void;
}

/** The decay used after the update of `step`: d warmed up by the steps done. */
export function averageDecay(decay: number, step: number): number {
  return Math.min(decay, (1 + step) / (10 + step));
}

/**
 * An average of `variables` (in a fixed order: checkpoints name them by position), starting at
 * their current values.
 */
export function createWeightAverage(
  variables: readonly tf.Variable[],
  decay: number,
): WeightAverage {
  if (!(decay > 0 && decay < 1))
    throw new Error(`weight average: decay must be in (0, 1), got ${decay}`);
  const averages = variables.map((v) => tf.variable(v.clone(), false));
  const swap = () =>
    tf.tidy(() => {
      for (const [i, v] of variables.entries()) {
        const live = v.clone();
        v.assign(averages[i]);
        averages[i].assign(live);
      }
    });
  return {
    decay,
    update(step) {
      const d = averageDecay(decay, step);
      tf.tidy(() => {
        for (const [i, v] of variables.entries())
          averages[i].assign(tf.add(tf.mul(averages[i], d), tf.mul(v, 1 - d)));
      });
    },
    async evaluate(fn) {
      swap();
      try {
        return await fn();
      } finally {
        swap();
      }
    },
    async toArrays() {
      const arrays: NamedArray[] = [];
      for (const [i, a] of averages.entries())
        arrays.push({
          name: `${PREFIX}${i}`,
          shape: a.shape,
          data: Float32Array.from(await a.data()),
        });
      return arrays;
    },
    load(arrays) {
      const found = arrays.filter((a) => a.name.startsWith(PREFIX));
      if (found.length === 0) {
        tf.tidy(() => averages.forEach((a, i) => a.assign(variables[i])));
        return false;
      }
      if (found.length !== averages.length)
        throw new Error(
          `the checkpoint averages ${found.length} variables, the model has ${averages.length}`,
        );
      const stored = averages.map((a, i) => {
        const x = found.find((f) => f.name === `${PREFIX}${i}`);
        const same =
          x !== undefined &&
          x.shape.length === a.shape.length &&
          x.shape.every((d, k) => d === a.shape[k]);
        if (!same)
          throw new Error(
            `the checkpoint's ${PREFIX}${i} has shape [${x?.shape ?? "none"}], expected [${a.shape}]`,
          );
        return x;
      });
      tf.tidy(() =>
        averages.forEach((a, i) =>
          a.assign(tf.tensor(stored[i].data, a.shape)),
        ),
      );
      return true;
    },
    dispose() {
      averages.forEach((a) => a.dispose());
    },
  };
}
