// What both execution models share: the description a generated module passes in (the sketch's
// tables and operator bodies), the `SketchInfo` it exports, and the helpers over heads of z
// (masks from scopes, argmax over allowed choices, one-hot encoding, mixing operators).

import * as tf from "@tensorflow/tfjs-core";
import type { Fmt } from "./formula.js";

/**
 * The version of the description below. A generated module passes the version it was compiled
 * for; a runtime of another version refuses it with a message to recompile the sketch.
 */
export const MODULE_FORMAT = 1;

/** A [from, to) interval of allowed choices. */
export type Interval = readonly [number, number];

/** Per row of a head, its allowed choices as [from, to) intervals. */
export type Scope = readonly (readonly Interval[])[];

/** z: per head, probabilities [T, rows, choices], each row summing to 1 over its allowed choices. */
export type Params<Head extends string = string> = Readonly<
  Record<Head, tf.Tensor3D>
>;

/** Symbols: [B, V] shared by all tasks, or [T, B, V]. */
export type Symbols = tf.Tensor2D | tf.Tensor3D;

export interface Constant {
  readonly name: string;
  readonly value: number;
}

/** One program-parameter head of z: a categorical choice per row, over `shape[1]` entries. */
export interface HeadInfo<Head extends string = string> {
  /** Head name, e.g. `op`, `arg1`, `arg2` (straight-line) or `node`, `leaf` (syntax tree). */
  readonly name: Head;
  /** [rows, choices]: e.g. op is [L, K]; arg1 is [L, V + C + L]. */
  readonly shape: readonly [number, number];
  /** rows x choices, 1 where the choice is allowed by the sketch's scopes, 0 elsewhere. */
  readonly mask: readonly (readonly number[])[];
}

/** Static description of a compiled sketch (`sketch` of a generated module). */
export interface SketchInfo<
  Op extends string = string,
  Head extends string = string,
> {
  readonly name: string;
  readonly source: string;
  readonly model: "straight" | "tree";
  /** V: grounded symbols per example. */
  readonly numInputs: number;
  /** Named constants, readable as slots after the inputs. */
  readonly constants: readonly Constant[];
  /** L for straight-line code; D for a syntax tree. */
  readonly size: number;
  readonly operators: readonly {
    readonly name: Op;
    readonly arity: number;
    readonly cost: number;
  }[];
  readonly heads: readonly HeadInfo<Head>[];
  /** lambda of Eq. 6: p(z) proportional to exp(-lambda * length(z)). */
  readonly lengthPrior: number;
}

/** What a generated module says about its sketch, whatever the execution model. */
export interface SketchSpec<Op extends string, Head extends string> {
  /** MODULE_FORMAT of the compiler that wrote the module. */
  readonly format: number;
  readonly name: string;
  /** The sketch file it was compiled from. */
  readonly source: string;
  readonly numInputs: number;
  readonly constants: readonly Constant[];
  /** The operators, in the column order of the op (node) head. */
  readonly ops: readonly Op[];
  readonly arity: readonly number[];
  readonly cost: readonly number[];
  readonly lengthPrior: number;
  /** The heads of z, the op (node) head first, each with its allowed choices per row. */
  readonly heads: readonly { readonly name: Head; readonly scope: Scope }[];
  /** The operator bodies over numbers. */
  readonly operators: Readonly<Record<Op, (...xs: number[]) => number>>;
  /** Every operator body over tensors, in `ops` order; the arguments are all of one shape. */
  readonly tensorOperators: (...xs: tf.Tensor[]) => tf.Tensor[];
  /** Every operator body over its arguments' formulas. */
  readonly formulas: Readonly<Record<Op, (...xs: Fmt[]) => Fmt>>;
}

/** Rows that follow one pattern: `scopeRows(30, (l) => [[0, 3 + l]])`. */
export function scopeRows(
  rows: number,
  row: (index: number) => readonly Interval[],
): Scope {
  return Array.from({ length: rows }, (_, l) => row(l));
}

/** Throws unless a generated module was compiled for this runtime's MODULE_FORMAT. */
export function checkFormat(spec: { format: number; source: string }): void {
  if (spec.format !== MODULE_FORMAT)
    throw new Error(
      `the module compiled from ${spec.source} has module format ${spec.format}, but this sketchc runtime reads format ${MODULE_FORMAT}: recompile the sketch with this sketchc`,
    );
}

