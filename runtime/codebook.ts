// A codebook of symbol values learned from the data (beyond the paper): as many values as the
// dataset has classes. Abduction can try these values instead of the gold alphabet 0.1..1.0, so
// it knows only how many symbols there are, never their values. The values are fitted to the
// outputs that the stored programs must reproduce (a damped Gauss-Newton step per value, on the
// pairs abduction assigned to it); a value no program speaks for follows g's own outputs (online
// 1-D k-means), and the first batch's quantiles start them all.

import type { NamedArray } from "./checkpoint.js";

export interface Codebook {
  /**
   * The values, meaningful once `initialized`: ascending, except for the categorical grounder's,
   * whose value k is its class k's and keeps its place (`updateCodebook`'s keepOrder).
   */
  readonly values: Float32Array;
  initialized: boolean;
  /**
   * Per value, a moving average of the share of the abduced symbols given it (`trackUsage`);
   * starts at 1 / K.
   */
  readonly usage: Float32Array;
  /** How many dead values `splitDeadValue` has moved so far. */
  splits: number;
}

/** How far each step moves a value towards the mean of the symbols nearest to it. */
export const CODEBOOK_RATE = 0.1;

/** The damping of the Gauss-Newton step that fits a value to the outputs. */
export const CODEBOOK_FIT_RATE = 0.2;

/** The longest Gauss-Newton step of a value, in spans of the codebook (max - min of its values). */
export const FIT_STEP_SPANS = 2;

/**
 * What the outputs say about the values: the programs that explain them (one per evidence
 * task), the codebook index abduction gave each symbol of each pair, and the outputs.
 */
export interface CodebookEvidence {
  /** V: symbols per pair. */
  readonly numInputs: number;
  /** Per evidence task, its program as a function of one pair's symbols. */
  readonly programs: readonly ((s: readonly number[]) => number)[];
  /**
   * Program u on n symbol vectors at once (symbols [n * V], row-major; out [n]), the same values
   * as `programs[u]` (the module's `evaluateMany`). Absent: `programs` one vector at a time.
   */
  readonly evaluateRows?: (
    u: number,
    symbols: Float64Array,
    out: Float64Array,
  ) => void;
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
  return {
    values: new Float32Array(size),
    initialized: false,
    usage: new Float32Array(size).fill(1 / size),
    splits: 0,
  };
}

/**
 * One step of the codebook on a batch of symbols (g(x), [B * V]) and, when given, what the
 * outputs say. The first batch sets the values to its quantiles (i + 0.5) / size. Later, a value
 * some program's output depends on takes a damped Gauss-Newton step on the normalized squared
 * error of those outputs, sum over tasks and pairs of ((p(v) - y) / sigma)^2 (derivatives by
 * central differences); every other value moves by `rate` towards the mean of the batch's
 * symbols nearest to it (online k-means). Non-finite symbols and outputs are ignored. The values
 * stay sorted, unless `keepOrder` (the categorical grounder's: value k belongs to class k, so
 * sorting would hand one class's images another's value when two values cross).
 */
export function updateCodebook(
  codebook: Codebook,
  symbols: ArrayLike<number>,
  evidence?: CodebookEvidence,
  rate = CODEBOOK_RATE,
  fitRate = CODEBOOK_FIT_RATE,
  keepOrder = false,
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
  // A Gauss-Newton step is local: where the outputs barely depend on a value (J^T J tiny, e.g.
  // one program reading it through a near-constant branch) it can throw the value far off the
  // alphabet in one step (measured: seed 4 of the main command moved one to 184 at step 31, and
  // every later step overflowed). No step moves a value further than twice the codebook's span.
  const span = Math.max(...v) - Math.min(...v);
  const limit = span > 0 ? FIT_STEP_SPANS * span : Infinity;
  for (let k = 0; k < K; k++) {
    if (jj[k] > 1e-12) {
      const step = (fitRate * jr[k]) / jj[k];
      next[k] = v[k] - Math.max(-limit, Math.min(limit, step));
    } else if (count[k] > 0) next[k] = v[k] + rate * (sum[k] / count[k] - v[k]);
  }
  v.set(next.filter(Number.isFinite).length === K ? next : v);
  if (!keepOrder) v.sort();
}

/** How fast `usage` follows each step's shares (a horizon of about 50 steps). */
export const USAGE_RATE = 0.02;

/** A value is dead below this fraction of the uniform share 1 / K (`splitDeadValue`). */
export const DEAD_SHARE = 0.05;

/** A value reads two classes above this multiple of the uniform share 1 / K. */
export const BUSY_SHARE = 1.5;

/**
 * Moves each value's `usage` towards its share of this step's abduced symbols: indices [N], the
 * value abduction gave each symbol, counted where `constrained` [N] is 1. No constrained symbol:
 * no change.
 */
export function trackUsage(
  codebook: Codebook,
  indices: ArrayLike<number>,
  constrained: ArrayLike<number>,
  rate = USAGE_RATE,
): void {
  const K = codebook.values.length;
  const count = new Float64Array(K);
  let total = 0;
  for (let i = 0; i < indices.length; i++) {
    if (constrained[i] !== 1) continue;
    count[indices[i]]++;
    total++;
  }
  if (total === 0) return;
  for (let k = 0; k < K; k++)
    codebook.usage[k] += rate * (count[k] / total - codebook.usage[k]);
}

