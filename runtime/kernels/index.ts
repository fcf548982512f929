// Gradient replacements that make training work (and fast) on tfjs-backend-wasm 4.22.
// Each is built from forward ops only, so it is correct on every backend: tf.registerGradient
// is global, not per backend. See docs/backends.md for the gaps they close.

import * as tf from "@tensorflow/tfjs-core";
import {
  conv2dBackpropInputGradConfig,
  conv2dGradConfig,
} from "./conv2d-grad.js";
import { batchMatMulGradConfig } from "./matmul-grad.js";
import { maxPoolGradConfig } from "./max-pool-grad.js";

export {
  conv2dBackpropFilterByConv,
  conv2dBackpropInputByConv,
} from "./conv2d-grad.js";
export { matMulFlagFree } from "./matmul-grad.js";
export { maxPoolBackprop } from "./max-pool-grad.js";
export { registerStockGradients } from "./stock-gradients.js";

/** The replacement gradients, one per kernel. */
export const wasmGradientConfigs: readonly tf.GradConfig[] = [
  conv2dGradConfig,
  conv2dBackpropInputGradConfig,
  batchMatMulGradConfig,
  maxPoolGradConfig,
];

/** The gradients the replacements displaced, to restore for other backends. */
const displaced = new Map<string, tf.GradConfig>();

/**
 * Registers the replacement gradients (idempotent). Call it after the stock gradients are
 * registered (see `registerStockGradients`), or they would be overridden back.
 */
export function installWasmGradients(): void {
  for (const config of wasmGradientConfigs) {
    const current = tf.getGradient(config.kernelName);
    if (
      current !== undefined &&
      current !== config &&
      !displaced.has(config.kernelName)
    ) {
      displaced.set(config.kernelName, current);
    }
    tf.registerGradient(config);
  }
}

/**
 * Puts back the gradients that `installWasmGradients` replaced: backends with complete, correct
 * backprop kernels (cpu, tensorflow, webgpu) are better served by the stock gradients.
 */
export function uninstallWasmGradients(): void {
  for (const config of displaced.values()) tf.registerGradient(config);
  displaced.clear();
}
