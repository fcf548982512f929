// Native kernels for the wasm backend, from the optional addon built from native/blas.cc at
// install time, working on the wasm heap's own memory (no copies):
// - BatchMatMul and _FusedMatMul run through OpenBLAS. XNNPACK on one wasm thread reaches about
//   20-45 GFLOP/s on the recognizer's shapes; OpenBLAS about 175 per core, and its own threads
//   use both cores. Every case the addon does not cover (other dtypes, general batch
//   broadcasting, activations other than linear and relu, non-vector biases) goes to the stock
//   wasm kernel, kept underneath.
// - Conv2D (NHWC, float32) as im2col in the addon and one OpenBLAS GEMM by the filter.
// - SketchcLayerNorm and SketchcLayerNormGrad, LayerNorm (+ ReLU) over rows and its gradient in
//   one pass each, used by kernels/layer-norm.ts while the native kernels are installed.
// - The fused straight-line interpreter's argument mixing (module-runtime/mixing.ts), threaded
//   over tasks; it serves every backend, since the interpreter works on typed arrays.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";

import {
  installArgumentMixer,
  type ArgumentMixer,
} from "../module-runtime/mixing.js";
import { installCrossProduct, type CrossProduct } from "../memory.js";

/** The addon's exports (native/blas.cc). */
interface BlasAddon extends ArgumentMixer {
  /** Sets OpenBLAS's thread count; returns the count in effect. Absent in addons built before it. */
  setThreads?(threads: number): number;
  /** Sets sketchc's own kernel threads; returns the count in effect. Absent in older addons. */
  setKernelThreads?(threads: number): number;
  info(): {
    library: string;
    config: string;
    core: string;
    threads: number;
    kernelThreads?: number;
  };
  gemm(
    memory: ArrayBuffer,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    aOffset: number,
    aStride: number,
    bOffset: number,
    bStride: number,
    cOffset: number,
    biasOffset: number,
    relu: number,
  ): void;
  /** One variable's Adam update (kernels/adam.ts); absent in addons built before it. */
  adam?(
    memory: ArrayBuffer,
    ...sizeOffsetsAndScalars: number[] // n, x, m, v, g, x', m', v', b1, c1, b2, c2, a1, a2, eps, -lr
  ): void;
  /** A max-pool's gradient (NHWC); absent in addons built before it. */
  maxPoolGrad?(
    memory: ArrayBuffer,
    ...shapeAndOffsets: number[] // N, H, W, C, OH, OW, KH, KW, sH, sW, padTop, padLeft, x, dy, dx
  ): void;
  layerNorm(
    memory: ArrayBuffer,
    n: number,
    d: number,
    epsilon: number,
    relu: number,
    x: number,
    gain: number,
    bias: number,
    out: number,
    xHat: number,
    rstd: number,
  ): void;
  /** A convolution's input patches as rows [N*OH*OW, KH*KW*C] (NHWC), for a GEMM. */
  im2col?(
    memory: ArrayBuffer,
    n: number,
    h: number,
    w: number,
    c: number,
    kh: number,
    kw: number,
    strideH: number,
    strideW: number,
    dilationH: number,
    dilationW: number,
    padTop: number,
    padLeft: number,
    outH: number,
    outW: number,
    x: number,
    cols: number,
  ): void;
  /** Abduction's float64 cross terms (memory.ts); throws where the BLAS has no cblas_dgemm. */
  crossProduct: CrossProduct;
  layerNormGrad(
    memory: ArrayBuffer,
    n: number,
    d: number,
    relu: number,
    dy: number,
    xHat: number,
    rstd: number,
    gain: number,
    out: number,
    dx: number,
    dGain: number,
    dBias: number,
  ): void;
}

/** What the native path runs on, for logs and reports. */
export interface NativeInfo {
  /** e.g. `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64`. */
  readonly config: string;
  /** The kernel family OpenBLAS chose for this CPU (OPENBLAS_CORETYPE overrides it), e.g. `Zen`. */
  readonly core: string;
  /** OpenBLAS's own threads. */
  readonly threads: number;
  /**
   * sketchc's threads for its kernels' loops and for splitting large GEMMs into slices of rows
   * or columns (each one sgemm on one OpenBLAS thread); 1 in addons built before them.
   */
  readonly kernelThreads: number;
  readonly library: string;
}

/** The native path's state: on (with what it runs), or off with the reason. */
export type NativeStatus =
  | { readonly on: true; readonly info: NativeInfo }
  | { readonly on: false; readonly reason: string };

