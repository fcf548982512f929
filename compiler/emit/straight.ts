// Emission for straight-line code (Fig. 3): types, the soft interpreter unrolled line by line,
// the expected length of Eq. 6, and the discrete decode/encode/evaluate/print functions.

import { StructureKind, type StatementStructures } from "ts-morph";
import type { SketchIR, StraightIR } from "../ir.js";
import { constStatement, scopeConstName } from "./common.js";

/** [from, to) window of slots that argument head `h` may read on line `line`. */
function window(ir: SketchIR, h: number, line: number): [number, number] {
  const allowed = ir.heads[h].allowed[line];
  return [allowed[0], allowed[allowed.length - 1] + 1];
}

function genExecute(ir: SketchIR, m: StraightIR): StatementStructures {
  const base = ir.numInputs + ir.constants.length;
  const outputLine = m.outputSlot - base;
  const argHeads = ir.heads.slice(1);
  const body: string[] = [
    "const T = z.op.shape[0];",
    "const slots: tf.Tensor2D[] = loadSlots(s, T); // inputs and constants, each [T, B]",
  ];
  for (let line = 0; line <= outputLine; line++) {
    const windows = argHeads.map((_, i) => window(ir, i + 1, line));
    const distinct = [...new Set(windows.map((w) => w.join(",")))].map((k) =>
      k.split(",").map(Number),
    );
    const names = distinct.map((_, i) =>
      distinct.length === 1 ? "window" : `window${i + 1}`,
    );
    const stmts = distinct.map(
      ([from, to], i) =>
        `const ${names[i]} = tf.stack(slots.slice(${from}, ${to}), 2) as tf.Tensor3D; // [T, B, ${to - from}]`,
    );
    const args = argHeads.map((h, i) => {
      const w =
        names[
          distinct.findIndex(
            (d) => d[0] === windows[i][0] && d[1] === windows[i][1],
          )
        ];
      return `readSlot(${w}, z.${h.name}, ${line}, ${windows[i][0]})`;
    });
    const mix = `slots.push(mixOperators(tf.slice(z.op, [0, ${line}, 0], [T, 1, OP_NAMES.length]), [${args.join(", ")}]) as tf.Tensor2D);`;
    body.push(
      `// Line ${line + 1} -> slot ${base + line}.`,
      `{\n${stmts.join("\n")}\n${mix}\n}`,
    );
  }
  body.push("return slots[OUTPUT_SLOT];");
  return {
    kind: StructureKind.Function,
    isExported: true,
    docs: [
      `The soft interpreter of Fig. 3, unrolled over the ${outputLine + 1} lines the output can depend on.\n` +
        "z: per head, probabilities [T, rows, choices]; s: symbols [B, V] shared by all tasks, or [T, B, V].\n" +
        "Returns the output slot's value for every task and example: [T, B].",
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

export function genStraight(
  ir: SketchIR,
  m: StraightIR,
): StatementStructures[] {
  const argHeads = ir.heads.slice(1);
  const headList = argHeads.map((h) => `z.${h.name}`).join(", ");
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
      `The slot the program's output is read from (line ${m.outputSlot - ir.numInputs - ir.constants.length + 1}).`,
    ),
    {
      kind: StructureKind.Interface,
      isExported: true,
      docs: [
        "One line of straight-line code: an operator and the slots its arguments read.",
      ],
      name: "Line",
      properties: [
        { name: "op", type: "OpName", isReadonly: true },
        {
          name: "args",
          type: "readonly number[]",
          isReadonly: true,
          docs: ["Slot per argument (0-based; inputs first)."],
        },
      ],
    },
    {
      kind: StructureKind.Interface,
      isExported: true,
      docs: [
        "A discrete program: one entry per line, null where the output does not read the line.",
      ],
      name: "Program",
      properties: [
        { name: "lines", type: "readonly (Line | null)[]", isReadonly: true },
      ],
    },
    constStatement(
      "OP_MASK",
      `maskFromIntervals(${scopeConstName(ir.heads[0])}, OP_NAMES.length)`,
      undefined,
      false,
    ),
    constStatement(
      "ARG_MASKS",
      `[${argHeads.map((h) => `maskFromIntervals(${scopeConstName(h)}, NUM_SLOTS)`).join(", ")}]`,
      "Per argument head, the 0/1 allowed slots of every line.",
      false,
    ),
    {
      kind: StructureKind.Function,
      docs: [
        "One argument of one line: the z-weighted sum of the window's slots. window: [T, B, n] -> [T, B].",
      ],
      name: "readSlot",
      parameters: [
        { name: "window", type: "tf.Tensor3D" },
        { name: "head", type: "tf.Tensor3D" },
        { name: "line", type: "number" },
        { name: "from", type: "number" },
      ],
      returnType: "tf.Tensor2D",
      statements: `const [T, B, n] = window.shape;
const weights = tf.reshape(tf.slice(head, [0, line, from], [T, 1, n]), [T, n, 1]); // [T, n, 1]
return tf.reshape(tf.matMul(window, weights), [T, B]); // [T, B]`,
    },
    genExecute(ir, m),
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "Differentiable program length (Eq. 6): the expected cost of the lines the output reaches.\n" +
          "Walking from the output back to line 1, a line is reached with probability\n" +
          "1 - prod(1 - P(a reached line reads it)), so each line counts at most once and the sum\n" +
          "stays below the total cost of all lines. On one-hot z it equals length(decode(z)). Returns [T].",
      ],
      name: "expectedLength",
      parameters: [{ name: "z", type: "ProgramParams" }],
      returnType: "tf.Tensor1D",
      statements: `return tf.tidy(() => {
const T = z.op.shape[0];
const K = OP_NAMES.length;
const cost = tf.tensor1d(OP_COST as number[]); // [K]
const uses = ARG_USES.map((u) => tf.tensor1d(u as number[])); // per argument, [K]
const heads = [${headList}];
const start = new Float32Array(NUM_SLOTS).fill(1);
start[OUTPUT_SLOT] = 0;
let unreached: tf.Tensor2D = tf.tile(tf.tensor2d(start, [1, NUM_SLOTS]), [T, 1]); // [T, S]
let total: tf.Tensor1D = tf.zeros([T]);
for (let line = OUTPUT_SLOT - BASE; line >= 0; line--) {
  const reach = tf.sub(1, tf.reshape(tf.slice(unreached, [0, BASE + line], [T, 1]), [T])); // [T]
  const ops = tf.reshape(tf.slice(z.op, [0, line, 0], [T, 1, K]), [T, K]); // [T, K]
  total = tf.add(total, tf.mul(reach, tf.sum(tf.mul(ops, cost), 1)));
  heads.forEach((head, i) => {
    const reads = tf.mul(reach, tf.sum(tf.mul(ops, uses[i]), 1)); // [T]: reached and reads argument i
    const choice = tf.reshape(tf.slice(head, [0, line, 0], [T, 1, NUM_SLOTS]), [T, NUM_SLOTS]);
    unreached = tf.mul(unreached, tf.sub(1, tf.mul(tf.expandDims(reads, 1), choice)));
  });
}
return total;
});`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "Which lines the output reads, directly or not. Throws if it reads a null line.",
      ],
      name: "reachedLines",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "boolean[]",
      statements: `if (program.lines.length !== NUM_LINES) {
  throw new RangeError(\`a program of this sketch has \${NUM_LINES} lines, got \${program.lines.length}\`);
}
const reached = new Array<boolean>(NUM_LINES).fill(false);
reached[OUTPUT_SLOT - BASE] = true;
for (let l = OUTPUT_SLOT - BASE; l >= 0; l--) {
  if (!reached[l]) continue;
  const line = program.lines[l];
  if (line === null) throw new RangeError(\`line \${l + 1} is read by the output but is null\`);
  for (const a of line.args) if (a >= BASE) reached[a - BASE] = true;
}
return reached;`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "The program with every line the output does not read set to null.",
      ],
      name: "prune",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "Program",
      statements: `const reached = reachedLines(program);
return { lines: program.lines.map((line, l) => (reached[l] ? line : null)) };`,
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
      statements: `const ops = z.op.arraySync();
const args = [${headList}].map((h) => h.arraySync());
return ops.map((opRows, t) =>
  prune({
    lines: opRows.map((row, l) => {
      const o = argmaxAllowed(row, OP_MASK[l]);
      return {
        op: OP_NAMES[o],
        args: args.slice(0, OP_ARITY[o]).map((a, i) => argmaxAllowed(a[t][l], ARG_MASKS[i][l])),
      };
    }),
  }),
);`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "One-hot z ([1, rows, choices] per head) of a discrete program. Null lines (and the unused\n" +
          "arguments of unary operators) get the cheapest operator and the first allowed slot.\n" +
          "Throws a RangeError for a program this sketch cannot express.",
      ],
      name: "encode",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "ProgramParams",
      statements: `reachedLines(program);
const cheapest = OP_COST.indexOf(Math.min(...OP_COST));
const ops: number[] = [];
const args: number[][] = ARG_MASKS.map(() => []);
program.lines.forEach((line, l) => {
  const o = line === null ? cheapest : OP_NAMES.indexOf(line.op);
  if (o < 0) throw new RangeError(\`line \${l + 1}: unknown operator '\${line?.op}'\`);
  if (line !== null && line.args.length !== OP_ARITY[o]) {
    throw new RangeError(\`line \${l + 1}: '\${line.op}' takes \${OP_ARITY[o]} argument(s), got \${line.args.length}\`);
  }
  ops.push(o);
  ARG_MASKS.forEach((mask, i) => {
    const a = line?.args[i] ?? mask[l].indexOf(1);
    if (mask[l][a] !== 1) throw new RangeError(\`line \${l + 1}: argument \${i + 1} may not read slot \${a}\`);
    args[i].push(a);
  });
});
return {
  op: oneHotHead(ops, OP_NAMES.length),
  ${argHeads.map((h, i) => `${h.name}: oneHotHead(args[${i}], NUM_SLOTS)`).join(",\n")},
};`,
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
const reached = reachedLines(program);
const values: number[] = [...s, ...CONSTANTS.map((c) => c.value)];
for (let l = 0; l <= OUTPUT_SLOT - BASE; l++) {
  const line = program.lines[l];
  values.push(reached[l] && line !== null ? applyScalar(line.op, line.args.map((a) => values[a])) : NaN);
}
return values[OUTPUT_SLOT];`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: ["Discrete length: the summed cost of the lines the output reads."],
      name: "length",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "number",
      statements: `const reached = reachedLines(program);
