// Stage 1: text -> AST. Lexer and parser errors become diagnostics (several per run, thanks to
// Chevrotain's error recovery); the AST is built only when the text parsed cleanly. The comments
// come back beside the AST, for the printer (compiler/print.ts) and the language server.

import type { IRecognitionException, IToken } from "chevrotain";
import { MAX_NESTING, parseCst } from "../grammar/parser.js";
import type { Comment, SketchFile, Span } from "./ast.js";
import {
  createDiagnostic,
  dedupeDiagnostics,
  LINE_BREAK,
  type Diagnostic,
} from "./diagnostics.js";
import { toAst } from "./to-ast.js";

export interface ParseResult {
  readonly ast: SketchFile | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** Every comment of the text, in source order, even when the text has errors. */
  readonly comments: readonly Comment[];
}

function describeToken(t: IToken): string {
  return t.tokenType.name === "EOF" ? "end of file" : `'${t.image}'`;
}

/** Rewrites Chevrotain's recognition errors into one short sentence each. */
function syntaxMessage(e: IRecognitionException, text: string): string {
  const found = describeToken(e.token);
  const expected = /--> (.*?) <-- but found/.exec(e.message);
  if (e.name === "MismatchedTokenException" && expected) {
    return `Expected ${expected[1]} but found ${found}.`;
  }
  if (e.name === "NotAllInputParsedException") {
    return `Unexpected ${found} after the end of the sketch.`;
  }
  if (e.name === "EarlyExitException" || e.name === "NoViableAltException") {
    const where = e.context.ruleStack.at(-1) ?? "input";
    return `Unexpected ${found} in ${ruleDescription(where)}.`;
  }
  void text;
  return `Unexpected ${found}.`;
}

function ruleDescription(rule: string): string {
  const table: Record<string, string> = {
    item: "the sketch body (expected inputs, const, op, straight, tree, output or prior)",
    scopeDecl: "a scope (expected 'args', 'arg N' or 'leaves')",
    scopeItem: "a scope (expected inputs, consts, earlier or last N)",
    outputDecl: "an output declaration (expected last, root or line N)",
    primary: "an expression",
    unary: "an expression",
  };
  return table[rule] ?? rule;
}

function errorSpan(t: IToken, textLength: number): Span {
  if (Number.isNaN(t.startOffset) || t.tokenType.name === "EOF") {
    return { start: textLength, end: textLength + 1, line: NaN, column: NaN };
  }
  return {
    start: t.startOffset,
    end: t.endOffset! + 1,
    line: t.startLine!,
    column: t.startColumn!,
  };
}

/** Position just past the last character, for errors at end of file. */
function endOfText(text: string): Span {
  const lines = text.split(LINE_BREAK);
  const line = lines.length;
  const column = lines[lines.length - 1].length + 1;
  return { start: text.length, end: text.length + 1, line, column };
}

function commentOf(t: IToken): Comment {
  return {
    kind: t.tokenType.name === "LineComment" ? "LineComment" : "BlockComment",
    text: t.image,
    span: {
      start: t.startOffset,
      end: t.endOffset! + 1,
      line: t.startLine!,
      column: t.startColumn!,
    },
  };
}

/** Parses sketch source text. Never throws on user input. */
export function parseSketch(text: string, file: string): ParseResult {
  const out = parseCst(text);
  const comments = out.comments.map(commentOf);
  const diagnostics: Diagnostic[] = [];
  for (const e of out.lexErrors) {
    const ch = text.slice(e.offset, e.offset + e.length);
    const span = {
      start: e.offset,
      end: e.offset + e.length,
      line: e.line!,
      column: e.column!,
    };
    diagnostics.push(
      createDiagnostic(file, span, "SK101", JSON.stringify(ch).slice(1, -1)),
    );
  }
  for (const c of out.unterminatedComments) {
    const span = {
      start: c.offset,
      end: c.offset + 2,
      line: c.line,
      column: c.column,
    };
    diagnostics.push(createDiagnostic(file, span, "SK102"));
  }
  if (out.tooDeep !== undefined) {
    diagnostics.push(
      createDiagnostic(
        file,
        errorSpan(out.tooDeep, text.length),
        "SK104",
        MAX_NESTING,
      ),
    );
  }
  for (const e of out.parseErrors) {
    let span = errorSpan(e.token, text.length);
    if (Number.isNaN(span.line)) span = endOfText(text);
    diagnostics.push(
      createDiagnostic(file, span, "SK103", syntaxMessage(e, text)),
    );
  }
  if (diagnostics.length > 0 || out.cst === undefined) {
    return {
      ast: undefined,
      diagnostics: dedupeDiagnostics(diagnostics),
      comments,
    };
  }
  return { ast: toAst(out.cst), diagnostics: [], comments };
}
