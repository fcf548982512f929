// The VS Code client of the sketch language: starts `sketchc lsp` over stdio with
// vscode-languageclient for every .sketch document. Highlighting is the TextMate grammar in
// syntaxes/; everything else (diagnostics, hover, navigation, completion, formatting) is the server.

const fs = require("node:fs");
const path = require("node:path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

/** @type {LanguageClient | undefined} */
let client;

/**
 * How to run the server: the `sketchc.path` setting; else the workspace's own install
 * (node_modules/.bin/sketchc), or the workspace itself when it is a sketchc checkout
 * (bin/sketchc.js, after `npm ci`); else `sketchc` on PATH.
 * @returns {{ command: string, args: string[] }}
 */
function serverCommand() {
  const configured = vscode.workspace.getConfiguration("sketchc").get("path");
  if (typeof configured === "string" && configured !== "")
    return { command: configured, args: ["lsp"] };
  const bin = process.platform === "win32" ? "sketchc.cmd" : "sketchc";
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const root = folder.uri.fsPath;
    const installed = path.join(root, "node_modules", ".bin", bin);
    if (fs.existsSync(installed)) return { command: installed, args: ["lsp"] };
    const checkout = path.join(root, "bin", "sketchc.js");
    if (fs.existsSync(checkout) && fs.existsSync(path.join(root, "dist")))
      return { command: "node", args: [checkout, "lsp"] };
  }
  return { command: "sketchc", args: ["lsp"] };
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  const { command, args } = serverCommand();
  // Windows runs a .cmd shim (node_modules/.bin/sketchc.cmd) only through a shell.
  const options = { shell: process.platform === "win32" };
  const server = { command, args, options, transport: TransportKind.stdio };
  client = new LanguageClient(
    "sketchc",
    "sketchc language server",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "sketch" },
        { scheme: "untitled", language: "sketch" },
      ],
    },
  );
  context.subscriptions.push(client);
  try {
    await client.start();
  } catch (e) {
    void vscode.window.showErrorMessage(
      `sketchc: could not start '${command} ${args.join(" ")}' (${e instanceof Error ? e.message : e}). ` +
        "Install sketchc or set sketchc.path.",
    );
  }
}

function deactivate() {
  return client?.stop();
}

module.exports = { activate, deactivate };
