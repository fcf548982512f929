// The language server through its JSON-RPC protocol: in-process over a pair of streams (initialize,
// didOpen, didChange with an error -> publishDiagnostics, then every request), and the real
// `sketchc lsp` binary over stdio once, from initialize to exit.

import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import {
  createConnection,
  createMessageConnection,
  ProposedFeatures,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError, main } from "../../cli/main.js";
import { startLanguageServer } from "../../lsp/server.js";
import { ensureBuilt, SKETCHC_BIN } from "../built-binary.js";
import { DEMO } from "./demo.js";

const URI = "file:///w/demo.sketch";

/** A client connection with a queue of the diagnostics the server publishes. */
function createClient(connection: MessageConnection) {
  const published: PublishDiagnosticsParams[] = [];
  const waiting: ((p: PublishDiagnosticsParams) => void)[] = [];
  connection.onNotification(
    "textDocument/publishDiagnostics",
    (p: PublishDiagnosticsParams) => {
      const next = waiting.shift();
      if (next) next(p);
      else published.push(p);
    },
  );
  connection.listen();
  return {
    connection,
    /** The next publishDiagnostics notification. */
    diagnostics(): Promise<PublishDiagnosticsParams> {
      const ready = published.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error("no publishDiagnostics within 20 s")),
          20_000,
        );
        waiting.push((p) => {
          clearTimeout(timer);
          resolve(p);
        });
      });
    },
    initialize() {
      return connection.sendRequest("initialize", {
        processId: null,
        rootUri: null,
        capabilities: {},
      });
    },
    open(text: string, uri = URI) {
      void connection.sendNotification("textDocument/didOpen", {
        textDocument: { uri, languageId: "sketch", version: 1, text },
      });
    },
  };
}

