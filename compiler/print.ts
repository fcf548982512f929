// AST (and the comments beside it) -> sketch text in the one canonical layout `sketchc fmt` writes:
// one item per line, two-space indent, a model block on one line when it has at most one scope,
// only the parentheses precedence needs. parse(print(ast)) is ast again, spans aside.

import * as A from "./ast.js";

const INDENT = "  ";

/** What the printer needs to put comments back: the text they came from, and the comments. */
export interface PrintTrivia {
  readonly source: string;
  readonly comments: readonly A.Comment[];
}

/** Binding strength: `+ -` 1, `* /` 2, unary minus 3, atoms 4 (docs/language.md, `op`). */
function precedence(e: A.Expr): number {
  switch (e.kind) {
    case "BinaryExpr":
      return e.op === "+" || e.op === "-" ? 1 : 2;
    case "UnaryExpr":
      return 3;
    case "NumberExpr":
    case "NameExpr":
    case "CallExpr":
      return 4;
    default:
      return A.assertNever(e);
  }
}

function wrap(e: A.Expr, parenthesize: boolean): string {
  return parenthesize ? `(${printExpr(e)})` : printExpr(e);
}

/**
 * An expression with the fewest parentheses that parse back to the same tree: operators are
 * left-associative, so a right operand of equal precedence keeps its parentheses (`a - (b - c)`).
 */
export function printExpr(e: A.Expr): string {
  switch (e.kind) {
    case "NumberExpr":
      return e.text;
    case "NameExpr":
      return e.name;
    case "UnaryExpr":
      return `-${wrap(e.operand, precedence(e.operand) < 3)}`;
    case "BinaryExpr": {
      const p = precedence(e);
      const left = wrap(e.left, precedence(e.left) < p);
      return `${left} ${e.op} ${wrap(e.right, precedence(e.right) <= p)}`;
    }
    case "CallExpr":
      return `${e.callee.text}(${e.args.map(printExpr).join(", ")})`;
    default:
      return A.assertNever(e);
  }
}

function printScopeItem(item: A.ScopeItem): string {
  return item.kind === "last" ? `last ${item.count.text}` : item.kind;
}

/** `args: inputs, earlier;`, `arg 2: inputs;` or `leaves: inputs;`. */
export function printScopeDecl(scope: A.ScopeDecl): string {
  const t = scope.target;
  const target = t.kind === "arg" ? `arg ${t.index.text}` : t.kind;
  return `${target}: ${scope.items.map(printScopeItem).join(", ")};`;
}

/** `op add(a, b) = a + b cost 2;` */
export function printOpDecl(op: A.OpDecl): string {
  const params = op.params.map((p) => p.text).join(", ");
  const cost = op.cost ? ` cost ${op.cost.text}` : "";
  return `op ${op.name.text}(${params}) = ${printExpr(op.body)}${cost};`;
}

function modelHeader(model: A.StraightDecl | A.TreeDecl): string {
  return model.kind === "StraightDecl"
    ? `straight lines ${model.lines.text}`
    : `tree depth ${model.depth.text}`;
}

/** An item that is one line whatever its comments (all but the model). */
function printLineItem(
  item: Exclude<A.Item, A.StraightDecl | A.TreeDecl>,
): string {
  switch (item.kind) {
    case "InputsDecl":
      return `inputs ${item.count.text};`;
    case "ConstDecl":
      return `const ${item.name.text} = ${item.value.text};`;
    case "OpDecl":
      return printOpDecl(item);
    case "OutputDecl": {
      const t = item.target;
      return t.kind === "line"
        ? `output line ${t.line.text};`
        : `output ${t.kind};`;
    }
    case "PriorDecl":
      return `prior length ${item.weight.text};`;
    default:
      return A.assertNever(item);
  }
}

/** Whether `source` has a blank line between two offsets. */
function hasBlankLine(source: string, from: number, to: number): boolean {
  return from < to && /\n[ \t\r]*\n/.test(source.slice(from, to));
}

/** Whether `source` has a line break between two offsets (none when `to <= from`). */
function hasLineBreak(source: string, from: number, to: number): boolean {
  return from < to && /[\n\r]/.test(source.slice(from, to));
}

function commentText(c: A.Comment): string {
  return c.kind === "LineComment" ? c.text.trimEnd() : c.text;
}

/** A node of a block: its span, and its lines given the comments inside its span. */
interface Child {
  readonly span: A.Span;
  /** Whether comments inside the span move out, above the node (all but the model blocks). */
  readonly hoists: boolean;
  print(indent: string, inner: readonly A.Comment[]): string[];
}

