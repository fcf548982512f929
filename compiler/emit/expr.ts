// Operator bodies (IR expressions) printed in the three forms the emitted module needs: TF.js
// tensor ops (the soft interpreter), plain numbers (exact evaluation) and formula builders
// (printing). Each form is a leaf string of the emitted code; names are checked identifiers and
// numbers are printed from parsed values, so nothing from a sketch reaches the output verbatim.

import { assertNever } from "../ast.js";
import type { ExprIR } from "../ir.js";
import type { FunctionName } from "../functions.js";

/** A JS numeric literal for a finite number (parenthesised when negative). */
export function numberLiteral(value: number): string {
  if (!Number.isFinite(value))
    throw new Error(`internal error: non-finite literal ${value}`);
  const text = String(value);
  return value < 0 || Object.is(value, -0) ? `(${text})` : text;
}

function constComment(e: { constant: string | undefined }): string {
  return e.constant === undefined ? "" : ` /* ${e.constant} */`;
}

const TENSOR_FUNCTIONS: Record<FunctionName, string> = {
  min: "tf.minimum",
  max: "tf.maximum",
  abs: "tf.abs",
  exp: "tensor.exp",
  log: "tensor.log",
  sqrt: "tensor.sqrt",
  tanh: "tf.tanh",
  sigmoid: "tf.sigmoid",
  relu: "tf.relu",
  square: "tf.square",
};

const SCALAR_FUNCTIONS: Record<FunctionName, string> = {
  min: "Math.min",
  max: "Math.max",
  abs: "Math.abs",
  exp: "scalar.exp",
  log: "scalar.log",
  sqrt: "scalar.sqrt",
  tanh: "Math.tanh",
  sigmoid: "scalar.sigmoid",
  relu: "scalar.relu",
  square: "scalar.square",
};

const TENSOR_BINARY = {
  "+": "tf.add",
  "-": "tf.sub",
  "*": "tf.mul",
  "/": "tensor.div",
} as const;

/** The body as TF.js ops over tensors named after the parameters. */
export function tensorExpr(e: ExprIR): string {
  switch (e.kind) {
    case "param":
      return e.name;
    case "number":
      return numberLiteral(e.value) + constComment(e);
    case "neg":
      return `tf.neg(${tensorExpr(e.operand)})`;
    case "binary":
      return `${TENSOR_BINARY[e.op]}(${tensorExpr(e.left)}, ${tensorExpr(e.right)})`;
    case "call":
      return `${TENSOR_FUNCTIONS[e.fn]}(${e.args.map(tensorExpr).join(", ")})`;
    default:
      return assertNever(e);
  }
}

/** The body as plain arithmetic on numbers. */
export function scalarExpr(e: ExprIR): string {
  switch (e.kind) {
    case "param":
      return e.name;
    case "number":
      return numberLiteral(e.value) + constComment(e);
    case "neg":
      return `-(${scalarExpr(e.operand)})`;
    case "binary":
      return e.op === "/"
        ? `scalar.div(${scalarExpr(e.left)}, ${scalarExpr(e.right)})`
        : `(${scalarExpr(e.left)} ${e.op} ${scalarExpr(e.right)})`;
    case "call":
      return `${SCALAR_FUNCTIONS[e.fn]}(${e.args.map(scalarExpr).join(", ")})`;
    default:
      return assertNever(e);
  }
}

/** The body as calls to the formula printer, over `Fmt` values named after the parameters. */
export function formulaExpr(e: ExprIR): string {
  switch (e.kind) {
    case "param":
      return e.name;
    case "number":
      return e.constant === undefined
        ? `fmt.num(${numberLiteral(e.value)})`
        : `fmt.atom(${JSON.stringify(e.constant)})`;
    case "neg":
      return `fmt.neg(${formulaExpr(e.operand)})`;
    case "binary":
      return `fmt.bin(${formulaExpr(e.left)}, ${JSON.stringify(e.op)}, ${formulaExpr(e.right)})`;
    case "call":
      return `fmt.call(${JSON.stringify(e.fn)}, [${e.args.map(formulaExpr).join(", ")}])`;
    default:
      return assertNever(e);
  }
}

/** Whether the body reads any parameter (a body that does not must be broadcast to [T, B]). */
export function readsParams(e: ExprIR): boolean {
  switch (e.kind) {
    case "param":
      return true;
    case "number":
      return false;
    case "neg":
      return readsParams(e.operand);
    case "binary":
      return readsParams(e.left) || readsParams(e.right);
    case "call":
      return e.args.some(readsParams);
    default:
      return assertNever(e);
  }
}

/** The body with parameter i renamed to x{i+1}: the argument names of applyOperators and the
 * fused interpreter, which take the arguments positionally. */
export function renameParams(e: ExprIR): ExprIR {
  switch (e.kind) {
    case "param":
      return { ...e, name: `x${e.index + 1}` };
    case "number":
      return e;
    case "neg":
      return { ...e, operand: renameParams(e.operand) };
    case "binary":
      return { ...e, left: renameParams(e.left), right: renameParams(e.right) };
    case "call":
      return { ...e, args: e.args.map(renameParams) };
    default:
      return assertNever(e);
  }
}
