// The language server's pure functions on one sketch: the token index (also on unparsable text),
// hover, definition and references for operators, constants and parameters, completion by
// context, the outline, formatting and the compiler's diagnostics with codes and ranges.

import { DiagnosticSeverity, SymbolKind } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexSketch } from "../../lsp/document.js";
import {
  completionsAt,
  definitionAt,
  diagnosticsOf,
  documentSymbols,
  formatDocument,
  hoverAt,
  referencesAt,
  renameAt,
  renameRangeAt,
  type Analyzed,
} from "../../lsp/features.js";
import { shippedSketches } from "../shipped-sketches.js";
import { DEMO } from "./demo.js";

function analyze(text: string): Analyzed {
  const doc = TextDocument.create("file:///w/demo.sketch", "sketch", 1, text);
  return { doc, index: indexSketch(text) };
}

/** The position `delta` characters into the `nth` occurrence of `needle`. */
function at(a: Analyzed, needle: string, nth = 0, delta = 0) {
  let offset = -1;
  for (let i = 0; i <= nth; i++)
    offset = a.doc.getText().indexOf(needle, offset + 1);
  expect(offset).toBeGreaterThanOrEqual(0);
  return a.doc.positionAt(offset + delta);
}

/** The text a range covers. */
function textOf(a: Analyzed, range: { start: unknown; end: unknown }): string {
  const r = range as Parameters<TextDocument["getText"]>[0];
  return a.doc.getText(r);
}

const labels = (items: { label: string }[]) => items.map((i) => i.label);

describe("the index", () => {
  it("lists items, declarations and the uses in bodies", () => {
    const { index } = analyze(DEMO);
    expect(index.sketch?.name).toBe("demo");
    expect(index.items.map((i) => i.kind)).toEqual([
      "inputs",
      "const",
      "op",
      "op",
      "op",
      "straight",
      "output",
    ]);
    expect(index.declarations.map((d) => `${d.kind} ${d.name}`)).toEqual([
      "sketch demo",
      "constant one",
      "operator add",
      "parameter a",
      "parameter b",
      "operator inv",
      "parameter x",
      "operator soft",
      "parameter a",
    ]);
    expect(index.uses.map((u) => `${u.name}->${u.target?.kind}`)).toEqual([
      "a->parameter",
      "b->parameter",
      "one->constant",
      "x->parameter",
      "one->constant",
      "a->parameter",
    ]);
    expect(index.calls.map((c) => c.name)).toEqual(["log", "exp"]);
  });

  it("still reads a text that does not parse", () => {
    const { index } = analyze(
      "sketch s {\n  const k = 2;\n  op f(a) = a * k +\n  op g(b) = \n",
    );
    expect(index.items.map((i) => i.kind)).toEqual(["const", "op", "op"]);
    expect(index.uses.map((u) => `${u.name}->${u.target?.kind}`)).toEqual([
      "a->parameter",
      "k->constant",
    ]);
  });
});

describe("hover", () => {
  const a = analyze(DEMO);

  it("on an operator: its signature, body and cost", () => {
    const hover = hoverAt(a, at(a, "inv"));
    expect(hover?.contents).toEqual({
      kind: "markdown",
      value:
        "```sketch\nop inv(x) = one / x\n```\n\nOperator 2 of 3: 1 parameter, cost 2.",
    });
    expect(textOf(a, hover!.range!)).toBe("inv");
    expect(JSON.stringify(hoverAt(a, at(a, "add")))).toContain(
      "cost 1 (the default)",
    );
  });

  it("on a constant, declared or used: its value and slot", () => {
    for (const position of [at(a, "one"), at(a, "one /", 0, 1)]) {
      const value = (hoverAt(a, position)?.contents as { value: string }).value;
      expect(value).toContain("const one = 1");
      expect(value).toContain("Slot 2: after the 2 inputs");
    }
  });

  it("on a parameter and on a built-in function", () => {
    const param = hoverAt(a, at(a, "x)"));
    expect((param?.contents as { value: string }).value).toContain(
      "Parameter `x`: argument 1 of `inv`.",
    );
    const fn = hoverAt(a, at(a, "exp"));
    expect((fn?.contents as { value: string }).value).toContain(
      "Built-in function: e^x, with x clamped",
    );
  });

  it("on nothing in particular: none", () => {
    expect(hoverAt(a, at(a, "inputs 2"))).toBeNull();
    expect(hoverAt(a, at(a, "a demo"))).toBeNull();
  });
});

