// The metrics of Sec. 4.1, computed on the test split: program success rate, symbolic loss and
// test loss, plus grounding accuracy (g(x) rounded to the nearest symbol equals the gold one).

import * as tf from "@tensorflow/tfjs-core";
import type { Split } from "./data/pairs.js";
import { SYMBOL_SCALE } from "./data/pairs.js";
import { groundSymbols, type RoapModel } from "./model.js";
import { sampleRelaxed } from "./relaxation.js";
import type { SketchModule } from "./sketch-module.js";

export interface Metrics {
  /** Tasks whose decoded program gives the gold output on every test pair, run on gold symbols. */
  readonly programSuccess: {
    readonly count: number;
    readonly total: number;
    readonly rate: number;
  };
  /** MSE between g(x) and the gold symbols (on the 0.1..1.0 scale). */
  readonly symbolicLoss: number;
  /** MSE of the decoded programs run on g(x) against the outputs. */
  readonly testLoss: number;
  /** Fraction of images with round(10 g(x)) equal to the gold symbol. */
  readonly groundingAccuracy: number;
  /** Mean discrete length of the decoded programs. */
  readonly meanProgramLength: number;
  /** Program success of the program memory's programs alone (runs with a memory). */
  readonly memoryProgramSuccess?: {
    readonly count: number;
    readonly total: number;
    readonly rate: number;
  };
  /** Program success of the argmax programs, when `programSuccess` used sampled decoding. */
  readonly argmaxProgramSuccess?: {
    readonly count: number;
    readonly total: number;
    readonly rate: number;
  };
}

/** Symbols of every pair of a split, grounded in chunks: [N * V] row-major [N, V]. */
export function groundSplit(
  model: RoapModel,
  split: Split,
  chunk = 512,
): Float32Array {
  const { numPairs, numInputs, height, width, channels } = split;
  const perImage = height * width * channels;
  const out = new Float32Array(numPairs * numInputs);
  const total = numPairs * numInputs;
  for (let start = 0; start < total; start += chunk) {
    const n = Math.min(chunk, total - start);
    const values = tf.tidy(() => {
      const images = tf.tensor4d(
        split.images.subarray(start * perImage, (start + n) * perImage),
        [n, height, width, channels],
      );
      return groundSymbols(model, images, 1).dataSync();
    });
    out.set(values, start);
  }
  return out;
}

/**
 * Amortized inference: the program of every task from r, given the first `inferencePairs` pairs
 * (grounded symbols and outputs), in chunks of `taskChunk` tasks. With `samples` = 0 it is the
 * paper's decoding, the argmax of q. With `samples` > 0 (beyond the paper) it also draws that many
 * programs from q (Gumbel-max on the logits) and keeps, per task, the candidate with the lowest
 * squared error on those same inference pairs (ties: the shorter one, then the argmax): a small
 * search guided by q that sees nothing the recognizer did not see. Returns the chosen programs and
 * the argmax ones (the same when `samples` is 0).
 */
