// What the fuzzer asserts about one input: the compiler's front end (parse, check, lower) returns
// diagnostics, each located inside the file and one per position, or an IR; it never throws. The
// emitter is run separately (`emitCase`) on a sample, since ts-morph and prettier are slow.

import { checkSketch } from "../../compiler/check.js";
import { compileSketch, type CompileResult } from "../../compiler/compile.js";
import { hasErrors, type Diagnostic } from "../../compiler/diagnostics.js";
import type { SketchIR } from "../../compiler/ir.js";
import { lowerSketch } from "../../compiler/lower.js";
import { parseSketch } from "../../compiler/parse.js";

export type Outcome =
  | {
      readonly kind: "diagnostics";
      readonly diagnostics: readonly Diagnostic[];
    }
  | {
      readonly kind: "ir";
      readonly ir: SketchIR;
      readonly diagnostics: readonly Diagnostic[];
    };

/** A broken promise of the compiler: an exception, or a diagnostic that is not where it says. */
export class FuzzFailure extends Error {}

/** The lines of a text as the lexer counts them (\n, \r\n and a lone \r each end a line). */
export function sourceLines(text: string): string[] {
  return text.split(/\r\n?|\n/);
}

/**
 * Every diagnostic has a 1-based line and column inside the file (the column may be one past
 * the end of its line, for errors at the end of the file), a span within the text, a message
 * with every placeholder filled, and no other diagnostic at the same position.
 */
export function validateDiagnostics(
  text: string,
  diagnostics: readonly Diagnostic[],
): void {
  const lines = sourceLines(text);
  const starts = new Set<number>();
  for (const d of diagnostics) {
    const { line, column, start, end } = d.span;
    const where = `${d.code} at ${line}:${column} (${start}..${end})`;
    if (!Number.isInteger(line) || line < 1 || line > lines.length)
      throw new FuzzFailure(`${where}: line outside the file`);
    if (
      !Number.isInteger(column) ||
      column < 1 ||
      column > lines[line - 1].length + 1
    )
      throw new FuzzFailure(`${where}: column outside line ${line}`);
    if (!(
      start >= 0 &&
      start <= text.length &&
      end >= start &&
      end <= text.length + 1
    ))
      throw new FuzzFailure(`${where}: span outside the text`);
    if (
      d.message.length === 0 ||
      /\{\d\}|(?<!')\b(?:undefined|NaN)\b(?!')/.test(d.message)
    )
      throw new FuzzFailure(`${where}: message '${d.message}'`);
    if (starts.has(start))
      throw new FuzzFailure(`${where}: a second diagnostic at this position`);
    starts.add(start);
  }
}

/** Parse, check and lower, as `compileSketch` does, without the emitter. */
export function runFrontEnd(text: string, file = "fuzz.sketch"): Outcome {
  const parsed = parseSketch(text, file);
  if (!parsed.ast) {
    validateDiagnostics(text, parsed.diagnostics);
    if (!hasErrors(parsed.diagnostics))
      throw new FuzzFailure("no AST and no error");
    return { kind: "diagnostics", diagnostics: parsed.diagnostics };
  }
  const checked = checkSketch(parsed.ast, file);
  validateDiagnostics(text, checked.diagnostics);
  if (hasErrors(checked.diagnostics))
    return { kind: "diagnostics", diagnostics: checked.diagnostics };
  const ir = lowerSketch(checked.ast, file, text);
  return { kind: "ir", ir, diagnostics: checked.diagnostics };
}

/** The whole pipeline on an input the front end accepted: it must yield a module. */
export async function emitCase(
  text: string,
  file = "fuzz.sketch",
): Promise<CompileResult & { typescript: string }> {
  const result = await compileSketch(text, file);
  if (result.typescript === undefined || hasErrors(result.diagnostics))
    throw new FuzzFailure(
      "the front end accepted it but compileSketch gave no module",
    );
  return { ...result, typescript: result.typescript };
}

/** The size of a lowered program, for keeping the emitted sample fast: lines or tree nodes. */
export function programSize(ir: SketchIR): number {
  return ir.model.kind === "straight"
    ? ir.model.lines
    : ir.model.numNodes + ir.model.numLeaves;
}
