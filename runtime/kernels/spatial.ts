// Spatial helpers shared by the forward-op gradients: padding that may also crop, and the
// zero-insertion ("dilation") that turns a strided gradient into a stride-1 convolution.
// Everything here is NHWC and built from forward kernels only, so it runs on every backend.

import * as tf from "@tensorflow/tfjs-core";

/** Pads (positive amounts) or crops (negative amounts) the two spatial axes of an NHWC tensor. */
export function padOrCrop(
  x: tf.Tensor4D, // [N, H, W, C]
  top: number,
  bottom: number,
  left: number,
  right: number,
  value = 0,
): tf.Tensor4D {
  return tf.tidy(() => {
    let out = x;
    if (top > 0 || bottom > 0 || left > 0 || right > 0) {
      const padding: [number, number][] = [
        [0, 0],
        [Math.max(top, 0), Math.max(bottom, 0)],
        [Math.max(left, 0), Math.max(right, 0)],
        [0, 0],
      ];
      out = tf.pad(out, padding, value);
    }
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
      const [n, h, w, c] = out.shape;
      const cropTop = Math.max(-top, 0);
      const cropLeft = Math.max(-left, 0);
      out = tf.slice(
        out,
        [0, cropTop, cropLeft, 0],
        [
          n,
          h - cropTop - Math.max(-bottom, 0),
          w - cropLeft - Math.max(-right, 0),
          c,
        ],
      );
    }
    return out;
  });
}

/**
 * Inserts `strideH - 1` zero rows after every row and `strideW - 1` zero columns after every
 * column: [N, H, W, C] -> [N, H * strideH, W * strideW, C] (trailing zeros included).
 */
export function dilateSpatial(
  x: tf.Tensor4D,
  strideH: number,
  strideW: number,
): tf.Tensor4D {
  if (strideH === 1 && strideW === 1) return tf.clone(x);
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const cells = tf.reshape(x, [n, h, 1, w, 1, c]);
    const padded = tf.pad(cells, [
      [0, 0],
      [0, 0],
      [0, strideH - 1],
      [0, 0],
      [0, strideW - 1],
      [0, 0],
    ]); // [N, H, sH, W, sW, C]
    return tf.reshape(padded, [n, h * strideH, w * strideW, c]);
  });
}

/** NCHW <-> NHWC, for gradients whose forward op was called with dataFormat 'NCHW'. */
export function toChannelsLast(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 2, 3, 1]);
}

export function toChannelsFirst(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 3, 1, 2]);
}
