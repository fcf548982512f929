// ts-morph writer functions for the literals and loops of an emitted module: objects and arrays
// with a comment per entry, calls, and for loops. The emitter composes code from these and leaf
// strings (expressions, statements, type text) instead of joining code text.

import type { CodeBlockWriter, WriterFunction } from "ts-morph";

/** Code: a leaf string or a writer. */
export type Code = string | WriterFunction;

/** One entry of an object (with `key`) or array literal, with an optional comment. */
export interface Entry {
  readonly key?: string;
  readonly value: Code;
  /** A JSDoc comment before the entry. */
  readonly doc?: string;
  /** A line comment before the entry. */
  readonly before?: string;
  /** A line comment after the entry. */
  readonly after?: string;
}

function write(w: CodeBlockWriter, code: Code): void {
  if (typeof code === "string") w.write(code);
  else code(w);
}

function entries(open: string, close: string, list: readonly Entry[]) {
  return (w: CodeBlockWriter): void => {
    w.write(open).newLine();
    w.indent(() => {
      for (const e of list) {
        if (e.doc !== undefined) w.writeLine(`/** ${e.doc} */`);
        if (e.before !== undefined) w.writeLine(`// ${e.before}`);
        // Shorthand where the key is the value's name.
        if (e.key !== undefined && e.key !== e.value) w.write(`${e.key}: `);
        write(w, e.value);
        w.write(",");
        if (e.after !== undefined) w.write(` // ${e.after}`);
        w.newLine();
      }
    });
    w.write(close);
  };
}

/** `{ key: value, ... }`, one entry per line. */
export function objectLiteral(list: readonly Entry[]): WriterFunction {
  return entries("{", "}", list);
}

/** `{ key: value, ... }` on one line (prettier breaks it if it is too long). */
export function inlineObject(
  list: readonly { readonly key: string; readonly value: Code }[],
): WriterFunction {
  return (w) => {
    w.write("{ ");
    list.forEach((e, i) => {
      if (i > 0) w.write(", ");
      w.write(e.key === e.value ? e.key : `${e.key}: `);
      if (e.key !== e.value) write(w, e.value);
    });
    w.write(" }");
  };
}

/** `[value, ...]`, one entry per line. */
export function arrayLiteral(list: readonly Entry[]): WriterFunction {
  return entries("[", "]", list);
}

/** `callee(arg, ...)`. */
export function call(callee: string, args: readonly Code[]): WriterFunction {
  return (w) => {
    w.write(`${callee}(`);
    args.forEach((a, i) => {
      if (i > 0) w.write(", ");
      write(w, a);
    });
    w.write(")");
  };
}

/** `for (header) { statements }`. */
export function forLoop(
  header: string,
  statements: readonly string[],
): WriterFunction {
  return (w) => {
    w.write(`for (${header}) `).block(() => {
      for (const s of statements) w.writeLine(s);
    });
  };
}
