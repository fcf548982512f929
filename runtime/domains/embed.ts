// Whether a sketch can express an expression, and the one-hot z that does: the expression placed
// in the sketch's program space, read from the head masks of its metadata only (`sketch.heads`,
// the slots inputs, constants, lines; `OUTPUT_SLOT` for straight-line code). The enumerate
// domain keeps the programs the sketch can express; given programs of a task file are run
// through the module's own `decode`/`encode`/`execute` from this placement.
//
// Straight-line code: the distinct operator subexpressions (shared ones once) become lines in
// post-order, children before parents. A search over increasing line positions checks every
// choice against the masks: first with the root on the output line, then with the root earlier
// and identity operators (`op skip(a) = a`) carrying its value to the output line. Syntax trees:
// the expression sits at the root with each node's children where the sketch fixes them; a leaf
// above the bottom level goes down through identity nodes (they read their first child).

import * as tf from "@tensorflow/tfjs-core";
import type {
  HeadInfo,
  ProgramParams,
  SketchModule,
} from "../sketch-module.js";
import type { Expr, Language } from "./expression.js";

/** One choice per row of every head: the column of the one-hot z. */
export type Choices = Readonly<Record<string, Int32Array>>;

/** A sketch's program space: its heads and slot layout. */
export interface ProgramSpace {
  readonly language: Language;
  readonly heads: readonly HeadInfo[];
  /** V + C: slots before the first line or node. */
  readonly base: number;
  readonly model: "straight" | "tree";
  /** Straight-line code: the output's line (0-based). */
  readonly outputLine: number;
  /** Syntax trees: children per node, internal nodes. */
  readonly branching: number;
  readonly numNodes: number;
  /** Identity operators, cheapest first. */
  readonly identities: readonly number[];
}

export function createProgramSpace(
  module: SketchModule,
  language: Language,
): ProgramSpace {
  const { sketch } = module;
  const base = sketch.numInputs + sketch.constants.length;
  const identities = language.operators
    .map((o, k) => ({ o, k }))
    .filter(({ o }) => o.identity)
    .sort((a, b) => a.o.cost - b.o.cost)
    .map(({ k }) => k);
  if (sketch.model === "straight") {
    if (module.OUTPUT_SLOT === undefined)
      throw new Error(`module '${sketch.name}' does not export OUTPUT_SLOT`);
    return {
      language,
      heads: sketch.heads,
      base,
      model: "straight",
      outputLine: module.OUTPUT_SLOT - base,
      branching: 0,
      numNodes: 0,
      identities,
    };
  }
  const nodes = head(sketch.heads, "node").shape[0];
  const leaves = head(sketch.heads, "leaf").shape[0];
  const branching = Math.round(leaves ** (1 / sketch.size));
  if (branching ** sketch.size !== leaves)
    throw new Error(
      `tree sketch '${sketch.name}': ${leaves} leaves at depth ${sketch.size}`,
    );
  return {
    language,
    heads: sketch.heads,
    base,
    model: "tree",
    outputLine: 0,
    branching,
    numNodes: nodes,
    identities,
  };
}

function head(heads: readonly HeadInfo[], name: string): HeadInfo {
  const h = heads.find((x) => x.name === name);
  if (h === undefined) throw new Error(`the sketch has no '${name}' head`);
  return h;
}

/** The slot a leaf reads: an input, a constant, or the first constant equal to a number. */
function leafSlot(space: ProgramSpace, e: Expr): number | undefined {
  const V = space.language.numInputs;
  if (e.kind === "input") return e.index;
  if (e.kind === "const") return V + e.index;
  if (e.kind === "num") {
    const c = space.language.constants.findIndex((x) => x.value === e.value);
    return c < 0 ? undefined : V + c;
  }
  return undefined;
}

/** Choices that every row allows (the first allowed column), to be overwritten where used. */
function defaultChoices(space: ProgramSpace): Record<string, Int32Array> {
  return Object.fromEntries(
    space.heads.map((h) => [
      h.name,
      Int32Array.from(h.mask, (row) => Math.max(0, row.indexOf(1))),
    ]),
  );
}

/**
 * The choices of every head that make the sketch compute `e`, or undefined when the sketch cannot
 * express it (see the top of this file). Rows `e` does not use get their first allowed choice.
 */
export function placeExpr(space: ProgramSpace, e: Expr): Choices | undefined {
  return space.model === "straight"
    ? placeStraight(space, e)
    : placeTree(space, e);
}

/** One line of the linearized expression: an operator and, per argument, a slot or a line. */
interface Spec {
  readonly op: number;
  /** Per argument: >= 0 a slot among the inputs and constants; < 0 the line of spec -1 - n. */
  readonly args: readonly number[];
}

/** Post-order lines of the distinct operator subexpressions; undefined for an unplaceable leaf. */
function linearize(space: ProgramSpace, e: Expr): Spec[] | undefined {
  const specs: Spec[] = [];
  const seen = new Map<string, number>();
  const visit = (x: Expr): { ref: number; key: string } | undefined => {
    if (x.kind !== "op") {
      const slot = leafSlot(space, x);
      return slot === undefined ? undefined : { ref: slot, key: `@${slot}` };
    }
    const args: number[] = [];
    const keys: string[] = [];
    for (const a of x.args) {
      const r = visit(a);
      if (r === undefined) return undefined;
      args.push(r.ref);
      keys.push(r.key);
    }
    const key = `${x.op}(${keys.join(",")})`;
    let index = seen.get(key);
    if (index === undefined) {
      index = specs.length;
      specs.push({ op: x.op, args });
      seen.set(key, index);
    }
    return { ref: -1 - index, key };
  };
  return visit(e) === undefined ? undefined : specs;
}

