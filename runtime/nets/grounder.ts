// Symbol grounders g (Sec. 3): images [N, H, W, C] -> one scalar symbol per image [N].
// Two backbones share one interface: a small CNN that trains fast on CPU/wasm, and the
// standard 18-layer ResNet of Sec. 4.1. Either can instead output K logits (`numClasses`),
// so the same CNN can be trained on labels as a supervised reference.

import * as tf from "@tensorflow/tfjs-core";

import {
  createConv2d,
  createDense,
  createGroupNorm,
  type Conv2d,
  type GroupNorm,
} from "./layers.js";
import { createParamStore, glorotUniform, type ParamStore } from "./params.js";

/** A symbol grounder ([N] scalars) or, with `numClasses`, a classifier ([N, K] logits). */
export interface Grounder<Out extends tf.Tensor1D | tf.Tensor2D = tf.Tensor1D> {
  readonly params: ParamStore;
  /** 1 for a symbol grounder, K for a classifier. */
  readonly outputDim: number;
  /** Width of the penultimate features. */
  readonly featureDim: number;
  /** All trainable variables, e.g. the varList of `optimizer.minimize`. */
  readonly variables: tf.Variable[];
  /**
   * [N, H, W, C] -> [N] (symbols) or [N, K] (logits). `training` is accepted for tfjs-style
   * call sites; neither backbone has train-only layers (no dropout, no BatchNorm).
   */
  call(images: tf.Tensor4D, training?: boolean): Out;
  /** [N, H, W, C] -> [N, featureDim], the input of the output layer. */
  features(images: tf.Tensor4D, training?: boolean): tf.Tensor2D;
  dispose(): void;
}

/** A grounder trained on labels: [N, K] logits. */
export type Classifier = Grounder<tf.Tensor2D>;

interface OutputArgs {
  /** When set, output K logits [N, K] instead of one symbol per image. */
  readonly numClasses?: number;
  readonly seed: number;
}

