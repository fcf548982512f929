// Conv2D gradients built from forward convolutions, replacing tfjs-core's stock gradient.
// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel and a slow (non-XNNPACK)
// Conv2DBackpropInput kernel; a forward Conv2D runs through XNNPACK on every backend.

import * as tf from "@tensorflow/tfjs-core";
import {
  dilateSpatial,
  padOrCrop,
  toChannelsFirst,
  toChannelsLast,
} from "./spatial.js";

type Padding = "same" | "valid" | number | tf.backend_util.ExplicitPadding;
type RoundingMode = "floor" | "round" | "ceil" | undefined;

/** The attributes of a Conv2D / Conv2DBackpropInput node that the gradients read. */
interface ConvAttrs {
  readonly strides: number | [number, number];
  readonly pad: Padding;
  readonly dataFormat?: "NHWC" | "NCHW";
  readonly dilations?: number | [number, number];
  readonly dimRoundingMode?: RoundingMode;
}

function convInfo(
  xShape: [number, number, number, number], // NHWC
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.backend_util.Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(
      `conv2d gradient: dilations must be 1, got ${JSON.stringify(attrs.dilations)}`,
    );
  }
  return info;
}

/**
 * dL/dx of y = conv2d(x, filter): the stride-1 'valid' convolution of dy, zero-dilated by the
 * stride and padded by (filter - 1 - pad), with the spatially flipped filter whose in/out
 * channels are swapped. NHWC.
 */
export function conv2dBackpropInputByConv(
  xShape: [number, number, number, number], // [N, H, W, Cin]
  dy: tf.Tensor4D, // [N, OH, OW, Cout]
  filter: tf.Tensor4D, // [KH, KW, Cin, Cout]
  attrs: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(xShape, filter.shape, attrs);
    const {
      filterHeight: kh,
      filterWidth: kw,
      strideHeight: sh,
      strideWidth: sw,
    } = info;
    const [, h, w] = xShape;
    // 1. Zero-insert dy so that output row oh sits at oh * stride: [N, OH * sH, OW * sW, Cout].
    const dilated = dilateSpatial(dy, sh, sw);
    // 2. Pad so that a 'valid' correlation yields exactly H x W rows and columns.
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = h + kh - 1 - top - dilated.shape[1];
    const right = w + kw - 1 - left - dilated.shape[2];
    const framed = padOrCrop(dilated, top, bottom, left, right);
    // 3. Correlate with the flipped filter, Cout -> Cin: [KH, KW, Cout, Cin].
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(framed, flipped as tf.Tensor4D, 1, "valid"); // [N, H, W, Cin]
  });
}

/**
 * dL/dfilter of y = conv2d(x, filter): with batch and channel axes of x swapped, the sum over
 * examples and output positions is itself a 'valid' convolution of x (as [Cin, H, W, N]) with dy
 * (as a filter [OH, OW, N, Cout]) dilated by the stride. NHWC.
 */
export function conv2dBackpropFilterByConv(
  x: tf.Tensor4D, // [N, H, W, Cin]
  dy: tf.Tensor4D, // [N, OH, OW, Cout]
  filterShape: [number, number, number, number], // [KH, KW, Cin, Cout]
  attrs: ConvAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, attrs);
    const {
      filterHeight: kh,
      filterWidth: kw,
      strideHeight: sh,
      strideWidth: sw,
    } = info;
    const [, h, w] = x.shape;
    // 1. Frame x to exactly the rows the windows read: (KH - 1) + (OH - 1) * sH + 1.
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const bottom = kh + (info.outHeight - 1) * sh - h - top;
    const right = kw + (info.outWidth - 1) * sw - w - left;
    const framed = padOrCrop(x, top, bottom, left, right);
    // 2. Swap batch and channels: x as [Cin, H', W', N], dy as a filter [OH, OW, N, Cout].
    const xT = tf.transpose(framed, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    // 3. out[ci, i, j, co] = sum_{oh, ow, n} x[n, i + oh * sH, j + ow * sW, ci] dy[n, oh, ow, co].
    const out = tf.conv2d(
      xT as tf.Tensor4D,
      dyT as tf.Tensor4D,
      1,
      "valid",
      "NHWC",
      [sh, sw],
    ); // [Cin, KH, KW, Cout]
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

function isChannelsFirst(attrs: ConvAttrs): boolean {
  return attrs.dataFormat === "NCHW";
}

/** Replacement gradient of Conv2D: dx and dfilter from forward convolutions only. */
export const conv2dGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ["x", "filter"],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const convAttrs = attrs as unknown as ConvAttrs;
    const nchw = isChannelsFirst(convAttrs);
    const xNhwc = () => (nchw ? toChannelsLast(x) : x);
    const dyNhwc = () =>
      nchw ? toChannelsLast(dy as tf.Tensor4D) : (dy as tf.Tensor4D);
    return {
      x: () => {
        const dx = conv2dBackpropInputByConv(
          xNhwc().shape,
          dyNhwc(),
          filter,
          convAttrs,
        );
        return nchw ? toChannelsFirst(dx) : dx;
      },
      filter: () =>
        conv2dBackpropFilterByConv(xNhwc(), dyNhwc(), filter.shape, convAttrs),
    };
  },
};

/**
 * Replacement gradient of Conv2DBackpropInput (conv2dTranspose): its filter gradient is a
 * Conv2DBackpropFilter, missing on wasm.
 */
export const conv2dBackpropInputGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2DBackpropInput,
  inputsToSave: ["dy", "filter"],
  gradFunc: (ddx, saved, attrs) => {
    const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const convAttrs = attrs as unknown as ConvAttrs;
    const nchw = isChannelsFirst(convAttrs);
    const ddxNhwc = () =>
      nchw ? toChannelsLast(ddx as tf.Tensor4D) : (ddx as tf.Tensor4D);
    return {
      dy: () =>
        tf.conv2d(
          ddx as tf.Tensor4D,
          filter,
          convAttrs.strides,
          convAttrs.pad,
          convAttrs.dataFormat ?? "NHWC",
          1,
          convAttrs.dimRoundingMode,
        ),
      filter: () =>
        conv2dBackpropFilterByConv(
          ddxNhwc(),
          nchw ? toChannelsLast(dy) : dy,
          filter.shape,
          convAttrs,
        ),
    };
  },
};
