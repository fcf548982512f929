// Emission for the syntax-tree model (Fig. 7, Appendix B): internal nodes choose an operator,
// leaves choose an input. Nodes are numbered level by level from the root, so node n's children
// are n * BRANCHING + 1 + i, and children past the last internal node are leaves.

import { StructureKind, type StatementStructures } from "ts-morph";
import type { SketchIR, TreeIR } from "../ir.js";
import { constStatement, scopeConstName } from "./common.js";

function genExecute(m: TreeIR): StatementStructures {
  const body: string[] = [
    "const T = z.node.shape[0];",
    "const inputs = tf.stack(loadSlots(s, T), 2) as tf.Tensor3D; // [T, B, BASE]",
    "const B = inputs.shape[1];",
    "// Leaves: each loads the z-weighted mix of the inputs.",
    "let values = tf.matMul(inputs, tf.transpose(z.leaf, [0, 2, 1])); // [T, B, NUM_LEAVES]",
  ];
  for (let d = m.levels.length - 1; d >= 0; d--) {
    const { start, count } = m.levels[d];
    body.push(
      `// Depth ${d}: nodes ${start}..${start + count - 1}.`,
      `values = mixLevel(z.node, ${start}, ${count}, values); // [T, B, ${count}]`,
    );
  }
  body.push("return tf.reshape(values, [T, B]);");
  return {
    kind: StructureKind.Function,
    isExported: true,
    docs: [
      `The soft interpreter of Fig. 7, unrolled over the ${m.levels.length} levels of the tree, leaves first.\n` +
        "z: per head, probabilities [T, rows, choices]; s: symbols [B, V] shared by all tasks, or [T, B, V].\n" +
        "Returns the root's value for every task and example: [T, B].",
    ],
    name: "execute",
    parameters: [
      { name: "z", type: "ProgramParams" },
      { name: "s", type: "tf.Tensor2D | tf.Tensor3D" },
    ],
    returnType: "tf.Tensor2D",
    statements: `return tf.tidy(() => {\n${body.join("\n")}\n});`,
  };
}

