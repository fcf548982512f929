// Chooses and initialises the TensorFlow.js backend that training runs on.
// 'tensorflow' (libtensorflow via tfjs-node) and 'webgpu' are optional peer packages, imported
// only when asked for; 'wasm' (XNNPACK) is the default otherwise, with gradient fixes installed.

import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { RunError } from "./run-error.js";
import {
  installWasmGradients,
  registerStockGradients,
  uninstallWasmGradients,
} from "./kernels/index.js";
import { installSharedIdentity } from "./kernels/identity.js";
import {
  describeNativeKernels,
  installNativeKernels,
} from "./kernels/native.js";

/** A backend choice as a user writes it, e.g. on the command line. */
export type BackendName = "auto" | "tensorflow" | "wasm" | "webgpu" | "cpu";

export const BACKEND_NAMES: readonly BackendName[] = [
  "auto",
  "tensorflow",
  "wasm",
  "webgpu",
  "cpu",
];

/** The backend that `selectBackend` made active. */
export interface SelectedBackend {
  /** tf.getBackend() after selection: 'tensorflow', 'wasm', 'webgpu' or 'cpu'. */
  readonly name: string;
  /** One line for logs, e.g. `wasm (XNNPACK, SIMD, 1 thread)`. */
  readonly description: string;
}

const TFJS_NODE_GPU = "@tensorflow/tfjs-node-gpu";
const TFJS_NODE = "@tensorflow/tfjs-node";
const TFJS_WEBGPU = "@tensorflow/tfjs-backend-webgpu";
const NODE_WEBGPU = "webgpu";

const require = createRequire(import.meta.url);

/**
 * Is `error` "package `specifier` is not installed" (and not an error inside the package)?
 * Node says "Cannot find package 'x'"; vitest's resolver says 'Could not resolve "x"'.
 */
function isMissingPackage(error: unknown, specifier: string): boolean {
  if (!(error instanceof Error)) return false;
  const quoted = [`'${specifier}'`, `"${specifier}"`];
  const notFound =
    /Cannot find (package|module)|Could not resolve|Failed to load url/;
  return (
    notFound.test(error.message) &&
    quoted.some((q) => error.message.includes(q))
  );
}

/**
 * Imports an optional package, or returns undefined when it is not installed. The specifier is
 * a variable so that TypeScript does not need the package's types.
 */
async function importOptional(specifier: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (error) {
    if (isMissingPackage(error, specifier)) return undefined;
    throw new Error(
      `failed to load ${specifier}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok)
    throw new RunError(`TensorFlow.js backend '${name}' failed to initialise`);
  await tf.ready();
  // Backends with complete backprop kernels get the stock gradients back; wasm installs its own.
  if (name !== "wasm") uninstallWasmGradients();
}

async function selectTensorflow(): Promise<SelectedBackend> {
  for (const specifier of [TFJS_NODE_GPU, TFJS_NODE]) {
    if ((await importOptional(specifier)) !== undefined) {
      await activate("tensorflow");
      return {
        name: "tensorflow",
        description: `tensorflow (libtensorflow via ${specifier})`,
      };
    }
  }
  throw new RunError(
    `backend 'tensorflow' needs ${TFJS_NODE} (CPU) or ${TFJS_NODE_GPU} (CUDA), and neither is ` +
      `installed: run \`npm install ${TFJS_NODE}\` (or ${TFJS_NODE_GPU}); their install ` +
      `downloads libtensorflow, so it needs network access. Or use --backend wasm.`,
  );
}

async function selectWasm(): Promise<SelectedBackend> {
  const wasm =
    (await import("@tensorflow/tfjs-backend-wasm")) as typeof import("@tensorflow/tfjs-backend-wasm");
  if (tf.findBackend("wasm") === null) {
    // The .wasm binaries sit next to the package's main file; say so explicitly, so that
    // loading does not depend on how this module was bundled or imported.
    const distDir = path.dirname(
      require.resolve("@tensorflow/tfjs-backend-wasm"),
    );
    wasm.setWasmPaths(distDir + path.sep);
  }
  await activate("wasm");
  installWasmGradients();
  installSharedIdentity();
  const native = installNativeKernels();
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))
    ? "SIMD"
    : "no SIMD";
  const threads = wasm.getThreadsCount();
  return {
    name: "wasm",
    description: `wasm (XNNPACK, ${simd}, ${threads} thread${threads === 1 ? "" : "s"}) + ${describeNativeKernels(native)}`,
  };
}

