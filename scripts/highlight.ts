// The editor extension's TextMate grammar (editors/vscode/syntaxes/) run the way VS Code runs it,
// with vscode-textmate on the Oniguruma regex engine (WebAssembly), and a sketch rendered as
// coloured HTML from the scopes. Read by test/editors/grammar.test.ts and the screenshot script.

import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";

/** The package root: the first folder up from this file that holds editors/vscode/ (run from the sources or from dist-scripts/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "editors", "vscode", "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error("internal error: editors/vscode/ not found");
    dir = up;
  }
  return dir;
}

export const PACKAGE_ROOT = packageRoot();
export const GRAMMAR_FILE = path.join(
  PACKAGE_ROOT,
  "editors",
  "vscode",
  "syntaxes",
  "sketch.tmLanguage.json",
);

/** One token of one line: 0-based offsets into the whole text, and its scopes, outermost first. */
export interface ScopedToken {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly scopes: readonly string[];
}

let grammar: Promise<textmate.IGrammar> | undefined;

/** The grammar of `source.sketch`, loaded once. */
export function loadSketchGrammar(): Promise<textmate.IGrammar> {
  grammar ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasm = fs.readFileSync(
      require.resolve("vscode-oniguruma/release/onig.wasm"),
    );
    await oniguruma.loadWASM(wasm);
    const registry = new textmate.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns) => oniguruma.createOnigScanner(patterns),
        createOnigString: (s) => oniguruma.createOnigString(s),
      }),
      loadGrammar: async (scopeName) =>
        scopeName === "source.sketch"
          ? textmate.parseRawGrammar(
              fs.readFileSync(GRAMMAR_FILE, "utf8"),
              GRAMMAR_FILE,
            )
          : null,
    });
    const loaded = await registry.loadGrammar("source.sketch");
    if (!loaded)
      throw new Error(`internal error: no grammar in ${GRAMMAR_FILE}`);
    return loaded;
  })();
  return grammar;
}

/** Tokenizes a text line by line, as an editor does, carrying the state across lines. */
export function tokenizeSketch(
  g: textmate.IGrammar,
  text: string,
): ScopedToken[][] {
  let state = textmate.INITIAL;
  let offset = 0;
  return text.split("\n").map((line) => {
    const result = g.tokenizeLine(line, state);
    state = result.ruleStack;
    const tokens = result.tokens.map((t) => ({
      start: offset + t.startIndex,
      end: offset + Math.min(t.endIndex, line.length),
      text: line.slice(t.startIndex, t.endIndex),
      scopes: t.scopes,
    }));
    offset += line.length + 1;
    return tokens;
  });
}

/** Colours after VS Code's Dark+ theme, by scope prefix (the longest prefix wins). */
export const THEME: Readonly<Record<string, string>> = {
  comment: "#6a9955",
  "storage.type": "#569cd6",
  "keyword.other": "#c586c0",
  "keyword.operator": "#d4d4d4",
  "entity.name.type": "#4ec9b0",
  "entity.name.function": "#dcdcaa",
  "support.function": "#dcdcaa",
  "variable.function": "#dcdcaa",
  "variable.parameter": "#9cdcfe",
  "variable.other.constant": "#4fc1ff",
  "variable.other": "#9cdcfe",
  "constant.numeric": "#b5cea8",
  invalid: "#f44747",
};
const FOREGROUND = "#d4d4d4";
const BACKGROUND = "#1e1e1e";

/** The colour of a token: its innermost scope that the theme knows. */
export function colourOf(scopes: readonly string[]): string {
  for (const scope of [...scopes].reverse()) {
    const match = Object.keys(THEME)
      .filter((k) => scope === k || scope.startsWith(`${k}.`))
      .sort((a, b) => b.length - a.length)[0];
    if (match) return THEME[match];
  }
  return FOREGROUND;
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A page showing the text highlighted: one span per token, coloured and named by its scope. */
export function renderHighlightHtml(
  lines: readonly (readonly ScopedToken[])[],
  title: string,
): string {
  const body = lines
    .map((tokens) =>
      tokens
        .map((t) => {
          const scope = t.scopes[t.scopes.length - 1];
          const colour = colourOf(t.scopes);
          if (colour === FOREGROUND && scope === "source.sketch")
            return escapeHtml(t.text);
          return `<span style="color:${colour}" data-scope="${scope}">${escapeHtml(t.text)}</span>`;
        })
        .join(""),
    )
    .join("\n");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
  body { margin: 0; background: ${BACKGROUND}; }
  pre { margin: 0; padding: 14px 18px; color: ${FOREGROUND};
        font: 14px/1.45 "DejaVu Sans Mono", monospace; }
</style></head>
<body><pre>${body}</pre></body></html>
`;
}
