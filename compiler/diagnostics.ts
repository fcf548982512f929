// Diagnostics are a product feature: every user error has a stable code, one message template
// in the table below, and a span. They print like TypeScript's:
//   arith.sketch(12,7): error SK201: Unknown name 'c' in the body of operator 'add'.
// followed by the source line and a ~~~ underline.

import type { Span } from "./ast.js";

export type Severity = "error" | "warning";

/** Every message the compiler can print, keyed by code. `{0}`, `{1}`... are filled in order. */
export const MESSAGES = {
  SK101: { severity: "error", text: "Invalid character '{0}'." },
  SK102: { severity: "error", text: "Unterminated block comment." },
  SK103: { severity: "error", text: "{0}" },
  SK104: {
    severity: "error",
    text: "Expression nested too deeply (more than {0} parentheses and minuses).",
  },
  SK201: {
    severity: "error",
    text: "Unknown name '{0}' in the body of operator '{1}'.",
  },
  SK202: { severity: "error", text: "Duplicate operator '{0}'." },
  SK203: {
    severity: "error",
    text: "Duplicate parameter '{0}' in operator '{1}'.",
  },
  SK204: {
    severity: "error",
    text: "Unknown function '{0}'. Known functions: {1}.",
  },
  SK205: {
    severity: "error",
    text: "Function '{0}' takes {1} argument(s), but {2} were given.",
  },
  SK206: {
    severity: "error",
    text: "{0} must be a positive integer, but is {1}.",
  },
  SK207: {
    severity: "error",
    text: "{0} is {1}, which is too large (at most {2}).",
  },
  SK208: {
    severity: "error",
    text: "Empty scope: {0} can read no slot. Widen the scope or drop the line.",
  },
  SK209: { severity: "error", text: "Sketch '{0}' declares no operators." },
  SK210: {
    severity: "error",
    text: "'{0}' cannot be used as a name: it is {1}.",
  },
  SK211: { severity: "error", text: "'{0}' is already declared as {1}." },
  SK212: {
    severity: "error",
    text: "Operator '{0}' has {1} parameters; operators take 1 to {2}.",
  },
  SK213: { severity: "error", text: "Sketch '{0}' is missing {1}." },
  SK214: {
    severity: "error",
    text: "Duplicate {0}: it was already declared at line {1}.",
  },
  SK215: {
    severity: "error",
    text: "Output line {0} is out of range: the sketch has lines 1 to {1}.",
  },
  SK216: { severity: "error", text: "{0} is not valid in a {1} sketch; {2}." },
  SK217: {
    severity: "error",
    text: "{0} must be a finite number >= 0, but is {1}.",
  },
  SK219: {
    severity: "error",
    text: "'arg {0}' is out of range: the operators take at most {1} argument(s).",
  },
  SK220: { severity: "error", text: "Number '{0}' is not finite." },
  SK221: {
    severity: "warning",
    text: "Parameter '{0}' of operator '{1}' is never used.",
  },
  SK222: { severity: "warning", text: "Scope item '{0}' is listed twice." },
  SK223: {
    severity: "error",
    text: "The body of operator '{0}' is {1} operations deep (at most {2}).",
  },
  SK224: {
    severity: "error",
    text: "Operator '{0}' makes the bodies too large to compile (weight above {1}).",
  },
} as const satisfies Record<string, { severity: Severity; text: string }>;

export type DiagnosticCode = keyof typeof MESSAGES;

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly file: string;
  readonly span: Span;
}

/** Builds a diagnostic from the message table. */
export function createDiagnostic(
  file: string,
  span: Span,
  code: DiagnosticCode,
  ...args: readonly (string | number)[]
): Diagnostic {
  const { severity, text } = MESSAGES[code];
  const message = text.replace(/\{(\d+)\}/g, (_, i: string) =>
    String(args[Number(i)] ?? ""),
  );
  return { code, severity, message, file, span };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/**
 * Keeps one diagnostic at each source position (one error per position): the first error there,
 * or the first warning when there is no error, so a warning never hides an error.
 */
export function dedupeDiagnostics(
  diagnostics: readonly Diagnostic[],
): Diagnostic[] {
  const seen = new Set<number>();
  const out: Diagnostic[] = [];
  const rank = (d: Diagnostic) => (d.severity === "error" ? 0 : 1);
  for (const d of [...diagnostics].sort(
    (a, b) => a.span.start - b.span.start || rank(a) - rank(b),
  )) {
    if (seen.has(d.span.start)) continue;
    seen.add(d.span.start);
    out.push(d);
  }
  return out;
}

/** Where a line ends, as the lexer counts lines: `\n`, `\r\n` or a lone `\r`. */
export const LINE_BREAK = /\r\n?|\n/;

/**
 * `file(line,col): error SKnnn: message`, then the source line and a `~` underline
 * (clipped to the line) when the source text is given.
 */
export function formatDiagnostic(d: Diagnostic, source?: string): string {
  const head = `${d.file}(${d.span.line},${d.span.column}): ${d.severity} ${d.code}: ${d.message}`;
  if (source === undefined) return head;
  const lineText = source.split(LINE_BREAK)[d.span.line - 1] ?? "";
  const gutter = String(d.span.line);
  const width = Math.max(
    1,
    Math.min(d.span.end - d.span.start, lineText.length - d.span.column + 1),
  );
  const pad = " ".repeat(gutter.length);
  return [
    head,
    "",
    `${gutter} | ${lineText}`,
    `${pad} | ${" ".repeat(d.span.column - 1)}${"~".repeat(width)}`,
    "",
  ].join("\n");
}
