// Emission for the syntax-tree model (Fig. 7, Appendix B): the sizes and program type, the tables
// handed to the runtime library's `treeSketch` (runtime/module-runtime/tree.ts, which numbers the
// nodes level by level and holds the interpreter and discrete helpers), and the exported functions.

import type { StatementStructures } from "ts-morph";
import type { SketchIR, TreeIR } from "../ir.js";
import {
  constStatement,
  discreteWrappers,
  genCompiled,
  genWrappers,
  interpreterWrappers,
  typeAlias,
} from "./common.js";

/** The sizes and types of a tree module, before its operators. */
export function genTreeTypes(m: TreeIR): StatementStructures[] {
  return [
    constStatement(
      "DEPTH",
      String(m.depth),
      "D: depth of the syntax tree (leaves sit at depth D).",
    ),
    constStatement(
      "BRANCHING",
      String(m.branching),
      "Children per internal node: the highest operator arity.",
    ),
    constStatement(
      "NUM_NODES",
      String(m.numNodes),
      "Internal nodes, numbered level by level from the root: node n's children are n * BRANCHING + 1 + i.",
    ),
    constStatement("NUM_LEAVES", String(m.numLeaves), "Leaves, left to right."),
    typeAlias(
      "Program",
      "TreeProgram<OpName>",
      "A discrete syntax tree: an operator per node, an input slot per leaf, null where it does not reach the root.",
    ),
  ];
}

/** The `compiled` call and the exported functions. */
export function genTree(ir: SketchIR, m: TreeIR): StatementStructures[] {
  return [
    genCompiled(ir, "treeSketch", [{ key: "depth", value: "DEPTH" }], []),
    ...interpreterWrappers(
      `The soft interpreter of Fig. 7 over the ${m.levels.length} levels of the tree, leaves first. z: per head,\n` +
        "probabilities [T, rows, choices]; s: symbols [B, V] shared by all tasks, or [T, B, V]. Returns [T, B].",
      "Differentiable program length (Eq. 6): the expected cost of the nodes that reach the root (a\n" +
        "tree shares no nodes, so it is exact). On one-hot z it equals length(decode(z)). Returns [T].",
    ),
    constStatement(
      "executeFused",
      "execute",
      "The same as `execute`: this execution model has no fused interpreter yet.",
      true,
      "typeof execute",
    ),
    ...genWrappers(discreteWrappers("root")),
  ];
}
