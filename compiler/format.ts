// `sketchc fmt` as a pure function: text -> AST -> canonical text (compiler/print.ts), comments
// kept. A pipeline of its own beside compile.ts's: formatting needs only the parser and printer.

import type { Diagnostic } from "./diagnostics.js";
import { parseSketch } from "./parse.js";
import { printSketch } from "./print.js";

/**
 * Parses and prints in the canonical layout, comments kept (what `sketchc fmt` runs). Only a parse
 * is needed: a text with syntax errors gets its diagnostics and no `formatted` text; semantic
 * errors are `checkSource`'s and do not stop the formatter.
 */
export function formatSource(
  text: string,
  file: string,
): { diagnostics: readonly Diagnostic[]; formatted?: string } {
  const parsed = parseSketch(text, file);
  if (!parsed.ast) return { diagnostics: parsed.diagnostics };
  const formatted = printSketch(parsed.ast, {
    source: text,
    comments: parsed.comments,
  });
  return { diagnostics: [], formatted };
}
