// Building blocks for the nets, in the tfjs layer shape: typed Args, weights created once in
// `create*` (registered in a ParamStore under `name/...`), and a pure `call`. Dense, LayerNorm
// and the set max-pool have hand-written gradients (runtime/kernels) that avoid the reductions
// and broadcasts that are slow on wasm; the rest are standard tfjs-core ops.

import * as tf from "@tensorflow/tfjs-core";

import { layerNorm } from "../kernels/layer-norm.js";
import { linear } from "../kernels/linear.js";
import { maxOverMiddle, meanOverMiddle } from "../kernels/outer-reduce.js";
import { reshapeNoCopy } from "../kernels/reshape.js";

import {
  glorotUniform,
  heUniform,
  onesInit,
  uniformInit,
  zerosInit,
  type Initializer,
  type ParamStore,
} from "./params.js";

/** Added to LayerNorm / GroupNorm variances; matches PyTorch's default. */
const NORM_EPSILON = 1e-5;

// ---------------------------------------------------------------------------------------------
// Dense

export interface DenseArgs {
  readonly inputDim: number;
  readonly units: number;
  /** Kernel initialiser: He for layers followed by ReLU (default), Glorot for linear outputs. */
  readonly kernelInit?: Initializer;
  readonly useBias?: boolean;
  /** Bias initialiser; default zeros. */
  readonly biasInit?: Initializer;
}

export interface Dense {
  readonly kernel: tf.Variable; // [in, units]
  readonly bias: tf.Variable | null; // [units]
  /** [..., in] -> [..., units], as one [rows, in] @ [in, units] matMul. */
  call(x: tf.Tensor): tf.Tensor;
}