const ADDON_FILE = path.join("native", "build", "sketchc_blas.node");

/** The package root: the nearest folder above this module that holds native/build.mjs. */
function packageRoot(): string | undefined {
  if (foundRoot === null) foundRoot = findPackageRoot();
  return foundRoot;
}
/** `packageRoot`'s answer, found once (every abduction asks, train.ts `beginAbduction`). */
let foundRoot: string | undefined | null = null;

function findPackageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "native", "build.mjs"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let loaded: { addon: BlasAddon; info: NativeInfo } | string | undefined;

/** The variables OpenBLAS itself reads its thread count from, in its order. */
const OPENBLAS_THREAD_VARIABLES = [
  "OPENBLAS_NUM_THREADS",
  "GOTO_NUM_THREADS",
  "OMP_NUM_THREADS",
];

/**
 * The thread count sketchc sets on OpenBLAS: `SKETCHC_BLAS_THREADS` where set; else none (undefined)
 * where the environment sizes OpenBLAS itself (OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS,
 * OMP_NUM_THREADS); else 1. One thread is the default because a second one did not make the
 * training step faster on 2 cores (docs/performance.md, "One BLAS thread"): the step's GEMMs are
 * small, and the idle OpenBLAS thread spins on the second core (6x the system time) instead of
 * leaving it to the garbage collector, another run or the tests. A string: why the value is bad.
 */
export function blasThreads(
  env: Readonly<Record<string, string | undefined>>,
): number | undefined | string {
  const own = threadCount(env, "SKETCHC_BLAS_THREADS");
  if (own !== undefined) return own;
  if (OPENBLAS_THREAD_VARIABLES.some((v) => (env[v] ?? "") !== ""))
    return undefined;
  return 1;
}

/** A thread count from the variable `name`: undefined where unset, a string where it is bad. */
function threadCount(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): number | string | undefined {
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 1024
    ? n
    : `${name}=${value}: expected a whole number of threads from 1 to 1024`;
}

/**
 * sketchc's own kernel threads: `SKETCHC_THREADS` where set, else every core the process may use
 * (os.availableParallelism). They cut each large GEMM into slices of rows or columns (never the
 * inner sum; OpenBLAS still rounds a slice's entries in other bits than the whole product's, so
 * two counts give two trajectories), and the LayerNorm, im2col, max-pool and interpreter loops
 * into fixed blocks (the same bits on any count); OpenBLAS itself stays at one thread
 * (`blasThreads`), and where it runs more, the GEMMs are left to it. Measured in
 * docs/backends.md ("Threads"). A string: why the value is bad.
 */
export function kernelThreads(
  env: Readonly<Record<string, string | undefined>>,
  cores: number = os.availableParallelism(),
): number | string {
  return threadCount(env, "SKETCHC_THREADS") ?? Math.max(1, cores);
}

/**
 * The loaded addon's file and its cross product (abduction's, where the native kernels are
 * installed), for a worker thread to load the same library (runtime/host-thread.ts); undefined
 * where the addon is not loaded.
 */
export function crossProductAddon():
  { readonly file: string; readonly product: CrossProduct } | undefined {
  const root = packageRoot();
  return typeof loaded === "object" && root !== undefined
    ? { file: path.join(root, ADDON_FILE), product: loaded.addon.crossProduct }
    : undefined;
}

/** Loads the addon and its BLAS once; a string says why it cannot be used. */
function load(): { addon: BlasAddon; info: NativeInfo } | string {
  if (loaded !== undefined) return loaded;
  if (process.env.SKETCHC_NATIVE === "0") return (loaded = "SKETCHC_NATIVE=0");
  const root = packageRoot();
  const file = root === undefined ? undefined : path.join(root, ADDON_FILE);
  if (file === undefined || !existsSync(file)) {
    return (loaded =
      "the addon is not built (node native/build.mjs; needs a C++ compiler)");
  }
  const threads = blasThreads(process.env);
  if (typeof threads === "string") return (loaded = threads);
  const own = kernelThreads(process.env);
  if (typeof own === "string") return (loaded = own);
  try {
    const addon = createRequire(import.meta.url)(file) as BlasAddon;
    // An addon built before setThreads existed keeps OpenBLAS's own count.
    if (threads !== undefined) addon.setThreads?.(threads);
    addon.setKernelThreads?.(own);
    const info = addon.info();
    loaded = {
      addon,
      info: { ...info, kernelThreads: info.kernelThreads ?? 1 },
    };
  } catch (error) {
    loaded = (error as Error).message.split("\n")[0];
  }
  return loaded;
}

