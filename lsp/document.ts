// What the language server knows about one sketch text: its items, the names it declares and every
// use of a name in an operator body. Built from the lexer's tokens rather than the AST, so it still
// works on the half-typed, unparsable text an editor holds most of the time.

import type { IToken, TokenType } from "chevrotain";
import * as T from "../grammar/tokens.js";

export type DeclarationKind = "sketch" | "operator" | "constant" | "parameter";

/** A declared name. Offsets are 0-based, end exclusive, as in compiler/ast.ts spans. */
export interface Declaration {
  readonly kind: DeclarationKind;
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** The item that declares it (for a parameter: its operator); none for the sketch's name. */
  readonly item: Item | undefined;
}

/** A name read in an operator body, with what it resolves to (a parameter first, then a constant). */
export interface Use {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly target: Declaration | undefined;
  /** The item whose body holds it. */
  readonly item: OperatorItem;
}

/** A call in an operator body (`sqrt(x)`): only built-in functions can be called. */
export interface Call {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

interface ItemBase {
  /** From the item's keyword to its `;` or `}` (or to where the next item starts). */
  readonly start: number;
  readonly end: number;
  /** Whether the item has its final `;` or `}`. */
  readonly closed: boolean;
  /** The item's own tokens. */
  readonly tokens: readonly IToken[];
}

export interface OperatorItem extends ItemBase {
  readonly kind: "op";
  readonly name: Declaration | undefined;
  readonly params: readonly Declaration[];
  /** From just after `=` to `cost` or `;`; undefined before `=` is typed. */
  readonly body: { readonly start: number; readonly end: number } | undefined;
  /** The body as written, comments dropped and blanks collapsed. */
  readonly bodyText: string;
  /** The cost as written (`2`), or undefined for the default. */
  readonly cost: string | undefined;
}

export interface ConstantItem extends ItemBase {
  readonly kind: "const";
  readonly name: Declaration | undefined;
  readonly value: string;
}

/** `straight lines N { ... }` or `tree depth D { ... }`. */
export interface ModelItem extends ItemBase {
  readonly kind: "straight" | "tree";
  readonly size: string;
  /** Just inside the braces, where scope declarations go; undefined before `{` is typed. */
  readonly block: { readonly start: number; readonly end: number } | undefined;
}

/** `inputs N;`, `output ...;` or `prior length W;`. */
export interface SimpleItem extends ItemBase {
  readonly kind: "inputs" | "output" | "prior";
  /** The words after the keyword, as written (`3`, `line 8`, `length 2e-4`). */
  readonly detail: string;
}

export type Item = OperatorItem | ConstantItem | ModelItem | SimpleItem;

export interface SketchDocument {
  readonly text: string;
  /** `sketch NAME {`: the header, when written. */
  readonly sketch: Declaration | undefined;
  /** From `sketch` to its closing brace (or the end of the text, when it has none). */
  readonly sketchRange: {
    readonly start: number;
    readonly end: number;
    readonly closed: boolean;
  };
  readonly items: readonly Item[];
  readonly declarations: readonly Declaration[];
  readonly uses: readonly Use[];
  readonly calls: readonly Call[];
  /** Comment ranges, where completion offers nothing. */
  readonly comments: readonly {
    readonly start: number;
    readonly end: number;
  }[];
}

const ITEM_STARTS = new Map<TokenType, Item["kind"]>([
  [T.Op, "op"],
  [T.Const, "const"],
  [T.Straight, "straight"],
  [T.Tree, "tree"],
  [T.Inputs, "inputs"],
  [T.Output, "output"],
  [T.Prior, "prior"],
]);

const startOf = (t: IToken) => t.startOffset;
const endOf = (t: IToken) => t.endOffset! + 1;

/** Token images joined with one blank wherever the text had blanks or comments between them. */
function joinTokens(tokens: readonly IToken[]): string {
  return tokens
    .map(
      (t, i) =>
        (i > 0 && startOf(t) > endOf(tokens[i - 1]) ? " " : "") + t.image,
    )
    .join("");
}

interface RawItem {
  readonly kind: Item["kind"];
  readonly tokens: IToken[];
  /** The first token after the item, where an unfinished item ends. */
  after: IToken | undefined;
}

/** Splits the token stream into items: an item keyword outside a model block starts one. */
function splitItems(tokens: readonly IToken[]): RawItem[] {
  const items: RawItem[] = [];
  let current: RawItem | undefined;
  let blockDepth = 0; // braces opened inside the current model item
  for (const t of tokens) {
    const kind = ITEM_STARTS.get(t.tokenType);
    if (kind !== undefined && blockDepth === 0) {
      if (current) current.after = t;
      current = { kind, tokens: [t], after: undefined };
      items.push(current);
      continue;
    }
    if (!current) continue;
    if (t.tokenType === T.RCurly && blockDepth === 0) {
      current.after = t; // the sketch's own closing brace
      current = undefined;
      continue;
    }
    current.tokens.push(t);
    const model = current.kind === "straight" || current.kind === "tree";
    if (t.tokenType === T.LCurly && model) blockDepth++;
    else if (t.tokenType === T.RCurly && model && --blockDepth === 0)
      current = undefined;
    else if (t.tokenType === T.Semi && !model) current = undefined;
  }
  return items;
}

function buildOperator(
  tokens: readonly IToken[],
  base: ItemBase,
): { item: OperatorItem; bodyTokens: readonly IToken[] } {
  const item = { ...base, kind: "op" } as {
    -readonly [K in keyof OperatorItem]: OperatorItem[K];
  };
  const declare = (kind: DeclarationKind, t: IToken): Declaration => ({
    kind,
    name: t.image,
    start: startOf(t),
    end: endOf(t),
    item,
  });
  item.name =
    tokens[1]?.tokenType === T.Identifier
      ? declare("operator", tokens[1])
      : undefined;
  const params: Declaration[] = [];
  let i = 2;
  if (tokens[i]?.tokenType === T.LParen) {
    for (i++; i < tokens.length; i++) {
      const type = tokens[i].tokenType;
      if (type === T.Identifier) params.push(declare("parameter", tokens[i]));
      else if (type !== T.Comma) break;
    }
  }
  item.params = params;
  const equals = tokens.findIndex((t) => t.tokenType === T.Equals);
  let bodyTokens: IToken[] = [];
  item.cost = undefined;
  item.body = undefined;
  if (equals >= 0) {
    let stop = tokens.findIndex(
      (t, k) =>
        k > equals && (t.tokenType === T.Cost || t.tokenType === T.Semi),
    );
    if (stop < 0) stop = tokens.length;
    bodyTokens = tokens.slice(equals + 1, stop);
    const end = stop < tokens.length ? startOf(tokens[stop]) : base.end;
    item.body = { start: endOf(tokens[equals]), end };
    if (tokens[stop]?.tokenType === T.Cost) {
      const cost = tokens.slice(stop + 1).filter((t) => t.tokenType !== T.Semi);
      item.cost = cost.length > 0 ? joinTokens(cost) : undefined;
    }
  }
  item.bodyText = joinTokens(bodyTokens);
  return { item, bodyTokens };
}

function buildItem(
  { kind, tokens, after }: RawItem,
  textEnd: number,
): { item: Item; bodyTokens: readonly IToken[] } {
  const last = tokens[tokens.length - 1];
  const closed = last.tokenType === T.Semi || last.tokenType === T.RCurly;
  // An unfinished item reaches to the next token, so completion works at its end.
  const end = closed ? endOf(last) : after ? startOf(after) : textEnd;
  const base: ItemBase = { start: startOf(tokens[0]), end, closed, tokens };
  switch (kind) {
    case "op":
      return buildOperator(tokens, base);
    case "const": {
      const item = { ...base, kind } as {
        -readonly [K in keyof ConstantItem]: ConstantItem[K];
      };
      const name =
        tokens[1]?.tokenType === T.Identifier ? tokens[1] : undefined;
      item.name = name && {
        kind: "constant",
        name: name.image,
        start: startOf(name),
        end: endOf(name),
        item,
      };
      const equals = tokens.findIndex((t) => t.tokenType === T.Equals);
      item.value =
        equals < 0
          ? ""
          : joinTokens(
              tokens.slice(equals + 1).filter((t) => t.tokenType !== T.Semi),
            );
      return { item, bodyTokens: [] };
    }
    case "straight":
    case "tree": {
      const brace = tokens.findIndex((t) => t.tokenType === T.LCurly);
      const size =
        tokens[2]?.tokenType === T.NumberLiteral ? tokens[2].image : "";
      const closing = last.tokenType === T.RCurly && brace < tokens.length - 1;
      const block =
        brace < 0
          ? undefined
          : { start: endOf(tokens[brace]), end: closing ? startOf(last) : end };
      return { item: { ...base, kind, size, block }, bodyTokens: [] };
    }
    case "inputs":
    case "output":
    case "prior": {
      const words = tokens.slice(1).filter((t) => t.tokenType !== T.Semi);
      return {
        item: { ...base, kind, detail: joinTokens(words) },
        bodyTokens: [],
      };
    }
  }
}

/** Indexes a sketch text. Never throws: whatever cannot be read is left out. */
export function indexSketch(text: string): SketchDocument {
  const lexed = T.sketchLexer.tokenize(text);
  const tokens = lexed.tokens.filter(
    (t) => t.tokenType !== T.UnterminatedComment,
  );
  const comments = [
    ...(lexed.groups[T.COMMENTS_GROUP] ?? []),
    ...lexed.tokens.filter((t) => t.tokenType === T.UnterminatedComment),
  ].map((t) => ({ start: startOf(t), end: endOf(t) }));

  const head = tokens.findIndex((t) => t.tokenType === T.Sketch);
  const nameToken = head >= 0 ? tokens[head + 1] : undefined;
  // The sketch's closing brace: the first '}' that balances the braces after `sketch`.
  let depth = 0;
  const closing = tokens.slice(Math.max(head, 0)).find((t) => {
    if (t.tokenType === T.LCurly) depth++;
    else if (t.tokenType === T.RCurly) depth--;
    return t.tokenType === T.RCurly && depth === 0;
  });
  const sketchRange = {
    start: head >= 0 ? startOf(tokens[head]) : 0,
    end: closing ? endOf(closing) : text.length,
    closed: closing !== undefined,
  };

  const raw = splitItems(tokens);
  const items: Item[] = [];
  const bodies: { item: OperatorItem; tokens: readonly IToken[] }[] = [];
  raw.forEach((r) => {
    const { item, bodyTokens } = buildItem(r, text.length);
    items.push(item);
    if (item.kind === "op") bodies.push({ item, tokens: bodyTokens });
  });

  const sketch: Declaration | undefined =
    nameToken?.tokenType === T.Identifier
      ? {
          kind: "sketch",
          name: nameToken.image,
          start: startOf(nameToken),
          end: endOf(nameToken),
          item: undefined,
        }
      : undefined;

  const declarations: Declaration[] = sketch ? [sketch] : [];
  for (const item of items) {
    if (item.kind === "op") {
      if (item.name) declarations.push(item.name);
      declarations.push(...item.params);
    } else if (item.kind === "const" && item.name) declarations.push(item.name);
  }
  // The first declaration of a constant is the one a body reads (later ones are SK211).
  const constants = new Map<string, Declaration>();
  for (const d of declarations)
    if (d.kind === "constant" && !constants.has(d.name))
      constants.set(d.name, d);

  const uses: Use[] = [];
  const calls: Call[] = [];
  for (const { item, tokens: body } of bodies) {
    body.forEach((t, i) => {
      if (t.tokenType !== T.Identifier) return;
      const range = { name: t.image, start: startOf(t), end: endOf(t) };
      if (body[i + 1]?.tokenType === T.LParen) {
        calls.push(range);
        return;
      }
      const target =
        item.params.find((p) => p.name === t.image) ?? constants.get(t.image);
      uses.push({ ...range, target, item });
    });
  }
  return {
    text,
    sketch,
    sketchRange,
    items,
    declarations,
    uses,
    calls,
    comments,
  };
}

/** The declaration a name at `offset` declares or reads, with the range of that name. */
export function symbolAt(
  doc: SketchDocument,
  offset: number,
): { declaration: Declaration; start: number; end: number } | undefined {
  const within = (r: { start: number; end: number }) =>
    r.start <= offset && offset <= r.end;
  const declared = doc.declarations.find(within);
  if (declared)
    return { declaration: declared, start: declared.start, end: declared.end };
  const use = doc.uses.find(within);
  if (use?.target)
    return { declaration: use.target, start: use.start, end: use.end };
  return undefined;
}

/** Every place a declaration's name is written: the declaration itself first, then its uses. */
export function occurrences(
  doc: SketchDocument,
  declaration: Declaration,
): { start: number; end: number }[] {
  return [
    { start: declaration.start, end: declaration.end },
    ...doc.uses
      .filter((u) => u.target === declaration)
      .map((u) => ({ start: u.start, end: u.end })),
  ];
}
