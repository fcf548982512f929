// The contract between a module emitted by `sketchc` and the runtime.
// Every generated module satisfies `SketchModule` structurally, so the runtime (recognition
// network, training loop, metrics) can train any compiled sketch without code changes.

import type * as tf from "@tensorflow/tfjs-core";

/** The static description of a compiled sketch and of its heads: one definition, the library's. */
export type { HeadInfo, SketchInfo } from "./module-runtime/common.js";
import { evaluateEach, type SketchInfo } from "./module-runtime/common.js";

/** z: per head, probabilities of shape [T, rows, choices]. */
export type ProgramParams = Readonly<Record<string, tf.Tensor3D>>;

/** What the runtime needs from a generated module. Program is the module's own discrete program type. */
export interface SketchModule<Program = unknown> {
  readonly sketch: SketchInfo;
  /** Soft interpreter: z [T, ...], s [B, V] or [T, B, V] -> [T, B]. */
  execute(z: ProgramParams, s: tf.Tensor2D | tf.Tensor3D): tf.Tensor2D;
  /**
   * The same soft interpreter fused into plain typed-array loops, with a backward pass derived
   * at compile time (tf.customGrad): the values and gradients of `execute`, much faster on the
   * CPU backends (wasm, cpu), since it reads z and s with dataSync. Absent in modules compiled
   * before it existed; syntax-tree modules alias it to `execute`.
   */
  executeFused?(z: ProgramParams, s: tf.Tensor2D | tf.Tensor3D): tf.Tensor2D;
  /** Differentiable expected program length (Eq. 6): z -> [T]. */
  expectedLength(z: ProgramParams): tf.Tensor1D;
  /** Argmax z to one discrete program per task, pruned to what the output reaches. */
  decode(z: ProgramParams): Program[];
  /** One-hot z ([1, rows, choices] per head) of a discrete program. */
  encode(program: Program): ProgramParams;
  /** Exact scalar evaluation of a discrete program on one symbol vector s (length V). */
  evaluate(program: Program, s: readonly number[]): number;
  /**
   * `evaluate` on out.length symbol vectors at once (symbols [n * V], row-major), the same
   * values; returns out. Absent in modules compiled before it existed (`evaluateAll`).
   */
  evaluateMany?(
    program: Program,
    symbols: ArrayLike<number>,
    out: Float64Array,
  ): Float64Array;
  /** Readable straight-line code followed by the equivalent formula. */
  format(program: Program): string;
  /** The formula alone, e.g. `(s1 + s3) * (s1 - s3)`. */
  formula(program: Program): string;
  /** Discrete cost-weighted program length. */
  length(program: Program): number;
  /** The operators as plain scalar functions, the ones `evaluate` applies (safe division etc.). */
  readonly operators: Readonly<Record<string, (...xs: number[]) => number>>;
  /** Straight-line code only: the slot (inputs, constants, then one per line) the output reads. */
  readonly OUTPUT_SLOT?: number;
}

/** `module.evaluateMany`, or `evaluate` one vector at a time where the module predates it. */
export function evaluateAll<P>(
  module: SketchModule<P>,
  program: P,
  symbols: ArrayLike<number>,
  out: Float64Array,
): Float64Array {
  if (module.evaluateMany) return module.evaluateMany(program, symbols, out);
  return evaluateEach(
    (p: P, s: readonly number[]) => module.evaluate(p, s),
    module.sketch.numInputs,
    program,
    symbols,
    out,
  );
}
