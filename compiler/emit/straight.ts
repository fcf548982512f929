// Emission for straight-line code (Fig. 3): the sizes and program types, the tables handed to the
// runtime library's `straightSketch` (runtime/module-runtime/straight.ts, which holds the
// interpreters and discrete helpers), and the exported functions over them.

import type { StatementStructures } from "ts-morph";
import type { SketchIR, StraightIR } from "../ir.js";
import {
  constStatement,
  discreteWrappers,
  genCompiled,
  genWrappers,
  interpreterWrappers,
  typeAlias,
} from "./common.js";
import { genFused } from "./fused.js";
import { inlineObject } from "./writers.js";

/** The sizes and types of a straight-line module, before its operators. */
export function genStraightTypes(m: StraightIR): StatementStructures[] {
  return [
    constStatement(
      "NUM_LINES",
      String(m.lines),
      "L: lines of straight-line code.",
    ),
    constStatement(
      "NUM_SLOTS",
      String(m.numSlots),
      "Slots: inputs, constants, then one per line.",
    ),
    constStatement(
      "OUTPUT_SLOT",
      String(m.outputSlot),
      `The slot the program's output is read from (line ${m.outputSlot - (m.numSlots - m.lines) + 1}).`,
    ),
    typeAlias(
      "Line",
      "StraightLine<OpName>",
      "One line of straight-line code: an operator and the slots its arguments read (0-based; inputs first).",
    ),
    typeAlias(
      "Program",
      "StraightProgram<OpName>",
      "A discrete program: one entry per line, null where the output does not read the line.",
    ),
  ];
}

/** The fused line functions, the `compiled` call and the exported functions. */
export function genStraight(
  ir: SketchIR,
  m: StraightIR,
): StatementStructures[] {
  const lines = m.outputSlot - (m.numSlots - m.lines) + 1;
  return [
    ...genFused(ir),
    genCompiled(
      ir,
      "straightSketch",
      [
        { key: "lines", value: "NUM_LINES" },
        { key: "outputSlot", value: "OUTPUT_SLOT" },
      ],
      [
        {
          key: "fused",
          value: inlineObject([
            { key: "forward", value: "fusedLine" },
            { key: "backward", value: "fusedLineBackward" },
          ]),
        },
      ],
    ),
    ...interpreterWrappers(
      `The soft interpreter of Fig. 3 over the ${lines} lines the output can depend on. z: per head,\n` +
        "probabilities [T, rows, choices]; s: symbols [B, V] shared by all tasks, or [T, B, V]. Returns [T, B].",
      "Differentiable program length (Eq. 6): the expected cost of the lines the output reaches,\n" +
        "each counted at most once (docs/language.md). On one-hot z it equals length(decode(z)). Returns [T].",
    ),
    ...genWrappers([
      {
        name: "executeFused",
        params: [
          ["z", "ProgramParams"],
          ["s", "tf.Tensor2D | tf.Tensor3D"],
        ],
        returns: "tf.Tensor2D",
        doc:
          "`execute` fused into typed-array loops around fusedLine and fusedLineBackward: the same values and\n" +
          "gradients, much faster on the CPU backends (cpu, wasm), since it reads z and s with dataSync.",
      },
      ...discreteWrappers("output"),
    ]),
  ];
}