/** The part of `navigator.gpu` used here (the WebGPU types are not a dependency). */
interface GpuEntry {
  requestAdapter(): Promise<object | null>;
}

async function selectWebgpu(): Promise<SelectedBackend> {
  const scope = globalThis as { navigator?: { gpu?: unknown } };
  if (scope.navigator?.gpu === undefined) {
    // Node has no navigator.gpu; the `webgpu` package (Dawn bindings) provides one.
    const dawn = (await importOptional(NODE_WEBGPU)) as
      { create(options: string[]): unknown; globals: object } | undefined;
    if (dawn === undefined) {
      throw new RunError(
        `backend 'webgpu' needs WebGPU in Node: run \`npm install ${NODE_WEBGPU} ${TFJS_WEBGPU}\``,
      );
    }
    Object.assign(globalThis, dawn.globals);
    Object.defineProperty(globalThis, "navigator", {
      value: { ...scope.navigator, gpu: dawn.create([]) },
      configurable: true,
      writable: true,
    });
  }
  // tfjs-backend-webgpu fails on a missing adapter with a stack trace of its own: ask first.
  const gpu = (globalThis as { navigator?: { gpu?: GpuEntry } }).navigator?.gpu;
  if ((await gpu?.requestAdapter()) == null) {
    throw new RunError(
      "backend 'webgpu' found no WebGPU adapter: Dawn needs a Vulkan driver (a GPU's, or " +
        "Mesa's lavapipe without one: docs/backends.md)",
    );
  }
  if ((await importOptional(TFJS_WEBGPU)) === undefined) {
    throw new RunError(
      `backend 'webgpu' needs ${TFJS_WEBGPU}: run \`npm install ${TFJS_WEBGPU}\``,
    );
  }
  await activate("webgpu");
  return { name: "webgpu", description: "webgpu (tfjs-backend-webgpu)" };
}

async function selectCpu(): Promise<SelectedBackend> {
  await import("@tensorflow/tfjs-backend-cpu");
  await activate("cpu");
  return {
    name: "cpu",
    description: "cpu (pure JavaScript; slow for convolutions)",
  };
}

/**
 * Makes `name` the active TensorFlow.js backend and returns what was chosen. 'auto' picks
 * 'tensorflow' when tfjs-node(-gpu) is installed, else 'wasm'. Idempotent: selecting the active
 * backend again is cheap. Throws on an unknown name or a missing optional package, saying how
 * to install it.
 */
export async function selectBackend(
  name: BackendName,
): Promise<SelectedBackend> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new Error(
      `unknown backend '${String(name)}': expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  // The replacement gradients must be registered after the stock ones, never before.
  await registerStockGradients();
  switch (name) {
    case "tensorflow":
      return selectTensorflow();
    case "wasm":
      return selectWasm();
    case "webgpu":
      return selectWebgpu();
    case "cpu":
      return selectCpu();
    case "auto": {
      const hasTensorflow =
        (await importOptional(TFJS_NODE_GPU)) !== undefined ||
        (await importOptional(TFJS_NODE)) !== undefined;
      return hasTensorflow ? selectTensorflow() : selectWasm();
    }
    default:
      return assertNever(name);
  }
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}

/**
 * Whether `e` is a backend running out of memory: the wasm heap (at most 4 GB) shows it as an
 * out-of-bounds access or an abort inside the module; JavaScript as a failed buffer allocation.
 */
export function isOutOfMemory(e: unknown): boolean {
  const message = e instanceof Error ? e.message : String(e);
  return /memory access out of bounds|^Aborted\(|Out of memory|Cannot enlarge memory|Array buffer allocation failed|Invalid typed array length/i.test(
    message,
  );
}
