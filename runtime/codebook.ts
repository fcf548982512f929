// A codebook of symbol values learned from g's own outputs (beyond the paper): as many values as
// the dataset has classes, tracked by online 1-D k-means over the symbols each training step
// grounds. Abduction can try these values instead of the gold alphabet 0.1..1.0, so it knows only
// how many symbols there are, never their values.

import type { NamedArray } from "./checkpoint.js";

export interface Codebook {
  /** The values, ascending; meaningful once `initialized`. */
  readonly values: Float32Array;
  initialized: boolean;
}

/** How far each step moves a value towards the mean of the symbols nearest to it. */
export const CODEBOOK_RATE = 0.1;

export function createCodebook(size: number): Codebook {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`createCodebook: size must be >= 1, got ${size}`);
  return { values: new Float32Array(size), initialized: false };
}

/**
 * One step of online k-means on a batch of symbols: the first batch sets the values to its
 * quantiles (i + 0.5) / size; later batches move each value by `rate` towards the mean of the
 * batch's symbols nearest to it (values no symbol is nearest to stay). Non-finite symbols are
 * ignored. The values stay sorted.
 */
export function updateCodebook(
  codebook: Codebook,
  symbols: ArrayLike<number>,
  rate = CODEBOOK_RATE,
): void {
  const finite = Array.from(symbols).filter(Number.isFinite);
  if (finite.length === 0) return;
  const K = codebook.values.length;
  const v = codebook.values;
  if (!codebook.initialized) {
    const sorted = finite.sort((a, b) => a - b);
    for (let k = 0; k < K; k++)
      v[k] =
        sorted[
          Math.min(
            sorted.length - 1,
            Math.floor(((k + 0.5) / K) * sorted.length),
          )
        ];
    codebook.initialized = true;
    return;
  }
  const sum = new Float64Array(K);
  const count = new Int32Array(K);
  for (const x of finite) {
    const k = nearest(v, x);
    sum[k] += x;
    count[k]++;
  }
  for (let k = 0; k < K; k++)
    if (count[k] > 0) v[k] += rate * (sum[k] / count[k] - v[k]);
  v.sort();
}

/** Index of the value nearest to x (the first of equals). */
export function nearest(values: ArrayLike<number>, x: number): number {
  let best = 0;
  for (let k = 1; k < values.length; k++)
    if (Math.abs(values[k] - x) < Math.abs(values[best] - x)) best = k;
  return best;
}

/** The codebook as checkpoint arrays. */
export function codebookToArrays(codebook: Codebook): NamedArray[] {
  return [
    {
      name: "codebook/values",
      shape: [codebook.values.length],
      data: Float32Array.from(codebook.values),
    },
    {
      name: "codebook/initialized",
      shape: [1],
      data: Float32Array.of(codebook.initialized ? 1 : 0),
    },
  ];
}

/** Restores a codebook from checkpoint arrays; a checkpoint without them leaves it new. */
export function loadCodebook(
  codebook: Codebook,
  arrays: readonly NamedArray[],
): void {
  const values = arrays.find((a) => a.name === "codebook/values");
  const initialized = arrays.find((a) => a.name === "codebook/initialized");
  if (!values || !initialized) return;
  if (values.data.length !== codebook.values.length)
    throw new Error(
      `the checkpoint's codebook has ${values.data.length} values, the run ${codebook.values.length}`,
    );
  codebook.values.set(values.data);
  codebook.initialized = initialized.data[0] === 1;
}