/**
 * Sets sketchc's own kernel threads (`kernelThreads`) for the rest of the process; returns the
 * count in effect (1 where the addon is off or predates them). For tests and benchmarks that
 * compare thread counts within one process.
 */
export function setKernelThreads(threads: number): number {
  const state = load();
  if (typeof state === "string" || state.addon.setKernelThreads === undefined)
    return 1;
  return state.addon.setKernelThreads(threads);
}

/** Whether the native kernels can run here, and on what; loads the addon on first use. */
export function nativeStatus(): NativeStatus {
  const state = load();
  return typeof state === "string"
    ? { on: false, reason: state }
    : { on: true, info: state.info };
}

/** The slice of tfjs-backend-wasm's BackendWasm that the kernels use. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Byte offset -> float index of a tensor's data in the wasm heap. */
function floatOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset / 4;
}

interface GemmShape {
  readonly batch: number;
  readonly batchA: number;
  readonly batchB: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly outShape: number[];
}

/**
 * The GEMM of op(a) @ op(b) over the batch, or undefined where the batch axes broadcast in a way
 * the strided loop cannot express (both sides batched, of different sizes).
 */
function gemmShape(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): GemmShape | undefined {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return undefined; // the stock kernel reports the mismatch
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const outer = tf.backend_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const batch = tf.util.sizeFromShape(outer);
  if (batch !== Math.max(batchA, batchB)) return undefined;
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  return { batch, batchA, batchB, m, n, k, outShape: [...outer, m, n] };
}

function runGemm(
  addon: BlasAddon,
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  shape: GemmShape,
  transposeA: boolean,
  transposeB: boolean,
  bias: tf.TensorInfo | undefined,
  relu: boolean,
): tf.TensorInfo {
  const out = backend.makeOutput(shape.outShape, "float32");
  if (shape.batch * shape.m * shape.n === 0) return out;
  const { batch, batchA, batchB, m, n, k } = shape;
  // Read the heap after makeOutput: an allocation can grow (and so replace) the buffer.
  addon.gemm(
    backend.wasm.HEAPU8.buffer as ArrayBuffer,
    batch,
    m,
    n,
    k,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    floatOffset(backend, a),
    batchA === 1 ? 0 : m * k,
    floatOffset(backend, b),
    batchB === 1 ? 0 : k * n,
    floatOffset(backend, out),
    bias === undefined ? -1 : floatOffset(backend, bias),
    relu ? 1 : 0,
  );
  return out;
}

const MATMUL_KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

/** The kernel names of the native LayerNorm (not TF.js kernels: sketchc's own). */
export const LAYER_NORM_KERNEL = "SketchcLayerNorm";
export const LAYER_NORM_GRAD_KERNEL = "SketchcLayerNormGrad";

/** The kernel name of the native max-pool gradient (sketchc's own, not a TF.js kernel). */
export const MAX_POOL_GRAD_KERNEL = "SketchcMaxPoolGrad";

/** The pooling attributes of tf.maxPool, which the native gradient reads. */
export interface MaxPoolAttrs {
  readonly filterSize: number | [number, number];
  readonly strides: number | [number, number];
  readonly pad: "same" | "valid" | number | tf.backend_util.ExplicitPadding;
  readonly dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * dx of a max-pool from dy and x (NHWC, float32): each window's dy goes to its first maximum in
 * row-major order, the routing of kernels/max-pool-grad.ts, in one pass instead of its dozen
 * broadcasting ops on [N, OH, KH, OW, KW, C] (about 10 ms of the cpu preset's step).
 */
function maxPoolGradKernel(
  maxPoolGrad: NonNullable<BlasAddon["maxPoolGrad"]>,
): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const backend = args.backend as unknown as WasmBackend;
    const dy = args.inputs.dy as tf.TensorInfo;
    const x = args.inputs.x as tf.TensorInfo;
    const attrs = args.attrs as unknown as MaxPoolAttrs;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const dx = backend.makeOutput([...x.shape], "float32");
    maxPoolGrad(
      backend.wasm.HEAPU8.buffer as ArrayBuffer,
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
      floatOffset(backend, x),
      floatOffset(backend, dy),
      floatOffset(backend, dx),
    );
    return dx;
  };
  return { kernelName: MAX_POOL_GRAD_KERNEL, backendName: "wasm", kernelFunc };
}

