// Syntax trees (Fig. 7, Appendix B) for every compiled sketch: internal nodes choose an operator,
// leaves an input. Nodes are numbered level by level from the root, so node n's children are
// n * k + 1 + i, and children past the last internal node are leaves. A generated module passes
// its tables and operator bodies to `treeSketch` and exports what it returns.

import * as tf from "@tensorflow/tfjs-core";
import {
  argmaxAllowed,
  cheapestOperator,
  checkFormat,
  evaluateEach,
  inputName,
  loadSlots,
  maskFromScope,
  mixOperators,
  oneHotHead,
  sketchInfo,
  type Params,
  type SketchInfo,
  type SketchSpec,
  type Symbols,
} from "./common.js";
import { fmt } from "./formula.js";

/** A discrete syntax tree: null marks nodes and leaves that do not reach the root. */
export interface TreeProgram<Op extends string = string> {
  /** Operator per internal node. */
  readonly nodes: readonly (Op | null)[];
  /** Input slot per leaf. */
  readonly leaves: readonly (number | null)[];
}

export interface TreeSpec<
  Op extends string,
  Head extends string,
> extends SketchSpec<Op, Head> {
  /** D: leaves sit at depth D. */
  readonly depth: number;
}

/** The functions of a syntax-tree module (docs in the generated module and docs/language.md). */
export interface TreeSketch<Op extends string, Head extends string> {
  readonly sketch: SketchInfo<Op, Head>;
  /** Children per internal node: the highest operator arity. */
  readonly branching: number;
  readonly numNodes: number;
  readonly numLeaves: number;
  execute(z: Params<Head>, s: Symbols): tf.Tensor2D;
  expectedLength(z: Params<Head>): tf.Tensor1D;
  decode(z: Params<Head>): TreeProgram<Op>[];
  encode(program: TreeProgram<Op>): Params<Head>;
  prune(program: TreeProgram<Op>): TreeProgram<Op>;
  evaluate(program: TreeProgram<Op>, s: readonly number[]): number;
  evaluateMany(
    program: TreeProgram<Op>,
    symbols: ArrayLike<number>,
    out: Float64Array,
  ): Float64Array;
  length(program: TreeProgram<Op>): number;
  formula(program: TreeProgram<Op>): string;
  format(program: TreeProgram<Op>): string;
}

