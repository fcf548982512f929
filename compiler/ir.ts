// The lowered form of a checked sketch: everything the emitter needs, resolved and numbered.
// Slots are numbered inputs first (0..V-1), then constants (V..V+C-1), then lines (straight-line
// code) — the layout of Fig. 3, with constants added. Nothing here refers back to source text.

import type { BinaryOp } from "./ast.js";
import type { FunctionName } from "./functions.js";

export type ExprIR =
  | { readonly kind: "param"; readonly index: number; readonly name: string }
  | {
      readonly kind: "number";
      readonly value: number;
      readonly constant: string | undefined;
    }
  | { readonly kind: "neg"; readonly operand: ExprIR }
  | {
      readonly kind: "binary";
      readonly op: BinaryOp;
      readonly left: ExprIR;
      readonly right: ExprIR;
    }
  | {
      readonly kind: "call";
      readonly fn: FunctionName;
      readonly args: readonly ExprIR[];
    };

export interface OperatorIR {
  readonly name: string;
  readonly params: readonly string[];
  readonly arity: number;
  readonly cost: number;
  readonly body: ExprIR;
  /** Source text of the body, for comments in the emitted module. */
  readonly bodyText: string;
}

/** A categorical head of z: for each row, the sorted list of allowed choices. */
export interface HeadIR {
  readonly name: string;
  readonly rows: number;
  readonly choices: number;
  readonly allowed: readonly (readonly number[])[];
  readonly doc: string;
}

export interface StraightIR {
  readonly kind: "straight";
  readonly lines: number;
  readonly numSlots: number;
  /** 0-based slot of the output line. */
  readonly outputSlot: number;
}

export interface TreeIR {
  readonly kind: "tree";
  readonly depth: number;
  /** Children per internal node: the highest operator arity. */
  readonly branching: number;
  readonly numNodes: number;
  readonly numLeaves: number;
  /** Internal-node levels, root first: node indices [start, start + count). */
  readonly levels: readonly {
    readonly start: number;
    readonly count: number;
  }[];
}

export interface SketchIR {
  readonly name: string;
  readonly sourceFile: string;
  readonly numInputs: number;
  readonly constants: readonly {
    readonly name: string;
    readonly value: number;
  }[];
  readonly operators: readonly OperatorIR[];
  readonly maxArity: number;
  readonly model: StraightIR | TreeIR;
  /** op / node head first, then the argument (or leaf) heads. */
  readonly heads: readonly HeadIR[];
  readonly lengthPrior: number;
}
