// The VS Code extension's TextMate grammar against the compiler's own lexer and parser: on every
// shipped sketch and sample, each token gets the scope its role calls for (keywords, numbers,
// comments, operator, parameter and constant names, built-in calls); and the HTML rendering.

import type { TokenType } from "chevrotain";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type * as A from "../../compiler/ast.js";
import { parseSketch } from "../../compiler/parse.js";
import { FUNCTIONS, isFunctionName } from "../../compiler/functions.js";
import * as T from "../../grammar/tokens.js";
import {
  GRAMMAR_FILE,
  loadSketchGrammar,
  PACKAGE_ROOT,
  renderHighlightHtml,
  tokenizeSketch,
  type ScopedToken,
} from "../../scripts/highlight.js";
import { shippedSketches } from "../shipped-sketches.js";

type Grammar = Awaited<ReturnType<typeof loadSketchGrammar>>;
let grammar: Grammar;
beforeAll(async () => {
  grammar = await loadSketchGrammar();
});

/** The scope each identifier's role calls for, by start offset, from the AST. */
function identifierScopes(ast: A.SketchFile): Map<number, string> {
  const roles = new Map<number, string>([
    [ast.name.span.start, "entity.name.type"],
  ]);
  const expr = (e: A.Expr): void => {
    switch (e.kind) {
      case "NameExpr":
        roles.set(e.span.start, "variable.other");
        return;
      case "CallExpr":
        roles.set(
          e.callee.span.start,
          isFunctionName(e.callee.text)
            ? "support.function"
            : "variable.function",
        );
        return e.args.forEach(expr);
      case "UnaryExpr":
        return expr(e.operand);
      case "BinaryExpr":
        expr(e.left);
        return expr(e.right);
      case "NumberExpr":
        return;
    }
  };
  for (const item of ast.items) {
    if (item.kind === "ConstDecl")
      roles.set(item.name.span.start, "variable.other.constant");
    if (item.kind === "OpDecl") {
      roles.set(item.name.span.start, "entity.name.function");
      for (const p of item.params)
        roles.set(p.span.start, "variable.parameter");
      expr(item.body);
    }
  }
  return roles;
}

const STORAGE = new Set<TokenType>([T.Sketch, T.Const, T.Op]);

/** The scope a lexer token calls for. */
function expectedScope(
  t: { tokenType: TokenType; startOffset: number },
  roles: Map<number, string>,
): string {
  const type = t.tokenType;
  if (T.KEYWORDS.has(type.name.toLowerCase()))
    return STORAGE.has(type) ? "storage.type" : "keyword.other";
  switch (type) {
    case T.Identifier:
      return roles.get(t.startOffset) ?? "(no role)";
    case T.NumberLiteral:
      return "constant.numeric";
    case T.LineComment:
      return "comment.line.double-slash";
    case T.BlockComment:
      return "comment.block";
    case T.Plus:
    case T.Minus:
    case T.Star:
    case T.Slash:
      return "keyword.operator.arithmetic";
    case T.Equals:
      return "keyword.operator.assignment";
    default:
      return "punctuation";
  }
}

/** The TextMate token covering an offset. */
function tokenAt(lines: ScopedToken[][], offset: number): ScopedToken {
  const found = lines.flat().find((t) => t.start <= offset && offset < t.end);
  expect(found, `a token at offset ${offset}`).toBeDefined();
  return found!;
}

/** `[token text, expected scope, scopes]` for every lexer token whose TextMate scope is wrong. */
function mismatches(text: string): [string, string, readonly string[]][] {
  const { ast, diagnostics } = parseSketch(text, "t.sketch");
  expect(diagnostics).toEqual([]);
  const roles = identifierScopes(ast!);
  const lexed = T.sketchLexer.tokenize(text);
  const tokens = [...lexed.tokens, ...(lexed.groups[T.COMMENTS_GROUP] ?? [])];
  const lines = tokenizeSketch(grammar, text);
  const wrong: [string, string, readonly string[]][] = [];
  for (const t of tokens) {
    const expected = expectedScope(t, roles);
    const got = tokenAt(lines, t.startOffset);
    if (!got.scopes.some((s) => s.startsWith(`${expected}.`) || s === expected))
      wrong.push([t.image, expected, got.scopes]);
  }
  return wrong;
}

