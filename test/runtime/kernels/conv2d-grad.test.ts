// The forward-conv Conv2D gradients against the stock cpu kernels (Conv2DBackpropInput,
// Conv2DBackpropFilter), on cpu and wasm, and through tf.grads with the replacement installed.

import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import {
  conv2dBackpropFilterByConv,
  conv2dBackpropInputByConv,
} from "../../../runtime/kernels/index.js";
import { BACKENDS, expectClose, on, wave } from "./helpers.js";

type Pad = "same" | "valid" | number | tf.backend_util.ExplicitPadding;

interface ConvCase {
  readonly x: [number, number, number, number]; // NHWC
  readonly filter: [number, number, number, number]; // [KH, KW, Cin, Cout]
  readonly strides: number | [number, number];
  readonly pad: Pad;
}

const CASES: readonly ConvCase[] = [
  { x: [2, 6, 6, 3], filter: [3, 3, 3, 4], strides: 1, pad: "same" },
  { x: [2, 6, 6, 3], filter: [3, 3, 3, 4], strides: 1, pad: "valid" },
  { x: [2, 7, 7, 2], filter: [3, 3, 2, 5], strides: 2, pad: "same" },
  { x: [2, 8, 8, 2], filter: [3, 3, 2, 5], strides: 2, pad: "same" },
  { x: [2, 7, 6, 2], filter: [3, 2, 2, 3], strides: 2, pad: "valid" },
  { x: [1, 9, 9, 1], filter: [5, 5, 1, 2], strides: [2, 1], pad: "same" },
  { x: [3, 5, 5, 2], filter: [1, 1, 2, 3], strides: 1, pad: "valid" },
  { x: [2, 6, 6, 2], filter: [3, 3, 2, 2], strides: 2, pad: 1 },
  {
    x: [1, 6, 5, 2],
    filter: [3, 3, 2, 2],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
];

function outShape(c: ConvCase): number[] {
  return tf.tidy(
    () =>
      tf.conv2d(
        tf.zeros(c.x) as tf.Tensor4D,
        tf.zeros(c.filter) as tf.Tensor4D,
        c.strides,
        c.pad,
      ).shape,
  );
}

/** The stock kernels, run on the cpu backend. */
async function stockGrads(
  c: ConvCase,
): Promise<{ dx: number[]; dw: number[] }> {
  const dx = await on("cpu", () => {
    const dy = wave(outShape(c), 0.7);
    return tf
      .engine()
      .runKernel(tf.Conv2DBackpropInput, { dy, filter: wave(c.filter) }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: "NHWC",
        inputShape: c.x,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
  });
  const dw = await on("cpu", () => {
    const dy = wave(outShape(c), 0.7);
    return tf
      .engine()
      .runKernel(tf.Conv2DBackpropFilter, { x: wave(c.x, 1.1), dy }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: "NHWC",
        filterShape: c.filter,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
  });
  return { dx, dw };
}

describe("conv2d gradient from forward convolutions", () => {
  for (const backend of BACKENDS) {
    for (const c of CASES) {
      const name = `${backend}: x ${c.x} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)}`;
      it(`dx and dw equal the stock kernels, ${name}`, async () => {
        const stock = await stockGrads(c);
        const attrs = { strides: c.strides, pad: c.pad };
        const dx = await on(backend, () =>
          conv2dBackpropInputByConv(
            c.x,
            wave(outShape(c), 0.7) as tf.Tensor4D,
            wave(c.filter) as tf.Tensor4D,
            attrs,
          ),
        );
        const dw = await on(backend, () =>
          conv2dBackpropFilterByConv(
            wave(c.x, 1.1) as tf.Tensor4D,
            wave(outShape(c), 0.7) as tf.Tensor4D,
            c.filter,
            attrs,
          ),
        );
        expectClose(dx, stock.dx);
        expectClose(dw, stock.dw);
      });
    }

    it(`${backend}: tf.grads through conv2d and conv2dTranspose uses the replacement`, async () => {
      const c = CASES[2];
      const stock = await stockGrads(c);
      const loss = (x: tf.Tensor, w: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad),
            wave(outShape(c), 0.7),
          ),
        );
      await on(backend, () => tf.scalar(0)); // installs the replacement on wasm
      const [dx, dw] = tf.tidy(() =>
        tf
          .grads(loss)([wave(c.x, 1.1), wave(c.filter)])
          .map((g) => Array.from(g.dataSync())),
      );
      expectClose(dx, stock.dx);
      expectClose(dw, stock.dw);
      // conv2dTranspose(dy, w) is Conv2DBackpropInput; its filter gradient is a backprop-filter.
      const dwT = tf.tidy(() => {
        const transposeLoss = (w: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.conv2dTranspose(
                wave(outShape(c), 0.7) as tf.Tensor4D,
                w as tf.Tensor4D,
                c.x,
                c.strides,
                c.pad as "same",
              ),
              wave(c.x, 1.1),
            ),
          );
        return Array.from(tf.grad(transposeLoss)(wave(c.filter)).dataSync());
      });
      expectClose(dwT, stock.dw);
    });
  }

  it("supports NCHW on cpu", async () => {
    const c = CASES[2];
    const stock = await stockGrads(c);
    await on("cpu", () => tf.scalar(0));
    const [dx, dw] = tf.tidy(() => {
      const xNchw = tf.transpose(wave(c.x, 1.1), [0, 3, 1, 2]);
      const dyNchw = tf.transpose(wave(outShape(c), 0.7), [0, 3, 1, 2]);
      const loss = (x: tf.Tensor, w: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.conv2d(
              x as tf.Tensor4D,
              w as tf.Tensor4D,
              c.strides,
              c.pad as "same",
              "NCHW",
            ),
            dyNchw,
          ),
        );
      const [gx, gw] = tf.grads(loss)([xNchw, wave(c.filter)]);
      return [
        Array.from(tf.transpose(gx, [0, 2, 3, 1]).dataSync()),
        Array.from(gw.dataSync()),
      ];
    });
    expectClose(dx, stock.dx);
    expectClose(dw, stock.dw);
  });

  it("rejects dilations other than 1, like the stock gradient", async () => {
    await on("cpu", () => tf.scalar(0));
    expect(() =>
      conv2dBackpropFilterByConv(
        tf.zeros([1, 5, 5, 1]),
        tf.zeros([1, 1, 1, 1]),
        [3, 3, 1, 1],
        {
          strides: 1,
          pad: "valid",
          dilations: 2,
        },
      ),
    ).toThrow(/dilations must be 1/);
  });
});
