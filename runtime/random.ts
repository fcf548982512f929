// A small seeded pseudo-random generator (mulberry32, seeded through a splitmix32 mix),
// so that data sampling, task sampling and initialisation are reproducible bit for bit on
// every platform: it uses only 32-bit integer arithmetic (Math.imul, >>>), never Math.random.

/** A deterministic stream of pseudo-random numbers. */
export interface Rng {
  /** A float uniform in [0, 1), with 32 random bits. */
  next(): number;
  /** An integer uniform in {0, ..., n - 1}; `n` must be a positive integer. */
  int(n: number): number;
  /** A standard normal sample (Box-Muller). */
  normal(): number;
  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T>(array: T[]): T[];
  /** One element of `array`, uniformly; throws on an empty array. */
  choice<T>(array: readonly T[]): T;
}

const TWO_POW_32 = 4294967296;

/** splitmix32's finaliser: a bijective avalanche mix of a 32-bit integer. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** Folds a safe integer seed (any sign, up to 2^53) into a 32-bit state. */
function seedToState(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${seed}`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  return mix32(lo ^ mix32(hi));
}

/** mulberry32 (Tommy Ettinger) over a raw 32-bit state: one state, period 2^32. */
function mulberry32Uint32(initial: number): () => number {
  let state = initial >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** mulberry32 floats in [0, 1) from a raw 32-bit state (no seed mixing, unlike createRng). */
export function mulberry32(state: number): () => number {
  const nextUint32 = mulberry32Uint32(state);
  return () => nextUint32() / TWO_POW_32;
}

/**
 * Creates a generator from an integer seed; equal seeds give equal streams.
 * @param seed any safe integer
 */
export function createRng(seed: number): Rng {
  const nextUint32 = mulberry32Uint32(seedToState(seed));

  const next = (): number => nextUint32() / TWO_POW_32;

  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) {
      throw new RangeError(`int(n) needs a positive integer n, got ${n}`);
    }
    return Math.floor(next() * n);
  };

  return {
    next,
    int,
    normal(): number {
      const u = 1 - next(); // in (0, 1], so the log is finite
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    shuffle<T>(array: T[]): T[] {
      for (let i = array.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const tmp = array[i];
        array[i] = array[j];
        array[j] = tmp;
      }
      return array;
    },
    choice<T>(array: readonly T[]): T {
      if (array.length === 0)
        throw new RangeError("choice() of an empty array");
      return array[int(array.length)];
    },
  };
}

/**
 * A seed for an independent sub-stream, e.g. `deriveSeed(seed, 1)` for the test split,
 * so that one user-facing seed drives several streams that do not overlap by accident.
 */
export function deriveSeed(seed: number, stream: number): number {
  return mix32(seedToState(seed) ^ mix32(seedToState(stream)));
}
