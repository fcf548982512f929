// Emission of the fused soft interpreter for straight-line code: Fig. 3 computed in plain
// typed-array loops instead of hundreds of small TF.js ops, with a backward pass derived at
// compile time (compiler/derivative.ts) and registered through tf.customGrad. It returns the same
// values and gradients as `execute`, which stays the reference.

import { StructureKind, type StatementStructures } from "ts-morph";
import { assertNever } from "../ast.js";
import { differentiate, isZero, type DerivIR } from "../derivative.js";
import type { OperatorIR, SketchIR, StraightIR } from "../ir.js";
import { constStatement, scopeConstName } from "./common.js";
import { numberLiteral, renameParams, scalarExpr } from "./expr.js";

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

/** `const x1 = x[p]; const x2 = x[p + stride];` ... for the arguments of one line. */
function readArgs(arity: number): string {
  return Array.from(
    { length: arity },
    (_, i) =>
      `const x${i + 1} = x[p${i === 0 ? "" : i === 1 ? " + stride" : ` + ${i} * stride`}];`,
  ).join("\n");
}

const weight = (k: number): string => `w[o${k === 0 ? "" : ` + ${k}`}]`;

const opComment = (o: OperatorIR): string =>
  `// ${o.name}(${o.params.join(", ")}) = ${o.bodyText}`;

