// Symbolic partial derivatives of operator bodies (IR -> derivative IR), so the fused interpreter
// can run its backward pass as plain arithmetic derived at compile time. Each rule follows the
// gradient TF.js's op-based `execute` gets from autodiff, clamps and tie-breaking included, so
// the two interpreters agree on gradients as well as values.

import { assertNever } from "./ast.js";
import type { ExprIR } from "./ir.js";
import type { SAFE } from "./functions.js";

/** Comparisons a derivative branches on. */
export type CompareOp = ">" | ">=" | "<=";

/**
 * A derivative expression. `primal` is a subexpression of the body, evaluated exactly as the
 * body evaluates it; `select` picks a branch, which is how the clamps of the safe functions and
 * the ties of min/max reach the derivative; `/` is plain division (it only appears where the
 * divisor is known to be non-zero, inside a `select` or over a constant).
 */
export type DerivIR =
  | { readonly kind: "primal"; readonly expr: ExprIR }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "safe"; readonly name: keyof typeof SAFE }
  | { readonly kind: "neg"; readonly operand: DerivIR }
  | {
      readonly kind: "binary";
      readonly op: "+" | "-" | "*" | "/";
      readonly left: DerivIR;
      readonly right: DerivIR;
    }
  | {
      readonly kind: "select";
      readonly test: {
        readonly op: CompareOp;
        readonly left: DerivIR;
        readonly right: DerivIR;
      };
      readonly then: DerivIR;
      readonly otherwise: DerivIR;
    };

// Smart constructors: they fold 0 and 1 so the printed derivatives stay short (d(a + b)/da is 1,
// not 1 + 0).

const num = (value: number): DerivIR => ({ kind: "number", value });
/** A subexpression of the body; the numbers 0 and 1 become plain numbers so they fold. */
function primal(expr: ExprIR): DerivIR {
  if (expr.kind === "number" && (expr.value === 0 || expr.value === 1)) {
    return num(expr.value);
  }
  return { kind: "primal", expr };
}
const safe = (name: keyof typeof SAFE): DerivIR => ({ kind: "safe", name });

function isNumber(d: DerivIR, value?: number): boolean {
  return d.kind === "number" && (value === undefined || d.value === value);
}

function neg(d: DerivIR): DerivIR {
  if (d.kind === "number") return num(d.value === 0 ? 0 : -d.value);
  if (d.kind === "neg") return d.operand;
  return { kind: "neg", operand: d };
}

function binary(
  op: "+" | "-" | "*" | "/",
  left: DerivIR,
  right: DerivIR,
): DerivIR {
  if (left.kind === "number" && right.kind === "number" && op !== "/") {
    const l = left.value;
    const r = right.value;
    return num(op === "+" ? l + r : op === "-" ? l - r : l * r);
  }
  switch (op) {
    case "+":
      if (isNumber(left, 0)) return right;
      if (isNumber(right, 0)) return left;
      break;
    case "-":
      if (isNumber(right, 0)) return left;
      if (isNumber(left, 0)) return neg(right);
      break;
    case "*":
      if (isNumber(left, 0) || isNumber(right, 0)) return num(0);
      if (isNumber(left, 1)) return right;
      if (isNumber(right, 1)) return left;
      if (isNumber(left, -1)) return neg(right);
      if (isNumber(right, -1)) return neg(left);
      break;
    case "/":
      if (isNumber(left, 0)) return num(0);
      if (isNumber(right, 1)) return left;
      break;
    default:
      return assertNever(op);
  }
  return { kind: "binary", op, left, right };
}

function select(
  op: CompareOp,
  left: DerivIR,
  right: DerivIR,
  then: DerivIR,
  otherwise: DerivIR,
): DerivIR {
  if (then.kind === "number" && otherwise.kind === "number") {
    if (then.value === otherwise.value) return then;
  }
  return { kind: "select", test: { op, left, right }, then, otherwise };
}

const call = (fn: "abs" | "exp" | "sqrt" | "tanh" | "sigmoid", arg: ExprIR) =>
  primal({ kind: "call", fn, args: [arg] });