return program.lines.reduce((n, line, l) => (reached[l] && line !== null ? n + OP_COST[OP_NAMES.indexOf(line.op)] : n), 0);`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "The output as one formula over the inputs, e.g. `(s1 + s3) * (s1 - s3)`.",
      ],
      name: "formula",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "string",
      statements: `const reached = reachedLines(program);
const forms: Fmt[] = Array.from({ length: BASE }, (_, i) => fmt.atom(inputName(i)));
program.lines.forEach((line, l) => {
  forms.push(reached[l] && line !== null ? applyFormula(line.op, line.args.map((a) => forms[a])) : fmt.atom("?"));
});
return forms[OUTPUT_SLOT].text;`,
    },
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        "Readable straight-line code of the lines the output reads (t1, t2, ..., y), then the formula.",
      ],
      name: "format",
      parameters: [{ name: "program", type: "Program" }],
      returnType: "string",
      statements: `const reached = reachedLines(program);
const names: string[] = Array.from({ length: BASE }, (_, i) => inputName(i));
const code: string[] = [];
program.lines.forEach((line, l) => {
  if (!reached[l] || line === null) {
    names.push("?");
    return;
  }
  const name = BASE + l === OUTPUT_SLOT ? "y" : \`t\${code.length + 1}\`;
  code.push(\`\${name} = \${line.op}(\${line.args.map((a) => names[a]).join(", ")})\`);
  names.push(name);
});
return [...code, \`// y = \${formula(program)}\`].join("\\n");`,
    },
  ];
}
