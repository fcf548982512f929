// Native matmuls for the wasm backend: BatchMatMul and _FusedMatMul run through OpenBLAS (the
// optional addon built from native/blas.cc at install time) on the wasm heap's own memory, no
// copies. XNNPACK on one wasm thread reaches about 20-45 GFLOP/s on the recognizer's shapes;
// OpenBLAS about 175 per core, and its own threads use both cores. Every case the addon does not
// cover (other dtypes, general batch broadcasting, activations other than linear and relu,
// non-vector biases) goes to the stock wasm kernel, which stays registered underneath.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";

/** The addon's exports (native/blas.cc). */
interface BlasAddon {
  info(): {
    library: string;
    config: string;
    core: string;
    threads: number;
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
}

/** What the native path runs on, for logs and reports. */
export interface NativeMatMulInfo {
  /** e.g. `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64`. */
  readonly config: string;
  /** The kernel family OpenBLAS chose for this CPU (OPENBLAS_CORETYPE overrides it), e.g. `Zen`. */
  readonly core: string;
  readonly threads: number;
  readonly library: string;
}

/** The native path's state: on (with what it runs), or off with the reason. */
export type NativeMatMulStatus =
  | { readonly on: true; readonly info: NativeMatMulInfo }
  | { readonly on: false; readonly reason: string };

const ADDON_FILE = path.join("native", "build", "sketchc_blas.node");

/** The package root: the nearest folder above this module that holds native/build.mjs. */
function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "native", "build.mjs"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let loaded: { addon: BlasAddon; info: NativeMatMulInfo } | string | undefined;

/** Loads the addon and its BLAS once; a string says why it cannot be used. */
function load(): { addon: BlasAddon; info: NativeMatMulInfo } | string {
  if (loaded !== undefined) return loaded;
  if (process.env.SKETCHC_NATIVE === "0") return (loaded = "SKETCHC_NATIVE=0");
  const root = packageRoot();
  const file = root === undefined ? undefined : path.join(root, ADDON_FILE);
  if (file === undefined || !existsSync(file)) {
    return (loaded =
      "the addon is not built (node native/build.mjs; needs a C++ compiler)");
  }
  try {
    const addon = createRequire(import.meta.url)(file) as BlasAddon;
    loaded = { addon, info: addon.info() };
  } catch (error) {
    loaded = (error as Error).message.split("\n")[0];
  }
  return loaded;
}

/** Whether the native matmul can run here, and on what; loads the addon on first use. */
export function nativeMatMulStatus(): NativeMatMulStatus {
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

const KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

/** The stock wasm kernels that `installNativeMatMul` displaced, to fall back on and restore. */
const stock = new Map<string, tf.KernelConfig>();

function nativeKernel(
  addon: BlasAddon,
  name: (typeof KERNELS)[number],
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
    const bias = inputs.bias as tf.TensorInfo | undefined;
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
 * Routes the wasm backend's matmuls through the native addon when it loads (idempotent), and
 * returns the status either way: off, with the reason, leaves the stock kernels in place.
 * Call it after the wasm backend is registered.
 */
export function installNativeMatMul(): NativeMatMulStatus {
  const state = load();
  if (typeof state === "string") return { on: false, reason: state };
  if (stock.size === 0) {
    for (const name of KERNELS) {
      const current = tf.getKernel(name, "wasm");
      if (current === undefined) {
        return { on: false, reason: `no stock wasm kernel ${name}` };
      }
      stock.set(name, current);
    }
    for (const name of KERNELS) {
      const fallback = stock.get(name)!;
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(nativeKernel(state.addon, name, fallback));
    }
  }
  return { on: true, info: state.info };
}

/** Puts the stock wasm matmul kernels back (for comparisons and for SKETCHC_NATIVE-like opt-outs). */
export function uninstallNativeMatMul(): void {
  for (const [name, config] of stock) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
  }
  stock.clear();
}

/** Whether the native kernels are the wasm backend's matmuls right now. */
export function nativeMatMulInstalled(): boolean {
  return stock.size > 0;
}

/** One line for logs: `native matmul (OpenBLAS 0.3.21, Zen kernels, 2 threads)` or why not. */
export function describeNativeMatMul(status: NativeMatMulStatus): string {
  if (!status.on) return `native matmul off: ${status.reason}`;
  const version = /^OpenBLAS [\d.]+/.exec(status.info.config)?.[0];
  const name = version ?? status.info.library;
  const core = status.info.core === "" ? "" : `, ${status.info.core} kernels`;
  const threads =
    status.info.threads > 0
      ? `, ${status.info.threads} thread${status.info.threads === 1 ? "" : "s"}`
      : "";
  return `native matmul (${name}${core}${threads})`;
}