const EVERYTHING = `/* a block comment
   over two lines */
sketch every_thing {
  inputs 3;
  const one = 1;
  const m = -2.5e-3;
  op lines2(outputs, b) = outputs * -b / (one + .5) cost 0; // names, not keywords
  op f(a /* the first */, b, c) = max(a, min(b, c)) + sqrt(square(a));
  straight lines 4 {
    args: inputs, consts, earlier;
    arg 2: last 1;
  }
  output line 4;
  prior length 2e-4;
}
`;

describe("the TextMate grammar", () => {
  it.each([...shippedSketches(), ["every construct", EVERYTHING]])(
    "scopes every token of %s as the compiler reads it",
    (_, text) => {
      expect(mismatches(text)).toEqual([]);
    },
  );

  it("keeps a block comment's scope on its later lines", () => {
    const lines = tokenizeSketch(grammar, EVERYTHING);
    expect(lines[1][0].text).toBe("   over two lines ");
    expect(lines[1][0].scopes).toContain("comment.block.sketch");
    expect(lines[2][0].scopes).toContain("storage.type.sketch.sketch");
  });

  it("marks characters the lexer rejects as invalid", () => {
    const [line] = tokenizeSketch(grammar, "inputs 3 #;");
    const hash = line.find((t) => t.text === "#");
    expect(hash?.scopes).toContain("invalid.illegal.character.sketch");
  });

  it("renders a sketch as HTML with one coloured span per scoped token", () => {
    const text = "// f\nsketch s {\n  op hypot(a, b) = sqrt(a * b);\n}\n";
    const html = renderHighlightHtml(tokenizeSketch(grammar, text), "s.sketch");
    expect(html).toContain(
      '<span style="color:#dcdcaa" data-scope="entity.name.function.sketch">hypot</span>',
    );
    expect(html).toContain(
      '<span style="color:#9cdcfe" data-scope="variable.parameter.sketch">a</span>',
    );
    expect(html).toContain(
      '<span style="color:#dcdcaa" data-scope="support.function.builtin.sketch">sqrt</span>',
    );
    expect(html).toContain(
      '<span style="color:#569cd6" data-scope="storage.type.sketch.sketch">sketch</span>',
    );
    expect(html).toMatch(
      /<span style="color:#6a9955" data-scope="[^"]*comment[^"]*">\/\//,
    );
  });
});

describe("the extension package", () => {
  const folder = path.join(PACKAGE_ROOT, "editors", "vscode");
  interface Manifest {
    main: string;
    contributes: {
      languages: { id: string; extensions: string[]; configuration: string }[];
      grammars: { language: string; scopeName: string; path: string }[];
    };
    dependencies: Record<string, string>;
    comments: object;
  }
  const read = (file: string) =>
    JSON.parse(fs.readFileSync(path.join(folder, file), "utf8")) as Manifest;

  it("points at files that exist, for the language and grammar it declares", () => {
    const manifest = read("package.json");
    const [language] = manifest.contributes.languages;
    const [grammarEntry] = manifest.contributes.grammars;
    expect(language).toMatchObject({ id: "sketch", extensions: [".sketch"] });
    expect(grammarEntry).toMatchObject({
      language: "sketch",
      scopeName: "source.sketch",
    });
    expect(path.join(folder, grammarEntry.path)).toBe(GRAMMAR_FILE);
    for (const file of [manifest.main, language.configuration])
      expect(fs.existsSync(path.join(folder, file)), file).toBe(true);
    expect(read("language-configuration.json").comments).toEqual({
      lineComment: "//",
      blockComment: ["/*", "*/"],
    });
  });

  it("declares the language client itself; the root package does not", () => {
    expect(read("package.json").dependencies).toHaveProperty(
      "vscode-languageclient",
    );
    const root = JSON.parse(
      fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8"),
    ) as { dependencies: object; devDependencies: object };
    expect(root.dependencies).not.toHaveProperty("vscode-languageclient");
    expect(root.devDependencies).not.toHaveProperty("vscode-languageclient");
  });

  it("knows every keyword and built-in function of the compiler", async () => {
    const g = await loadSketchGrammar();
    const scopeOf = (word: string, after = "") =>
      tokenizeSketch(g, `${word}${after}`)[0][0].scopes.at(-1);
    for (const word of T.KEYWORDS)
      expect(scopeOf(word), word).toMatch(/^(keyword\.other|storage\.type)\./);
    for (const name of Object.keys(FUNCTIONS))
      expect(scopeOf(name, "(x)"), name).toBe(
        "support.function.builtin.sketch",
      );
  });
});