function placeStraight(space: ProgramSpace, e: Expr): Choices | undefined {
  const { heads, base, outputLine } = space;
  const opMask = head(heads, "op").mask;
  const argHeads = heads.filter((h) => /^arg\d+$/.test(h.name));
  const specs = e.kind === "op" ? linearize(space, e) : [];
  const rootLeaf = e.kind === "op" ? undefined : leafSlot(space, e);
  if (specs === undefined || (e.kind !== "op" && rootLeaf === undefined))
    return undefined;
  const k = specs.length;
  const lines = new Int32Array(k);
  const slotOf = (ref: number) => (ref >= 0 ? ref : base + lines[-1 - ref]);
  const fits = (j: number, line: number): boolean =>
    opMask[line][specs[j].op] === 1 &&
    specs[j].args.every((ref, i) => argHeads[i]?.mask[line][slotOf(ref)] === 1);

  // The identity lines that carry slot `from` to the output line, after `first`; undefined if none.
  const carry = (
    from: number,
    first: number,
  ): { line: number; op: number; reads: number }[] | undefined => {
    const reached = new Map<number, { op: number; reads: number } | null>([
      [from, null],
    ]);
    for (let q = first; q <= outputLine; q++) {
      for (const op of space.identities) {
        if (opMask[q][op] !== 1) continue;
        const reads = [...reached.keys()]
          .reverse()
          .find((slot) => argHeads[0].mask[q][slot] === 1);
        if (reads !== undefined) {
          reached.set(base + q, { op, reads });
          break;
        }
      }
    }
    if (!reached.has(base + outputLine)) return undefined;
    const chain: { line: number; op: number; reads: number }[] = [];
    for (let slot = base + outputLine; slot !== from;) {
      const step = reached.get(slot)!;
      chain.push({ line: slot - base, ...step });
      slot = step.reads;
    }
    return chain;
  };

  // Lines for specs j.. from line `from` on; with `rootOnOutput` the last spec is on the output line.
  const search = (
    j: number,
    from: number,
    rootOnOutput: boolean,
  ): { line: number; op: number; reads: number }[] | undefined => {
    if (j === k) {
      if (k === 0) return carry(rootLeaf!, 0);
      if (lines[k - 1] === outputLine) return [];
      return rootOnOutput
        ? undefined
        : carry(base + lines[k - 1], lines[k - 1] + 1);
    }
    const last = outputLine - (k - 1 - j);
    const first = rootOnOutput && j === k - 1 ? outputLine : from;
    for (let line = first; line <= last; line++) {
      if (!fits(j, line)) continue;
      lines[j] = line;
      const found = search(j + 1, line + 1, rootOnOutput);
      if (found) return found;
    }
    return undefined;
  };
  const chain =
    (k > 0 ? search(0, 0, true) : undefined) ??
    (space.identities.length > 0 ? search(0, 0, false) : undefined);
  if (chain === undefined) return undefined;

  const choices = defaultChoices(space);
  specs.forEach((spec, j) => {
    choices.op[lines[j]] = spec.op;
    spec.args.forEach(
      (ref, i) => (choices[argHeads[i].name][lines[j]] = slotOf(ref)),
    );
  });
  for (const step of chain) {
    choices.op[step.line] = step.op;
    choices[argHeads[0].name][step.line] = step.reads;
  }
  return choices;
}

function placeTree(space: ProgramSpace, e: Expr): Choices | undefined {
  const { heads, branching, numNodes } = space;
  const nodeMask = head(heads, "node").mask;
  const leafMask = head(heads, "leaf").mask;
  const choices = defaultChoices(space);
  const place = (x: Expr, pos: number): boolean => {
    if (pos >= numNodes) {
      const slot = leafSlot(space, x);
      if (slot === undefined || leafMask[pos - numNodes][slot] !== 1)
        return false;
      choices.leaf[pos - numNodes] = slot;
      return true;
    }
    if (x.kind === "op") {
      if (x.args.length > branching || nodeMask[pos][x.op] !== 1) return false;
      choices.node[pos] = x.op;
      return x.args.every((a, i) => place(a, pos * branching + 1 + i));
    }
    // A leaf above the bottom: an identity node passes its first child up.
    const op = space.identities.find((o) => nodeMask[pos][o] === 1);
    if (op === undefined) return false;
    choices.node[pos] = op;
    return place(x, pos * branching + 1);
  };
  return place(e, 0) ? choices : undefined;
}

/** One-hot z ([n, rows, choices] per head) of the choices of n programs. */
export function choicesToParams(
  space: ProgramSpace,
  programs: readonly Choices[],
): ProgramParams {
  const z: Record<string, tf.Tensor3D> = {};
  for (const h of space.heads) {
    const [rows, columns] = h.shape;
    const oneHot = new Float32Array(programs.length * rows * columns);
    programs.forEach((c, t) => {
      for (let r = 0; r < rows; r++)
        oneHot[(t * rows + r) * columns + c[h.name][r]] = 1;
    });
    z[h.name] = tf.tensor3d(oneHot, [programs.length, rows, columns]);
  }
  return z;
}
