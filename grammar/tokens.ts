// The tokens of the `.sketch` language, in the order the lexer tries them.
// Keywords use `longer_alt: Identifier` so `lines2` lexes as one identifier, not `lines` + `2`.
// Comments go to their own token group: the parser never sees them, the formatter and the
// language server read them from the lexer's `groups.comments`.

import { createToken, Lexer, type TokenType } from "chevrotain";

export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
});
/** The lexer group that holds the comments, out of the parser's token stream. */
export const COMMENTS_GROUP = "comments";

export const LineComment = createToken({
  name: "LineComment",
  pattern: /\/\/[^\n\r]*/,
  group: COMMENTS_GROUP,
});
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[\s\S]*?\*\//,
  group: COMMENTS_GROUP,
  line_breaks: true,
});
/** An unterminated block comment: lexed as a token so the checker can report it precisely. */
export const UnterminatedComment = createToken({
  name: "UnterminatedComment",
  pattern: /\/\*[\s\S]*/,
  line_breaks: true,
});

export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  label: "a name",
});

function keyword(word: string): TokenType {
  return createToken({
    name: word[0].toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: Identifier,
  });
}

export const Sketch = keyword("sketch");
export const Inputs = keyword("inputs");
export const Const = keyword("const");
export const Op = keyword("op");
export const Cost = keyword("cost");
export const Straight = keyword("straight");
export const Lines = keyword("lines");
export const Tree = keyword("tree");
export const Depth = keyword("depth");
export const Args = keyword("args");
export const Arg = keyword("arg");
export const Leaves = keyword("leaves");
export const Consts = keyword("consts");
export const Earlier = keyword("earlier");
export const Last = keyword("last");
export const Output = keyword("output");
export const Line = keyword("line");
export const Root = keyword("root");
export const Prior = keyword("prior");
export const Length = keyword("length");

/** Decimal literal with optional fraction and exponent: `3`, `0.5`, `2e-4`. */
export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/,
  label: "a number",
});

export const LCurly = createToken({
  name: "LCurly",
  pattern: /{/,
  label: "'{'",
});
export const RCurly = createToken({
  name: "RCurly",
  pattern: /}/,
  label: "'}'",
});
export const LParen = createToken({
  name: "LParen",
  pattern: /\(/,
  label: "'('",
});
export const RParen = createToken({
  name: "RParen",
  pattern: /\)/,
  label: "')'",
});
export const Semi = createToken({ name: "Semi", pattern: /;/, label: "';'" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "','" });
export const Colon = createToken({ name: "Colon", pattern: /:/, label: "':'" });
export const Equals = createToken({
  name: "Equals",
  pattern: /=/,
  label: "'='",
});
export const Plus = createToken({ name: "Plus", pattern: /\+/, label: "'+'" });
export const Minus = createToken({ name: "Minus", pattern: /-/, label: "'-'" });
export const Star = createToken({ name: "Star", pattern: /\*/, label: "'*'" });
export const Slash = createToken({
  name: "Slash",
  pattern: /\//,
  label: "'/'",
});

/** Every token, in lexing priority order (comments before '/', keywords before Identifier). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  UnterminatedComment,
  Sketch,
  Inputs,
  Consts,
  Const,
  Op,
  Cost,
  Straight,
  Lines,
  Tree,
  Depth,
  Args,
  Arg,
  Leaves,
  Earlier,
  Last,
  Output,
  Line,
  Root,
  Prior,
  Length,
  Identifier,
  NumberLiteral,
  LCurly,
  RCurly,
  LParen,
  RParen,
  Semi,
  Comma,
  Colon,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
];

/** The words a sketch cannot use as names because the grammar claims them. */
export const KEYWORDS: ReadonlySet<string> = new Set(
  allTokens
    .filter((t) => t.LONGER_ALT !== undefined)
    .map((t) => (t.PATTERN as RegExp).source),
);

export const sketchLexer = new Lexer(allTokens, {
  positionTracking: "full",
  ensureOptimizations: false,
});