/** The module of a syntax-tree sketch from its tables and operator bodies. */
export function treeSketch<Op extends string, Head extends string>(
  spec: TreeSpec<Op, Head>,
): TreeSketch<Op, Head> {
  checkFormat(spec);
  const BASE = spec.numInputs + spec.constants.length; // slots a leaf may read
  const K = spec.ops.length;
  const k = Math.max(...spec.arity); // branching
  // Per depth, root first: [first node, node count].
  const levels: [number, number][] = [];
  for (let d = 0, start = 0, count = 1; d < spec.depth; d++, count *= k) {
    levels.push([start, count]);
    start += count;
  }
  const [lastStart, lastCount] = levels[levels.length - 1];
  const numNodes = lastStart + lastCount;
  const numLeaves = lastCount * k;
  const [nodeHead, leafHead] = spec.heads;
  const nodeMask = maskFromScope(nodeHead.scope, K);
  const leafMask = maskFromScope(leafHead.scope, BASE);
  const uses = Array.from({ length: k }, (_, i) =>
    spec.arity.map((a) => (a > i ? 1 : 0)),
  );
  const sketch = sketchInfo(spec, "tree", spec.depth, [
    { name: nodeHead.name, shape: [numNodes, K], mask: nodeMask },
    { name: leafHead.name, shape: [numLeaves, BASE], mask: leafMask },
  ]);

  /** One level: its nodes mix the operators over their children. below: [T, B, count * k] -> [T, B, count]. */
  function mixLevel(
    head: tf.Tensor3D,
    start: number,
    count: number,
    below: tf.Tensor,
  ): tf.Tensor {
    const [T, B] = below.shape;
    const children = tf.unstack(tf.reshape(below, [T, B, count, k]), 3); // k x [T, B, count]
    const w = tf.expandDims(tf.slice(head, [0, start, 0], [T, count, K]), 1); // [T, 1, count, K]
    return mixOperators(spec, w, children);
  }

  function execute(z: Params<Head>, s: Symbols): tf.Tensor2D {
    return tf.tidy(() => {
      const T = z[nodeHead.name].shape[0];
      const inputs = tf.stack(loadSlots(spec, s, T), 2) as tf.Tensor3D; // [T, B, BASE]
      const B = inputs.shape[1];
      // Leaves: each loads the z-weighted mix of the inputs; then the levels, leaves first.
      let values: tf.Tensor = tf.matMul(
        inputs,
        tf.transpose(z[leafHead.name], [0, 2, 1]),
      ); // [T, B, numLeaves]
      for (let d = levels.length - 1; d >= 0; d--)
        values = mixLevel(z[nodeHead.name], levels[d][0], levels[d][1], values); // [T, B, count]
      return tf.reshape(values, [T, B]);
    });
  }

  function expectedLength(z: Params<Head>): tf.Tensor1D {
    return tf.tidy(() => {
      const nodeZ = z[nodeHead.name];
      const T = nodeZ.shape[0];
      const cost = tf.tensor1d(spec.cost as number[]); // [K]
      const usesT = uses.map((u) => tf.tensor1d(u)); // per child, [K]
      let reach: tf.Tensor2D = tf.ones([T, 1]); // [T, nodes at this depth]
      let total: tf.Tensor1D = tf.zeros([T]);
      for (const [start, count] of levels) {
        const ops = tf.slice(nodeZ, [0, start, 0], [T, count, K]); // [T, count, K]
        total = tf.add(
          total,
          tf.sum(tf.mul(reach, tf.sum(tf.mul(ops, cost), 2)), 1),
        );
        const children = usesT.map((u) =>
          tf.mul(reach, tf.sum(tf.mul(ops, u), 2)),
        ); // k x [T, count]
        reach = tf.reshape(tf.stack(children, 2), [T, count * k]);
      }
      return total;
    });
  }

  /** Which nodes and leaves reach the root. Throws if a reached one is null. */
  function reached(program: TreeProgram<Op>): {
    nodes: boolean[];
    leaves: boolean[];
  } {
    if (
      program.nodes.length !== numNodes ||
      program.leaves.length !== numLeaves
    ) {
      throw new RangeError(
        `a program of this sketch has ${numNodes} nodes and ${numLeaves} leaves`,
      );
    }
    const nodes = new Array<boolean>(numNodes).fill(false);
    const leaves = new Array<boolean>(numLeaves).fill(false);
    nodes[0] = true;
    for (let n = 0; n < numNodes; n++) {
      if (!nodes[n]) continue;
      const op = program.nodes[n];
      if (op === null)
        throw new RangeError(`node ${n} reaches the root but is null`);
      for (let i = 0; i < spec.arity[spec.ops.indexOf(op)]; i++) {
        const child = n * k + 1 + i;
        if (child < numNodes) nodes[child] = true;
        else leaves[child - numNodes] = true;
      }
    }
    leaves.forEach((r, j) => {
      if (r && program.leaves[j] === null)
        throw new RangeError(`leaf ${j} reaches the root but is null`);
    });
    return { nodes, leaves };
  }

  function prune(program: TreeProgram<Op>): TreeProgram<Op> {
    const r = reached(program);
    return {
      nodes: program.nodes.map((op, n) => (r.nodes[n] ? op : null)),
      leaves: program.leaves.map((slot, j) => (r.leaves[j] ? slot : null)),
    };
  }

  function decode(z: Params<Head>): TreeProgram<Op>[] {
    const nodes = z[nodeHead.name].arraySync();
    const leaves = z[leafHead.name].arraySync();
    return nodes.map((rows, t) =>
      prune({
        nodes: rows.map((row, n) => spec.ops[argmaxAllowed(row, nodeMask[n])]),
        leaves: leaves[t].map((row, j) => argmaxAllowed(row, leafMask[j])),
      }),
    );
  }

  function encode(program: TreeProgram<Op>): Params<Head> {
    reached(program);
    const cheapest = cheapestOperator(spec);
    const nodes = program.nodes.map((op, n) => {
      const o = op === null ? cheapest : spec.ops.indexOf(op);
      if (o < 0) throw new RangeError(`node ${n}: unknown operator '${op}'`);
      return o;
    });
    const leaves = program.leaves.map((slot, j) => {
      const a = slot ?? leafMask[j].indexOf(1);
      if (leafMask[j][a] !== 1)
        throw new RangeError(`leaf ${j} may not read slot ${a}`);
      return a;
    });
    return {
      [nodeHead.name]: oneHotHead(nodes, K),
      [leafHead.name]: oneHotHead(leaves, BASE),
    } as Record<Head, tf.Tensor3D>;
  }

  /** Folds the tree bottom-up from the root: leaf(slot) for leaves, node(op, children) inside. */
  function fold<R>(
    program: TreeProgram<Op>,
    leaf: (slot: number) => R,
    node: (op: Op, args: R[]) => R,
  ): R {
    reached(program);
    const visit = (n: number): R => {
      if (n >= numNodes) return leaf(program.leaves[n - numNodes]!);
      const op = program.nodes[n]!;
      const args = Array.from(
        { length: spec.arity[spec.ops.indexOf(op)] },
        (_, i) => visit(n * k + 1 + i),
      );
      return node(op, args);
    };
    return visit(0);
  }

  /** `evaluate` on out.length symbol vectors (symbols: [n * V], row-major), one at a time. */
  function evaluateMany(
    program: TreeProgram<Op>,
    symbols: ArrayLike<number>,
    out: Float64Array,
  ): Float64Array {
    return evaluateEach(evaluate, spec.numInputs, program, symbols, out);
  }

  function evaluate(program: TreeProgram<Op>, s: readonly number[]): number {
    if (s.length !== spec.numInputs)
      throw new RangeError(
        `expected ${spec.numInputs} symbols, got ${s.length}`,
      );
    const inputs = [...s, ...spec.constants.map((c) => c.value)];
    return fold(
      program,
      (slot) => inputs[slot],
      (op, args) => spec.operators[op](...args),
    );
  }

  function length(program: TreeProgram<Op>): number {
    return fold(
      program,
      () => 0,
      (op, args) =>
        spec.cost[spec.ops.indexOf(op)] + args.reduce((a, b) => a + b, 0),
    );
  }

  function formula(program: TreeProgram<Op>): string {
    return fold(
      program,
      (slot) => fmt.atom(inputName(spec, slot)),
      (op, args) => spec.formulas[op](...args),
    ).text;
  }

  function format(program: TreeProgram<Op>): string {
    const calls = fold(
      program,
      (slot) => inputName(spec, slot),
      (op, args) => `${op}(${args.join(", ")})`,
    );
    return `y = ${calls}\n// y = ${formula(program)}`;
  }

  return {
    sketch,
    branching: k,
    numNodes,
    numLeaves,
    execute,
    expectedLength,
    decode,
    encode,
    prune,
    evaluate,
    evaluateMany,
    length,
    formula,
    format,
  };
}
