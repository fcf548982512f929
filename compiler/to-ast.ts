// CST -> AST: a Chevrotain CST visitor that builds the typed, span-carrying AST of compiler/ast.ts.
// It runs only on a CST without parse errors, so every child it reads is present.

import type { CstNode, IToken, CstElement } from "chevrotain";
import { sketchParser } from "../grammar/parser.js";
import type * as A from "./ast.js";

const BaseVisitor = sketchParser.getBaseCstVisitorConstructor();

type Children = Record<string, CstElement[] | undefined>;

function tokenSpan(t: IToken): A.Span {
  return {
    start: t.startOffset,
    end: t.endOffset! + 1,
    line: t.startLine!,
    column: t.startColumn!,
  };
}

function nodeSpan(n: CstNode): A.Span {
  const loc = n.location!;
  return {
    start: loc.startOffset,
    end: loc.endOffset! + 1,
    line: loc.startLine!,
    column: loc.startColumn!,
  };
}

function joinSpans(a: A.Span, b: A.Span): A.Span {
  return { start: a.start, end: b.end, line: a.line, column: a.column };
}

function tok(c: Children, key: string, i = 0): IToken {
  return c[key]![i] as IToken;
}
function node(c: Children, key: string, i = 0): CstNode {
  return c[key]![i] as CstNode;
}
function has(c: Children, key: string): boolean {
  return (c[key]?.length ?? 0) > 0;
}
function nameOf(t: IToken): A.Name {
  return { kind: "Name", text: t.image, span: tokenSpan(t) };
}

class AstBuilder extends BaseVisitor {
  constructor() {
    super();
    this.validateVisitor();
  }

  /** Visits a child, passing the node itself so each rule method can read its location. */
  v(n: CstNode): any {
    return this.visit(n, n);
  }

  sketchFile(c: Children): A.SketchFile {
    return {
      kind: "SketchFile",
      name: nameOf(tok(c, "Identifier")),
      items: (c.item ?? []).map((n) => this.v(n as CstNode) as A.Item),
      span: joinSpans(tokenSpan(tok(c, "Sketch")), tokenSpan(tok(c, "RCurly"))),
    };
  }

  item(c: Children): A.Item {
    const [key] = Object.keys(c);
    return this.v(node(c, key));
  }

  inputsDecl(c: Children, n: CstNode): A.InputsDecl {
    return {
      kind: "InputsDecl",
      count: this.v(node(c, "signedNumber")),
      span: nodeSpan(n),
    };
  }

  constDecl(c: Children, n: CstNode): A.ConstDecl {
    return {
      kind: "ConstDecl",
      name: nameOf(tok(c, "Identifier")),
      value: this.v(node(c, "signedNumber")),
      span: nodeSpan(n),
    };
  }

  opDecl(c: Children, n: CstNode): A.OpDecl {
    return {
      kind: "OpDecl",
      name: nameOf(tok(c, "Identifier")),
      params: (c.param ?? []).map((t) => nameOf(t as IToken)),
      body: this.v(node(c, "expression")),
      cost: has(c, "cost") ? this.v(node(c, "cost")) : undefined,
      span: nodeSpan(n),
    };
  }

  straightDecl(c: Children, n: CstNode): A.StraightDecl {
    return {
      kind: "StraightDecl",
      lines: this.v(node(c, "signedNumber")),
      scopes: (c.scopeDecl ?? []).map(
        (s) => this.v(s as CstNode) as A.ScopeDecl,
      ),
      span: nodeSpan(n),
    };
  }

  treeDecl(c: Children, n: CstNode): A.TreeDecl {
    return {
      kind: "TreeDecl",
      depth: this.v(node(c, "signedNumber")),
      scopes: (c.scopeDecl ?? []).map(
        (s) => this.v(s as CstNode) as A.ScopeDecl,
      ),
      span: nodeSpan(n),
    };
  }

  scopeDecl(c: Children, n: CstNode): A.ScopeDecl {
    const target: A.ScopeDecl["target"] = has(c, "Args")
      ? { kind: "args" }
      : has(c, "Arg")
        ? { kind: "arg", index: this.v(node(c, "signedNumber")) }
        : { kind: "leaves" };
    return {
      kind: "ScopeDecl",
      target,
      items: (c.scopeItem ?? []).map(
        (s) => this.v(s as CstNode) as A.ScopeItem,
      ),
      span: nodeSpan(n),
    };
  }

  scopeItem(c: Children, n: CstNode): A.ScopeItem {
    const span = nodeSpan(n);
    if (has(c, "Inputs")) return { kind: "inputs", span };
    if (has(c, "Consts")) return { kind: "consts", span };
    if (has(c, "Earlier")) return { kind: "earlier", span };
    return { kind: "last", count: this.v(node(c, "signedNumber")), span };
  }

  outputDecl(c: Children, n: CstNode): A.OutputDecl {
    const target: A.OutputDecl["target"] = has(c, "Last")
      ? { kind: "last" }
      : has(c, "Root")
        ? { kind: "root" }
        : { kind: "line", line: this.v(node(c, "signedNumber")) };
    return { kind: "OutputDecl", target, span: nodeSpan(n) };
  }

  priorDecl(c: Children, n: CstNode): A.PriorDecl {
    return {
      kind: "PriorDecl",
      weight: this.v(node(c, "signedNumber")),
      span: nodeSpan(n),
    };
  }

  signedNumber(c: Children, n: CstNode): A.NumberNode {
    const literal = tok(c, "NumberLiteral");
    const negative = has(c, "Minus");
    const text = (negative ? "-" : "") + literal.image;
    return { kind: "Number", value: Number(text), text, span: nodeSpan(n) };
  }

  expression(c: Children): A.Expr {
    return this.foldBinary(c);
  }

  term(c: Children): A.Expr {
    return this.foldBinary(c);
  }

  /** Left-associative fold of `operand (operator operand)*`. */
  private foldBinary(c: Children): A.Expr {
    const operands = (c.operand ?? []).map(
      (o) => this.v(o as CstNode) as A.Expr,
    );
    const operators = (c.operator ?? []) as IToken[];
    let acc = operands[0];
    operators.forEach((op, i) => {
      const right = operands[i + 1];
      acc = {
        kind: "BinaryExpr",
        op: op.image as A.BinaryOp,
        left: acc,
        right,
        span: joinSpans(acc.span, right.span),
      };
    });
    return acc;
  }

  unary(c: Children, n: CstNode): A.Expr {
    if (has(c, "Minus")) {
      return {
        kind: "UnaryExpr",
        op: "-",
        operand: this.v(node(c, "unary")),
        span: nodeSpan(n),
      };
    }
    return this.v(node(c, "primary"));
  }

  primary(c: Children, n: CstNode): A.Expr {
    const span = nodeSpan(n);
    if (has(c, "NumberLiteral")) {
      const t = tok(c, "NumberLiteral");
      return {
        kind: "NumberExpr",
        value: Number(t.image),
        text: t.image,
        span,
      };
    }
    if (has(c, "inner")) return this.v(node(c, "inner"));
    const id = tok(c, "Identifier");
    if (has(c, "call")) {
      return {
        kind: "CallExpr",
        callee: nameOf(id),
        args: (c.argument ?? []).map((a) => this.v(a as CstNode) as A.Expr),
        span,
      };
    }
    return { kind: "NameExpr", name: id.image, span };
  }
}

const astBuilder = new AstBuilder();

/** Builds the AST of a CST produced without parse errors. */
export function toAst(cst: CstNode): A.SketchFile {
  return astBuilder.v(cst) as A.SketchFile;
}