describe("definition and references", () => {
  const a = analyze(DEMO);

  it("a constant: every use, and its declaration", () => {
    const use = at(a, "one +");
    expect(textOf(a, definitionAt(a, use)!.range)).toBe("one");
    expect(definitionAt(a, use)!.range.start).toEqual(at(a, "one = 1"));
    const refs = referencesAt(a, use, true).map((l) => l.range.start);
    expect(refs).toEqual([at(a, "one = 1"), at(a, "one /"), at(a, "one +")]);
    expect(referencesAt(a, use, false)).toHaveLength(2);
  });

  it("a parameter: only in its own operator", () => {
    const refs = referencesAt(a, at(a, "a, b"), true);
    expect(refs.map((l) => l.range.start)).toEqual([
      at(a, "a, b"),
      at(a, "a + b"),
    ]);
    const other = referencesAt(a, at(a, "exp(a)", 0, 4), true);
    expect(other.map((l) => l.range.start)).toEqual([
      at(a, "soft(a", 0, 5),
      at(a, "exp(a)", 0, 4),
    ]);
  });

  it("an operator: its declaration (no body can call an operator)", () => {
    const refs = referencesAt(a, at(a, "soft"), true);
    expect(refs.map((l) => textOf(a, l.range))).toEqual(["soft"]);
    expect(definitionAt(a, at(a, "soft"))!.range.start).toEqual(at(a, "soft"));
  });

  it("a built-in function or a keyword: no definition", () => {
    expect(definitionAt(a, at(a, "log"))).toBeNull();
    expect(definitionAt(a, at(a, "straight"))).toBeNull();
    expect(referencesAt(a, at(a, "earlier"), true)).toEqual([]);
  });
});

describe("rename", () => {
  const a = analyze(DEMO);

  it("renames a constant at its declaration and every use", () => {
    expect(textOf(a, renameRangeAt(a, at(a, "one /"))!)).toBe("one");
    const edit = renameAt(a, at(a, "one /"), "unit") as {
      changes: Record<string, { range: { start: unknown }; newText: string }[]>;
    };
    const edits = edit.changes[a.doc.uri];
    expect(edits.map((e) => e.range.start)).toEqual([
      at(a, "one = 1"),
      at(a, "one /"),
      at(a, "one +"),
    ]);
    expect(edits.every((e) => e.newText === "unit")).toBe(true);
  });

  it("refuses what cannot be a name, and offers nothing off a name", () => {
    expect(renameAt(a, at(a, "x)"), "2x")).toEqual({
      error: "'2x' is not a name: [A-Za-z_][A-Za-z0-9_]*",
    });
    expect(renameAt(a, at(a, "x)"), "class")).toEqual({
      error:
        "'class' cannot be used as a name: it is a JavaScript reserved word",
    });
    expect(renameAt(a, at(a, "x)"), "lines")).toEqual({
      error: "'lines' cannot be used as a name: it is a keyword",
    });
    expect(renameRangeAt(a, at(a, "log"))).toBeNull();
    expect(renameAt(a, at(a, "straight"), "y")).toBeNull();
  });
});

describe("completion", () => {
  it("in the sketch body: the item keywords", () => {
    const a = analyze(DEMO);
    expect(labels(completionsAt(a, at(a, "  output", 0, 2)))).toEqual([
      "inputs",
      "const",
      "op",
      "straight",
      "tree",
      "output",
      "prior",
    ]);
  });

  it("in an operator body: its parameters, the constants, the built-in functions", () => {
    const a = analyze(DEMO);
    const items = labels(completionsAt(a, at(a, "a + b", 0, 4)));
    expect(items.slice(0, 3)).toEqual(["a", "b", "one"]);
    expect(items).toContain("sqrt");
    expect(items).toContain("sigmoid");
    expect(items).not.toContain("x");
    expect(items).not.toContain("add");
  });

  it("while typing, in text that does not parse", () => {
    const a = analyze("sketch s {\n  const k = 2;\n  op f(u, v) = u * ");
    expect(
      labels(completionsAt(a, a.doc.positionAt(a.doc.getText().length))).slice(
        0,
        3,
      ),
    ).toEqual(["u", "v", "k"]);
    const top = analyze("");
    expect(labels(completionsAt(top, { line: 0, character: 0 }))).toEqual([
      "sketch",
    ]);
  });

  it("in a model block: targets before ':', scope items after it", () => {
    const a = analyze(DEMO);
    expect(labels(completionsAt(a, at(a, "    arg 2", 0, 4)))).toEqual([
      "args",
      "arg",
    ]);
    expect(labels(completionsAt(a, at(a, "inputs;", 0)))).toEqual([
      "inputs",
      "consts",
      "earlier",
      "last",
    ]);
    const tree = analyze("sketch t {\n  tree depth 2 {  }\n}\n");
    expect(labels(completionsAt(tree, at(tree, "{  }", 0, 2)))).toEqual([
      "leaves",
    ]);
    const leaves = analyze("sketch t {\n  tree depth 2 { leaves:  }\n}\n");
    expect(labels(completionsAt(leaves, at(leaves, ":  }", 0, 2)))).toEqual([
      "inputs",
      "consts",
    ]);
  });

  it("after output, and nothing in a comment", () => {
    const a = analyze("sketch s {\n  output \n}\n");
    expect(labels(completionsAt(a, at(a, "output ", 0, 7)))).toEqual([
      "last",
      "root",
      "line",
    ]);
    const d = analyze(DEMO);
    expect(completionsAt(d, at(d, "a demo", 0, 2))).toEqual([]);
  });
});

