// The language server's answers, as pure functions of a document's text: diagnostics (the
// compiler's own), hover, definition, references, rename, completion, document symbols and
// formatting.
// lsp/server.ts only routes JSON-RPC requests here; test/lsp/ drives both.

import {
  CompletionItemKind,
  DiagnosticSeverity,
  DiagnosticTag,
  MarkupKind,
  SymbolKind,
  type CompletionItem,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbol,
  type Hover,
  type Location,
  type Position,
  type Range,
  type TextEdit,
  type WorkspaceEdit,
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { reservedReason } from "../compiler/check.js";
import { checkSource } from "../compiler/compile.js";
import { formatSource } from "../compiler/format.js";
import { FUNCTIONS, isFunctionName } from "../compiler/functions.js";
import type { Diagnostic } from "../compiler/diagnostics.js";
import {
  occurrences,
  symbolAt,
  type Declaration,
  type Item,
  type OperatorItem,
  type SketchDocument,
} from "./document.js";

/** A text document and its index, what every request below reads. */
export interface Analyzed {
  readonly doc: TextDocument;
  readonly index: SketchDocument;
}

function rangeOf(doc: TextDocument, start: number, end: number): Range {
  return { start: doc.positionAt(start), end: doc.positionAt(end) };
}

/** The file name diagnostics carry: the last path segment of the document's URI. */
export function fileOf(uri: string): string {
  return decodeURIComponent(uri.split("/").pop() ?? uri);
}

/** The compiler's diagnostics (`sketchc check`) as LSP diagnostics, codes and severities kept. */
export function diagnosticsOf(doc: TextDocument): LspDiagnostic[] {
  const { diagnostics } = checkSource(doc.getText(), fileOf(doc.uri));
  return diagnostics.map((d: Diagnostic) => ({
    range: rangeOf(doc, d.span.start, d.span.end),
    severity:
      d.severity === "error"
        ? DiagnosticSeverity.Error
        : DiagnosticSeverity.Warning,
    code: d.code,
    source: "sketchc",
    message: d.message,
    ...(d.code === "SK221" ? { tags: [DiagnosticTag.Unnecessary] } : {}),
  }));
}

/** `op add(a, b) = a + b` as written, for hovers and symbol details. */
function signature(op: OperatorItem): string {
  const params = op.params.map((p) => p.name).join(", ");
  return `op ${op.name?.name ?? "?"}(${params}) = ${op.bodyText}`;
}

function sketchBlock(code: string): string {
  return "```sketch\n" + code + "\n```";
}

function numInputs(index: SketchDocument): number | undefined {
  const inputs = index.items.find((i) => i.kind === "inputs");
  const n = inputs?.kind === "inputs" ? Number(inputs.detail) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

const operatorsOf = (index: SketchDocument) =>
  index.items.filter((i): i is OperatorItem => i.kind === "op");
const constantsOf = (index: SketchDocument) =>
  index.items.filter((i) => i.kind === "const");

function hoverText(index: SketchDocument, d: Declaration): string {
  const item = d.item;
  switch (d.kind) {
    case "operator": {
      const op = item as OperatorItem;
      const all = operatorsOf(index);
      const arity = op.params.length;
      const cost =
        op.cost === undefined ? "cost 1 (the default)" : `cost ${op.cost}`;
      return [
        sketchBlock(signature(op)),
        `Operator ${all.indexOf(op) + 1} of ${all.length}: ` +
          `${arity} parameter${arity === 1 ? "" : "s"}, ${cost}.`,
      ].join("\n\n");
    }
    case "constant": {
      const k = item?.kind === "const" ? item : undefined;
      const inputs = numInputs(index);
      const position = constantsOf(index).indexOf(k!);
      const slot =
        inputs === undefined
          ? ""
          : ` Slot ${inputs + position}: after the ${inputs} input${inputs === 1 ? "" : "s"}, ` +
            "so an argument whose scope lists `consts` can read it.";
      return `${sketchBlock(`const ${d.name} = ${k?.value ?? ""}`)}\n\nConstant.${slot}`;
    }
    case "parameter": {
      const op = item as OperatorItem;
      const position = op.params.indexOf(d) + 1;
      return (
        `${sketchBlock(signature(op))}\n\n` +
        `Parameter \`${d.name}\`: argument ${position} of \`${op.name?.name ?? "?"}\`.`
      );
    }
    case "sketch": {
      const model = index.items.find(
        (i) => i.kind === "straight" || i.kind === "tree",
      );
      const parts = [
        numInputs(index) === undefined
          ? undefined
          : `${numInputs(index)} inputs`,
        `${constantsOf(index).length} constants`,
        `${operatorsOf(index).length} operators`,
        model?.kind === "straight" ? `straight lines ${model.size}` : undefined,
        model?.kind === "tree" ? `tree depth ${model.size}` : undefined,
      ];
      return `${sketchBlock(`sketch ${d.name}`)}\n\n${parts.filter(Boolean).join(", ")}.`;
    }
  }
}

const FUNCTION_PARAMS: Record<number, string> = { 1: "x", 2: "a, b" };

function describeFunction(name: keyof typeof FUNCTIONS): string {
  const fn = FUNCTIONS[name];
  return `${sketchBlock(`${name}(${FUNCTION_PARAMS[fn.arity]})`)}\n\nBuilt-in function: ${fn.doc}.`;
}

/** Hover on a declared or used name (operator, constant, parameter, sketch) or a built-in call. */
export function hoverAt(
  { doc, index }: Analyzed,
  position: Position,
): Hover | null {
  const offset = doc.offsetAt(position);
  const found = symbolAt(index, offset);
  if (found) {
    return {
      contents: {
        kind: MarkupKind.Markdown,
        value: hoverText(index, found.declaration),
      },
      range: rangeOf(doc, found.start, found.end),
    };
  }
  const call = index.calls.find((c) => c.start <= offset && offset <= c.end);
  if (call && isFunctionName(call.name)) {
    return {
      contents: {
        kind: MarkupKind.Markdown,
        value: describeFunction(call.name),
      },
      range: rangeOf(doc, call.start, call.end),
    };
  }
  return null;
}

/** Where the name under the cursor is declared. */
export function definitionAt(
  { doc, index }: Analyzed,
  position: Position,
): Location | null {
  const found = symbolAt(index, doc.offsetAt(position));
  if (!found) return null;
  const d = found.declaration;
  return { uri: doc.uri, range: rangeOf(doc, d.start, d.end) };
}

/** Every place the name under the cursor is written (its declaration first, if asked for). */
export function referencesAt(
  { doc, index }: Analyzed,
  position: Position,
  includeDeclaration: boolean,
): Location[] {
  const found = symbolAt(index, doc.offsetAt(position));
  if (!found) return [];
  const all = occurrences(index, found.declaration);
  return (includeDeclaration ? all : all.slice(1)).map((r) => ({
    uri: doc.uri,
    range: rangeOf(doc, r.start, r.end),
  }));
}

/** The name under the cursor, if it is one the sketch declares (what rename would change). */
export function renameRangeAt(
  { doc, index }: Analyzed,
  position: Position,
): Range | null {
  const found = symbolAt(index, doc.offsetAt(position));
  return found ? rangeOf(doc, found.start, found.end) : null;
}

/**
 * Renames the name under the cursor everywhere it is written, or says why `newName` cannot be a
 * name (the checker's SK210 rule). A clash with another declaration is left to the diagnostics.
 */
export function renameAt(
  { doc, index }: Analyzed,
  position: Position,
  newName: string,
): WorkspaceEdit | { readonly error: string } | null {
  const found = symbolAt(index, doc.offsetAt(position));
  if (!found) return null;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(newName))
    return { error: `'${newName}' is not a name: [A-Za-z_][A-Za-z0-9_]*` };
  const why = reservedReason(newName);
  if (why !== undefined)
    return { error: `'${newName}' cannot be used as a name: it is ${why}` };
  const edits = occurrences(index, found.declaration).map((r) => ({
    range: rangeOf(doc, r.start, r.end),
    newText: newName,
  }));
  return { changes: { [doc.uri]: edits } };
}

const keyword = (label: string, detail?: string): CompletionItem => ({
  label,
  kind: CompletionItemKind.Keyword,
  ...(detail ? { detail } : {}),
});

const ITEM_KEYWORDS = [
  keyword("inputs", "inputs V; the number of grounded symbols"),
  keyword("const", "const NAME = VALUE;"),
  keyword("op", "op NAME(a, b) = BODY cost C;"),
  keyword("straight", "straight lines L { ... } straight-line code"),
  keyword("tree", "tree depth D { ... } a syntax tree"),
  keyword("output", "output last | root | line N;"),
  keyword("prior", "prior length λ; the weight of the length prior"),
];

/** What the cursor is in: which words can come next there. */
type Context =
  | { readonly kind: "none" }
  | { readonly kind: "top" }
  | { readonly kind: "item" }
  | { readonly kind: "body"; readonly op: OperatorItem }
  | { readonly kind: "scopeTarget"; readonly tree: boolean }
  | { readonly kind: "scopeItem"; readonly tree: boolean }
  | { readonly kind: "words"; readonly words: readonly string[] };

function itemAt(index: SketchDocument, offset: number): Item | undefined {
  return index.items.find(
    (i) =>
      i.start < offset && (offset < i.end || (!i.closed && offset <= i.end)),
  );
}

function contextAt(index: SketchDocument, offset: number): Context {
  const inComment = index.comments.some(
    (c) => c.start < offset && offset < c.end,
  );
  const lineCommentEnd = index.comments.some(
    (c) => c.end === offset && index.text.startsWith("//", c.start),
  );
  if (inComment || lineCommentEnd) return { kind: "none" };
  const item = itemAt(index, offset);
  if (!item) {
    if (!index.sketch) return { kind: "top" };
    const { end, closed } = index.sketchRange;
    const inside =
      index.sketch.end < offset && (offset < end || (!closed && offset <= end));
    return inside ? { kind: "item" } : { kind: "none" };
  }
  const before = item.tokens.filter((t) => t.endOffset! + 1 <= offset);
  switch (item.kind) {
    case "op":
      return item.body && offset >= item.body.start && offset <= item.body.end
        ? { kind: "body", op: item }
        : { kind: "none" };
    case "straight":
    case "tree": {
      const tree = item.kind === "tree";
      if (!item.block || offset < item.block.start || offset > item.block.end)
        return before.length === 1
          ? { kind: "words", words: [tree ? "depth" : "lines"] }
          : { kind: "none" };
      // In a scope declaration: before its ':' come targets, after it the scope items.
      let open = before.length - 1;
      while (
        open >= 0 &&
        before[open].image !== "{" &&
        before[open].image !== ";"
      )
        open--;
      return before.slice(open + 1).some((t) => t.image === ":")
        ? { kind: "scopeItem", tree }
        : { kind: "scopeTarget", tree };
    }
    case "output":
      return before.length === 1
        ? { kind: "words", words: ["last", "root", "line"] }
        : { kind: "none" };
    case "prior":
      return before.length === 1
        ? { kind: "words", words: ["length"] }
        : { kind: "none" };
    case "const":
    case "inputs":
      return { kind: "none" };
  }
}

/**
 * Completion by context: item keywords in the sketch body; parameters, constants and built-in
 * functions in an operator body; scope targets and items in a model block. Operators themselves
 * are never offered: no place in the language reads an operator's name (bodies call built-ins).
 */
export function completionsAt(
  { doc, index }: Analyzed,
  position: Position,
): CompletionItem[] {
  const context = contextAt(index, doc.offsetAt(position));
  switch (context.kind) {
    case "none":
      return [];
    case "top":
      return [keyword("sketch", "sketch NAME { ... }")];
    case "item":
      return ITEM_KEYWORDS;
    case "body": {
      const params = context.op.params.map((p): CompletionItem => ({
        label: p.name,
        kind: CompletionItemKind.Variable,
        detail: `parameter of ${context.op.name?.name ?? "this operator"}`,
      }));
      const constants = constantsOf(index).flatMap((k): CompletionItem[] =>
        k.kind === "const" && k.name
          ? [
              {
                label: k.name.name,
                kind: CompletionItemKind.Constant,
                detail: `const = ${k.value}`,
              },
            ]
          : [],
      );
      const functions = Object.entries(FUNCTIONS).map(
        ([name, fn]): CompletionItem => ({
          label: name,
          kind: CompletionItemKind.Function,
          detail: `${name}(${FUNCTION_PARAMS[fn.arity]})`,
          documentation: fn.doc,
        }),
      );
      return [
        ...params,
        ...constants,
        ...functions,
        keyword("cost", "cost C: the operator's length"),
      ];
    }
    case "scopeTarget":
      return context.tree
        ? [keyword("leaves", "leaves: ...; what a leaf may read")]
        : [
            keyword("args", "args: ...; the scope of every argument"),
            keyword("arg", "arg N: ...; the scope of argument N"),
          ];
    case "scopeItem":
      return [
        keyword("inputs", "the inputs"),
        keyword("consts", "the constants"),
        ...(context.tree
          ? []
          : [
              keyword("earlier", "every earlier line"),
              keyword("last", "last k: the k slots before"),
            ]),
      ];
    case "words":
      return context.words.map((w) => keyword(w));
  }
}

function symbolOf(doc: TextDocument, item: Item): DocumentSymbol {
  const range = rangeOf(doc, item.start, item.end);
  const head = item.tokens[0];
  const keywordRange = rangeOf(doc, head.startOffset, head.endOffset! + 1);
  switch (item.kind) {
    case "op":
      return {
        name: item.name?.name ?? "op",
        detail: `(${item.params.map((p) => p.name).join(", ")}) = ${item.bodyText}`,
        kind: SymbolKind.Function,
        range,
        selectionRange: item.name
          ? rangeOf(doc, item.name.start, item.name.end)
          : keywordRange,
        children: item.params.map((p) => ({
          name: p.name,
          kind: SymbolKind.Variable,
          range: rangeOf(doc, p.start, p.end),
          selectionRange: rangeOf(doc, p.start, p.end),
        })),
      };
    case "const":
      return {
        name: item.name?.name ?? "const",
        detail: `= ${item.value}`,
        kind: SymbolKind.Constant,
        range,
        selectionRange: item.name
          ? rangeOf(doc, item.name.start, item.name.end)
          : keywordRange,
      };
    case "straight":
    case "tree":
      return {
        name: `${item.kind} ${item.kind === "straight" ? "lines" : "depth"} ${item.size}`,
        kind: SymbolKind.Struct,
        range,
        selectionRange: keywordRange,
      };
    case "inputs":
    case "output":
    case "prior":
      return {
        name: item.kind,
        detail: item.detail,
        kind: SymbolKind.Property,
        range,
        selectionRange: keywordRange,
      };
  }
}

/** The outline: the sketch, holding its items in order (operators holding their parameters). */
export function documentSymbols({ doc, index }: Analyzed): DocumentSymbol[] {
  const items = index.items.map((i) => symbolOf(doc, i));
  if (!index.sketch) return items;
  const s = index.sketch;
  return [
    {
      name: s.name,
      detail: "sketch",
      kind: SymbolKind.Module,
      range: rangeOf(doc, index.sketchRange.start, index.sketchRange.end),
      selectionRange: rangeOf(doc, s.start, s.end),
      children: items,
    },
  ];
}

/** One edit to the canonical layout (`sketchc fmt`); none when the text has syntax errors. */
export function formatDocument({ doc }: Analyzed): TextEdit[] {
  const text = doc.getText();
  const { formatted } = formatSource(text, fileOf(doc.uri));
  if (formatted === undefined || formatted === text) return [];
  return [{ range: rangeOf(doc, 0, text.length), newText: formatted }];
}
