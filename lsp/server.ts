// `sketchc lsp`: the Language Server Protocol over stdio (vscode-languageserver). This file only
// wires JSON-RPC to the pure functions of lsp/features.ts, keeping one index per open document
// and publishing the compiler's diagnostics whenever a document opens or changes.

import {
  createConnection,
  ProposedFeatures,
  ResponseError,
  ErrorCodes,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { SKETCHC_VERSION } from "../compiler/emit/module.js";
import { indexSketch } from "./document.js";
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
} from "./features.js";

export const CAPABILITIES: InitializeResult = {
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    hoverProvider: true,
    definitionProvider: true,
    referencesProvider: true,
    renameProvider: { prepareProvider: true },
    completionProvider: {},
    documentFormattingProvider: true,
    documentSymbolProvider: true,
  },
  serverInfo: { name: "sketchc", version: SKETCHC_VERSION },
};

/** Registers the sketch language's handlers on a connection and starts listening. */
export function startLanguageServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const indexes = new Map<string, { version: number; analyzed: Analyzed }>();

  /** The open document's index, rebuilt only when its version changed. */
  const analyzed = (uri: string): Analyzed | undefined => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const cached = indexes.get(uri);
    if (cached?.version === doc.version) return cached.analyzed;
    const fresh = { doc, index: indexSketch(doc.getText()) };
    indexes.set(uri, { version: doc.version, analyzed: fresh });
    return fresh;
  };

  connection.onInitialize(() => CAPABILITIES);
  documents.onDidChangeContent(({ document }) => {
    void connection.sendDiagnostics({
      uri: document.uri,
      version: document.version,
      diagnostics: diagnosticsOf(document),
    });
  });
  documents.onDidClose(({ document }) => {
    indexes.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  const on = <P extends { textDocument: { uri: string } }, R>(
    answer: (a: Analyzed, params: P) => R,
    none: R,
  ) => {
    return (params: P): R => {
      const a = analyzed(params.textDocument.uri);
      return a ? answer(a, params) : none;
    };
  };
  connection.onHover(on((a, p) => hoverAt(a, p.position), null));
  connection.onDefinition(on((a, p) => definitionAt(a, p.position), null));
  connection.onReferences(
    on((a, p) => referencesAt(a, p.position, p.context.includeDeclaration), []),
  );
  connection.onPrepareRename(on((a, p) => renameRangeAt(a, p.position), null));
  connection.onRenameRequest(
    on((a, p) => {
      const result = renameAt(a, p.position, p.newName);
      if (result && "error" in result)
        return new ResponseError(ErrorCodes.InvalidParams, result.error);
      return result;
    }, null),
  );
  connection.onCompletion(on((a, p) => completionsAt(a, p.position), []));
  connection.onDocumentSymbol(on((a) => documentSymbols(a), []));
  connection.onDocumentFormatting(on((a) => formatDocument(a), []));

  documents.listen(connection);
  connection.listen();
}

/**
 * `sketchc lsp`: serves over stdin/stdout until the client sends `exit` or closes the stream (the
 * library then ends the process). Console output goes to stderr: stdout is the protocol.
 */
export function runLanguageServer(): Promise<never> {
  console.log = console.error;
  console.info = console.error;
  const connection = createConnection(
    ProposedFeatures.all,
    process.stdin,
    process.stdout,
  );
  startLanguageServer(connection);
  return new Promise<never>(() => {});
}