export function genTree(ir: SketchIR, m: TreeIR): StatementStructures[] {
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
      "Internal nodes, numbered level by level from the root.",
    ),
    constStatement("NUM_LEAVES", String(m.numLeaves), "Leaves, left to right."),
    constStatement(
      "LEVELS",
      JSON.stringify(m.levels.map((l) => [l.start, l.count])),
      "Per depth, [first node, node count].",
      false,
      "readonly (readonly [number, number])[]",
    ),
    {
      kind: StructureKind.Interface,
      isExported: true,
      docs: [
        "A discrete syntax tree: null marks nodes and leaves that do not reach the root.",
      ],
      name: "Program",
      properties: [
        {
          name: "nodes",
          type: "readonly (OpName | null)[]",
          isReadonly: true,
          docs: ["Operator per internal node."],
        },
        {
          name: "leaves",
          type: "readonly (number | null)[]",
          isReadonly: true,
          docs: ["Input slot per leaf."],
        },
      ],
    },
    constStatement(
      "NODE_MASK",
      `maskFromIntervals(${scopeConstName(ir.heads[0])}, OP_NAMES.length)`,
      undefined,
      false,
    ),
    constStatement(
      "LEAF_MASK",
      `maskFromIntervals(${scopeConstName(ir.heads[1])}, BASE)`,
      undefined,
      false,
    ),
    {
      kind: StructureKind.Function,
      docs: [
        "One level: its nodes mix the operators over their children. below: [T, B, count * BRANCHING] -> [T, B, count].",
      ],
      name: "mixLevel",
      parameters: [
        { name: "head", type: "tf.Tensor3D" },
        { name: "start", type: "number" },
        { name: "count", type: "number" },
        { name: "below", type: "tf.Tensor" },
      ],
      returnType: "tf.Tensor",
      statements: `const [T, B] = below.shape;
const children = tf.unstack(tf.reshape(below, [T, B, count, BRANCHING]), 3); // BRANCHING x [T, B, count]
const w = tf.expandDims(tf.slice(head, [0, start, 0], [T, count, OP_NAMES.length]), 1); // [T, 1, count, K]
return mixOperators(w, children);`,
    },
    genExecute(m),
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "Differentiable program length (Eq. 6): the expected cost of the nodes that reach the root.\n" +
          "A child is reached when its parent is and the parent's operator reads it; a tree shares no\n" +
          "nodes, so the products are exact. On one-hot z it equals length(decode(z)). Returns [T].",
      ],
      name: "expectedLength",
      parameters: [{ name: "z", type: "ProgramParams" }],
      returnType: "tf.Tensor1D",
      statements: `return tf.tidy(() => {
const T = z.node.shape[0];
const K = OP_NAMES.length;
const cost = tf.tensor1d(OP_COST as number[]); // [K]
const uses = ARG_USES.map((u) => tf.tensor1d(u as number[])); // per child, [K]
let reach: tf.Tensor2D = tf.ones([T, 1]); // [T, nodes at this depth]
let total: tf.Tensor1D = tf.zeros([T]);
for (const [start, count] of LEVELS) {
  const ops = tf.slice(z.node, [0, start, 0], [T, count, K]); // [T, count, K]
  total = tf.add(total, tf.sum(tf.mul(reach, tf.sum(tf.mul(ops, cost), 2)), 1));
  const children = uses.map((u) => tf.mul(reach, tf.sum(tf.mul(ops, u), 2))); // BRANCHING x [T, count]
  reach = tf.reshape(tf.stack(children, 2), [T, count * BRANCHING]);
}
return total;
});`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "Which nodes and leaves reach the root. Throws if a reached one is null.",
      ],
      name: "reached",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "{ nodes: boolean[]; leaves: boolean[] }",
      statements: `if (program.nodes.length !== NUM_NODES || program.leaves.length !== NUM_LEAVES) {
  throw new RangeError(\`a program of this sketch has \${NUM_NODES} nodes and \${NUM_LEAVES} leaves\`);
}
const nodes = new Array<boolean>(NUM_NODES).fill(false);
const leaves = new Array<boolean>(NUM_LEAVES).fill(false);
nodes[0] = true;
for (let n = 0; n < NUM_NODES; n++) {
  if (!nodes[n]) continue;
  const op = program.nodes[n];
  if (op === null) throw new RangeError(\`node \${n} reaches the root but is null\`);
  for (let i = 0; i < OP_ARITY[OP_NAMES.indexOf(op)]; i++) {
    const child = n * BRANCHING + 1 + i;
    if (child < NUM_NODES) nodes[child] = true;
    else leaves[child - NUM_NODES] = true;
  }
}
leaves.forEach((r, j) => {
  if (r && program.leaves[j] === null) throw new RangeError(\`leaf \${j} reaches the root but is null\`);
});
return { nodes, leaves };`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "The program with every node and leaf that does not reach the root set to null.",
      ],
      name: "prune",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "Program",
      statements: `const r = reached(program);
return {
  nodes: program.nodes.map((op, n) => (r.nodes[n] ? op : null)),
  leaves: program.leaves.map((slot, j) => (r.leaves[j] ? slot : null)),
};`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "Argmax of every head (over allowed choices): one pruned discrete program per task.",
      ],
      name: "decode",
      parameters: [{ name: "z", type: "ProgramParams" }],
      returnType: "Program[]",
      statements: `const nodes = z.node.arraySync();
const leaves = z.leaf.arraySync();
return nodes.map((rows, t) =>
  prune({
    nodes: rows.map((row, n) => OP_NAMES[argmaxAllowed(row, NODE_MASK[n])]),
    leaves: leaves[t].map((row, j) => argmaxAllowed(row, LEAF_MASK[j])),
  }),
);`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "One-hot z ([1, rows, choices] per head) of a discrete program. Null nodes get the cheapest\n" +
          "operator, null leaves the first allowed input. Throws a RangeError for an impossible program.",
      ],
      name: "encode",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "ProgramParams",
      statements: `reached(program);
const cheapest = OP_COST.indexOf(Math.min(...OP_COST));
const nodes = program.nodes.map((op, n) => {
  const o = op === null ? cheapest : OP_NAMES.indexOf(op);
  if (o < 0) throw new RangeError(\`node \${n}: unknown operator '\${op}'\`);
  return o;
});
const leaves = program.leaves.map((slot, j) => {
  const a = slot ?? LEAF_MASK[j].indexOf(1);
  if (LEAF_MASK[j][a] !== 1) throw new RangeError(\`leaf \${j} may not read slot \${a}\`);
  return a;
});
return { node: oneHotHead(nodes, OP_NAMES.length), leaf: oneHotHead(leaves, BASE) };`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "Folds the tree bottom-up from the root: leaf(slot) for leaves, node(op, children) inside.",
      ],
      name: "fold",
      typeParameters: ["R"],
      parameters: [
        { name: "program", type: "Program" },
        { name: "leaf", type: "(slot: number) => R" },
        { name: "node", type: "(op: OpName, args: R[]) => R" },
      ],
      returnType: "R",
      statements: `reached(program);
const visit = (n: number): R => {
  if (n >= NUM_NODES) return leaf(program.leaves[n - NUM_NODES]!);
  const op = program.nodes[n]!;
  const args = Array.from({ length: OP_ARITY[OP_NAMES.indexOf(op)] }, (_, i) => visit(n * BRANCHING + 1 + i));
  return node(op, args);
};
return visit(0);`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "Exact evaluation of a discrete program on one symbol vector s (length V).",
      ],
      name: "evaluate",
      parameters: [
        { name: "program", type: "Program" },
        { name: "s", type: "readonly number[]" },
      ],
      returnType: "number",
      statements: `if (s.length !== NUM_INPUTS) throw new RangeError(\`expected \${NUM_INPUTS} symbols, got \${s.length}\`);
const inputs = [...s, ...CONSTANTS.map((c) => c.value)];
return fold(program, (slot) => inputs[slot], (op, args) => applyScalar(op, args));`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "Discrete length: the summed cost of the nodes that reach the root.",
      ],
      name: "length",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "number",
      statements: `return fold(program, () => 0, (op, args) => OP_COST[OP_NAMES.indexOf(op)] + args.reduce((a, b) => a + b, 0));`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: ["The root as one formula over the inputs, e.g. `s1 * s2 + s3`."],
      name: "formula",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "string",
      statements: `return fold(program, (slot) => fmt.atom(inputName(slot)), (op, args) => applyFormula(op, args)).text;`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: ["The tree as nested operator calls, then the formula."],
      name: "format",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "string",
      statements: `const calls = fold(program, (slot) => inputName(slot), (op, args) => \`\${op}(\${args.join(", ")})\`);
return \`y = \${calls}\\n// y = \${formula(program)}\`;`,
    },
  ];
}