export function inferPrograms<P>(
  model: RoapModel,
  symbols: Float32Array,
  split: Split,
  inferencePairs: number,
  options: {
    samples?: number;
    seed?: number;
    taskChunk?: number;
    /** One more candidate per task (the program memory's), scored like the samples. */
    extra?: readonly (P | undefined)[];
    /** Symbols [inferencePairs * V] to score the candidates on, instead of `symbols`. */
    scoringSymbols?: Float32Array;
  } = {},
): { programs: P[]; argmax: P[] } {
  const { numTasks, numPairs, numInputs } = split;
  const { samples = 0, seed = 0, taskChunk = 50, extra } = options;
  const module = model.module as SketchModule<P>;
  const b = Math.min(inferencePairs, numPairs);
  const scoring = options.scoringSymbols ?? symbols;
  const inputs = Array.from({ length: b }, (_, i) =>
    Array.from(scoring.subarray(i * numInputs, (i + 1) * numInputs)),
  );
  const programs: P[] = [];
  const argmax: P[] = [];
  for (let t0 = 0; t0 < numTasks; t0 += taskChunk) {
    const tn = Math.min(taskChunk, numTasks - t0);
    const ys = new Float32Array(tn * b);
    for (let t = 0; t < tn; t++)
      ys.set(
        split.outputs.subarray((t0 + t) * numPairs, (t0 + t) * numPairs + b),
        t * b,
      );
    const logits = tf.tidy(() =>
      model.recognizer.call(
        tf.tensor2d(symbols.subarray(0, b * numInputs), [b, numInputs]),
        tf.tensor2d(ys, [tn, b]),
      ),
    );
    const decoded = module.decode(logits);
    argmax.push(...decoded);
    const best = [...decoded];
    if (samples > 0 || extra) {
      const score = (p: P, t: number): number => {
        let e = 0;
        for (let i = 0; i < b; i++) {
          const d = module.evaluate(p, inputs[i]) - ys[t * b + i];
          e += Number.isFinite(d) ? d * d : Infinity;
        }
        return e;
      };
      const bestScore = best.map(score);
      for (let k = 0; k < samples + (extra ? 1 : 0); k++) {
        let candidates: (P | undefined)[];
        if (k < samples) {
          const sampled = sampleRelaxed(logits, {
            sharpness: 1,
            gumbel: true,
            seed: seed * 7919 + t0 * 131 + k,
          });
          candidates = module.decode(sampled);
          Object.values(sampled).forEach((x) => x.dispose());
        } else {
          candidates = extra!.slice(t0, t0 + tn);
        }
        candidates.forEach((p, t) => {
          if (p === undefined) return;
          const e = score(p, t);
          const better =
            e < bestScore[t] - 1e-12 ||
            (Math.abs(e - bestScore[t]) <= 1e-12 &&
              module.length(p) < module.length(best[t]));
          if (better) {
            best[t] = p;
            bestScore[t] = e;
          }
        });
      }
    }
    programs.push(...best);
    Object.values(logits).forEach((t) => t.dispose());
  }
  return { programs, argmax };
}

/** Whether a program output matches the gold output (float32 outputs, so a relative tolerance). */
export function sameOutput(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
}

/** The metrics of Sec. 4.1 for decoded programs and grounded symbols of a split. */
export function computeMetrics<P>(
  module: {
    evaluate(p: P, s: readonly number[]): number;
    length(p: P): number;
  },
  programs: readonly P[],
  grounded: Float32Array,
  split: Split,
): Metrics {
  const { numTasks, numPairs, numInputs } = split;
  const gold: number[][] = [];
  const ground: number[][] = [];
  let symbolicSum = 0;
  let correct = 0;
  for (let i = 0; i < numPairs; i++) {
    gold.push(
      Array.from(split.symbols.subarray(i * numInputs, (i + 1) * numInputs)),
    );
    ground.push(
      Array.from(grounded.subarray(i * numInputs, (i + 1) * numInputs)),
    );
    for (let j = 0; j < numInputs; j++) {
      const d = ground[i][j] - gold[i][j];
      symbolicSum += d * d;
      if (
        Math.round(ground[i][j] * SYMBOL_SCALE) ===
        Math.round(gold[i][j] * SYMBOL_SCALE)
      )
        correct++;
    }
  }
  let solved = 0;
  let testSum = 0;
  let lengthSum = 0;
  programs.forEach((p, t) => {
    let ok = true;
    for (let i = 0; i < numPairs; i++) {
      const y = split.outputs[t * numPairs + i];
      if (ok && !sameOutput(module.evaluate(p, gold[i]), y)) ok = false;
      const e = module.evaluate(p, ground[i]) - y;
      testSum += Number.isFinite(e) ? e * e : 1e12;
    }
    if (ok) solved++;
    lengthSum += module.length(p);
  });
  return {
    programSuccess: { count: solved, total: numTasks, rate: solved / numTasks },
    symbolicLoss: symbolicSum / (numPairs * numInputs),
    testLoss: testSum / (numTasks * numPairs),
    groundingAccuracy: correct / (numPairs * numInputs),
    meanProgramLength: lengthSum / numTasks,
  };
}
