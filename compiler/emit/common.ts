// Emission shared by both execution models: the sketch's tables (sizes, operators, costs, head
// scopes), its operator bodies in the scalar, tensor and formula forms, the call that hands them to
// the runtime library (`sketchc/module-runtime`), and the exported functions that call into it.

import {
  StructureKind,
  VariableDeclarationKind,
  Writers,
  type FunctionDeclarationStructure,
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
import {
  arrayLiteral,
  call,
  inlineObject,
  objectLiteral,
  type Code,
  type Entry,
} from "./writers.js";

/** The import specifier of the runtime library every generated module uses. */
export const MODULE_RUNTIME = "sketchc/module-runtime";

/** The MODULE_FORMAT of runtime/module-runtime/common.ts that this emitter writes. */
export const MODULE_FORMAT = 1;

const json = (value: unknown): string => JSON.stringify(value);

export function constStatement(
  name: string,
  initializer: Code,
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

export function typeAlias(
  name: string,
  type: string,
  doc?: string,
): StatementStructures {
  return {
    kind: StructureKind.TypeAlias,
    isExported: true,
    docs: doc ? [doc] : undefined,
    name,
    type,
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
 * The allowed intervals of every row of a head as a literal. Rows that follow one pattern, each
 * endpoint either fixed or moving with the row index (as `inputs, earlier` does), print as one
 * `scopeRows(n, (l) => ...)` call instead of a row per line.
 */
export function scopeLiteral(head: HeadIR): string {
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
    ? first.map((_, r) => [moves(r, 0), moves(r, 1)])
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
    const param = pattern.some(([a, b]) => a || b) ? "(l)" : "()";
    return `scopeRows(${rows.length}, ${param} => [${body.join(", ")}])`;
  }
  return `[\n${rows.map((r) => json(r)).join(",\n")}\n]`;
}

/** The constants, types and operator tables every module exports, then its head names and types. */
export function genTables(ir: SketchIR): StatementStructures[] {
  const base = ir.numInputs + ir.constants.length;
  return [
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
      ir.constants.length === 0 ? "readonly Constant[]" : undefined,
    ),
    constStatement(
      "OP_NAMES",
      `[${ir.operators.map((o) => json(o.name)).join(", ")}] as const`,
      "The operators, in the column order of the op head.",
    ),
    typeAlias("OpName", "(typeof OP_NAMES)[number]"),
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
      "LENGTH_PRIOR",
      numberLiteral(ir.lengthPrior),
      "lambda of Eq. 6: p(z) is proportional to exp(-lambda * length(z)).",
    ),
  ];
}

/** The head names and the types of z and of the sketch's description. */
export function genHeadTypes(ir: SketchIR): StatementStructures[] {
  return [
    typeAlias("HeadName", ir.heads.map((h) => json(h.name)).join(" | ")),
    typeAlias(
      "ProgramParams",
      "Readonly<Record<HeadName, tf.Tensor3D>>",
      "z: per head, probabilities [T, rows, choices], each row summing to 1 over its allowed choices.",
    ),
    typeAlias(
      "SketchInfo",
      "SketchInfoOf<OpName, HeadName>",
      "The static description of a sketch: the runtime's SketchInfo (runtime/sketch-module.ts).",
    ),
  ];
}

/** `operators` (plain scalar functions), `applyOperators` (tensor bodies) and `FORMULAS`. */
export function genOperators(ir: SketchIR): StatementStructures[] {
  const scalar = ir.operators.map((o) => ({
    key: o.name,
    value: `(${o.params.map((p) => `${p}: number`).join(", ")}): number => ${scalarExpr(o.body)}`,
    doc: o.bodyText,
  }));
  const tensorBodies = ir.operators.map((o) => {
    const body = tensorExpr(renameParams(o.body));
    return {
      value: readsParams(o.body) ? body : `tf.add(tf.zerosLike(x1), ${body})`,
      after: `${o.name}(${o.params.join(", ")}) = ${o.bodyText}`,
    };
  });
  const formulas = ir.operators.map((o) => ({
    key: o.name,
    value: `(${o.params.map((p) => `${p}: Fmt`).join(", ")}): Fmt => ${formulaExpr(o.body)}`,
  }));
  return [
    constStatement(
      "operators",
      objectLiteral(scalar),
      "The operators as plain scalar functions: exact evaluation and enumerative search use these.",
    ),
    {
      kind: StructureKind.Function,
      docs: [
        "Every operator body as TF.js ops over the argument tensors x1, x2, ..., in OP_NAMES order.",
      ],
      name: "applyOperators",
      parameters: Array.from({ length: ir.maxArity }, (_, i) => ({
        name: `x${i + 1}`,
        type: "tf.Tensor",
      })),
      returnType: "tf.Tensor[]",
      statements: [Writers.returnStatement(arrayLiteral(tensorBodies))],
    },
    constStatement(
      "FORMULAS",
      objectLiteral(formulas),
      "Each operator's body as a formula over its arguments' formulas.",
      false,
    ),
  ];
}

/** The call that builds the module's functions from its tables: `const compiled = factory({...})`. */
export function genCompiled(
  ir: SketchIR,
  factory: string,
  modelEntries: readonly Entry[],
  trailingEntries: readonly Entry[],
): StatementStructures {
  const heads = ir.heads.map((h) => ({
    value: inlineObject([
      { key: "name", value: json(h.name) },
      { key: "scope", value: scopeLiteral(h) },
    ]),
    before: h.doc,
  }));
  const spec = objectLiteral([
    { key: "format", value: String(MODULE_FORMAT) },
    { key: "name", value: json(ir.name) },
    { key: "source", value: json(ir.sourceFile) },
    { key: "numInputs", value: "NUM_INPUTS" },
    { key: "constants", value: "CONSTANTS" },
    { key: "ops", value: "OP_NAMES" },
    { key: "arity", value: "OP_ARITY" },
    { key: "cost", value: "OP_COST" },
    { key: "lengthPrior", value: "LENGTH_PRIOR" },
    ...modelEntries,
    { key: "heads", value: arrayLiteral(heads) },
    { key: "operators", value: "operators" },
    { key: "tensorOperators", value: "applyOperators" },
    { key: "formulas", value: "FORMULAS" },
    ...trailingEntries,
  ]);
  return constStatement(
    "compiled",
    call(`${factory}<OpName, HeadName>`, [spec]),
    `The functions of this module: the runtime library's ${factory} over the tables and bodies above.`,
    false,
  );
}

/** An exported function that calls the compiled one of the same name. */
export interface Wrapper {
  readonly name: string;
  readonly params: readonly (readonly [string, string])[];
  readonly returns: string;
  readonly doc: string;
}

export function genWrappers(
  wrappers: readonly Wrapper[],
): FunctionDeclarationStructure[] {
  return wrappers.map((w) => ({
    kind: StructureKind.Function,
    isExported: true,
    docs: [w.doc],
    name: w.name,
    parameters: w.params.map(([name, type]) => ({ name, type })),
    returnType: w.returns,
    statements: `return compiled.${w.name}(${w.params.map(([n]) => n).join(", ")});`,
  }));
}

/** The discrete helpers both models export, over the module's own `Program`. */
export function discreteWrappers(root: string): Wrapper[] {
  const p = [["program", "Program"]] as const;
  return [
    {
      name: "prune",
      params: p,
      returns: "Program",
      doc: `The program with every ${root === "root" ? "node and leaf that does not reach the root" : "line the output does not read"} set to null.`,
    },
    {
      name: "decode",
      params: [["z", "ProgramParams"]],
      returns: "Program[]",
      doc: "Argmax of every head (over allowed choices): one pruned discrete program per task.",
    },
    {
      name: "encode",
      params: p,
      returns: "ProgramParams",
      doc: "One-hot z ([1, rows, choices] per head) of a discrete program; a RangeError for one this sketch cannot express.",
    },
    {
      name: "evaluate",
      params: [...p, ["s", "readonly number[]"]],
      returns: "number",
      doc: "Exact evaluation of a discrete program on one symbol vector s (length V).",
    },
    {
      name: "evaluateMany",
      params: [...p, ["symbols", "ArrayLike<number>"], ["out", "Float64Array"]],
      returns: "Float64Array",
      doc: "`evaluate` on out.length symbol vectors at once (symbols [n * V], row-major), the same values, into out.",
    },
    {
      name: "length",
      params: p,
      returns: "number",
      doc: `Discrete length: the summed cost of the ${root === "root" ? "nodes that reach the root" : "lines the output reads"}.`,
    },
    {
      name: "formula",
      params: p,
      returns: "string",
      doc: "The output as one formula over the inputs, e.g. `(s1 + s3) * (s1 - s3)`.",
    },
    {
      name: "format",
      params: p,
      returns: "string",
      doc:
        root === "root"
          ? "The tree as nested operator calls, then the formula."
          : "Readable straight-line code of the lines the output reads (t1, t2, ..., y), then the formula.",
    },
  ];
}

/** `export const sketch`, then the soft interpreter and the length prior. */
export function interpreterWrappers(
  executeDoc: string,
  lengthDoc: string,
): StatementStructures[] {
  const z = ["z", "ProgramParams"] as const;
  return [
    constStatement(
      "sketch",
      "compiled.sketch",
      "What the runtime needs to know about this sketch: sizes, operators and the heads of z.",
      true,
      "SketchInfo",
    ),
    ...genWrappers([
      {
        name: "execute",
        params: [z, ["s", "tf.Tensor2D | tf.Tensor3D"]],
        returns: "tf.Tensor2D",
        doc: executeDoc,
      },
      {
        name: "expectedLength",
        params: [z],
        returns: "tf.Tensor1D",
        doc: lengthDoc,
      },
    ]),
  ];
}