describe("the language server over JSON-RPC", () => {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const server = createConnection(
    ProposedFeatures.all,
    new StreamMessageReader(toServer),
    new StreamMessageWriter(toClient),
  );
  const client = createClient(
    createMessageConnection(
      new StreamMessageReader(toClient),
      new StreamMessageWriter(toServer),
    ),
  );
  const request = <R>(method: string, params: object) =>
    client.connection.sendRequest<R>(method, {
      textDocument: { uri: URI },
      ...params,
    });

  beforeAll(() => startLanguageServer(server));
  afterAll(async () => {
    await client.connection.sendRequest("shutdown");
    client.connection.dispose();
    server.dispose();
  });

  it("initializes with the features it serves", async () => {
    const result = (await client.initialize()) as {
      capabilities: Record<string, unknown>;
      serverInfo: { name: string };
    };
    expect(result.serverInfo.name).toBe("sketchc");
    expect(result.capabilities).toMatchObject({
      textDocumentSync: 2,
      hoverProvider: true,
      definitionProvider: true,
      referencesProvider: true,
      renameProvider: { prepareProvider: true },
      completionProvider: {},
      documentFormattingProvider: true,
      documentSymbolProvider: true,
    });
    void client.connection.sendNotification("initialized", {});
  });

  it("publishes no diagnostics for a clean sketch, then the error a change makes", async () => {
    client.open(DEMO);
    expect(await client.diagnostics()).toEqual({
      uri: URI,
      version: 1,
      diagnostics: [],
    });
    // Line 4 is `  op add(a, b) = a + b;`: replace the last `b` with `c`.
    void client.connection.sendNotification("textDocument/didChange", {
      textDocument: { uri: URI, version: 2 },
      contentChanges: [
        {
          range: {
            start: { line: 4, character: 21 },
            end: { line: 4, character: 22 },
          },
          text: "c",
        },
      ],
    });
    const published = await client.diagnostics();
    expect(published.version).toBe(2);
    expect(
      published.diagnostics.map((d) => [
        d.code,
        d.severity,
        d.range.start,
        d.message,
      ]),
    ).toEqual([
      [
        "SK221",
        2,
        { line: 4, character: 12 },
        "Parameter 'b' of operator 'add' is never used.",
      ],
      [
        "SK201",
        1,
        { line: 4, character: 21 },
        "Unknown name 'c' in the body of operator 'add'.",
      ],
    ]);
  });

  it("answers hover, definition, references, rename, completion, symbols and formatting", async () => {
    const hover = await request<{ contents: { value: string } }>(
      "textDocument/hover",
      { position: { line: 5, character: 6 } },
    );
    expect(hover.contents.value).toContain("op inv(x) = one / x");

    const definition = await request<{ range: unknown }>(
      "textDocument/definition",
      { position: { line: 5, character: 15 } },
    );
    expect(definition.range).toEqual({
      start: { line: 3, character: 8 },
      end: { line: 3, character: 11 },
    });

    const references = await request<{ range: { start: unknown } }[]>(
      "textDocument/references",
      {
        position: { line: 3, character: 9 },
        context: { includeDeclaration: true },
      },
    );
    expect(references.map((r) => r.range.start)).toEqual([
      { line: 3, character: 8 },
      { line: 5, character: 14 },
      { line: 6, character: 19 },
    ]);

    const rename = await request<{ changes: Record<string, unknown[]> }>(
      "textDocument/rename",
      { position: { line: 5, character: 10 }, newName: "y" },
    );
    expect(rename.changes[URI]).toHaveLength(2);
    await expect(
      request("textDocument/rename", {
        position: { line: 5, character: 10 },
        newName: "const",
      }),
    ).rejects.toThrow(
      "'const' cannot be used as a name: it is a JavaScript reserved word",
    );

    const completion = await request<{ label: string }[]>(
      "textDocument/completion",
      { position: { line: 5, character: 14 } },
    );
    expect(completion.map((c) => c.label).slice(0, 2)).toEqual(["x", "one"]);

    const symbols = await request<{ name: string; children: unknown[] }[]>(
      "textDocument/documentSymbol",
      {},
    );
    expect(symbols.map((s) => [s.name, s.children.length])).toEqual([
      ["demo", 7],
    ]);

    const edits = await request<unknown[]>("textDocument/formatting", {
      options: { tabSize: 2, insertSpaces: true },
    });
    expect(edits).toEqual([]);
  });

  it("formats a messy document, and clears diagnostics on close", async () => {
    const uri = "file:///w/messy.sketch";
    client.open("sketch m{inputs 1;op f(a)=a;straight lines 1{}}", uri);
    expect((await client.diagnostics()).uri).toBe(uri);
    const edits = await client.connection.sendRequest<{ newText: string }[]>(
      "textDocument/formatting",
      {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      },
    );
    expect(edits.map((e) => e.newText)).toEqual([
      "sketch m {\n  inputs 1;\n  op f(a) = a;\n  straight lines 1 { }\n}\n",
    ]);
    void client.connection.sendNotification("textDocument/didClose", {
      textDocument: { uri },
    });
    expect(await client.diagnostics()).toEqual({ uri, diagnostics: [] });
  });
});

describe("sketchc lsp", () => {
  it("refuses an option it does not know, in one line with status 2", async () => {
    const failure = main(["lsp", "--socket=9000"]);
    await expect(failure).rejects.toBeInstanceOf(CliError);
    await expect(failure).rejects.toMatchObject({
      exitCode: 2,
      message: "Unknown option '--socket' (try 'sketchc --help')",
    });
  });
});

describe("the sketchc lsp binary", () => {
  let skipReason: string | undefined;
  beforeAll(() => {
    skipReason = ensureBuilt();
  });

  it("serves over stdio from initialize to exit", async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const child = spawn(process.execPath, [SKETCHC_BIN, "lsp", "--stdio"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", resolve),
    );
    const client = createClient(
      createMessageConnection(
        new StreamMessageReader(child.stdout),
        new StreamMessageWriter(child.stdin),
      ),
    );
    const init = (await client.initialize()) as { serverInfo: object };
    expect(init.serverInfo).toMatchObject({ name: "sketchc" });
    void client.connection.sendNotification("initialized", {});
    client.open("sketch s {\n  inputs 2\n}\n");
    const published = await client.diagnostics();
    expect(published.diagnostics.map((d) => d.code)).toEqual(["SK103"]);
    await client.connection.sendRequest("shutdown");
    void client.connection.sendNotification("exit");
    expect(await exited).toBe(0);
    client.connection.dispose();
    expect(stderr).toBe("");
  });
});
