// Helpers of the differential tests: a seeded RNG, random discrete programs drawn from a compiled
// module's head masks, and random soft z. Everything here reads only the module's public exports
// (the reference evaluator, reference-evaluator.ts, reads the IR instead).

import * as tf from "@tensorflow/tfjs-core";
import type { SketchModule } from "../../runtime/sketch-module.js";
import { mulberry32 } from "../../runtime/random.js";

export interface StraightProgram {
  readonly lines: readonly ({
    readonly op: string;
    readonly args: readonly number[];
  } | null)[];
}
export interface TreeProgram {
  readonly nodes: readonly (string | null)[];
  readonly leaves: readonly (number | null)[];
}
export type Program = StraightProgram | TreeProgram;

/** A compiled sketch as imported at run time: the SketchModule contract plus a few extras. */
export interface CompiledModule extends SketchModule<Program> {
  prune(program: Program): Program;
  readonly operators: Readonly<Record<string, (...xs: number[]) => number>>;
  readonly OUTPUT_SLOT?: number;
  readonly BRANCHING?: number;
  readonly NUM_NODES?: number;
}

/** A small seeded generator of floats in [0, 1) (mulberry32 on the raw seed). */
export const createRandom = mulberry32;

/** One of the allowed (mask 1) columns of a mask row, picked by `pick` in [0, 1). */
function allowedChoice(row: readonly number[], pick: number): number {
  const allowed = row.flatMap((m, i) => (m === 1 ? [i] : []));
  if (allowed.length === 0) throw new Error("a head row allows nothing");
  return allowed[
    Math.min(allowed.length - 1, Math.floor(pick * allowed.length))
  ];
}

/**
 * A random valid program: per line (or node) an operator, per argument (or leaf) an allowed slot,
 * each chosen by the next number of `next` (a seeded RNG, or fast-check's numbers); then pruned.
 */
export function randomProgram(
  mod: CompiledModule,
  next: () => number,
): Program {
  const heads = mod.sketch.heads;
  const ops = mod.sketch.operators;
  if (mod.sketch.model === "straight") {
    const [opHead, ...argHeads] = heads;
    const lines = opHead.mask.map((row, l) => {
      const o = allowedChoice(row, next());
      const args = argHeads
        .slice(0, ops[o].arity)
        .map((h) => allowedChoice(h.mask[l], next()));
      return { op: ops[o].name, args };
    });
    return mod.prune({ lines });
  }
  const [nodeHead, leafHead] = heads;
  return mod.prune({
    nodes: nodeHead.mask.map((row) => ops[allowedChoice(row, next())].name),
    leaves: leafHead.mask.map((row) => allowedChoice(row, next())),
  });
}

/** Symbols [rows, V] with values in [0.1, 1], rounded to float32 so both interpreters see the same inputs. */
export function randomSymbols(
  rows: number,
  width: number,
  next: () => number,
): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: width }, () => Math.fround(0.1 + 0.9 * next())),
  );
}

/** Soft z: per head, [T, rows, choices] softmax rows restricted to the allowed entries. */
export function randomSoftParams(
  mod: CompiledModule,
  numTasks: number,
  next: () => number,
): Record<string, tf.Tensor3D> {
  const z: Record<string, tf.Tensor3D> = {};
  for (const head of mod.sketch.heads) {
    const [rows, choices] = head.shape;
    const data = new Float32Array(numTasks * rows * choices);
    for (let t = 0; t < numTasks; t++) {
      for (let r = 0; r < rows; r++) {
        const weights = head.mask[r].map((m) =>
          m === 1 ? Math.exp(2 * next()) : 0,
        );
        const total = weights.reduce((a, b) => a + b, 0);
        weights.forEach(
          (w, c) => (data[(t * rows + r) * choices + c] = w / total),
        );
      }
    }
    z[head.name] = tf.tensor3d(data, [numTasks, rows, choices]);
  }
  return z;
}

/** A direction per head, zero outside the allowed entries, with entries in [-1, 1]. */
export function randomDirection(
  mod: CompiledModule,
  numTasks: number,
  next: () => number,
): Record<string, tf.Tensor3D> {
  const d: Record<string, tf.Tensor3D> = {};
  for (const head of mod.sketch.heads) {
    const [rows, choices] = head.shape;
    const data = new Float32Array(numTasks * rows * choices);
    for (let i = 0; i < data.length; i++) {
      const [r, c] = [Math.floor(i / choices) % rows, i % choices];
      data[i] = head.mask[r][c] === 1 ? 2 * next() - 1 : 0;
    }
    d[head.name] = tf.tensor3d(data, [numTasks, rows, choices]);
  }
  return d;
}
