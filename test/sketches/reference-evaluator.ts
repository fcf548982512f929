// An exact evaluator written from docs/language.md over the compiler's IR, independent of the
// emitted module and of the runtime library: the differential tests check the module's
// `evaluate` and its soft interpreters against it, not against the module's own operators.

import type { ExprIR, SketchIR } from "../../compiler/ir.js";
import type { Program } from "./programs.js";

/** An operator body on numbers: the semantics of docs/language.md, clamps included. */
export function evalExpr(e: ExprIR, args: readonly number[]): number {
  const at = (x: ExprIR) => evalExpr(x, args);
  switch (e.kind) {
    case "param":
      return args[e.index];
    case "number":
      return e.value;
    case "neg":
      return -at(e.operand);
    case "binary": {
      const [a, b] = [at(e.left), at(e.right)];
      if (e.op === "+") return a + b;
      if (e.op === "-") return a - b;
      if (e.op === "*") return a * b;
      return Math.abs(b) < 1e-6 ? 0 : a / b; // safe division
    }
    case "call": {
      const [x, y] = e.args.map(at);
      const table = {
        min: () => Math.min(x, y),
        max: () => Math.max(x, y),
        abs: () => Math.abs(x),
        exp: () => Math.exp(Math.min(x, 30)),
        log: () => Math.log(Math.max(x, 1e-6)),
        sqrt: () => Math.sqrt(Math.max(x, 1e-12)),
        tanh: () => Math.tanh(x),
        sigmoid: () => 1 / (1 + Math.exp(-x)),
        relu: () => Math.max(x, 0),
        square: () => x * x,
      };
      return table[e.fn]();
    }
  }
}

/** A discrete program of the sketch on one symbol vector: lines in order, or a tree from its root. */
export function referenceEvaluate(
  ir: SketchIR,
  program: Program,
  s: readonly number[],
): number {
  const slots = [...s, ...ir.constants.map((c) => c.value)];
  const op = (name: string) => ir.operators.find((o) => o.name === name)!;
  const model = ir.model;
  if (model.kind === "straight" && "lines" in program) {
    const values = [...slots];
    for (const line of program.lines)
      values.push(
        line === null
          ? NaN
          : evalExpr(
              op(line.op).body,
              line.args.map((a) => values[a]),
            ),
      );
    return values[model.outputSlot];
  }
  if (model.kind !== "tree" || !("nodes" in program))
    throw new Error("the program does not fit the sketch's model");
  const visit = (n: number): number => {
    if (n >= model.numNodes) return slots[program.leaves[n - model.numNodes]!];
    const o = op(program.nodes[n]!);
    const args = o.params.map((_, i) => visit(n * model.branching + 1 + i));
    return evalExpr(o.body, args);
  };
  return visit(0);
}
