// A codebook of symbol values learned from the data (beyond the paper): as many values as the
// dataset has classes. Abduction can try these values instead of the gold alphabet 0.1..1.0, so
// it knows only how many symbols there are, never their values. The values are fitted to the
// outputs that the stored programs must reproduce (a damped Gauss-Newton step per value, on the
// pairs abduction assigned to it); a value no program speaks for follows g's own outputs (online
// 1-D k-means), and the first batch's quantiles start them all.

import type { NamedArray } from "./checkpoint.js";

export interface Codebook {
  /** The values, ascending; meaningful once `initialized`. */
  readonly values: Float32Array;
  initialized: boolean;
}

/** How far each step moves a value towards the mean of the symbols nearest to it. */
export const CODEBOOK_RATE = 0.1;

/** The damping of the Gauss-Newton step that fits a value to the outputs. */
export const CODEBOOK_FIT_RATE = 0.2;

/**
 * What the outputs say about the values: the programs that explain them (one per evidence
 * task), the codebook index abduction gave each symbol of each pair, and the outputs.
 */
export interface CodebookEvidence {
  /** V: symbols per pair. */
  readonly numInputs: number;
  /** Per evidence task, its program as a function of one pair's symbols. */
  readonly programs: readonly ((s: readonly number[]) => number)[];
  /** [B * V]: the index of the value each symbol of each pair was given. */
  readonly indices: Int32Array;
  /** [programs.length * B]: each evidence task's outputs. */
  readonly y: ArrayLike<number>;
  /** [programs.length]: each evidence task's output scale (Eq. 4's sigma). */
  readonly sigma: ArrayLike<number>;
}

export function createCodebook(size: number): Codebook {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`createCodebook: size must be >= 1, got ${size}`);
  return { values: new Float32Array(size), initialized: false };
}

/**
 * One step of the codebook on a batch of symbols (g(x), [B * V]) and, when given, what the
 * outputs say. The first batch sets the values to its quantiles (i + 0.5) / size. Later, a value
 * some program's output depends on takes a damped Gauss-Newton step on the normalized squared
 * error of those outputs, sum over tasks and pairs of ((p(v) - y) / sigma)^2 (derivatives by
 * central differences); every other value moves by `rate` towards the mean of the batch's
 * symbols nearest to it (online k-means). Non-finite symbols and outputs are ignored. The values
 * stay sorted.
 */
export function updateCodebook(
  codebook: Codebook,
  symbols: ArrayLike<number>,
  evidence?: CodebookEvidence,
  rate = CODEBOOK_RATE,
  fitRate = CODEBOOK_FIT_RATE,
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
  // 1. The outputs: J^T r and J^T J per value.
  const jr = new Float64Array(K);
  const jj = new Float64Array(K);
  if (evidence) accumulateFit(v, evidence, symbols.length, jr, jj);
  // 2. The symbols nearest to each value.
  const sum = new Float64Array(K);
  const count = new Int32Array(K);
  for (const x of finite) {
    const k = nearest(v, x);
    sum[k] += x;
    count[k]++;
  }
  const next = Float32Array.from(v);
  for (let k = 0; k < K; k++) {
    if (jj[k] > 1e-12) next[k] = v[k] - (fitRate * jr[k]) / jj[k];
    else if (count[k] > 0) next[k] = v[k] + rate * (sum[k] / count[k] - v[k]);
  }
  v.set(next.filter(Number.isFinite).length === K ? next : v);
  v.sort();
}

/** Adds each pair's J^T r and J^T J to the values its symbols were given (`updateCodebook`). */
function accumulateFit(
  v: Float32Array,
  evidence: CodebookEvidence,
  cells: number,
  jr: Float64Array,
  jj: Float64Array,
): void {
  const { programs, indices, y, sigma, numInputs: V } = evidence;
  const B = cells / V;
  const h = 1e-3;
  const s = new Array<number>(V);
  for (let b = 0; b < B; b++) {
    programs.forEach((p, u) => {
      for (let j = 0; j < V; j++) s[j] = v[indices[b * V + j]];
      const r = (p(s) - y[u * B + b]) / sigma[u];
      if (!Number.isFinite(r)) return;
      for (let j = 0; j < V; j++) {
        const k = indices[b * V + j];
        s[j] = v[k] + h;
        const up = p(s);
        s[j] = v[k] - h;
        const down = p(s);
        s[j] = v[k];
        const d = (up - down) / (2 * h * sigma[u]);
        if (!Number.isFinite(d)) continue;
        jr[k] += d * r;
        jj[k] += d * d;
      }
    });
  }
}

/**
 * Starts the codebook at K values spread evenly over (low, high), the centres of K equal cells:
 * low + (k + 0.5) (high - low) / K. For the categorical grounder (model.ts `expectedSymbols`),
 * whose symbols are expected values over the codebook, so the first batch's quantiles would be
 * the codebook's own mean; (low, high) is the bounded output's interval (`symbolBounds`), and the
 * fit to the outputs (`updateCodebook`) moves the values from there.
 */
export function spreadCodebook(
  codebook: Codebook,
  low: number,
  high: number,
): void {
  const K = codebook.values.length;
  for (let k = 0; k < K; k++)
    codebook.values[k] = low + ((k + 0.5) * (high - low)) / K;
  codebook.initialized = true;
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
