// The support code every emitted module carries: safe tensor and scalar functions, the formula
// printer, and head-mask helpers. Emitted verbatim (it does not depend on the sketch) so each
// generated module is self-contained and needs only @tensorflow/tfjs-core at run time.

import {
  StructureKind,
  VariableDeclarationKind,
  type StatementStructures,
} from "ts-morph";
import { SAFE } from "../functions.js";
import { numberLiteral } from "./expr.js";

export function genPrelude(): StatementStructures[] {
  return [
    {
      kind: StructureKind.VariableStatement,
      docs: [
        "Clamps that keep values and gradients finite; the tensor and scalar forms agree.",
      ],
      declarationKind: VariableDeclarationKind.Const,
      declarations: [
        {
          name: "SAFE",
          initializer: `{ divEpsilon: ${numberLiteral(SAFE.divEpsilon)}, logFloor: ${numberLiteral(SAFE.logFloor)}, sqrtFloor: ${numberLiteral(SAFE.sqrtFloor)}, expCeiling: ${numberLiteral(SAFE.expCeiling)} } as const`,
        },
      ],
    },
    {
      kind: StructureKind.VariableStatement,
      docs: [
        "Safe functions over tensors: a / b is 0 where |b| < divEpsilon, with finite gradients.",
      ],
      declarationKind: VariableDeclarationKind.Const,
      declarations: [
        {
          name: "tensor",
          initializer: `{
  div(a: tf.Tensor | number, b: tf.Tensor | number): tf.Tensor {
    const x = tf.add(a, tf.zerosLike(b)); // a and b broadcast to one shape
    const y = tf.add(b, tf.zerosLike(a));
    const ok = tf.greaterEqual(tf.abs(y), SAFE.divEpsilon);
    // Divide by 1 where |b| is tiny, so neither branch of where() makes NaN gradients.
    return tf.where(ok, tf.div(x, tf.where(ok, y, tf.onesLike(y))), tf.zerosLike(x));
  },
  log: (x: tf.Tensor | number): tf.Tensor => tf.log(tf.maximum(x, SAFE.logFloor)),
  sqrt: (x: tf.Tensor | number): tf.Tensor => tf.sqrt(tf.maximum(x, SAFE.sqrtFloor)),
  exp: (x: tf.Tensor | number): tf.Tensor => tf.exp(tf.minimum(x, SAFE.expCeiling)),
}`,
        },
      ],
    },
    {
      kind: StructureKind.VariableStatement,
      docs: ["The same functions over numbers, for exact evaluation."],
      declarationKind: VariableDeclarationKind.Const,
      declarations: [
        {
          name: "scalar",
          initializer: `{
  div: (a: number, b: number): number => (Math.abs(b) >= SAFE.divEpsilon ? a / b : 0),
  log: (x: number): number => Math.log(Math.max(x, SAFE.logFloor)),
  sqrt: (x: number): number => Math.sqrt(Math.max(x, SAFE.sqrtFloor)),
  exp: (x: number): number => Math.exp(Math.min(x, SAFE.expCeiling)),
  sigmoid: (x: number): number => 1 / (1 + Math.exp(-x)),
  relu: (x: number): number => Math.max(x, 0),
  square: (x: number): number => x * x,
}`,
        },
      ],
    },
    {
      kind: StructureKind.Interface,
      docs: [
        "A formula being printed, with the precedence of its outermost operator.",
      ],
      name: "Fmt",
      properties: [
        { name: "text", type: "string", isReadonly: true },
        { name: "prec", type: "number", isReadonly: true },
      ],
    },
    {
      kind: StructureKind.VariableStatement,
      docs: [
        "Formula printer: adds only the parentheses that precedence and associativity need.",
      ],
      declarationKind: VariableDeclarationKind.Const,
      declarations: [
        {
          name: "fmt",
          initializer: `{
  atom: (text: string): Fmt => ({ text, prec: 4 }),
  num: (value: number): Fmt => ({ text: String(value), prec: value < 0 ? 3 : 4 }),
  neg: (x: Fmt): Fmt => ({ text: "-" + (x.prec < 3 ? \`(\${x.text})\` : x.text), prec: 3 }),
  bin(left: Fmt, op: "+" | "-" | "*" | "/", right: Fmt): Fmt {
    const prec = op === "+" || op === "-" ? 1 : 2;
    const l = left.prec < prec ? \`(\${left.text})\` : left.text;
    const tight = right.prec < prec || (right.prec === prec && (op === "-" || op === "/"));
    const r = tight ? \`(\${right.text})\` : right.text;
    return { text: \`\${l} \${op} \${r}\`, prec };
  },
  call: (fn: string, args: readonly Fmt[]): Fmt => ({ text: \`\${fn}(\${args.map((a) => a.text).join(", ")})\`, prec: 4 }),
}`,
        },
      ],
    },
    {
      kind: StructureKind.Function,
      docs: ["0/1 mask rows from each row's allowed [from, to) intervals."],
      name: "maskFromIntervals",
      parameters: [
        {
          name: "rows",
          type: "readonly (readonly (readonly [number, number])[])[]",
        },
        { name: "choices", type: "number" },
      ],
      returnType: "number[][]",
      statements: `return rows.map((intervals) => {
  const row = new Array<number>(choices).fill(0);
  for (const [from, to] of intervals) for (let i = from; i < to; i++) row[i] = 1;
  return row;
});`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "Index of the largest entry of `row` among the allowed ones (ties: the first).",
      ],
      name: "argmaxAllowed",
      parameters: [
        { name: "row", type: "readonly number[]" },
        { name: "mask", type: "readonly number[]" },
      ],
      returnType: "number",
      statements: `let best = -1;
for (let i = 0; i < row.length; i++) {
  if (mask[i] === 1 && (best < 0 || row[i] > row[best])) best = i;
}
return best;`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "A [1, rows, choices] one-hot tensor from the chosen column of each row.",
      ],
      name: "oneHotHead",
      parameters: [
        { name: "chosen", type: "readonly number[]" },
        { name: "choices", type: "number" },
      ],
      returnType: "tf.Tensor3D",
      statements: `const data = new Float32Array(chosen.length * choices);
chosen.forEach((c, row) => (data[row * choices + c] = 1));
return tf.tensor3d(data, [1, chosen.length, choices]);`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "Applies every operator to the arguments and mixes the results by the weights w\n(the sum over o of z_o * F_o in Fig. 3). w broadcasts against [..., K].",
      ],
      name: "mixOperators",
      parameters: [
        { name: "w", type: "tf.Tensor" },
        { name: "args", type: "readonly tf.Tensor[]" },
      ],
      returnType: "tf.Tensor",
      statements: `const results = applyOperators(...(args as Parameters<typeof applyOperators>)); // K x [...]
return tf.sum(tf.mul(tf.stack(results, -1), w), -1); // [...]`,
    },
  ];
}
