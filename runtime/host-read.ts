// Reading tensors back to the host on every backend. WebGPU reads only asynchronously (its
// synchronous readSync needs a browser's OffscreenCanvas), so the training loop and evaluation
// read with `await`; on the CPU backends (wasm, cpu) that costs one promise per read.

import * as tf from "@tensorflow/tfjs-core";

/** Whether the active backend can read a tensor synchronously (dataSync, arraySync). */
export function readsSynchronously(): boolean {
  return tf.getBackend() !== "webgpu";
}

/**
 * `t`'s values in a tensor that `dataSync` reads on every backend: `t` itself on a backend that
 * reads synchronously, else a fresh tensor holding `await t.data()` (not yet uploaded, so read
 * from the host). The caller disposes a copy it was given (`copy !== t`).
 */
export async function hostReadable<T extends tf.Tensor>(t: T): Promise<T> {
  if (readsSynchronously()) return t;
  return tf.tensor(await t.data(), t.shape, t.dtype) as T;
}

/** `hostReadable` for each tensor of a map (a program's parameters z, per head). */
export async function hostReadableMap<M extends Record<string, tf.Tensor>>(
  tensors: M,
): Promise<M> {
  if (readsSynchronously()) return tensors;
  const entries = await Promise.all(
    Object.entries(tensors).map(
      async ([name, t]) => [name, await hostReadable(t)] as const,
    ),
  );
  return Object.fromEntries(entries) as M;
}

/** Disposes the copies that `hostReadableMap` made of `original`. */
export function disposeCopies(
  copies: Record<string, tf.Tensor>,
  original: Record<string, tf.Tensor>,
): void {
  for (const [name, t] of Object.entries(copies))
    if (t !== original[name]) t.dispose();
}