/** Wraps a backbone (images -> [N, F]) with the final Dense layer to 1 symbol or K logits. */
function assembleGrounder(
  params: ParamStore,
  featureDim: number,
  numClasses: number | undefined,
  features: (images: tf.Tensor4D) => tf.Tensor2D,
): Grounder<tf.Tensor1D | tf.Tensor2D> {
  const outputDim = numClasses ?? 1;
  const output = createDense(params, "output", {
    inputDim: featureDim,
    units: outputDim,
    kernelInit: glorotUniform,
  });
  return {
    params,
    outputDim,
    featureDim,
    get variables() {
      return params.variables();
    },
    call: (images) =>
      tf.tidy(() => {
        const out = output.call(features(images)) as tf.Tensor2D; // [N, outputDim]
        return numClasses === undefined
          ? (tf.reshape(out, [-1]) as tf.Tensor1D)
          : out; // [N] | [N, K]
      }),
    features: (images) => tf.tidy(() => features(images)),
    dispose: () => params.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------
// Small CNN: [conv3x3 -> ReLU -> maxpool2] per entry of `filters`, flatten, Dense -> ReLU, output.

export interface SmallCnnArgs extends OutputArgs {
  /** [H, W, C] of the input images; default [32, 32, 3] (CIFAR-10). */
  readonly inputShape?: readonly [number, number, number];
  /** Filters of each conv stage; default [16, 32]. */
  readonly filters?: readonly number[];
  /** Width of the hidden Dense layer; default 64. */
  readonly hidden?: number;
}

/** A small CNN that trains in minutes on two CPU cores. */
export function createSmallCnn(
  args: SmallCnnArgs & { numClasses: number },
): Classifier;
export function createSmallCnn(
  args: SmallCnnArgs & { numClasses?: undefined },
): Grounder;
export function createSmallCnn(
  args: SmallCnnArgs,
): Grounder<tf.Tensor1D | tf.Tensor2D> {
  const [height, width, channels] = args.inputShape ?? [32, 32, 3];
  const filters = args.filters ?? [16, 32];
  const hidden = args.hidden ?? 64;
  const params = createParamStore(args.seed);

  const convs: Conv2d[] = [];
  let inChannels = channels;
  let [h, w] = [height, width];
  filters.forEach((f, i) => {
    convs.push(
      createConv2d(params, `conv${i}`, {
        inChannels,
        filters: f,
        kernelSize: 3,
      }),
    );
    inChannels = f;
    [h, w] = [Math.ceil(h / 2), Math.ceil(w / 2)]; // maxpool 2, 'same' padding
  });
  const flatDim = h * w * inChannels;
  const dense = createDense(params, "dense", {
    inputDim: flatDim,
    units: hidden,
  });

  const features = (images: tf.Tensor4D): tf.Tensor2D => {
    let x = images; // [N, H, W, C]
    for (const conv of convs) {
      x = tf.maxPool(tf.relu(conv.call(x)), 2, 2, "same"); // [N, H/2, W/2, f]
    }
    return tf.relu(dense.call(tf.reshape(x, [-1, flatDim]))) as tf.Tensor2D; // [N, hidden]
  };
  return assembleGrounder(params, hidden, args.numClasses, features);
}

// ---------------------------------------------------------------------------------------------
// ResNet-18 (He et al. 2016), CIFAR-style: 3x3 stem with stride 1 and no max pool, four stages of
// two basic blocks, global average pooling, one output layer (footnote 2: symbols, not labels).
//
// Normalisation: GroupNorm (32 groups) in place of BatchNorm. The paper's footnote 3 notes that
// BatchNorm does not fit the multitask setting (the images of a batch are shared by all tasks
// and batch statistics couple the examples); GroupNorm normalises each example on its own, so
// g(x) does not depend on the rest of the batch and train and eval behave the same. As in the
// GroupNorm paper, the last norm of each residual branch starts with gain 0, so every block
// starts as the identity.

export interface ResNet18Args extends OutputArgs {
  /** Channels of the input images; default 3. */
  readonly inChannels?: number;
  /** Widths of the four stages; default [64, 128, 256, 512]. Smaller only for tests. */
  readonly widths?: readonly number[];
  /** Basic blocks per stage; default [2, 2, 2, 2] (18 layers). */
  readonly blocksPerStage?: readonly number[];
  /** GroupNorm groups (capped at the channel count); default 32. */
  readonly groups?: number;
  /** Start the last GroupNorm of each residual branch at gain 0; default true. */
  readonly zeroInitResidual?: boolean;
}

interface BasicBlock {
  conv1: Conv2d;
  norm1: GroupNorm;
  conv2: Conv2d;
  norm2: GroupNorm;
  /** 1x1 projection when the stride or the width changes. */
  shortcut: { conv: Conv2d; norm: GroupNorm } | null;
}

/** The standard 18-layer ResNet with GroupNorm, for 32x32 inputs. */
export function createResNet18(
  args: ResNet18Args & { numClasses: number },
): Classifier;
export function createResNet18(
  args: ResNet18Args & { numClasses?: undefined },
): Grounder;
export function createResNet18(
  args: ResNet18Args,
): Grounder<tf.Tensor1D | tf.Tensor2D> {
  const widths = args.widths ?? [64, 128, 256, 512];
  const blocksPerStage = args.blocksPerStage ?? [2, 2, 2, 2];
  if (widths.length !== blocksPerStage.length) {
    throw new Error(
      "createResNet18: widths and blocksPerStage differ in length",
    );
  }
  const groupsFor = (c: number): number => Math.min(args.groups ?? 32, c);
  const zeroInit = args.zeroInitResidual ?? true;
  const params = createParamStore(args.seed);
  const conv3 = (
    name: string,
    inChannels: number,
    filters: number,
    strides: number,
  ): Conv2d =>
    createConv2d(params, name, {
      inChannels,
      filters,
      kernelSize: 3,
      strides,
      useBias: false,
    });
  const norm = (name: string, channels: number, gainInit = 1): GroupNorm =>
    createGroupNorm(params, name, {
      channels,
      groups: groupsFor(channels),
      gainInit,
    });

  const stemConv = conv3("stem/conv", args.inChannels ?? 3, widths[0], 1);
  const stemNorm = norm("stem/norm", widths[0]);
  const blocks: BasicBlock[] = [];
  let inChannels = widths[0];
  widths.forEach((width, stage) => {
    for (let b = 0; b < blocksPerStage[stage]; b++) {
      const name = `stage${stage}/block${b}`;
      const strides = stage > 0 && b === 0 ? 2 : 1;
      const needsProjection = strides !== 1 || inChannels !== width;
      blocks.push({
        conv1: conv3(`${name}/conv1`, inChannels, width, strides),
        norm1: norm(`${name}/norm1`, width),
        conv2: conv3(`${name}/conv2`, width, width, 1),
        norm2: norm(`${name}/norm2`, width, zeroInit ? 0 : 1),
        shortcut: needsProjection
          ? {
              conv: createConv2d(params, `${name}/shortcut/conv`, {
                inChannels,
                filters: width,
                kernelSize: 1,
                strides,
                useBias: false,
              }),
              norm: norm(`${name}/shortcut/norm`, width),
            }
          : null,
      });
      inChannels = width;
    }
  });

  const callBlock = (block: BasicBlock, x: tf.Tensor4D): tf.Tensor4D => {
    const branch = block.norm2.call(
      block.conv2.call(tf.relu(block.norm1.call(block.conv1.call(x)))),
    );
    const skip =
      block.shortcut === null
        ? x
        : block.shortcut.norm.call(block.shortcut.conv.call(x));
    return tf.relu(tf.add(branch, skip)); // [N, H', W', width]
  };
  const features = (images: tf.Tensor4D): tf.Tensor2D => {
    let x: tf.Tensor4D = tf.relu(stemNorm.call(stemConv.call(images))); // [N, H, W, widths[0]]
    for (const block of blocks) x = callBlock(block, x);
    return tf.mean(x, [1, 2]) as tf.Tensor2D; // [N, widths[last]]: global average pool
  };
  return assembleGrounder(params, inChannels, args.numClasses, features);
}
