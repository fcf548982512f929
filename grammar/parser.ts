// The `.sketch` grammar as a Chevrotain CstParser. Rules build a concrete syntax tree only;
// the AST is made by a separate visitor (compiler/to-ast.ts), as Chevrotain recommends.
// The parser recovers from errors, so one run reports several of them.

import {
  CstParser,
  type CstNode,
  type IRecognitionException,
  type ILexingError,
  type IToken,
  type TokenType,
} from "chevrotain";
import * as T from "./tokens.js";

/**
 * Expression rules do not re-sync on an error: the error goes up to the declaration, which
 * re-syncs at its ';'. Re-syncing at every level of a deeply nested body costs time per level
 * and per error, which made a file of many broken, deeply nested bodies take seconds.
 */
const NO_RESYNC = { resyncEnabled: false } as const;

export class SketchParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, nodeLocationTracking: "full" });
    this.performSelfAnalysis();
  }

  /** sketchFile := 'sketch' Identifier '{' item* '}' */
  public sketchFile = this.RULE("sketchFile", () => {
    this.CONSUME(T.Sketch);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.item));
    this.CONSUME(T.RCurly);
  });

  private item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputsDecl) },
      { ALT: () => this.SUBRULE(this.constDecl) },
      { ALT: () => this.SUBRULE(this.opDecl) },
      { ALT: () => this.SUBRULE(this.straightDecl) },
      { ALT: () => this.SUBRULE(this.treeDecl) },
      { ALT: () => this.SUBRULE(this.outputDecl) },
      { ALT: () => this.SUBRULE(this.priorDecl) },
    ]);
  });

  /** inputsDecl := 'inputs' signedNumber ';' */
  private inputsDecl = this.RULE("inputsDecl", () => {
    this.CONSUME(T.Inputs);
    this.SUBRULE(this.signedNumber);
    this.CONSUME(T.Semi);
  });

  /** constDecl := 'const' Identifier '=' signedNumber ';' */
  private constDecl = this.RULE("constDecl", () => {
    this.CONSUME(T.Const);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.signedNumber);
    this.CONSUME(T.Semi);
  });

  /** opDecl := 'op' Identifier '(' params? ')' '=' expression ('cost' signedNumber)? ';' */
  private opDecl = this.RULE("opDecl", () => {
    this.CONSUME(T.Op);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.CONSUME1(T.Identifier, { LABEL: "param" });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME2(T.Identifier, { LABEL: "param" });
      });
    });
    this.CONSUME(T.RParen);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
    this.OPTION2(() => {
      this.CONSUME(T.Cost);
      this.SUBRULE(this.signedNumber, { LABEL: "cost" });
    });
    this.CONSUME(T.Semi);
  });

  /** straightDecl := 'straight' 'lines' signedNumber '{' scopeDecl* '}' */
  private straightDecl = this.RULE("straightDecl", () => {
    this.CONSUME(T.Straight);
    this.CONSUME(T.Lines);
    this.SUBRULE(this.signedNumber);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.scopeDecl));
    this.CONSUME(T.RCurly);
  });

  /** treeDecl := 'tree' 'depth' signedNumber '{' scopeDecl* '}' */
  private treeDecl = this.RULE("treeDecl", () => {
    this.CONSUME(T.Tree);
    this.CONSUME(T.Depth);
    this.SUBRULE(this.signedNumber);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.scopeDecl));
    this.CONSUME(T.RCurly);
  });

  /** scopeDecl := ('args' | 'arg' signedNumber | 'leaves') ':' scopeItem (',' scopeItem)* ';' */
  private scopeDecl = this.RULE("scopeDecl", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Args) },
      {
        ALT: () => {
          this.CONSUME(T.Arg);
          this.SUBRULE(this.signedNumber);
        },
      },
      { ALT: () => this.CONSUME(T.Leaves) },
    ]);
    this.CONSUME(T.Colon);
    this.SUBRULE1(this.scopeItem);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.scopeItem);
    });
    this.CONSUME(T.Semi);
  });

  /** scopeItem := 'inputs' | 'consts' | 'earlier' | 'last' signedNumber */
  private scopeItem = this.RULE("scopeItem", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Inputs) },
      { ALT: () => this.CONSUME(T.Consts) },
      { ALT: () => this.CONSUME(T.Earlier) },
      {
        ALT: () => {
          this.CONSUME(T.Last);
          this.SUBRULE(this.signedNumber);
        },
      },
    ]);
  });

  /** outputDecl := 'output' ('last' | 'root' | 'line' signedNumber) ';' */
  private outputDecl = this.RULE("outputDecl", () => {
    this.CONSUME(T.Output);
    this.OR([
      { ALT: () => this.CONSUME(T.Last) },
      { ALT: () => this.CONSUME(T.Root) },
      {
        ALT: () => {
          this.CONSUME(T.Line);
          this.SUBRULE(this.signedNumber);
        },
      },
    ]);
    this.CONSUME(T.Semi);
  });

  /** priorDecl := 'prior' 'length' signedNumber ';' */
  private priorDecl = this.RULE("priorDecl", () => {
    this.CONSUME(T.Prior);
    this.CONSUME(T.Length);
    this.SUBRULE(this.signedNumber);
    this.CONSUME(T.Semi);
  });

  /** signedNumber := '-'? NumberLiteral (the sign is accepted so the checker can say why it is wrong) */
  private signedNumber = this.RULE("signedNumber", () => {
    this.OPTION(() => this.CONSUME(T.Minus));
    this.CONSUME(T.NumberLiteral);
  });

  /** expression := term (('+' | '-') term)* */
  private expression = this.RULE(
    "expression",
    () => {
      this.SUBRULE1(this.term, { LABEL: "operand" });
      this.MANY(() => {
        this.OR([
          { ALT: () => this.CONSUME(T.Plus, { LABEL: "operator" }) },
          { ALT: () => this.CONSUME(T.Minus, { LABEL: "operator" }) },
        ]);
        this.SUBRULE2(this.term, { LABEL: "operand" });
      });
    },
    NO_RESYNC,
  );

  /** term := unary (('*' | '/') unary)* */
  private term = this.RULE(
    "term",
    () => {
      this.SUBRULE1(this.unary, { LABEL: "operand" });
      this.MANY(() => {
        this.OR([
          { ALT: () => this.CONSUME(T.Star, { LABEL: "operator" }) },
          { ALT: () => this.CONSUME(T.Slash, { LABEL: "operator" }) },
        ]);
        this.SUBRULE2(this.unary, { LABEL: "operand" });
      });
    },
    NO_RESYNC,
  );

  /** unary := '-' unary | primary */
  private unary = this.RULE(
    "unary",
    () => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Minus);
            this.SUBRULE(this.unary);
          },
        },
        { ALT: () => this.SUBRULE(this.primary) },
      ]);
    },
    NO_RESYNC,
  );

  /** primary := NumberLiteral | Identifier ('(' (expression (',' expression)*)? ')')? | '(' expression ')' */
  private primary = this.RULE(
    "primary",
    () => {
      this.OR([
        { ALT: () => this.CONSUME(T.NumberLiteral) },
        {
          ALT: () => {
            this.CONSUME(T.Identifier);
            this.OPTION(() => {
              this.CONSUME1(T.LParen, { LABEL: "call" });
              this.OPTION2(() => {
                this.SUBRULE1(this.expression, { LABEL: "argument" });
                this.MANY(() => {
                  this.CONSUME(T.Comma);
                  this.SUBRULE2(this.expression, { LABEL: "argument" });
                });
              });
              this.CONSUME1(T.RParen);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME2(T.LParen);
            this.SUBRULE3(this.expression, { LABEL: "inner" });
            this.CONSUME2(T.RParen);
          },
        },
      ]);
    },
    NO_RESYNC,
  );
}

/** One shared parser instance: Chevrotain parsers are reusable by resetting `input`. */
export const sketchParser = new SketchParser();

/**
 * How deeply parentheses (grouping and calls) and unary minus may nest. The parser is recursive
 * descent, so each level costs stack: a few hundred parentheses overflow Node's default stack.
 * 64 leaves a wide margin and is far beyond any readable operator body.
 */
export const MAX_NESTING = 64;

/**
 * The first token at which the nesting of `tokens` exceeds `MAX_NESTING`, found before the parser
 * runs so it never recurses that deep. Each '(' opens a level that its ')' closes; a unary '-'
 * (one not after an operand) opens a level that lasts as long as its operand, i.e. until the
 * matching ')' when the operand is parenthesised and at once otherwise. Counting every '(' and
 * every such '-' wherever it stands makes this an upper bound of the parser's rule depth.
 */
export function findTooDeep(tokens: readonly IToken[]): IToken | undefined {
  const open: number[] = []; // per open '(': the levels it holds (1 + the minuses before it)
  let depth = 0; // the sum of `open`
  let minuses = 0; // unary minuses waiting for their operand
  let previous: TokenType | undefined;
  for (const t of tokens) {
    const type = t.tokenType;
    if (type === T.Minus && !endsOperand(previous)) {
      minuses++;
    } else if (type === T.LParen) {
      open.push(1 + minuses);
      depth += 1 + minuses;
      minuses = 0;
    } else if (type === T.RParen) {
      depth -= open.pop() ?? 0;
      minuses = 0;
    } else {
      minuses = 0;
    }
    if (depth + minuses > MAX_NESTING) return t;
    previous = type;
  }
  return undefined;
}

function endsOperand(type: TokenType | undefined): boolean {
  return type === T.Identifier || type === T.NumberLiteral || type === T.RParen;
}

export interface ParseOutput {
  readonly cst: CstNode | undefined;
  /** The comments, in source order (the lexer's comment group; the parser never sees them). */
  readonly comments: readonly IToken[];
  readonly lexErrors: readonly ILexingError[];
  readonly parseErrors: readonly IRecognitionException[];
  readonly unterminatedComments: readonly {
    offset: number;
    line: number;
    column: number;
  }[];
  /** The token where nesting first exceeds MAX_NESTING; the parser did not run when present. */
  readonly tooDeep: IToken | undefined;
}

/** Tokens -> CST. Never throws on user input: errors come back in the result. */
export function parseCst(text: string): ParseOutput {
  const lexed = T.sketchLexer.tokenize(text);
  const unterminated = lexed.tokens.filter(
    (t) => t.tokenType === T.UnterminatedComment,
  );
  const tokens = lexed.tokens.filter(
    (t) => t.tokenType !== T.UnterminatedComment,
  );
  const tooDeep = findTooDeep(tokens);
  let cst: CstNode | undefined;
  let parseErrors: readonly IRecognitionException[] = [];
  if (tooDeep === undefined) {
    sketchParser.input = tokens;
    cst = sketchParser.sketchFile();
    parseErrors = sketchParser.errors;
  }
  return {
    cst,
    comments: lexed.groups[T.COMMENTS_GROUP] ?? [],
    lexErrors: lexed.errors,
    parseErrors,
    unterminatedComments: unterminated.map((t) => ({
      offset: t.startOffset,
      line: t.startLine ?? 1,
      column: t.startColumn ?? 1,
    })),
    tooDeep,
  };
}
