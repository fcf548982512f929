// The typed abstract syntax tree of a `.sketch` file. Every node is readonly, tagged by `kind`,
// and carries the source span it came from, so any later stage can report against it.

/** A source range: `start`/`end` are 0-based offsets (end exclusive); line/column are 1-based. */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly column: number;
}

export interface Name {
  readonly kind: "Name";
  readonly text: string;
  readonly span: Span;
}

/** A numeric literal as written, sign included (`-3` is one NumberNode with value -3). */
export interface NumberNode {
  readonly kind: "Number";
  readonly value: number;
  readonly text: string;
  readonly span: Span;
}

export type Expr = NumberExpr | NameExpr | UnaryExpr | BinaryExpr | CallExpr;

export interface NumberExpr {
  readonly kind: "NumberExpr";
  readonly value: number;
  readonly text: string;
  readonly span: Span;
}
export interface NameExpr {
  readonly kind: "NameExpr";
  readonly name: string;
  readonly span: Span;
}
export interface UnaryExpr {
  readonly kind: "UnaryExpr";
  readonly op: "-";
  readonly operand: Expr;
  readonly span: Span;
}
export type BinaryOp = "+" | "-" | "*" | "/";
export interface BinaryExpr {
  readonly kind: "BinaryExpr";
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}
export interface CallExpr {
  readonly kind: "CallExpr";
  readonly callee: Name;
  readonly args: readonly Expr[];
  readonly span: Span;
}

export type Item =
  | InputsDecl
  | ConstDecl
  | OpDecl
  | StraightDecl
  | TreeDecl
  | OutputDecl
  | PriorDecl;

export interface InputsDecl {
  readonly kind: "InputsDecl";
  readonly count: NumberNode;
  readonly span: Span;
}
export interface ConstDecl {
  readonly kind: "ConstDecl";
  readonly name: Name;
  readonly value: NumberNode;
  readonly span: Span;
}
export interface OpDecl {
  readonly kind: "OpDecl";
  readonly name: Name;
  readonly params: readonly Name[];
  readonly body: Expr;
  readonly cost: NumberNode | undefined;
  readonly span: Span;
}

/** Where an argument (or a leaf) may read from. */
export type ScopeItem =
  | { readonly kind: "inputs"; readonly span: Span }
  | { readonly kind: "consts"; readonly span: Span }
  | { readonly kind: "earlier"; readonly span: Span }
  | { readonly kind: "last"; readonly count: NumberNode; readonly span: Span };

/** `args: ...;` (every argument), `arg N: ...;` (argument N, 1-based) or `leaves: ...;`. */
export interface ScopeDecl {
  readonly kind: "ScopeDecl";
  readonly target:
    | { readonly kind: "args" }
    | { readonly kind: "arg"; readonly index: NumberNode }
    | { readonly kind: "leaves" };
  readonly items: readonly ScopeItem[];
  readonly span: Span;
}

export interface StraightDecl {
  readonly kind: "StraightDecl";
  readonly lines: NumberNode;
  readonly scopes: readonly ScopeDecl[];
  readonly span: Span;
}
export interface TreeDecl {
  readonly kind: "TreeDecl";
  readonly depth: NumberNode;
  readonly scopes: readonly ScopeDecl[];
  readonly span: Span;
}
export interface OutputDecl {
  readonly kind: "OutputDecl";
  readonly target:
    | { readonly kind: "last" }
    | { readonly kind: "root" }
    | { readonly kind: "line"; readonly line: NumberNode };
  readonly span: Span;
}
export interface PriorDecl {
  readonly kind: "PriorDecl";
  readonly weight: NumberNode;
  readonly span: Span;
}

export interface SketchFile {
  readonly kind: "SketchFile";
  readonly name: Name;
  readonly items: readonly Item[];
  readonly span: Span;
}

/**
 * A line or block comment, as written. Comments are not AST nodes: the parser returns them beside
 * the AST, and the printer puts them back by position.
 */
export interface Comment {
  readonly kind: "LineComment" | "BlockComment";
  readonly text: string;
  readonly span: Span;
}

/** Exhaustiveness guard for `switch` over a discriminated union. */
export function assertNever(value: never): never {
  throw new Error(`internal error: unexpected node ${JSON.stringify(value)}`);
}