/**
 * The lines of a block's children with the comments among them, in source order. A comment on the
 * line where the previous node (or the block's header) ends stays at the end of that line; any
 * other comment gets its own line, and a comment inside a node that cannot hold it moves above
 * the node. One blank line is kept where the source had blank lines, never at the block's start.
 * `lines` holds the block's header line, if any; `anchor` is where the header ends in the source.
 */
function printBlock(
  lines: string[],
  children: readonly Child[],
  comments: readonly A.Comment[],
  source: string,
  indent: string,
  anchor: number | undefined,
): string[] {
  let prevEnd = anchor;
  let endsInLineComment = false;
  let atStart = true;
  let next = 0;
  const newLine = (text: string, start: number) => {
    if (
      !atStart &&
      prevEnd !== undefined &&
      hasBlankLine(source, prevEnd, start)
    )
      lines.push("");
    lines.push(indent + text);
    atStart = false;
  };
  const place = (c: A.Comment) => {
    const text = commentText(c);
    const sameLine =
      prevEnd !== undefined &&
      lines.length > 0 &&
      !endsInLineComment &&
      !hasLineBreak(source, prevEnd, c.span.start);
    if (sameLine) lines[lines.length - 1] += ` ${text}`;
    else newLine(text, c.span.start);
    endsInLineComment = c.kind === "LineComment";
    prevEnd = c.span.end;
  };
  for (const child of children) {
    while (
      next < comments.length &&
      comments[next].span.start < child.span.start
    )
      place(comments[next++]);
    const inner: A.Comment[] = [];
    while (next < comments.length && comments[next].span.start < child.span.end)
      inner.push(comments[next++]);
    const [first, ...rest] = child.print(indent, child.hoists ? [] : inner);
    if (child.hoists && inner.length > 0) {
      newLine(commentText(inner[0]), child.span.start);
      for (const c of inner.slice(1)) lines.push(indent + commentText(c));
      lines.push(first);
    } else {
      newLine(first.slice(indent.length), child.span.start);
    }
    lines.push(...rest);
    prevEnd = child.span.end;
    endsInLineComment = false;
  }
  while (next < comments.length) place(comments[next++]);
  return lines;
}

function modelChild(model: A.StraightDecl | A.TreeDecl, source: string): Child {
  const count = model.kind === "StraightDecl" ? model.lines : model.depth;
  return {
    span: model.span,
    hoists: false,
    print(indent, inner) {
      const header = modelHeader(model);
      if (inner.length === 0 && model.scopes.length === 0)
        return [`${indent}${header} { }`];
      if (inner.length === 0 && model.scopes.length === 1)
        return [`${indent}${header} { ${printScopeDecl(model.scopes[0])} }`];
      const scopes = model.scopes.map((s) =>
        lineChild(s.span, printScopeDecl(s)),
      );
      const lines = [`${indent}${header} {`];
      printBlock(lines, scopes, inner, source, indent + INDENT, count.span.end);
      lines.push(`${indent}}`);
      return lines;
    },
  };
}

function lineChild(span: A.Span, text: string): Child {
  return { span, hoists: true, print: (indent) => [indent + text] };
}

function itemChild(item: A.Item, source: string): Child {
  return item.kind === "StraightDecl" || item.kind === "TreeDecl"
    ? modelChild(item, source)
    : lineChild(item.span, printLineItem(item));
}

/**
 * A sketch file in the canonical layout, ending in one newline. With `trivia`, the comments come
 * back where they were (a comment inside an item that is printed on one line moves above it)
 * and single blank lines between items are kept.
 */
export function printSketch(ast: A.SketchFile, trivia?: PrintTrivia): string {
  const source = trivia?.source ?? "";
  const comments = [...(trivia?.comments ?? [])].sort(
    (a, b) => a.span.start - b.span.start,
  );
  const sketch: Child = {
    span: ast.span,
    hoists: false,
    print(indent, inner) {
      const items = ast.items.map((i) => itemChild(i, source));
      const lines = [`${indent}sketch ${ast.name.text} {`];
      printBlock(
        lines,
        items,
        inner,
        source,
        indent + INDENT,
        ast.name.span.end,
      );
      lines.push(`${indent}}`);
      return lines;
    },
  };
  return (
    printBlock([], [sketch], comments, source, "", undefined).join("\n") + "\n"
  );
}
