// The forward-op MaxPool gradient against the cpu backend's MaxPoolGrad kernel (first maximum of
// each window in row-major order), on cpu and wasm. wasm's own MaxPoolGrad drops gradient.

import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { maxPoolBackprop } from "../../../runtime/kernels/index.js";
import { BACKENDS, expectClose, on, wave } from "./helpers.js";

type Pad = "same" | "valid" | number;

interface PoolCase {
  readonly x: [number, number, number, number];
  readonly filterSize: number | [number, number];
  readonly strides: number | [number, number];
  readonly pad: Pad;
  /** Round inputs to a coarse grid, so that windows hold tied maxima. */
  readonly ties?: boolean;
}

const CASES: readonly PoolCase[] = [
  { x: [1, 4, 4, 1], filterSize: 2, strides: 2, pad: "valid" },
  { x: [2, 6, 6, 3], filterSize: 2, strides: 2, pad: "same" },
  { x: [2, 5, 7, 2], filterSize: 2, strides: 2, pad: "same" },
  { x: [2, 5, 7, 2], filterSize: 2, strides: 2, pad: "valid" },
  { x: [2, 6, 6, 3], filterSize: 2, strides: 2, pad: "valid", ties: true },
  { x: [1, 6, 6, 2], filterSize: 3, strides: 3, pad: "valid", ties: true },
  { x: [2, 6, 6, 2], filterSize: 3, strides: 1, pad: "same", ties: true },
  { x: [2, 7, 7, 2], filterSize: 3, strides: 2, pad: "valid" },
  { x: [1, 6, 8, 2], filterSize: [2, 3], strides: [2, 1], pad: "same" },
  { x: [1, 6, 6, 1], filterSize: 2, strides: 2, pad: 1 },
];

function input(c: PoolCase): tf.Tensor4D {
  const x = wave(c.x, 0.4) as tf.Tensor4D;
  return c.ties ? tf.round(tf.mul(x, 2)) : x;
}

describe("maxPool gradient from forward ops", () => {
  for (const backend of BACKENDS) {
    for (const c of CASES) {
      const name = `x ${c.x} filter ${c.filterSize} strides ${c.strides} pad ${c.pad}${c.ties ? " ties" : ""}`;
      it(`${backend}: equals cpu MaxPoolGrad, ${name}`, async () => {
        const attrs = {
          filterSize: c.filterSize,
          strides: c.strides,
          pad: c.pad,
        };
        const run = (stock: boolean) => () => {
          const x = input(c);
          const y = tf.maxPool(x, c.filterSize, c.strides, c.pad);
          const dy = wave(y.shape, 0.8) as tf.Tensor4D;
          return stock
            ? (tf
                .engine()
                .runKernel(
                  tf.MaxPoolGrad,
                  { dy, input: x, output: y },
                  attrs as unknown as tf.NamedAttrMap,
                ) as tf.Tensor)
            : maxPoolBackprop(dy, x, y, attrs);
        };
        expectClose(await on(backend, run(false)), await on("cpu", run(true)));
      });
    }

    it(`${backend}: tf.grad through maxPool uses the replacement`, async () => {
      const c = CASES[1];
      const loss = (x: tf.Tensor) => {
        const y = tf.maxPool(x as tf.Tensor4D, c.filterSize, c.strides, c.pad);
        return tf.sum(tf.mul(y, wave(y.shape, 0.8)));
      };
      const expected = await on("cpu", () => tf.grad(loss)(input(c)));
      expectClose(await on(backend, () => tf.grad(loss)(input(c))), expected);
      // Each window sends its dy to exactly one input.
      expect(expected.filter((v) => v !== 0).length).toBe(2 * 3 * 3 * 3);
    });
  }
});