describe("symbols, formatting, diagnostics", () => {
  it("outlines the sketch: its items, operators holding their parameters", () => {
    const a = analyze(DEMO);
    const [sketch] = documentSymbols(a);
    expect(sketch.name).toBe("demo");
    expect(sketch.kind).toBe(SymbolKind.Module);
    expect(sketch.children!.map((s) => `${s.name}:${s.kind}`)).toEqual([
      `inputs:${SymbolKind.Property}`,
      `one:${SymbolKind.Constant}`,
      `add:${SymbolKind.Function}`,
      `inv:${SymbolKind.Function}`,
      `soft:${SymbolKind.Function}`,
      `straight lines 4:${SymbolKind.Struct}`,
      `output:${SymbolKind.Property}`,
    ]);
    const inv = sketch.children![3];
    expect(inv.detail).toBe("(x) = one / x");
    expect(inv.children!.map((p) => p.name)).toEqual(["x"]);
    expect(textOf(a, inv.range)).toBe("op inv(x) = one / x cost 2;");
    expect(textOf(a, inv.selectionRange)).toBe("inv");
  });

  it("formats to the canonical layout in one edit, and not a text with syntax errors", () => {
    const messy = analyze(
      "sketch s{inputs 2; op f(a)=a; // f\nstraight lines 2{}}",
    );
    const [edit] = formatDocument(messy);
    expect(edit.newText).toBe(
      "sketch s {\n  inputs 2;\n  op f(a) = a; // f\n  straight lines 2 { }\n}\n",
    );
    expect(edit.range).toEqual({
      start: { line: 0, character: 0 },
      end: messy.doc.positionAt(messy.doc.getText().length),
    });
    expect(formatDocument(analyze(DEMO))).toEqual([]);
    expect(formatDocument(analyze("sketch s { inputs }"))).toEqual([]);
  });

  it("reports the compiler's diagnostics with their codes, severities and ranges", () => {
    const a = analyze(
      "sketch s {\n  inputs 2;\n  op f(a, b) = a + c;\n  straight lines 2 { }\n}\n",
    );
    // In source order, as the checker gives them.
    expect(diagnosticsOf(a.doc)).toEqual([
      {
        range: {
          start: { line: 2, character: 10 },
          end: { line: 2, character: 11 },
        },
        severity: DiagnosticSeverity.Warning,
        code: "SK221",
        source: "sketchc",
        message: "Parameter 'b' of operator 'f' is never used.",
        tags: [1],
      },
      {
        range: {
          start: { line: 2, character: 19 },
          end: { line: 2, character: 20 },
        },
        severity: DiagnosticSeverity.Error,
        code: "SK201",
        source: "sketchc",
        message: "Unknown name 'c' in the body of operator 'f'.",
      },
    ]);
    const syntax = diagnosticsOf(analyze("sketch s {\n  inputs 2\n}").doc);
    expect(syntax.map((d) => [d.code, d.range.start])).toEqual([
      ["SK103", { line: 2, character: 0 }],
    ]);
    expect(diagnosticsOf(analyze(DEMO).doc)).toEqual([]);
  });
});

describe("on any text an editor may hold", () => {
  it("every feature answers without throwing, inside the document (cuts and splices of the shipped sketches)", () => {
    const texts = [DEMO, ...shippedSketches().map(([, t]) => t)];
    const edited = fc
      .tuple(fc.constantFrom(...texts), fc.nat(), fc.nat(), fc.nat(), fc.nat())
      .map(([text, a, b, c, d]) => {
        // Keep a prefix, drop a slice, paste in a slice from elsewhere: half-typed text.
        const cut = a % (text.length + 1);
        const from = b % (text.length + 1);
        const paste = text.slice(from, from + (c % 12));
        const rest = text.slice(Math.min(text.length, cut + (d % 8)));
        return text.slice(0, cut) + paste + (d % 3 === 0 ? "" : rest);
      });
    fc.assert(
      fc.property(edited, fc.nat(), (text, at) => {
        const a = analyze(text);
        const position = a.doc.positionAt(at % (text.length + 1));
        const end = a.doc.positionAt(text.length);
        const inside = (r: {
          start: { line: number };
          end: { line: number };
        }) => expect(r.end.line).toBeLessThanOrEqual(end.line);
        hoverAt(a, position);
        const definition = definitionAt(a, position);
        if (definition) inside(definition.range);
        referencesAt(a, position, true).forEach((l) => inside(l.range));
        completionsAt(a, position);
        documentSymbols(a).forEach((s) => inside(s.range));
        diagnosticsOf(a.doc).forEach((d) => inside(d.range));
        formatDocument(a);
      }),
      { numRuns: 400, seed: 14 },
    );
  });
});