/** The kernel name of the native Adam update (sketchc's own; kernels/adam.ts). */
export const ADAM_KERNEL = "SketchcAdam";

/** Attributes of `ADAM_KERNEL`: TF.js AdamOptimizer's scalars for this step. */
export interface AdamAttrs {
  readonly beta1: number;
  readonly beta2: number;
  /** 1 - beta1^t and 1 - beta2^t, as the optimizer's float32 variables hold them. */
  readonly oneMinusAccBeta1: number;
  readonly oneMinusAccBeta2: number;
  readonly epsilon: number;
  readonly learningRate: number;
}

/** x, m, v and the gradient g (float32, one shape) to x', m' and v' in one pass (native/blas.cc). */
function adamKernel(adam: NonNullable<BlasAddon["adam"]>): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo[] => {
    const backend = args.backend as unknown as WasmBackend;
    const { x, m, v, g } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as AdamAttrs;
    const shape = [...x.shape];
    const outs = [0, 1, 2].map(() => backend.makeOutput(shape, "float32"));
    // Read the heap after makeOutput: an allocation can grow (and so replace) the buffer.
    adam(
      backend.wasm.HEAPU8.buffer as ArrayBuffer,
      tf.util.sizeFromShape(shape),
      ...[x, m, v, g, ...outs].map((t) => floatOffset(backend, t)),
      a.beta1,
      1 - a.beta1,
      a.beta2,
      1 - a.beta2,
      a.oneMinusAccBeta1,
      a.oneMinusAccBeta2,
      a.epsilon,
      -a.learningRate,
    );
    return outs;
  };
  return {
    kernelName: ADAM_KERNEL,
    backendName: "wasm",
    kernelFunc,
  };
}

/** Whether the native max-pool gradient serves the active backend right now. */
export function nativeMaxPoolGradActive(): boolean {
  return (
    nativeKernelsActive() &&
    tf.getKernel(MAX_POOL_GRAD_KERNEL, "wasm") !== undefined
  );
}

/** The stock wasm kernels that `installNativeKernels` displaced, to fall back on and restore. */
const stock = new Map<string, tf.KernelConfig>();
let installed = false;

function nativeMatMulKernel(
  addon: BlasAddon,
  name: (typeof MATMUL_KERNELS)[number],
  fallback: tf.KernelConfig,
): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { inputs, attrs } = args;
    const backend = args.backend as unknown as WasmBackend;
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    const shape =
      a.dtype === "float32" && b.dtype === "float32"
        ? gemmShape(a, b, transposeA, transposeB)
        : undefined;
    if (shape === undefined) return fallback.kernelFunc(args);
    if (name === tf.BatchMatMul) {
      return runGemm(
        addon,
        backend,
        a,
        b,
        shape,
        transposeA,
        transposeB,
        undefined,
        false,
      );
    }
    const bias = inputs.bias as tf.TensorInfo | undefined | null;
    const activation = attrs?.activation ?? "linear";
    const biasFits =
      bias === undefined ||
      bias === null ||
      (bias.dtype === "float32" &&
        bias.shape.length === 1 &&
        bias.shape[0] === shape.n);
    if ((activation !== "linear" && activation !== "relu") || !biasFits) {
      return fallback.kernelFunc(args);
    }
    return runGemm(
      addon,
      backend,
      a,
      b,
      shape,
      transposeA,
      transposeB,
      bias ?? undefined,
      activation === "relu",
    );
  };
  return { kernelName: name, backendName: "wasm", kernelFunc };
}

/**
 * Conv2D as im2col + one GEMM through OpenBLAS (NHWC, float32, any strides, dilations and
 * padding); NCHW and other dtypes go to the stock kernel. XNNPACK's convolution on one wasm
 * thread was a tenth of the training step for the small CNN (docs/performance.md); it is every
 * convolution of g's forward pass and of its gradients (kernels/conv2d-grad.ts builds those from
 * forward convolutions).
 */
/** The shallowest patch (KH * KW * Cin) the native convolution takes; below, XNNPACK's. */
const MIN_NATIVE_CONV_DEPTH = 32;

