// Emission of what the fused interpreter needs from a straight-line sketch: one line of Fig. 3 for
// every example, with the operator bodies inlined (fusedLine), and its backward pass with the
// derivatives taken at compile time (compiler/derivative.ts). The loops around them, the same for
// every sketch, are in runtime/module-runtime/straight.ts.

import { StructureKind, type StatementStructures } from "ts-morph";
import { assertNever } from "../ast.js";
import { differentiate, isZero, type DerivIR } from "../derivative.js";
import type { OperatorIR, SketchIR } from "../ir.js";
import { numberLiteral, renameParams, scalarExpr } from "./expr.js";
import { forLoop } from "./writers.js";

/** A derivative as plain arithmetic on numbers (a leaf string of the emitted code). */
export function derivativeExpr(d: DerivIR): string {
  switch (d.kind) {
    case "primal":
      return scalarExpr(d.expr);
    case "number":
      return numberLiteral(d.value);
    case "safe":
      return `SAFE.${d.name}`;
    case "neg":
      return `-(${derivativeExpr(d.operand)})`;
    case "binary":
      return `(${derivativeExpr(d.left)} ${d.op} ${derivativeExpr(d.right)})`;
    case "select": {
      const { op, left, right } = d.test;
      return `(${derivativeExpr(left)} ${op} ${derivativeExpr(right)} ? ${derivativeExpr(d.then)} : ${derivativeExpr(d.otherwise)})`;
    }
    default:
      return assertNever(d);
  }
}

/** `const x1 = x[p + b]; const x2 = x[p + B + b];` ... for example b of one line. */
function readArgs(arity: number): string[] {
  return Array.from(
    { length: arity },
    (_, i) =>
      `const x${i + 1} = x[p + ${i === 0 ? "" : i === 1 ? "B + " : `${i} * B + `}b];`,
  );
}

/** `const w0 = w[o]; // add` ...: each operator's weight, read once per line. */
function readWeights(ir: SketchIR): string[] {
  return ir.operators.map(
    (o, k) => `const w${k} = w[o${k === 0 ? "" : ` + ${k}`}]; // ${o.name}`,
  );
}

const opComment = (o: OperatorIR): string =>
  `// ${o.name}(${o.params.join(", ")}) = ${o.bodyText}`;

const PARAMS = [
  { name: "w", type: "Float32Array" },
  { name: "o", type: "number" },
  { name: "x", type: "Float64Array" },
  { name: "p", type: "number" },
  { name: "B", type: "number" },
];

/** Forward: for every b, the sum over operators k of w_k * F_k(x1, x2, ...), each body inlined. */
function genForward(ir: SketchIR): StatementStructures {
  const terms = ir.operators.map(
    (o, k) =>
      `y += w${k} * ${scalarExpr(renameParams(o.body))}; ${opComment(o)}`,
  );
  return {
    kind: StructureKind.Function,
    docs: [
      "One line of Fig. 3 for every example b: out[q + b] is the sum over operators k of\n" +
        "w[o + k] * F_k applied to the line's arguments x[p + b], x[p + B + b], ...",
    ],
    name: "fusedLine",
    parameters: [
      ...PARAMS,
      { name: "out", type: "Float64Array" },
      { name: "q", type: "number" },
    ],
    returnType: "void",
    statements: [
      ...readWeights(ir),
      forLoop("let b = 0; b < B; b++", [
        ...readArgs(ir.maxArity),
        "let y = 0;",
        ...terms,
        "out[q + b] = y;",
      ]),
    ],
  };
}

/** `dx{i} += w_k * d` with 1 and negation folded into the update. */
function accumulate(target: string, w: string, d: DerivIR): string {
  if (d.kind === "number" && d.value === 1) return `${target} += ${w};`;
  if (d.kind === "number" && d.value === -1) return `${target} -= ${w};`;
  if (d.kind === "neg") {
    return `${target} -= ${w} * ${derivativeExpr(d.operand)};`;
  }
  return `${target} += ${w} * ${derivativeExpr(d)};`;
}

/** Backward of fusedLine: dF_k/dx_i inlined from the compile-time derivatives. */
function genBackward(ir: SketchIR): StatementStructures {
  const grads = Array.from({ length: ir.maxArity }, (_, i) => `dx${i + 1}`);
  const blocks = ir.operators.flatMap((o, k) => {
    const body = renameParams(o.body);
    const lines = [opComment(o), `dw${k} += g * ${scalarExpr(body)};`];
    for (let i = 0; i < o.arity; i++) {
      const d = differentiate(body, i);
      if (!isZero(d)) lines.push(accumulate(grads[i], `w${k}`, d));
    }
    return lines;
  });
  const loop = [
    "const g = dy[q + b];",
    ...readArgs(ir.maxArity),
    ...grads.map((d) => `let ${d} = 0;`),
    ...blocks,
    ...grads.map(
      (d, i) =>
        `dx[${i === 0 ? "" : i === 1 ? "B + " : `${i} * B + `}b] = g * ${d};`,
    ),
  ];
  return {
    kind: StructureKind.Function,
    docs: [
      "Backward of fusedLine for the upstream gradients dy[q + b]: adds the sum over b of\n" +
        "dy * F_k to dw[o + k] and writes dy * (sum over k of w_k * dF_k/dx_i) to dx[i * B + b].",
    ],
    name: "fusedLineBackward",
    parameters: [
      ...PARAMS,
      { name: "dy", type: "Float64Array" },
      { name: "q", type: "number" },
      { name: "dw", type: "Float64Array" },
      { name: "dx", type: "Float64Array" },
    ],
    returnType: "void",
    statements: [
      ...readWeights(ir),
      ...ir.operators.map((_, k) => `let dw${k} = 0;`),
      forLoop("let b = 0; b < B; b++", loop),
      ...ir.operators.map(
        (_, k) => `dw[o${k === 0 ? "" : ` + ${k}`}] += dw${k};`,
      ),
    ],
  };
}

/** The two line functions of a straight-line sketch's fused interpreter. */
export function genFused(ir: SketchIR): StatementStructures[] {
  return [genForward(ir), genBackward(ir)];
}