/**
 * d(body)/d(parameter `param`) (0-based), with the same one-sided choices as the TF.js gradients
 * of the tensor form (see expr.ts and the emitted `tensor` functions):
 * - a / b is 0 where |b| < divEpsilon, so its derivative is 0 there (tf.where);
 * - exp(min(x, 30)), log(max(x, 1e-6)), sqrt(max(x, 1e-12)): 0 beyond the clamp; at the clamp
 *   itself tf.minimum / tf.maximum pass the gradient to x (their first argument);
 * - min / max: on ties the first argument gets the gradient (tf.minimum: a <= b; tf.maximum:
 *   a >= b);
 * - abs: tf.abs's gradient is step(x, -1), i.e. 1 for x > 0 and -1 for x <= 0;
 * - relu: step(x), i.e. 0 at x = 0.
 */
export function differentiate(body: ExprIR, param: number): DerivIR {
  const d = (e: ExprIR): DerivIR => differentiate(e, param);
  switch (body.kind) {
    case "param":
      return num(body.index === param ? 1 : 0);
    case "number":
      return num(0);
    case "neg":
      return neg(d(body.operand));
    case "binary": {
      const [u, v] = [body.left, body.right];
      const [du, dv] = [d(u), d(v)];
      switch (body.op) {
        case "+":
          return binary("+", du, dv);
        case "-":
          return binary("-", du, dv);
        case "*":
          return binary(
            "+",
            binary("*", du, primal(v)),
            binary("*", primal(u), dv),
          );
        case "/": {
          // d(u / v) = du / v - (u / v) * dv / v, in the safe region only.
          const quotient = binary(
            "-",
            binary("/", du, primal(v)),
            binary("/", binary("*", primal(body), dv), primal(v)),
          );
          return select(
            ">=",
            call("abs", v),
            safe("divEpsilon"),
            quotient,
            num(0),
          );
        }
        default:
          return assertNever(body.op);
      }
    }
    case "call":
      return differentiateCall(body, param);
    default:
      return assertNever(body);
  }
}

function differentiateCall(
  body: Extract<ExprIR, { kind: "call" }>,
  param: number,
): DerivIR {
  const [u, v] = body.args;
  const du = differentiate(u, param);
  // The chain rule, skipped (0) when the argument does not depend on the parameter.
  const chain = (outer: DerivIR): DerivIR => binary("*", outer, du);
  switch (body.fn) {
    case "min":
    case "max": {
      const dv = differentiate(v, param);
      const op = body.fn === "min" ? "<=" : ">=";
      return select(op, primal(u), primal(v), du, dv);
    }
    case "abs":
      // The sign times du, not a select of du and -du: du once keeps nested abs linear in size.
      return chain(select(">", primal(u), num(0), num(1), num(-1)));
    case "exp":
      return select(
        "<=",
        primal(u),
        safe("expCeiling"),
        chain(primal(body)),
        num(0),
      );
    case "log":
      return select(
        ">=",
        primal(u),
        safe("logFloor"),
        binary("/", du, primal(u)),
        num(0),
      );
    case "sqrt":
      return select(
        ">=",
        primal(u),
        safe("sqrtFloor"),
        binary("/", du, binary("*", num(2), call("sqrt", u))),
        num(0),
      );
    case "tanh":
      return chain(
        binary(
          "-",
          num(1),
          primal({ kind: "call", fn: "square", args: [body] }),
        ),
      );
    case "sigmoid":
      return chain(
        binary(
          "*",
          call("sigmoid", u),
          binary("-", num(1), call("sigmoid", u)),
        ),
      );
    case "relu":
      return select(">", primal(u), num(0), du, num(0));
    case "square":
      return chain(binary("*", num(2), primal(u)));
    default:
      return assertNever(body.fn);
  }
}

/** Whether the derivative is the constant 0 (the body does not read the parameter). */
export function isZero(d: DerivIR): boolean {
  return isNumber(d, 0);
}