function nativeConv2dKernel(
  addon: BlasAddon,
  im2col: NonNullable<BlasAddon["im2col"]>,
  fallback: tf.KernelConfig,
): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as unknown as WasmBackend;
    const x = args.inputs.x as tf.TensorInfo;
    const filter = args.inputs.filter as tf.TensorInfo;
    const attrs = (args.attrs ?? {}) as unknown as {
      strides: number | [number, number];
      pad: "same" | "valid" | number | tf.backend_util.ExplicitPadding;
      dataFormat?: "NHWC" | "NCHW";
      dilations?: number | [number, number];
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    if (
      x.dtype !== "float32" ||
      filter.dtype !== "float32" ||
      x.shape.length !== 4 ||
      filter.shape.length !== 4 ||
      attrs.dataFormat === "NCHW"
    )
      return fallback.kernelFunc(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const rows = info.batchSize * info.outHeight * info.outWidth;
    const depth = info.filterHeight * info.filterWidth * info.inChannels;
    // A shallow patch (a 3x3 filter on one channel: 9) makes a thin GEMM and an im2col of tiny
    // copies, slower than XNNPACK's direct convolution (measured: 17 against 11-14 ms for the
    // small CNN's first layer on 96 images).
    if (depth < MIN_NATIVE_CONV_DEPTH) return fallback.kernelFunc(args);
    const out = backend.makeOutput([...info.outShape], "float32");
    if (rows === 0 || info.outChannels === 0) return out;
    const cols = backend.makeOutput([rows, depth], "float32");
    // Read the heap after makeOutput: an allocation can grow (and so replace) the buffer.
    const heap = backend.wasm.HEAPU8.buffer as ArrayBuffer;
    im2col(
      heap,
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.dilationHeight,
      info.dilationWidth,
      info.padInfo.top,
      info.padInfo.left,
      info.outHeight,
      info.outWidth,
      floatOffset(backend, x),
      floatOffset(backend, cols),
    );
    addon.gemm(
      heap,
      1,
      rows,
      info.outChannels,
      depth,
      0,
      0,
      floatOffset(backend, cols),
      0,
      floatOffset(backend, filter),
      0,
      floatOffset(backend, out),
      -1,
      0,
    );
    backend.disposeData(cols.dataId);
    return out;
  };
  return { kernelName: tf.Conv2D, backendName: "wasm", kernelFunc };
}

/** The rows and width of a LayerNorm input [N, D]. */
function rowsAndWidth(x: tf.TensorInfo): [number, number] {
  const d = x.shape[x.shape.length - 1];
  return [x.shape.length === 0 ? 0 : tf.util.sizeFromShape(x.shape) / d, d];
}

function layerNormKernels(addon: BlasAddon): tf.KernelConfig[] {
  const forward = (args: KernelArgs): tf.TensorInfo[] => {
    const backend = args.backend as unknown as WasmBackend;
    const { x, gain, bias } = args.inputs as Record<string, tf.TensorInfo>;
    const epsilon = args.attrs?.epsilon as number;
    const relu = args.attrs?.relu === true;
    const [n, d] = rowsAndWidth(x);
    const out = backend.makeOutput([...x.shape], "float32");
    const xHat = backend.makeOutput([...x.shape], "float32");
    const rstd = backend.makeOutput([n], "float32");
    addon.layerNorm(
      backend.wasm.HEAPU8.buffer as ArrayBuffer,
      n,
      d,
      epsilon,
      relu ? 1 : 0,
      floatOffset(backend, x),
      floatOffset(backend, gain),
      floatOffset(backend, bias),
      floatOffset(backend, out),
      floatOffset(backend, xHat),
      floatOffset(backend, rstd),
    );
    return [out, xHat, rstd];
  };
  const backward = (args: KernelArgs): tf.TensorInfo[] => {
    const backend = args.backend as unknown as WasmBackend;
    const { dy, xHat, rstd, gain, out } = args.inputs as Record<
      string,
      tf.TensorInfo
    >;
    const relu = args.attrs?.relu === true;
    const [n, d] = rowsAndWidth(dy);
    const dx = backend.makeOutput([...dy.shape], "float32");
    const dGain = backend.makeOutput([d], "float32");
    const dBias = backend.makeOutput([d], "float32");
    addon.layerNormGrad(
      backend.wasm.HEAPU8.buffer as ArrayBuffer,
      n,
      d,
      relu ? 1 : 0,
      floatOffset(backend, dy),
      floatOffset(backend, xHat),
      floatOffset(backend, rstd),
      floatOffset(backend, gain),
      floatOffset(backend, out),
      floatOffset(backend, dx),
      floatOffset(backend, dGain),
      floatOffset(backend, dBias),
    );
    return [dx, dGain, dBias];
  };
  return [
    { kernelName: LAYER_NORM_KERNEL, backendName: "wasm", kernelFunc: forward },
    {
      kernelName: LAYER_NORM_GRAD_KERNEL,
      backendName: "wasm",
      kernelFunc: backward,
    },
  ];
}

