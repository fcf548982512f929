// tf.clone on wasm shares its input's data (kernels/identity.ts): no copy, the reference count
// keeps the data alive until the last tensor that holds it is disposed, and gradients that save
// tensors by cloning them are unchanged.

import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";

import { selectBackend } from "../../../runtime/backend.js";
import { expectClose, on, wave } from "./helpers.js";

describe("Identity on wasm", () => {
  it("shares the data, and frees it with the last holder", async () => {
    await selectBackend("wasm");
    const before = tf.memory().numBytes;
    const backend = tf.backend() as unknown as { refCount(id: object): number };
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    expect(b.dataId).toBe(a.dataId);
    expect(backend.refCount(a.dataId)).toBe(2);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    expect(backend.refCount(b.dataId)).toBe(1);
    b.dispose();
    expect(backend.refCount(b.dataId)).toBe(0);
    expect(tf.memory().numBytes).toBe(before);
  });

  it("leaves a variable's clone as it was when the variable is assigned", async () => {
    await selectBackend("wasm");
    const v = tf.variable(tf.tensor1d([1, 2]));
    const kept = tf.clone(v);
    v.assign(tf.tensor1d([5, 6]));
    expect(Array.from(kept.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([5, 6]);
    kept.dispose();
    v.dispose();
  });

  it("keeps the gradients of ops that save their inputs (customGrad, reshape)", async () => {
    const f = () =>
      tf.grad((x: tf.Tensor) => {
        const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
          const input = args[0] as tf.Tensor;
          const save = args[1] as tf.GradSaveFunc;
          save([input]);
          return {
            value: tf.square(input),
            gradFunc: (dy, saved) =>
              tf.mul(dy as tf.Tensor, tf.mul(2, saved[0])),
          };
        });
        return tf.sum(tf.mul(op(tf.reshape(x, [6, 4])), wave([6, 4], 0.7)));
      })(wave([2, 3, 4], 0.2));
    expectClose(await on("wasm", f), await on("cpu", f), 1e-6);
  });
});
