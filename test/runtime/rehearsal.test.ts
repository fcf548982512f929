// Rehearsal's input permutations (runtime/rehearsal.ts): the relabeled stored program maps the
// permuted symbols to the same outputs, on straight-line code and on syntax trees, and a sketch
// whose scopes single out an input gets no relabeling.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { loadSketch } from "../../runtime/load-sketch.js";
import {
  inputRelabeling,
  rehearsalPermutation,
} from "../../runtime/rehearsal.js";
import { createRng } from "../../runtime/random.js";
import type { SketchModule } from "../../runtime/sketch-module.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-rehearsal-"));

beforeAll(async () => {
  await selectBackend("wasm");
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const load = (sketch: string) =>
  loadSketch(`sketches/${sketch}.sketch`, path.join(root, sketch));

/** A random discrete program of `module`: the argmax of random logits within the masks. */
function randomChoices(module: SketchModule, seed: number) {
  const rng = createRng(seed);
  return Object.fromEntries(
    module.sketch.heads.map((h) => {
      const rows = h.shape[0];
      return [
        h.name,
        Array.from({ length: rows }, (_, r) => {
          const allowed = h.mask[r].flatMap((m, c) => (m === 1 ? [c] : []));
          return allowed[rng.int(allowed.length)];
        }),
      ];
    }),
  ) as Record<string, number[]>;
}

/** The module's program of one choice per row of every head. */
function decodeChoices(
  module: SketchModule,
  choices: Record<string, number[]>,
): unknown {
  const z = Object.fromEntries(
    module.sketch.heads.map((h) => {
      const [rows, n] = h.shape;
      const oneHot = new Float32Array(rows * n);
      choices[h.name].forEach((c, r) => (oneHot[r * n + c] = 1));
      return [h.name, tf.tensor3d(oneHot, [1, rows, n])];
    }),
  );
  const [program] = module.decode(z);
  Object.values(z).forEach((t) => t.dispose());
  return program;
}

describe("inputRelabeling", () => {
  for (const sketch of ["arith", "arith-tree3"])
    it(`${sketch}: the relabeled program on the permuted symbols gives the same outputs`, async () => {
      const module = await load(sketch);
      const V = module.sketch.numInputs;
      const rng = createRng(11);
      let differs = 0;
      for (let trial = 0; trial < 40; trial++) {
        const p = rehearsalPermutation({ seed: 3 }, V, trial);
        expect([...p].sort()).toEqual([0, 1, 2]);
        const relabel = inputRelabeling(module.sketch, p)!;
        expect(relabel).toBeDefined();
        const choices = randomChoices(module, 100 + trial);
        const moved = Object.fromEntries(
          Object.entries(choices).map(([head, cs]) => [
            head,
            cs.map((c) => relabel(head, c)),
          ]),
        );
        const program = decodeChoices(module, choices);
        const relabeled = decodeChoices(module, moved);
        for (let k = 0; k < 5; k++) {
          const s = Array.from({ length: V }, () => 0.1 + rng.next());
          const sp = p.map((j) => s[j]); // s_p[k] = s[p[k]]
          const want = module.evaluate(program, s);
          expect(module.evaluate(relabeled, sp)).toBeCloseTo(want, 10);
          if (Math.abs(module.evaluate(program, sp) - want) > 1e-9) differs++;
        }
      }
      // The permutation matters: the program itself on the permuted symbols often differs.
      expect(differs).toBeGreaterThan(20);
    });

  it("refuses a sketch whose scopes single out an input", async () => {
    const module = await load("horner");
    const singled = module.sketch.heads.some(
      (h) =>
        /^arg\d+$/.test(h.name) &&
        h.mask.some((row) => row.slice(0, 3).some((m) => m !== row[0])),
    );
    expect(singled).toBe(true); // horner's line 0 reads the last input as its accumulator
    expect(inputRelabeling(module.sketch, [1, 0, 2])).toBeUndefined();
  });

  it("draws every permutation, the same for the same step", () => {
    const seen = new Set<string>();
    for (let step = 0; step < 60; step++)
      seen.add(rehearsalPermutation({ seed: 5 }, 3, step).join(""));
    expect(seen.size).toBe(6);
    expect(rehearsalPermutation({ seed: 5 }, 3, 9)).toEqual(
      rehearsalPermutation({ seed: 5 }, 3, 9),
    );
  });
});
