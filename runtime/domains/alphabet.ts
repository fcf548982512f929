// The symbol alphabet: the value each image class stands for (class k is symbol alphabet[k]).
// Everything the runtime knows about the symbols derives from it here: the statistics the
// symbol prior targets, the range of the bounded grounder, and which value g(x) reads as.

/** The values of the symbols, one per image class: class k is `values[k]`. */
export type Alphabet = readonly number[];

/**
 * The default alphabet of a dataset with `numClasses` classes: class k is (k + 1) / 10, so
 * 0.1, 0.2, ..., 1.0 for 10 classes (Sec. 4.1: the symbols 1..10, divided by 10 for stability).
 */
export function defaultAlphabet(numClasses: number): Alphabet {
  return Array.from({ length: numClasses }, (_, k) => (k + 1) / 10);
}

/** Mean and variance of the alphabet's values, each class equally likely (the pairs draw them so). */
export function alphabetStats(alphabet: Alphabet): {
  mean: number;
  variance: number;
} {
  const n = alphabet.length;
  const mean = alphabet.reduce((a, v) => a + v, 0) / n;
  const variance = alphabet.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
  return { mean, variance };
}

/** How far the bounded grounder reaches beyond the largest |value| (1.5 for 0.1..1.0). */
export const SYMBOL_HEADROOM = 1.5;

/**
 * The interval (low, high) of the bounded grounder output: (0, 1.5 M) for an alphabet of
 * values >= 0 and (-1.5 M, 1.5 M) otherwise, with M the largest |value| (1 when all are 0).
 * For 0.1..1.0 it is (0, 1.5).
 */
export function symbolBounds(alphabet: Alphabet): {
  low: number;
  high: number;
} {
  const largest = Math.max(...alphabet.map(Math.abs));
  const high = SYMBOL_HEADROOM * (largest > 0 ? largest : 1);
  return { low: Math.min(...alphabet) < 0 ? -high : 0, high };
}

/**
 * The mean gap between neighbouring values of an alphabet (0.1 for 0.1..1.0): the scale of
 * abduction's distance to g(x) and of its loss. 1 for an alphabet of one value or no spread.
 */
export function alphabetSpacing(alphabet: Alphabet): number {
  const lo = Math.min(...alphabet);
  const hi = Math.max(...alphabet);
  return alphabet.length > 1 && hi > lo ? (hi - lo) / (alphabet.length - 1) : 1;
}

/**
 * Reads grounded values as symbols: `read(x)` is the alphabet value whose cell holds x, or
 * undefined outside every cell. The cells split the line halfway between neighbouring distinct
 * values, each closed below and open above, and the outermost cells reach half the outer gap
 * beyond the outermost values. For 0.1..1.0 the cell of k / 10 is [k / 10 - 0.05, k / 10 + 0.05),
 * which is round(10 x) = k exactly for float32 x (10 x is exact in float64, and no float32 lies
 * between (2k + 1) / 20 and its float64 rounding).
 */
export function createSymbolReader(alphabet: Alphabet): {
  read(x: number): number | undefined;
} {
  const values = [...new Set(alphabet)].sort((a, b) => a - b);
  const n = values.length;
  if (n === 1)
    return { read: (x) => (Number.isNaN(x) ? undefined : values[0]) };
  // bounds[i] is the lower end of value i's cell; bounds[n] the upper end of the last.
  const bounds = [
    values[0] - (values[1] - values[0]) / 2,
    ...values.slice(1).map((v, i) => (values[i] + v) / 2),
    values[n - 1] + (values[n - 1] - values[n - 2]) / 2,
  ];
  return {
    read(x) {
      if (!(x >= bounds[0] && x < bounds[n])) return undefined;
      let lo = 0;
      let hi = n - 1;
      // The last i with bounds[i] <= x.
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (bounds[mid] <= x) lo = mid;
        else hi = mid - 1;
      }
      return values[lo];
    },
  };
}

/**
 * Parses `--symbols v1,v2,...` or a task file's symbols list: finite numbers, at least one.
 * Returns an error message instead of throwing, for the caller to name its flag or file.
 */
export function checkAlphabet(values: readonly unknown[]): string | undefined {
  if (values.length === 0) return "the alphabet needs at least one value";
  const bad = values.findIndex(
    (v) => typeof v !== "number" || !Number.isFinite(v),
  );
  if (bad >= 0)
    return `value ${bad + 1} (${JSON.stringify(values[bad])}) is not a finite number`;
  return undefined;
}

/** The alphabet as short text for progress lines: `0.1, 0.2, ..., 1` (at most 12 values shown). */
export function describeAlphabet(alphabet: Alphabet): string {
  const shown =
    alphabet.length <= 12
      ? alphabet
      : [...alphabet.slice(0, 5), NaN, ...alphabet.slice(-2)];
  return shown.map((v) => (Number.isNaN(v) ? "..." : String(v))).join(", ");
}