/**
 * Installs the native kernels on the wasm backend when the addon loads (idempotent), and returns
 * the status either way: off, with the reason, leaves the stock kernels in place. Call it after
 * the wasm backend is registered.
 */
export function installNativeKernels(): NativeStatus {
  const state = load();
  if (typeof state === "string") return { on: false, reason: state };
  if (!installed) {
    for (const name of MATMUL_KERNELS) {
      const current = stock.get(name) ?? tf.getKernel(name, "wasm");
      if (current === undefined) {
        return { on: false, reason: `no stock wasm kernel ${name}` };
      }
      stock.set(name, current);
    }
    for (const name of MATMUL_KERNELS) {
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(
        nativeMatMulKernel(state.addon, name, stock.get(name)!),
      );
    }
    // An addon built before im2col existed keeps the stock convolution.
    const { im2col } = state.addon;
    if (im2col !== undefined) {
      const current = stock.get(tf.Conv2D) ?? tf.getKernel(tf.Conv2D, "wasm");
      if (current !== undefined) {
        stock.set(tf.Conv2D, current);
        tf.unregisterKernel(tf.Conv2D, "wasm");
        tf.registerKernel(nativeConv2dKernel(state.addon, im2col, current));
      }
    }
    for (const config of layerNormKernels(state.addon)) {
      if (tf.getKernel(config.kernelName, "wasm") !== undefined)
        tf.unregisterKernel(config.kernelName, "wasm");
      tf.registerKernel(config);
    }
    const { maxPoolGrad } = state.addon;
    if (
      maxPoolGrad !== undefined &&
      tf.getKernel(MAX_POOL_GRAD_KERNEL, "wasm") === undefined
    )
      tf.registerKernel(maxPoolGradKernel(maxPoolGrad.bind(state.addon)));
    const { adam } = state.addon;
    if (adam !== undefined && tf.getKernel(ADAM_KERNEL, "wasm") === undefined)
      tf.registerKernel(adamKernel(adam.bind(state.addon)));
    installArgumentMixer(state.addon);
    installCrossProduct(
      hasDgemm(state.addon) ? state.addon.crossProduct : undefined,
    );
    installed = true;
  }
  return { on: true, info: state.info };
}

/** Whether the addon's BLAS has cblas_dgemm (a library named by SKETCHC_BLAS may not). */
function hasDgemm(addon: BlasAddon): boolean {
  try {
    addon.crossProduct(
      new Float64Array(1),
      new Float64Array(1),
      1,
      1,
      1,
      new Float64Array(1),
    );
    return true;
  } catch {
    return false;
  }
}

/** Puts the stock wasm kernels back and removes sketchc's own (for comparisons and opt-outs). */
export function uninstallNativeKernels(): void {
  if (!installed) return;
  for (const [name, config] of stock) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
  }
  for (const name of [LAYER_NORM_KERNEL, LAYER_NORM_GRAD_KERNEL, ADAM_KERNEL]) {
    if (tf.getKernel(name, "wasm") !== undefined)
      tf.unregisterKernel(name, "wasm");
  }
  installArgumentMixer(undefined);
  installCrossProduct(undefined);
  installed = false;
}

/** Whether the native kernels serve the active backend right now (wasm, with the addon). */
export function nativeKernelsActive(): boolean {
  return installed && tf.getBackend() === "wasm";
}

/**
 * One line for logs, e.g. `native kernels (OpenBLAS 0.3.21, Zen kernels, 1 BLAS thread, 2 kernel
 * threads)`, or why they are off.
 */
export function describeNativeKernels(status: NativeStatus): string {
  if (!status.on) return `native kernels off: ${status.reason}`;
  const version = /^OpenBLAS [\d.]+/.exec(status.info.config)?.[0];
  const name = version ?? status.info.library;
  const core = status.info.core === "" ? "" : `, ${status.info.core} kernels`;
  const count = (n: number, what: string) =>
    `, ${n} ${what}thread${n === 1 ? "" : "s"}`;
  const threads =
    status.info.threads > 0 ? count(status.info.threads, "BLAS ") : "";
  return `native kernels (${name}${core}${threads}${count(status.info.kernelThreads, "kernel ")})`;
}
