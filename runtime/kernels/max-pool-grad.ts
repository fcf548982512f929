// MaxPool gradient from forward ops, replacing tfjs-core's stock gradient.
// tfjs-backend-wasm 4.22's MaxPoolGrad kernel drops part of the gradient (for example one of the
// four windows of a 4x4 input under a 2x2/2 pool); this version routes each window's gradient to
// the first maximum of the window in row-major order, as the cpu backend does.

import * as tf from "@tensorflow/tfjs-core";
import {
  MAX_POOL_GRAD_KERNEL,
  nativeMaxPoolGradActive,
  type MaxPoolAttrs as PoolAttrs,
} from "./native.js";
import { dilateSpatial, padOrCrop } from "./spatial.js";

/** dL/dx of y = maxPool(x) (NHWC), given dy and the saved x and y. */
export function maxPoolBackprop(
  dy: tf.Tensor4D, // [N, OH, OW, C]
  x: tf.Tensor4D, // [N, H, W, C]
  y: tf.Tensor4D, // [N, OH, OW, C]
  attrs: PoolAttrs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computePool2DInfo(
      x.shape,
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const {
      filterHeight: kh,
      filterWidth: kw,
      strideHeight: sh,
      strideWidth: sw,
    } = info;
    const [, h, w] = x.shape;
    // 1. Frame x (padding reads as -inf) so window (i, j) starts at (i * sH, j * sW).
    const frameH = kh + (info.outHeight - 1) * sh;
    const frameW = kw + (info.outWidth - 1) * sw;
    const { top, left } = info.padInfo;
    const framed = padOrCrop(
      x,
      top,
      frameH - h - top,
      left,
      frameW - w - left,
      -Infinity,
    );
    const dxFramed =
      kh === sh && kw === sw
        ? routeTiled(dy, framed, y, kh, kw)
        : routeOverlapping(dy, framed, y, info);
    // 5. Drop the frame.
    return padOrCrop(
      dxFramed,
      -top,
      h + top - frameH,
      -left,
      w + left - frameW,
    );
  });
}

/**
 * Windows that tile the frame (filter == stride, e.g. 2x2/2): view the frame as
 * [N, OH, KH, OW, KW, C] and pick each window's first maximum by ranking the hits.
 */
function routeTiled(
  dy: tf.Tensor4D, // [N, OH, OW, C]
  framed: tf.Tensor4D, // [N, OH * KH, OW * KW, C]
  y: tf.Tensor4D, // [N, OH, OW, C]
  kh: number,
  kw: number,
): tf.Tensor4D {
  const [n, oh, ow, c] = y.shape;
  const windows = tf.reshape(framed, [n, oh, kh, ow, kw, c]);
  const perWindow = (t: tf.Tensor) => tf.reshape(t, [n, oh, 1, ow, 1, c]);
  // 2. Rank the positions holding the window's maximum: KH * KW for the first in row-major
  //    order, down to 1 for the last; 0 elsewhere. (Comparisons via step and relu: on wasm a
  //    broadcasting tf.equal is ~20x slower than arithmetic.)
  const rankOf = tf.reshape(tf.range(kh * kw, 0, -1), [1, 1, kh, 1, kw, 1]);
  const belowMax = tf.step(tf.sub(perWindow(y), windows)); // 1 where x < max, else 0
  const ranks = tf.mul(rankOf, tf.sub(1, belowMax)); // [N, OH, KH, OW, KW, C]
  // 3. The best rank of a window is a max-pool of the ranks; ranks are integers, so
  //    relu(rank - best + 1) is exactly 1 at the first maximum and 0 elsewhere.
  const ranksFlat = tf.reshape(ranks, framed.shape) as tf.Tensor4D;
  const best = tf.maxPool(ranksFlat, [kh, kw], [kh, kw], "valid"); // [N, OH, OW, C]
  const first = tf.relu(tf.sub(ranks, perWindow(tf.sub(best, 1))));
  // 4. Only the first maximum of each window receives the window's dy.
  const dx = tf.mul(first, perWindow(dy)); // [N, OH, KH, OW, KW, C]
  return tf.reshape(dx, framed.shape) as tf.Tensor4D;
}

/** Overlapping windows: visit each offset in the window; slower (strided slices). */
function routeOverlapping(
  dy: tf.Tensor4D,
  framed: tf.Tensor4D,
  y: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const [n, oh, ow, c] = y.shape;
  const [, frameH, frameW] = framed.shape;
  // 2. For each offset in the window, in row-major order: the windows whose first maximum
  //    sits there send their dy to that input position.
  let taken = tf.zeros([n, oh, ow, c], "bool");
  let dxFramed: tf.Tensor4D = tf.zeros([n, frameH, frameW, c]);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const atOffset = tf.stridedSlice(
        framed,
        [0, i, j, 0],
        [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c],
        [1, sh, sw, 1],
      ); // [N, OH, OW, C]
      const hit = tf.logicalAnd(tf.equal(atOffset, y), tf.logicalNot(taken));
      taken = tf.logicalOr(taken, hit);
      const routed = tf.mul(dy, tf.cast(hit, "float32")) as tf.Tensor4D;
      // 3. Place window (oh, ow) at input position (oh * sH + i, ow * sW + j).
      const spread = dilateSpatial(routed, sh, sw); // [N, OH * sH, OW * sW, C]
      const placed = padOrCrop(
        spread,
        i,
        frameH - i - oh * sh,
        j,
        frameW - j - ow * sw,
      );
      dxFramed = tf.add(dxFramed, placed);
    }
  }
  return dxFramed;
}

/** Replacement gradient of MaxPool. */
export const maxPoolGradConfig: tf.GradConfig = {
  kernelName: tf.MaxPool,
  inputsToSave: ["x"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, y] = saved as [tf.Tensor4D, tf.Tensor4D];
    // With the native kernels on wasm, one pass of the same routing (kernels/native.ts).
    if (nativeMaxPoolGradActive() && x.dtype === "float32")
      return {
        x: () =>
          tf
            .engine()
            .runKernel(
              MAX_POOL_GRAD_KERNEL,
              { dy: dy as tf.Tensor, x },
              attrs as unknown as tf.NamedAttrMap,
            ) as tf.Tensor4D,
      };
    return {
      x: () =>
        maxPoolBackprop(dy as tf.Tensor4D, x, y, attrs as unknown as PoolAttrs),
    };
  },
};