/**
 * A split, as k-means does with an empty cluster (beyond the paper): when one value is dead
 * (`usage` under DEAD_SHARE / K: abduction gives it almost no symbol) while another reads about
 * two classes' share (over BUSY_SHARE / K), two classes share that value, most likely two
 * neighbours merged at their midpoint. The busy value moves half a typical spacing (the median
 * gap between neighbouring values) down and the dead one takes its place half a spacing up;
 * abduction then gives each image the nearer of the two, and the fit to the outputs refines
 * both. Assumes the classes are roughly balanced (no class under DEAD_SHARE of its share).
 * Returns the two values' indices, or undefined when nothing is split.
 */
export function splitDeadValue(
  codebook: Codebook,
): { readonly dead: number; readonly busy: number } | undefined {
  const { values, usage } = codebook;
  const K = values.length;
  if (K < 2) return undefined;
  let dead = 0;
  let busy = 0;
  for (let k = 1; k < K; k++) {
    if (usage[k] < usage[dead]) dead = k;
    if (usage[k] > usage[busy]) busy = k;
  }
  if (!(usage[dead] < DEAD_SHARE / K && usage[busy] > BUSY_SHARE / K))
    return undefined;
  const sorted = Array.from(values).sort((a, b) => a - b);
  const gaps = sorted
    .slice(1)
    .map((x, k) => x - sorted[k])
    .sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  const spacing =
    median > 0 ? median : (sorted[K - 1] - sorted[0]) / (K - 1) || 1;
  values[dead] = values[busy] + spacing / 2;
  values[busy] -= spacing / 2;
  usage[dead] = usage[busy] = usage[busy] / 2;
  codebook.splits++;
  return { dead, busy };
}

/**
 * Adds each pair's J^T r and J^T J to the values its symbols were given (`updateCodebook`). Every
 * program runs once on all the rows it needs (per pair: its symbols, then each symbol moved up
 * and down by h), then the sums run pair by pair, program by program, symbol by symbol.
 */
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
  // Rows per pair: the pair's symbols, then symbol j moved up (row 1 + 2j) and down (2 + 2j).
  const per = 1 + 2 * V;
  const rows = new Float64Array(B * per * V);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < per; c++) {
      const row = (b * per + c) * V;
      for (let j = 0; j < V; j++) rows[row + j] = v[indices[b * V + j]];
      if (c > 0) {
        const j = (c - 1) >> 1;
        rows[row + j] += c % 2 === 1 ? h : -h;
      }
    }
  }
  const U = programs.length;
  const outputs = new Float64Array(U * B * per);
  const s = new Array<number>(V);
  for (let u = 0; u < U; u++) {
    const out = outputs.subarray(u * B * per, (u + 1) * B * per);
    if (evidence.evaluateRows) {
      evidence.evaluateRows(u, rows, out);
      continue;
    }
    for (let r = 0; r < B * per; r++) {
      for (let j = 0; j < V; j++) s[j] = rows[r * V + j];
      out[r] = programs[u](s);
    }
  }
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < U; u++) {
      const at = (u * B + b) * per;
      const r = (outputs[at] - y[u * B + b]) / sigma[u];
      if (!Number.isFinite(r)) continue;
      for (let j = 0; j < V; j++) {
        const k = indices[b * V + j];
        const d =
          (outputs[at + 1 + 2 * j] - outputs[at + 2 + 2 * j]) /
          (2 * h * sigma[u]);
        if (!Number.isFinite(d)) continue;
        jr[k] += d * r;
        jj[k] += d * d;
      }
    }
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

/**
 * Sets back to its start (`spreadCodebook`'s place k over (low, high)) every value further from
 * the interval (low, high) than the interval's own width: a value the fit threw off the range the
 * run knows the symbols lie in, which no class's images can be read as and which a restart of the
 * memory alone does not bring back (docs/training.md, "Restarting a locked memory"). Its usage
 * starts again at 1 / K. Values within reach keep their place; without `keepOrder` the values
 * are sorted again. Returns how many values were set back.
 */
export function resetStrayValues(
  codebook: Codebook,
  low: number,
  high: number,
  keepOrder = false,
): number {
  if (!codebook.initialized) return 0;
  const K = codebook.values.length;
  const width = high - low;
  let reset = 0;
  for (let k = 0; k < K; k++) {
    const v = codebook.values[k];
    if (Number.isFinite(v) && v >= low - width && v <= high + width) continue;
    codebook.values[k] = low + ((k + 0.5) * width) / K;
    codebook.usage[k] = 1 / K;
    reset++;
  }
  if (reset > 0 && !keepOrder) codebook.values.sort();
  return reset;
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
    {
      name: "codebook/usage",
      shape: [codebook.usage.length],
      data: Float32Array.from(codebook.usage),
    },
    {
      name: "codebook/splits",
      shape: [1],
      data: Float32Array.of(codebook.splits),
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
  // Checkpoints before the usage was kept resume with the uniform share and no split yet.
  const usage = arrays.find((a) => a.name === "codebook/usage");
  codebook.usage.set(
    usage?.data.length === codebook.usage.length
      ? usage.data
      : new Float32Array(codebook.usage.length).fill(1 / codebook.usage.length),
  );
  codebook.splits =
    arrays.find((a) => a.name === "codebook/splits")?.data[0] ?? 0;
}
