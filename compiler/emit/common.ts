// Emission shared by both execution models: metadata, operator tables, the scalar operators, the
// tensor operator bodies, and the printing helpers that only depend on the operator set.

import {
  StructureKind,
  VariableDeclarationKind,
  type StatementStructures,
} from "ts-morph";
import type { HeadIR, SketchIR } from "../ir.js";
import {
  formulaExpr,
  numberLiteral,
  readsParams,
  renameParams,
  scalarExpr,
  tensorExpr,
} from "./expr.js";

const json = (value: unknown): string => JSON.stringify(value);

export function constStatement(
  name: string,
  initializer: string,
  doc?: string,
  isExported = true,
  type?: string,
): StatementStructures {
  return {
    kind: StructureKind.VariableStatement,
    isExported,
    declarationKind: VariableDeclarationKind.Const,
    docs: doc ? [doc] : undefined,
    declarations: [{ name, initializer, type }],
  };
}

/** Compresses a sorted list of allowed choices to [from, to) intervals. */
export function intervals(allowed: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of allowed) {
    const last = out.at(-1);
    if (last && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

/**
 * The allowed intervals of every row as a literal. Rows that follow one pattern, each endpoint
 * either fixed or moving with the row index (as `inputs, earlier` does), print as one
 * `Array.from` line instead of a row per line.
 */
export function scopeRowsLiteral(head: HeadIR): string {
  const rows = head.allowed.map(intervals);
  const first = rows[0];
  const moves = (r: number, k: number): boolean | undefined => {
    const all = rows.map((row) => row[r][k] - first[r][k]);
    if (all.every((d) => d === 0)) return false;
    if (all.every((d, l) => d === l)) return true;
    return undefined;
  };
  const sameShape = rows.every((row) => row.length === first.length);
  const pattern = sameShape
    ? first.map((iv, r) => [moves(r, 0), moves(r, 1)])
    : undefined;
  if (
    pattern &&
    pattern.every(([a, b]) => a !== undefined && b !== undefined)
  ) {
    const at = (v: number, moving: boolean | undefined) =>
      moving ? `${v} + l` : String(v);
    const body = first.map(
      (iv, r) => `[${at(iv[0], pattern[r][0])}, ${at(iv[1], pattern[r][1])}]`,
    );
    const param = pattern.some(([a, b]) => a || b) ? "(_, l)" : "()";
    return `Array.from({ length: ${rows.length} }, ${param}: [number, number][] => [${body.join(", ")}])`;
  }
  return `[\n${rows.map((r) => json(r)).join(",\n")}\n]`;
}

/** Name of the module-level constant holding a head's allowed intervals, e.g. ARG1_SCOPE. */
export function scopeConstName(head: HeadIR): string {
  return `${head.name.toUpperCase()}_SCOPE`;
}

export function genSizes(ir: SketchIR): StatementStructures[] {
  const base = ir.numInputs + ir.constants.length;
  const s: StatementStructures[] = [
    constStatement(
      "NUM_INPUTS",
      String(ir.numInputs),
      "V: grounded symbols per example, read as s1..sV.",
    ),
    constStatement(
      "CONSTANTS",
      `[${ir.constants.map((k) => `{ name: ${json(k.name)}, value: ${numberLiteral(k.value)} }`).join(", ")}] as const`,
      ir.constants.length === 0
        ? "Named constants (none in this sketch); they would take the slots after the inputs."
        : `Named constants, in slots ${ir.numInputs}..${base - 1} after the inputs.`,
      true,
      ir.constants.length === 0
        ? "readonly { readonly name: string; readonly value: number }[]"
        : undefined,
    ),
    constStatement(
      "BASE",
      String(base),
      "Slots before the first line or internal node: inputs, then constants.",
      false,
    ),
    constStatement(
      "OP_NAMES",
      `[${ir.operators.map((o) => json(o.name)).join(", ")}] as const`,
      "The operators, in the column order of the op head.",
    ),
    {
      kind: StructureKind.TypeAlias,
      isExported: true,
      name: "OpName",
      type: "(typeof OP_NAMES)[number]",
    },
    constStatement(
      "OP_ARITY",
      `[${ir.operators.map((o) => o.arity).join(", ")}]`,
      "Arguments each operator reads.",
      true,
      "readonly number[]",
    ),
    constStatement(
      "OP_COST",
      `[${ir.operators.map((o) => numberLiteral(o.cost)).join(", ")}]`,
      "Length cost of each operator (Eq. 6).",
      true,
      "readonly number[]",
    ),
    constStatement(
      "ARG_USES",
      `[${Array.from({ length: ir.maxArity }, (_, i) => `[${ir.operators.map((o) => (o.arity > i ? 1 : 0)).join(", ")}]`).join(", ")}]`,
      "ARG_USES[i][o] is 1 when operator o reads argument i + 1.",
      false,
      "readonly (readonly number[])[]",
    ),
    constStatement(
      "LENGTH_PRIOR",
      numberLiteral(ir.lengthPrior),
      "lambda of Eq. 6: p(z) is proportional to exp(-lambda * length(z)).",
    ),
  ];
  return s;
}

/** Allowed intervals per head, the `sketch` metadata and the parameter types. */
export function genMetadata(ir: SketchIR, size: number): StatementStructures[] {
  const out: StatementStructures[] = [];
  for (const head of ir.heads) {
    out.push(
      constStatement(
        scopeConstName(head),
        scopeRowsLiteral(head),
        `Allowed choices of the ${head.name} head per row, as [from, to) intervals: ${head.doc}.`,
        false,
        "readonly (readonly (readonly [number, number])[])[]",
      ),
    );
  }
  out.push({
    kind: StructureKind.TypeAlias,
    isExported: true,
    name: "HeadName",
    type: ir.heads.map((h) => json(h.name)).join(" | "),
  });
  out.push({
    kind: StructureKind.TypeAlias,
    isExported: true,
    docs: [
      "z: per head, probabilities [T, rows, choices], each row summing to 1 over its allowed choices.",
    ],
    name: "ProgramParams",
    type: "Readonly<Record<HeadName, tf.Tensor3D>>",
  });
  const heads = ir.heads
    .map(
      (h) =>
        `{ name: ${json(h.name)}, shape: [${h.rows}, ${h.choices}] as const, mask: maskFromIntervals(${scopeConstName(h)}, ${h.choices}) }`,
    )
    .join(",\n");
  out.push({
    kind: StructureKind.Interface,
    isExported: true,
    docs: [
      "The static description of a sketch; the runtime's SketchInfo (runtime/sketch-module.ts), spelled\nout so the module's declarations need no type inference.",
    ],
    name: "SketchInfo",
    properties: [
      { name: "name", type: "string", isReadonly: true },
      { name: "source", type: "string", isReadonly: true },
      { name: "model", type: '"straight" | "tree"', isReadonly: true },
      { name: "numInputs", type: "number", isReadonly: true },
      {
        name: "constants",
        type: "readonly { readonly name: string; readonly value: number }[]",
        isReadonly: true,
      },
      { name: "size", type: "number", isReadonly: true },
      {
        name: "operators",
        type: "readonly { readonly name: OpName; readonly arity: number; readonly cost: number }[]",
        isReadonly: true,
      },
      {
        name: "heads",
        type: "readonly { readonly name: HeadName; readonly shape: readonly [number, number]; readonly mask: readonly (readonly number[])[] }[]",
        isReadonly: true,
      },
      { name: "lengthPrior", type: "number", isReadonly: true },
    ],
  });
  out.push(
    constStatement(
      "sketch",
      `{
  name: ${json(ir.name)},
  source: ${json(ir.sourceFile)},
  model: ${json(ir.model.kind)},
  numInputs: NUM_INPUTS,
  constants: CONSTANTS,
  size: ${size},
  operators: OP_NAMES.map((name, o) => ({ name, arity: OP_ARITY[o], cost: OP_COST[o] })),
  heads: [\n${heads}\n],
  lengthPrior: LENGTH_PRIOR,
}`,
      "What the runtime needs to know about this sketch: sizes, operators and the heads of z.",
      true,
      "SketchInfo",
    ),
  );
  return out;
}

/** `operators` (plain scalar functions), `applyOperators` (tensor bodies) and `FORMULAS`. */
export function genOperators(ir: SketchIR): StatementStructures[] {
  const scalar = ir.operators
    .map(
      (o) =>
        `/** ${o.bodyText} */\n${o.name}: (${o.params.map((p) => `${p}: number`).join(", ")}): number => ${scalarExpr(o.body)}`,
    )
    .join(",\n");
  const argNames = Array.from({ length: ir.maxArity }, (_, i) => `x${i + 1}`);
  const tensorBodies = ir.operators
    .map((o) => {
      const body = tensorExpr(renameParams(o.body));
      const full = readsParams(o.body)
        ? body
        : `tf.add(tf.zerosLike(x1), ${body})`;
      return `${full}, // ${o.name}(${o.params.join(", ")}) = ${o.bodyText}`;
    })
    .join("\n");
  const formulas = ir.operators
    .map(
      (o) =>
        `${o.name}: (${o.params.map((p) => `${p}: Fmt`).join(", ")}): Fmt => ${formulaExpr(o.body)}`,
    )
    .join(",\n");
  return [
    constStatement(
      "operators",
      `{\n${scalar}\n}`,
      "The operators as plain scalar functions: exact evaluation and enumerative search use these.",
    ),
    {
      kind: StructureKind.Function,
      docs: [
        "Every operator body as TF.js ops over the argument tensors x1, x2, ..., in OP_NAMES order.",
      ],
      name: "applyOperators",
      parameters: argNames.map((name) => ({ name, type: "tf.Tensor" })),
      returnType: "tf.Tensor[]",
      statements: `return [\n${tensorBodies}\n];`,
    },
    constStatement(
      "FORMULAS",
      `{\n${formulas}\n}`,
      "Each operator's body as a formula over its arguments' formulas.",
      false,
      undefined,
    ),
    {
      kind: StructureKind.Function,
      docs: ["Applies a named operator to numbers."],
      name: "applyScalar",
      parameters: [
        { name: "op", type: "OpName" },
        { name: "args", type: "readonly number[]" },
      ],
      returnType: "number",
      statements: `return (operators[op] as (...xs: number[]) => number)(...args);`,
    },
    {
      kind: StructureKind.Function,
      docs: ["Applies a named operator's formula to argument formulas."],
      name: "applyFormula",
      parameters: [
        { name: "op", type: "OpName" },
        { name: "args", type: "readonly Fmt[]" },
      ],
      returnType: "Fmt",
      statements: `return (FORMULAS[op] as (...xs: Fmt[]) => Fmt)(...args);`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "The input symbols and constants as [T, B] tensors: s is [B, V] (shared by all tasks) or [T, B, V].",
      ],
      name: "loadSlots",
      parameters: [
        { name: "s", type: "tf.Tensor2D | tf.Tensor3D" },
        { name: "numTasks", type: "number" },
      ],
      returnType: "tf.Tensor2D[]",
      statements: `const width = s.shape[s.rank - 1];
if (width !== NUM_INPUTS) {
  throw new RangeError(\`s must have \${NUM_INPUTS} symbols in its last dimension, got shape [\${s.shape}]\`);
}
const x = (s.rank === 2 ? tf.broadcastTo(tf.expandDims(s, 0), [numTasks, s.shape[0], NUM_INPUTS]) : s) as tf.Tensor3D; // [T, B, V]
const [T, B] = x.shape;
const inputs = tf.unstack(x, 2) as tf.Tensor2D[]; // V x [T, B]
return [...inputs, ...CONSTANTS.map((c) => tf.fill([T, B], c.value) as tf.Tensor2D)];`,
    },
    {
      kind: StructureKind.Function,
      docs: [
        "Printed name of a slot: s1..sV for inputs, then the constants' names.",
      ],
      name: "inputName",
      parameters: [{ name: "slot", type: "number" }],
      returnType: "string",
      statements: `return slot < NUM_INPUTS ? \`s\${slot + 1}\` : CONSTANTS[slot - NUM_INPUTS].name;`,
    },
  ];
}
