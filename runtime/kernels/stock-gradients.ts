// Registers tfjs-core's own gradients in plain Node.
// tfjs-core's CommonJS Node bundle (its package "main") contains no gradients: they ship only as
// the ESM files dist/register_all_gradients.js and dist/gradients/*.js, whose relative imports
// lack file extensions and which sit in a package without "type": "module". Bundlers and vitest
// cope; plain Node needs the small resolve/load hook below to import them.

import { register } from "node:module";
import * as tf from "@tensorflow/tfjs-core";

/** Module hook: extensionless relative imports inside tfjs-core/dist get `.js`, load as ESM. */
const TFJS_CORE_ESM_HOOK = `
const DIST = "/@tensorflow/tfjs-core/dist/";
const isDist = (url) => typeof url === "string" && url.includes(DIST);
const isBundle = (url) => /\\/tf-core[^/]*\\.js$/.test(url);
export async function resolve(specifier, context, next) {
  if (isDist(context.parentURL) && /^\\.\\.?\\//.test(specifier) && !/\\.[cm]?js$/.test(specifier)) {
    return next(specifier + ".js", context);
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (isDist(url) && url.endsWith(".js") && !isBundle(url)) {
    return next(url, { ...context, format: "module" });
  }
  return next(url, context);
}
`;

let registering: Promise<void> | undefined;

/**
 * Makes sure tfjs-core's stock gradients are registered (idempotent). Run it before installing
 * any replacement gradient: registering the stock set afterwards would undo the replacement.
 */
export function registerStockGradients(): Promise<void> {
  if (tf.getGradient(tf.Sum) !== undefined) return Promise.resolve();
  registering ??= (async () => {
    register(`data:text/javascript,${encodeURIComponent(TFJS_CORE_ESM_HOOK)}`);
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  })();
  return registering;
}
