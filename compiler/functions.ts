// The built-in functions an operator body may call. One table, read by the checker (names,
// arities) and by the emitter (tensor, scalar and formula forms). "Safe" functions clamp their
// argument so neither values nor gradients can become NaN or Inf during training.

export interface BuiltinFunction {
  readonly arity: number;
  readonly doc: string;
}

export const FUNCTIONS = {
  min: { arity: 2, doc: "the smaller of two values" },
  max: { arity: 2, doc: "the larger of two values" },
  abs: { arity: 1, doc: "absolute value" },
  exp: {
    arity: 1,
    doc: "e^x, with x clamped to at most 30 so it cannot overflow",
  },
  log: { arity: 1, doc: "natural log of max(x, 1e-6): finite for x <= 0" },
  sqrt: {
    arity: 1,
    doc: "square root of max(x, 1e-12): finite value and gradient at 0",
  },
  tanh: { arity: 1, doc: "hyperbolic tangent" },
  sigmoid: { arity: 1, doc: "1 / (1 + e^-x)" },
  relu: { arity: 1, doc: "max(x, 0)" },
  square: { arity: 1, doc: "x * x" },
} as const satisfies Record<string, BuiltinFunction>;

export type FunctionName = keyof typeof FUNCTIONS;

export function isFunctionName(name: string): name is FunctionName {
  return Object.prototype.hasOwnProperty.call(FUNCTIONS, name);
}

/** Clamp constants shared by the tensor and scalar forms: the runtime library's, which modules import. */
export { SAFE } from "../runtime/module-runtime/safe.js";