/** 0/1 mask rows from each row's allowed [from, to) intervals. */
export function maskFromScope(scope: Scope, choices: number): number[][] {
  return scope.map((intervals) => {
    const row = new Array<number>(choices).fill(0);
    for (const [from, to] of intervals)
      for (let i = from; i < to; i++) row[i] = 1;
    return row;
  });
}

/** Index of the largest entry of `row` among the allowed ones (ties: the first). */
export function argmaxAllowed(
  row: ArrayLike<number>,
  mask: readonly number[],
  /** Where the row starts in `row` (a flat [rows, choices] array); its length is the mask's. */
  offset = 0,
): number {
  let best = -1;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 1 && (best < 0 || row[offset + i] > row[offset + best]))
      best = i;
  }
  return best;
}

/** A [1, rows, choices] one-hot tensor from the chosen column of each row. */
export function oneHotHead(
  chosen: readonly number[],
  choices: number,
): tf.Tensor3D {
  const data = new Float32Array(chosen.length * choices);
  chosen.forEach((c, row) => (data[row * choices + c] = 1));
  return tf.tensor3d(data, [1, chosen.length, choices]);
}

/** The `sketch` description of a module. */
export function sketchInfo<Op extends string, Head extends string>(
  spec: SketchSpec<Op, Head>,
  model: "straight" | "tree",
  size: number,
  heads: readonly HeadInfo<Head>[],
): SketchInfo<Op, Head> {
  return {
    name: spec.name,
    source: spec.source,
    model,
    numInputs: spec.numInputs,
    constants: spec.constants,
    size,
    operators: spec.ops.map((name, o) => ({
      name,
      arity: spec.arity[o],
      cost: spec.cost[o],
    })),
    heads,
    lengthPrior: spec.lengthPrior,
  };
}

/** The input symbols and constants as [T, B] tensors: s is [B, V] (shared by all tasks) or [T, B, V]. */
export function loadSlots(
  spec: SketchSpec<string, string>,
  s: Symbols,
  numTasks: number,
): tf.Tensor2D[] {
  const V = spec.numInputs;
  const width = s.shape[s.rank - 1];
  if (width !== V) {
    throw new RangeError(
      `s must have ${V} symbols in its last dimension, got shape [${s.shape}]`,
    );
  }
  const x = (
    s.rank === 2
      ? tf.broadcastTo(tf.expandDims(s, 0), [numTasks, s.shape[0], V])
      : s
  ) as tf.Tensor3D; // [T, B, V]
  const [T, B] = x.shape;
  const inputs = tf.unstack(x, 2) as tf.Tensor2D[]; // V x [T, B]
  return [
    ...inputs,
    ...spec.constants.map((c) => tf.fill([T, B], c.value) as tf.Tensor2D),
  ];
}

/**
 * Applies every operator to the arguments and mixes the results by the weights w (the sum over o
 * of z_o * F_o in Fig. 3). w broadcasts against [..., K].
 */
export function mixOperators(
  spec: SketchSpec<string, string>,
  w: tf.Tensor,
  args: readonly tf.Tensor[],
): tf.Tensor {
  const results = spec.tensorOperators(...args); // K x [...]
  return tf.sum(tf.mul(tf.stack(results, -1), w), -1); // [...]
}

/** Printed name of a slot: s1..sV for inputs, then the constants' names. */
export function inputName(
  spec: SketchSpec<string, string>,
  slot: number,
): string {
  return slot < spec.numInputs
    ? `s${slot + 1}`
    : spec.constants[slot - spec.numInputs].name;
}

/** The index of the cheapest operator (what encode gives unused lines and nodes). */
export function cheapestOperator(spec: SketchSpec<string, string>): number {
  return spec.cost.indexOf(Math.min(...spec.cost));
}

/**
 * `evaluateMany` by calling `evaluate` once per symbol vector (symbols [n * V], row-major, n =
 * out.length): the syntax-tree modules' form, and the runtime's for modules compiled before
 * `evaluateMany` existed.
 */
export function evaluateEach<P>(
  evaluate: (program: P, s: readonly number[]) => number,
  numInputs: number,
  program: P,
  symbols: ArrayLike<number>,
  out: Float64Array,
): Float64Array {
  if (symbols.length !== out.length * numInputs)
    throw new RangeError(
      `expected ${out.length} x ${numInputs} symbols, got ${symbols.length}`,
    );
  const s = new Array<number>(numInputs);
  for (let b = 0; b < out.length; b++) {
    for (let i = 0; i < numInputs; i++) s[i] = symbols[b * numInputs + i];
    out[b] = evaluate(program, s);
  }
  return out;
}