export function createDense(
  store: ParamStore,
  name: string,
  args: DenseArgs,
): Dense {
  const kernel = store.create(
    `${name}/kernel`,
    [args.inputDim, args.units],
    args.kernelInit ?? heUniform,
  );
  const bias =
    args.useBias === false
      ? null
      : store.create(`${name}/bias`, [args.units], args.biasInit ?? zerosInit);
  return {
    kernel,
    bias,
    call: (x) =>
      tf.tidy(() => {
        const lead = x.shape.slice(0, -1);
        const flat = reshapeNoCopy<tf.Rank.R2>(x, [
          x.size / args.inputDim,
          args.inputDim,
        ]); // [M, in]
        const out = linear(
          flat,
          kernel as tf.Tensor2D,
          bias as tf.Tensor1D | null,
        ); // [M, units]
        return reshapeNoCopy(out, [...lead, args.units]); // [..., units]
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// LayerNorm (Ba et al. 2016): normalise the last axis per example, then a learned gain and bias.

export interface LayerNormArgs {
  readonly dim: number;
}

export interface LayerNorm {
  readonly gain: tf.Variable; // [dim]
  readonly bias: tf.Variable; // [dim]
  /** [..., dim] -> [..., dim] */
  call(x: tf.Tensor): tf.Tensor;
  /** relu(call(x)), fused: [..., dim] -> [..., dim] */
  callRelu(x: tf.Tensor): tf.Tensor;
}

export function createLayerNorm(
  store: ParamStore,
  name: string,
  args: LayerNormArgs,
): LayerNorm {
  const gain = store.create(`${name}/gain`, [args.dim], onesInit);
  const bias = store.create(`${name}/bias`, [args.dim], zerosInit);
  const apply = (x: tf.Tensor, relu: boolean): tf.Tensor =>
    tf.tidy(() => {
      const rows = reshapeNoCopy<tf.Rank.R2>(x, [x.size / args.dim, args.dim]); // [M, dim]
      const out = layerNorm(rows, gain as tf.Tensor1D, bias as tf.Tensor1D, {
        epsilon: NORM_EPSILON,
        relu,
      }); // [M, dim]
      return reshapeNoCopy(out, x.shape); // [..., dim]
    });
  return {
    gain,
    bias,
    call: (x) => apply(x, false),
    callRelu: (x) => apply(x, true),
  };
}

// ---------------------------------------------------------------------------------------------
// Conv2d (NHWC)

export interface Conv2dArgs {
  readonly inChannels: number;
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides?: number;
  /** Default 'same'. */
  readonly padding?: "same" | "valid";
  /** Default true; off for convs followed by a normalisation with its own bias. */
  readonly useBias?: boolean;
  /** Default He uniform (convs are followed by ReLU). */
  readonly kernelInit?: Initializer;
}

export interface Conv2d {
  readonly kernel: tf.Variable; // [k, k, in, filters]
  readonly bias: tf.Variable | null; // [filters]
  /** [N, H, W, in] -> [N, H', W', filters] */
  call(x: tf.Tensor4D): tf.Tensor4D;
}

export function createConv2d(
  store: ParamStore,
  name: string,
  args: Conv2dArgs,
): Conv2d {
  const k = args.kernelSize;
  const kernel = store.create(
    `${name}/kernel`,
    [k, k, args.inChannels, args.filters],
    args.kernelInit ?? heUniform,
  );
  const bias =
    args.useBias === false
      ? null
      : store.create(`${name}/bias`, [args.filters], zerosInit);
  const strides = args.strides ?? 1;
  const padding = args.padding ?? "same";
  return {
    kernel,
    bias,
    call: (x) =>
      tf.tidy(() => {
        const out = tf.conv2d(x, kernel as tf.Tensor4D, strides, padding); // [N, H', W', filters]
        return bias === null ? out : tf.add(out, bias);
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// GroupNorm (Wu & He 2018): per-example statistics over (H, W, channels of a group), so it is
// independent of the batch, unlike BatchNorm (which the paper's footnote 3 rules out).

export interface GroupNormArgs {
  readonly channels: number;
  /** Must divide `channels`. */
  readonly groups: number;
  /** Initial gain; 0 makes a residual branch start as the identity (Goyal et al. 2017). */
  readonly gainInit?: number;
}

export interface GroupNorm {
  readonly gain: tf.Variable; // [C]
  readonly bias: tf.Variable; // [C]
  /** [N, H, W, C] -> [N, H, W, C] */
  call(x: tf.Tensor4D): tf.Tensor4D;
}

export function createGroupNorm(
  store: ParamStore,
  name: string,
  args: GroupNormArgs,
): GroupNorm {
  const { channels, groups } = args;
  if (channels % groups !== 0) {
    throw new Error(
      `GroupNorm '${name}': ${groups} groups do not divide ${channels} channels`,
    );
  }
  const gainInit = args.gainInit ?? 1;
  const gain = store.create(`${name}/gain`, [channels], (shape) =>
    new Float32Array(shape[0]).fill(gainInit),
  );
  const bias = store.create(`${name}/bias`, [channels], zerosInit);
  return {
    gain,
    bias,
    call: (x) =>
      tf.tidy(() => {
        const [n, h, w] = x.shape;
        const grouped = tf.reshape(x, [n, h, w, groups, channels / groups]); // [N, H, W, G, C/G]
        const { mean, variance } = tf.moments(grouped, [1, 2, 4], true); // [N, 1, 1, G, 1]
        const normed = tf.mul(
          tf.sub(grouped, mean),
          tf.rsqrt(tf.add(variance, NORM_EPSILON)),
        );
        const flat = tf.reshape(normed, [n, h, w, channels]); // [N, H, W, C]
        return tf.add(tf.mul(flat, gain), bias);
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// MLP with LayerNorm before each ReLU (Sec. 4.1 "Implementation Details"):
// Linear -> LayerNorm -> ReLU -> ... -> Linear(out).

export interface MlpArgs {
  readonly inputDim: number;
  /** Widths of the hidden layers; the paper uses [256, 256]. */
  readonly hidden: readonly number[];
  readonly outputDim: number;
}

export interface Mlp {
  /** hidden.length + 1 linear layers; the last is the output. */
  readonly linears: readonly Dense[];
  readonly norms: readonly LayerNorm[];
  /** [..., in] -> [..., out] */
  call(x: tf.Tensor): tf.Tensor;
  /**
   * The MLP after its first Linear, given that Linear's output [..., hidden[0]]. Lets a caller
   * build the first layer from parts (`x W = x_a W_a + x_b W_b`) and broadcast shared parts
   * instead of materialising concatenated inputs.
   */
  callAfterFirstLinear(pre: tf.Tensor): tf.Tensor;
}

export function createMlp(store: ParamStore, name: string, args: MlpArgs): Mlp {
  if (args.hidden.length === 0)
    throw new Error(`Mlp '${name}': needs at least one hidden layer`);
  const dims = [args.inputDim, ...args.hidden, args.outputDim];
  const linears: Dense[] = [];
  const norms: LayerNorm[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const isOutput = i + 2 === dims.length;
    linears.push(
      createDense(store, `${name}/linear${i}`, {
        inputDim: dims[i],
        units: dims[i + 1],
        kernelInit: isOutput ? glorotUniform : heUniform,
        // Random biases as in PyTorch's nn.Linear, which the paper used. With zero biases the
        // first LayerNorm of a tiny input (MLP_out sees a scalar y) would only see sign(y):
        // LN(y w) = sign(y) LN(w). With b != 0 it sees y through the direction of y w + b.
        biasInit: uniformInit(1 / Math.sqrt(dims[i])),
      }),
    );
    if (!isOutput)
      norms.push(
        createLayerNorm(store, `${name}/norm${i}`, { dim: dims[i + 1] }),
      );
  }

  const callAfterFirstLinear = (pre: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      let h = norms[0].callRelu(pre);
      for (let i = 1; i < linears.length; i++) {
        h = linears[i].call(h);
        if (i < norms.length) h = norms[i].callRelu(h);
      }
      return h;
    });

  return {
    linears,
    norms,
    call: (x) => tf.tidy(() => callAfterFirstLinear(linears[0].call(x))),
    callAfterFirstLinear,
  };
}

// ---------------------------------------------------------------------------------------------
// Set max-pooling (PointNet, App. A)

/**
 * The symmetric max over the set axis of a PointNet: [..., B, ...] -> [...] without `axis`.
 * Tied maxima (e.g. a duplicated symbol-output pair) share the gradient evenly, as torch.amax
 * does. tfjs's own Max gradient gives every tied entry the full gradient, which would scale the
 * gradient by the number of duplicates in the set. Max and tie counts are pooling windows
 * (runtime/kernels/outer-reduce.ts), fast on wasm for any axis.
 */
export function setMax(x: tf.Tensor, axis: number): tf.Tensor {
  const shape = x.shape;
  const setSize = shape[axis]; // B
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1); // P
  const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const grouped = tf.reshape(input, [outer, setSize, -1]) as tf.Tensor3D; // [P, B, Q]
    const maxKeep = maxOverMiddle(grouped); // [P, 1, Q]
    save([grouped, maxKeep]);
    return {
      value: tf.reshape(maxKeep, [
        ...shape.slice(0, axis),
        ...shape.slice(axis + 1),
      ]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedMax] = saved as [tf.Tensor3D, tf.Tensor3D];
        // x <= max, so step(max - x) is 0 exactly at the maxima and 1 elsewhere: only
        // broadcasting sub and mul, as a broadcasting tf.equal or tf.broadcastTo (Tile) is
        // 20-100x slower on wasm.
        const isMax = tf.sub(
          1,
          tf.step(tf.sub(savedMax, savedX)),
        ) as tf.Tensor3D; // [P, B, Q]
        const ties = tf.round(tf.mul(meanOverMiddle(isMax), setSize)); // [P, 1, Q]
        const share = tf.div(tf.reshape(dy as tf.Tensor, savedMax.shape), ties); // [P, 1, Q]
        return tf.reshape(tf.mul(isMax, share), shape); // [..., B, ...]
      },
    };
  });
  return pool(x);
}