/** Forward: the sum over operators k of w_k * F_k(x1, x2, ...), each body inlined. */
function genMix(ir: SketchIR): StatementStructures {
  const terms = ir.operators.map(
    (o, k) =>
      `out += ${weight(k)} * ${scalarExpr(renameParams(o.body))}; ${opComment(o)}`,
  );
  return {
    kind: StructureKind.Function,
    docs: [
      "One line of Fig. 3 in plain arithmetic: every operator applied to the line's arguments\n" +
        "x[p], x[p + stride], ..., mixed by the op weights w[o], w[o + 1], ... (the sum over k of\n" +
        "z_k * F_k).",
    ],
    name: "mixFused",
    parameters: [
      { name: "w", type: "Float32Array" },
      { name: "o", type: "number" },
      { name: "x", type: "Float64Array" },
      { name: "p", type: "number" },
      { name: "stride", type: "number" },
    ],
    returnType: "number",
    statements: `${readArgs(ir.maxArity)}
let out = 0;
${terms.join("\n")}
return out;`,
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

/** Backward of genMix: dF_k/dx_i inlined from the compile-time derivatives. */
function genMixBackward(ir: SketchIR): StatementStructures {
  const grads = Array.from({ length: ir.maxArity }, (_, i) => `dx${i + 1}`);
  const blocks = ir.operators.map((o, k) => {
    const body = renameParams(o.body);
    const lines = [
      opComment(o),
      `dw[o${k === 0 ? "" : ` + ${k}`}] += g * ${scalarExpr(body)};`,
    ];
    for (let i = 0; i < o.arity; i++) {
      const d = differentiate(body, i);
      if (isZero(d)) continue;
      lines.push(accumulate(grads[i], weight(k), d));
    }
    return lines.join("\n");
  });
  return {
    kind: StructureKind.Function,
    docs: [
      "Backward of mixFused for an upstream gradient g: adds g * F_k to dw[o + k] and writes\n" +
        "g * (sum over k of w_k * dF_k/dx_i) to dx[i]. The derivatives were taken at compile time.",
    ],
    name: "mixFusedBackward",
    parameters: [
      { name: "w", type: "Float32Array" },
      { name: "o", type: "number" },
      { name: "x", type: "Float64Array" },
      { name: "p", type: "number" },
      { name: "stride", type: "number" },
      { name: "g", type: "number" },
      { name: "dw", type: "Float64Array" },
      { name: "dx", type: "Float64Array" },
    ],
    returnType: "void",
    statements: `${readArgs(ir.maxArity)}
${grads.map((d) => `let ${d} = 0;`).join("\n")}
${blocks.join("\n")}
${grads.map((d, i) => `dx[${i}] = g * ${d};`).join("\n")}`,
  };
}

/** The loops of Fig. 3 over tasks, examples and lines, forward and backward. */
const INTERPRET_FUSED = `const [opHead, ...argHeads] = heads;
const T = opHead.shape[0];
const shared = s.rank === 2;
const B = s.shape[s.rank - 2];
if (s.shape[s.rank - 1] !== NUM_INPUTS || (!shared && s.shape[0] !== T)) {
  throw new RangeError(\`s must be [B, \${NUM_INPUTS}] or [\${T}, B, \${NUM_INPUTS}], got [\${s.shape}]\`);
}
const K = OP_NAMES.length;
const lines = OUTPUT_SLOT - BASE + 1; // the lines the output can depend on
const w = opHead.dataSync() as Float32Array; // [T, L, K]
const zArgs = argHeads.map((h) => h.dataSync() as Float32Array); // per argument, [T, L, S]
const symbols = s.dataSync() as Float32Array; // [B, V] or [T, B, V]
// Examples innermost, so the loops over b are long and contiguous and a z entry is read once.
const values = new Float64Array(T * NUM_SLOTS * B); // [T, S, B], kept for backward
const args = new Float64Array(T * lines * ARG_HEADS * B); // [T, lines, A, B], kept for backward
const out = new Float32Array(T * B); // [T, B]
for (let t = 0; t < T; t++) {
  const v = t * NUM_SLOTS * B;
  for (let b = 0; b < B; b++) {
    const input = (shared ? b : t * B + b) * NUM_INPUTS;
    for (let i = 0; i < NUM_INPUTS; i++) values[v + i * B + b] = symbols[input + i];
    for (let c = 0; c < CONSTANTS.length; c++) values[v + (NUM_INPUTS + c) * B + b] = CONSTANTS[c].value;
  }
  for (let l = 0; l < lines; l++) {
    const row = (t * NUM_LINES + l) * NUM_SLOTS;
    const p = (t * lines + l) * ARG_HEADS * B;
    for (let i = 0; i < ARG_HEADS; i++) {
      // Fig. 3: an argument is the z-weighted sum of the slots in the line's window.
      const z = zArgs[i];
      const x = p + i * B;
      const to = ARG_WINDOWS[2 * (i * NUM_LINES + l) + 1];
      for (let j = ARG_WINDOWS[2 * (i * NUM_LINES + l)]; j < to; j++) {
        const zj = z[row + j];
        const slot = v + j * B;
        for (let b = 0; b < B; b++) args[x + b] += zj * values[slot + b];
      }
    }
    // Fig. 3: Exec(z, s, l) mixes every operator F_o by the op weights z_lo.
    const o = (t * NUM_LINES + l) * K;
    const slot = v + (BASE + l) * B;
    for (let b = 0; b < B; b++) values[slot + b] = mixFused(w, o, args, p + b, B);
  }
  for (let b = 0; b < B; b++) out[t * B + b] = values[v + OUTPUT_SLOT * B + b];
}
const gradFunc = (dy: tf.Tensor2D): tf.Tensor[] => {
  const g = dy.dataSync(); // [T, B]
  const dw = new Float64Array(w.length);
  const dzArgs = zArgs.map((z) => new Float64Array(z.length));
  const ds = new Float64Array(symbols.length);
  const dv = new Float64Array(NUM_SLOTS * B); // [S, B]: d output / d slot, for one task
  const dargs = new Float64Array(ARG_HEADS * B); // [A, B]: d output / d argument, for one line
  const dx = new Float64Array(ARG_HEADS); // d output / d argument, for one line and example
  for (let t = 0; t < T; t++) {
    const v = t * NUM_SLOTS * B;
    dv.fill(0);
    for (let b = 0; b < B; b++) dv[OUTPUT_SLOT * B + b] = g[t * B + b];
    // Lines in reverse: a line's gradient is complete once every later line has been visited.
    for (let l = lines - 1; l >= 0; l--) {
      const row = (t * NUM_LINES + l) * NUM_SLOTS;
      const p = (t * lines + l) * ARG_HEADS * B;
      const o = (t * NUM_LINES + l) * K;
      for (let b = 0; b < B; b++) {
        mixFusedBackward(w, o, args, p + b, B, dv[(BASE + l) * B + b], dw, dx);
        for (let i = 0; i < ARG_HEADS; i++) dargs[i * B + b] = dx[i];
      }
      for (let i = 0; i < ARG_HEADS; i++) {
        const z = zArgs[i];
        const dz = dzArgs[i];
        const to = ARG_WINDOWS[2 * (i * NUM_LINES + l) + 1];
        for (let j = ARG_WINDOWS[2 * (i * NUM_LINES + l)]; j < to; j++) {
          const zj = z[row + j];
          const slot = v + j * B;
          let dzj = 0;
          for (let b = 0; b < B; b++) {
            const gx = dargs[i * B + b];
            dzj += gx * values[slot + b];
            dv[j * B + b] += gx * zj;
          }
          dz[row + j] += dzj;
        }
      }
    }
    // Shared s sums its gradient over tasks; constants take none.
    for (let b = 0; b < B; b++) {
      const input = (shared ? b : t * B + b) * NUM_INPUTS;
      for (let i = 0; i < NUM_INPUTS; i++) ds[input + i] += dv[i * B + b];
    }
  }
  return [
    tf.tensor(Float32Array.from(dw), opHead.shape),
    ...dzArgs.map((dz, i) => tf.tensor(Float32Array.from(dz), argHeads[i].shape)),
    tf.tensor(Float32Array.from(ds), s.shape),
  ];
};
return { value: tf.tensor2d(out, [T, B]), gradFunc };`;

/** The fused interpreter of a straight-line sketch: `executeFused` and its helpers. */
export function genFused(ir: SketchIR, m: StraightIR): StatementStructures[] {
  const argHeads = ir.heads.slice(1);
  const outputLine = m.outputSlot - ir.numInputs - ir.constants.length;
  return [
    constStatement(
      "ARG_HEADS",
      String(argHeads.length),
      "A: argument heads, one per argument of the widest operator.",
      false,
    ),
    constStatement(
      "ARG_WINDOWS",
      `Int32Array.from([${argHeads.map(scopeConstName).join(", ")}].flatMap((scope) => scope.flatMap((row) => [row[0][0], row[row.length - 1][1]])))`,
      "Per argument head i and line l, the [from, to) window of slots it reads, at 2 * (i * NUM_LINES + l).",
      false,
    ),
    genMix(ir),
    genMixBackward(ir),
    {
      kind: StructureKind.Function,
      docs: [
        "The fused forward pass over z's heads (op first) and s, with its backward pass as gradFunc.",
      ],
      name: "interpretFused",
      parameters: [
        { name: "heads", type: "readonly tf.Tensor3D[]" },
        { name: "s", type: "tf.Tensor2D | tf.Tensor3D" },
      ],
      returnType:
        "{ value: tf.Tensor2D; gradFunc: (dy: tf.Tensor2D) => tf.Tensor[] }",
      statements: INTERPRET_FUSED,
    },
    constStatement(
      "fusedInterpreter",
      `tf.customGrad<tf.Tensor2D>((...inputs) => {
  // The inputs are z's heads, then s, then customGrad's save function (unused: the closure keeps what backward needs).
  const tensors = inputs.slice(0, -1) as tf.Tensor[];
  return interpretFused(tensors.slice(0, -1) as tf.Tensor3D[], tensors[tensors.length - 1] as tf.Tensor2D | tf.Tensor3D);
})`,
      "tf.customGrad wrapper, so gradients of executeFused reach every head of z and s.",
      false,
    ),
    {
      kind: StructureKind.Function,
      isExported: true,
      docs: [
        `The soft interpreter of Fig. 3 over the ${outputLine + 1} lines the output can depend on, fused into plain\n` +
          "loops: the same values and gradients as `execute`, without one TF.js op per line. The\n" +
          "backward pass is derived at compile time. It reads z and s with dataSync, so it suits the\n" +
          "CPU backends (wasm, cpu). z: per head, [T, rows, choices]; s: [B, V] or [T, B, V]. Returns [T, B].",
      ],
      name: "executeFused",
      parameters: [
        { name: "z", type: "ProgramParams" },
        { name: "s", type: "tf.Tensor2D | tf.Tensor3D" },
      ],
      returnType: "tf.Tensor2D",
      statements: `return fusedInterpreter(${ir.heads.map((h) => `z.${h.name}`).join(", ")}, s);`,
    },
  ];
}

/** For models without a fused interpreter: `executeFused` is `execute`. */
export function genFusedAlias(): StatementStructures[] {
  return [
    constStatement(
      "executeFused",
      "execute",
      "The same as `execute`: this execution model has no fused interpreter yet.",
      true,
      "typeof execute",
    ),
  ];
}
