// A hand-written SketchInfo for the net tests: straight-line code with L = 4 lines, K = 3
// operators and V = 3 inputs, whose argument scope is lower-triangular (line l may read the
// inputs and lines < l).

import type { SketchInfo } from "../../../runtime/sketch-module.js";

export const NUM_INPUTS = 3; // V
export const NUM_LINES = 4; // L
export const NUM_OPS = 3; // K

/** Line l may read the V inputs and the lines before it. */
const argMask = Array.from({ length: NUM_LINES }, (_, l) =>
  Array.from({ length: NUM_INPUTS + NUM_LINES }, (_, c) =>
    c < NUM_INPUTS + l ? 1 : 0,
  ),
);

export const fakeSketch: SketchInfo = {
  name: "fake",
  source: "fake.sketch",
  model: "straight",
  numInputs: NUM_INPUTS,
  constants: [],
  size: NUM_LINES,
  operators: [
    { name: "add", arity: 2, cost: 1 },
    { name: "sub", arity: 2, cost: 1 },
    { name: "mul", arity: 2, cost: 1 },
  ],
  heads: [
    {
      name: "op",
      shape: [NUM_LINES, NUM_OPS],
      mask: Array.from({ length: NUM_LINES }, () =>
        Array<number>(NUM_OPS).fill(1),
      ),
    },
    { name: "arg1", shape: [NUM_LINES, NUM_INPUTS + NUM_LINES], mask: argMask },
    { name: "arg2", shape: [NUM_LINES, NUM_INPUTS + NUM_LINES], mask: argMask },
  ],
  lengthPrior: 2e-4,
};
