// A tiny parameter store for the nets: named tf.Variables with seeded initialisers, listed for
// the optimizer and serialised to plain objects for checkpoints. Each variable draws from its
// own RNG stream derived from (store seed, variable name), so adding a layer never changes the
// initial values of the others.

import * as tf from "@tensorflow/tfjs-core";
import { mulberry32 } from "../random.js";

/** A checkpoint: every variable by name, values in row-major order. */
export type ParamSnapshot = Record<
  string,
  { readonly shape: number[]; readonly data: number[] }
>;

/** Fills a fresh array of `size(shape)` initial values from a uniform [0, 1) generator. */
export type Initializer = (
  shape: readonly number[],
  random: () => number,
) => Float32Array;

/** Named, seeded trainable variables of one net. */
export interface ParamStore {
  readonly seed: number;
  /** Creates the variable `name` (which must be new) with initial values from `init`. */
  create(
    name: string,
    shape: readonly number[],
    init: Initializer,
  ): tf.Variable;
  /** The variable `name`; throws if there is none. */
  get(name: string): tf.Variable;
  /** Variable names in creation order. */
  names(): string[];
  /** All variables in creation order, e.g. the varList of `optimizer.minimize`. */
  variables(): tf.Variable[];
  /** Total number of scalar parameters. */
  numParams(): number;
  /** Copies every variable's current value into a plain object. */
  save(): ParamSnapshot;
  /** `save` reading with `await`, as every backend can (webgpu reads only so: host-read.ts). */
  saveAsync(): Promise<ParamSnapshot>;
  /** Assigns every variable from `snapshot`; names and shapes must match exactly. */
  load(snapshot: ParamSnapshot): void;
  dispose(): void;
}

/** Creates an empty store whose initialisers are seeded by `seed`. */
export function createParamStore(seed: number): ParamStore {
  const vars = new Map<string, tf.Variable>();

  const get = (name: string): tf.Variable => {
    const v = vars.get(name);
    if (v === undefined) throw new Error(`ParamStore: no variable '${name}'`);
    return v;
  };

  return {
    seed,
    create(name, shape, init) {
      if (vars.has(name))
        throw new Error(`ParamStore: variable '${name}' already exists`);
      const initial = tf.tensor(init(shape, mulberry32(mixSeed(seed, name))), [
        ...shape,
      ]);
      // No tf name: tfjs variable names are engine-global, and two nets may share layer names.
      const v = tf.variable(initial, true);
      initial.dispose();
      vars.set(name, v);
      return v;
    },
    get,
    names: () => [...vars.keys()],
    variables: () => [...vars.values()],
    numParams: () => [...vars.values()].reduce((n, v) => n + v.size, 0),
    save() {
      const snapshot: ParamSnapshot = {};
      for (const [name, v] of vars) {
        snapshot[name] = {
          shape: [...v.shape],
          data: Array.from(v.dataSync()),
        };
      }
      return snapshot;
    },
    async saveAsync() {
      const snapshot: ParamSnapshot = {};
      for (const [name, v] of vars) {
        snapshot[name] = {
          shape: [...v.shape],
          data: Array.from(await v.data()),
        };
      }
      return snapshot;
    },
    load(snapshot) {
      const missing = [...vars.keys()].filter((n) => !(n in snapshot));
      const extra = Object.keys(snapshot).filter((n) => !vars.has(n));
      if (missing.length > 0 || extra.length > 0) {
        throw new Error(
          `ParamStore.load: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}]`,
        );
      }
      for (const [name, v] of vars) {
        const { shape, data } = snapshot[name];
        const same =
          shape.length === v.shape.length &&
          shape.every((d, i) => d === v.shape[i]);
        if (!same || data.length !== v.size) {
          throw new Error(
            `ParamStore.load: '${name}' has shape [${shape}] (${data.length} values), expected [${v.shape}]`,
          );
        }
      }
      for (const [name, v] of vars) {
        tf.tidy(() => v.assign(tf.tensor(snapshot[name].data, v.shape)));
      }
    },
    dispose() {
      for (const v of vars.values()) v.dispose();
      vars.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Initialisers

/** fan-in / fan-out of a dense kernel [in, out] or a conv kernel [kh, kw, in, out]. */
export function computeFans(shape: readonly number[]): {
  fanIn: number;
  fanOut: number;
} {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return {
    fanIn: receptive * shape[shape.length - 2],
    fanOut: receptive * shape[shape.length - 1],
  };
}

function uniformFill(
  shape: readonly number[],
  random: () => number,
  limit: number,
): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * limit;
  return out;
}

/** Glorot (Xavier) uniform: U(-l, l), l = sqrt(6 / (fanIn + fanOut)); for linear outputs. */
export const glorotUniform: Initializer = (shape, random) => {
  const { fanIn, fanOut } = computeFans(shape);
  return uniformFill(shape, random, Math.sqrt(6 / (fanIn + fanOut)));
};

/** He (Kaiming) uniform: U(-l, l), l = sqrt(6 / fanIn); for layers followed by ReLU. */
export const heUniform: Initializer = (shape, random) => {
  const { fanIn } = computeFans(shape);
  return uniformFill(shape, random, Math.sqrt(6 / fanIn));
};

/** U(-limit, limit); e.g. limit 1 / sqrt(fanIn) for biases, as PyTorch's nn.Linear does. */
export function uniformInit(limit: number): Initializer {
  return (shape, random) => uniformFill(shape, random, limit);
}

/** Every entry equal to `value` (zeros for biases, ones for normalisation gains). */
export function constantInit(value: number): Initializer {
  return (shape) =>
    new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value);
}

export const zerosInit: Initializer = constantInit(0);
export const onesInit: Initializer = constantInit(1);

// ---------------------------------------------------------------------------------------------
// Seeded randomness: mulberry32 from runtime/random.ts, on a per-variable 32-bit state.

/** FNV-1a hash of `name`, mixed with `seed`: one independent stream per variable. */
function mixSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
