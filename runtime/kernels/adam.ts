// Adam's update through the native kernel where it serves the backend (wasm with the addon:
// kernels/native.ts `ADAM_KERNEL`): one kernel a variable instead of TF.js AdamOptimizer's dozen
// (about 500 kernel calls a training step, each with the engine's bookkeeping). The optimizer's
// own state is used and kept as it keeps it (its moments, bias corrections and step count), so
// checkpoints, `getWeights` and a later `applyGradients` see no difference, and the values are
// its bits: the kernel runs its float32 operations in its order (test/runtime/kernels/adam.test.ts).

import * as tf from "@tensorflow/tfjs-core";
import { ADAM_KERNEL, type AdamAttrs } from "./native.js";

/** The fields of tf.AdamOptimizer this reads and keeps up to date, as TF.js 4 lays them out. */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/** Whether `applyAdam` runs the native kernel on the active backend. */
export function nativeAdamActive(): boolean {
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * `optimizer.applyGradients(gradients)`, through the native kernel where it serves the backend
 * and the optimizer is laid out as expected; otherwise TF.js's own.
 */
export function applyAdam(
  optimizer: tf.AdamOptimizer,
  gradients: Record<string, tf.Tensor>,
): void {
  const adam = optimizer as unknown as AdamFields;
  if (
    !nativeAdamActive() ||
    !(adam.accBeta1 instanceof tf.Variable) ||
    !Array.isArray(adam.accumulatedFirstMoment) ||
    typeof adam.incrementIterations !== "function"
  ) {
    optimizer.applyGradients(gradients as Record<string, tf.Variable>);
    return;
  }
  const names = Object.keys(gradients);
  // The float32 values sub(1, accBeta) gives, as TF.js computes them (one rounding).
  const oneMinusAccBeta1 = Math.fround(1 - adam.accBeta1.dataSync()[0]);
  const oneMinusAccBeta2 = Math.fround(1 - adam.accBeta2.dataSync()[0]);
  const attrs: AdamAttrs = {
    beta1: adam.beta1,
    beta2: adam.beta2,
    oneMinusAccBeta1,
    oneMinusAccBeta2,
    epsilon: adam.epsilon,
    learningRate: adam.learningRate,
  };
  tf.tidy(() => {
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      // The moments' variables, made as TF.js makes them (index i, zeros, not trainable).
      adam.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      adam.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const g = gradients[name];
      if (g == null) return;
      const m = adam.accumulatedFirstMoment[i].variable;
      const v = adam.accumulatedSecondMoment[i].variable;
      const [x1, m1, v1] = tf
        .engine()
        .runKernel(
          ADAM_KERNEL,
          { x: value, m, v, g } as unknown as tf.NamedTensorMap,
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
      m.assign(m1);
      v.assign(v1);
      value.assign(x1);
    });
    adam.accBeta1.assign(tf.mul(adam.accBeta1, adam.beta1));
    adam.accBeta2.assign(tf.mul(adam.accBeta2, adam.beta2));
  });
  adam.incrementIterations();
}
