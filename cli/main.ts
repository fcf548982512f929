// The `sketchc` command line: compile sketches, check and format them, train and evaluate ROAP, and
// the language server for editors.
// Only this file and compiler/compile.ts touch the file system for the compiler. User errors
// print as diagnostics or one `sketchc: error:` line, never a stack trace.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  checkSource,
  compileSketch,
  writeCompiled,
  writeFileAtomic,
} from "../compiler/compile.js";
import { formatSource } from "../compiler/format.js";
import {
  formatDiagnostic,
  hasErrors,
  type Diagnostic,
} from "../compiler/diagnostics.js";
import { SKETCHC_VERSION } from "../compiler/emit/module.js";
import { FileWriteError } from "../util/files.js";

export const HELP = `sketchc ${SKETCHC_VERSION}: differentiable program sketches -> trainable TensorFlow.js modules

Usage:
  sketchc FILE.sketch... -o DIR     compile: write DIR/NAME.mts, NAME.mjs and NAME.d.mts per sketch
  sketchc check FILE.sketch...      parse and check only
  sketchc fmt [--check] FILE...     rewrite sketches in the canonical layout, comments kept
                                    (--check: rewrite nothing, list the files that would change;
                                    FILE '-' formats standard input to standard output)
  sketchc lsp                       the language server, over stdio (docs/editors.md)
  sketchc train SKETCH [options]    train ROAP on images (sketchc train --help)
  sketchc eval RUN_DIR [--decode-samples N] [--inference-pairs P] [--weights averaged|live]
                                    recompute the metrics of a trained run
  sketchc synthesize SKETCH --pairs FILE     smallest program for grounded symbols and outputs
  sketchc experiment NAME [options]          the paper's experiments (table1|table2|fig5|fig6)
  sketchc report DIR                         DIR/report.md, report.html and results.json
  sketchc --help | --version

Exit status: 0 on success, 1 when a sketch has errors (fmt --check: or would change), 2 on bad usage.
`;

/** A user-facing failure: printed as one line, exit status attached. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

function readSource(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a directory"
          : String(code ?? e);
    throw new CliError(`cannot read '${file}': ${why}`, 1);
  }
}

function printDiagnostics(
  diagnostics: readonly Diagnostic[],
  source: string,
): void {
  for (const d of diagnostics)
    process.stderr.write(formatDiagnostic(d, source) + "\n");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function summarize(errors: number, warnings: number, files: number): string {
  return `${plural(errors, "error")} and ${plural(warnings, "warning")} in ${plural(files, "file")}.`;
}

async function runCompile(
  files: string[],
  outDir: string | undefined,
  checkOnly: boolean,
): Promise<number> {
  if (files.length === 0)
    throw new CliError("no input files (try 'sketchc --help')");
  if (!checkOnly && outDir === undefined)
    throw new CliError("missing -o DIR (where to write the modules)");
  const names = new Map<string, string>();
  for (const f of files) {
    const name = path.basename(f).replace(/\.sketch$/, "");
    if (!/^[A-Za-z0-9_.-]+$/.test(name))
      throw new CliError(
        `'${f}': a sketch file name may use letters, digits, '_', '-' and '.'`,
      );
    const other = names.get(name);
    if (other)
      throw new CliError(`'${f}' and '${other}' would both write ${name}.mts`);
    names.set(name, f);
  }
  let errors = 0;
  let warnings = 0;
  for (const file of files) {
    const source = readSource(file);
    const started = performance.now();
    const result = checkOnly
      ? checkSource(source, file)
      : await compileSketch(source, file);
    printDiagnostics(result.diagnostics, source);
    errors += result.diagnostics.filter((d) => d.severity === "error").length;
    warnings += result.diagnostics.filter(
      (d) => d.severity === "warning",
    ).length;
    if (
      checkOnly ||
      hasErrors(result.diagnostics) ||
      !("typescript" in result) ||
      !result.typescript
    )
      continue;
    const name = path.basename(file).replace(/\.sketch$/, "");
    let written: string[];
    try {
      written = writeCompiled(outDir!, name, result.typescript);
    } catch (e) {
      // -o under a regular file, a read-only folder, a full disk: one line naming the file.
      if (e instanceof FileWriteError) throw new CliError(e.message, 1);
      throw e;
    }
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      `${file} -> ${written.map((w) => path.relative(process.cwd(), w) || w).join(", ")} (${ms} ms)\n`,
    );
  }
  if (errors > 0 || warnings > 0)
    process.stderr.write(summarize(errors, warnings, files.length) + "\n");
  else if (checkOnly)
    process.stdout.write(
      `${files.length === 1 ? files[0] : `${files.length} files`}: no problems.\n`,
    );
  return errors > 0 ? 1 : 0;
}

/**
 * `sketchc fmt`: each file in the canonical layout, rewritten atomically when it changes. A file
 * with syntax errors is left as it is and its diagnostics printed.
 */
function runFormat(args: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        check: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message} (try 'sketchc --help')`);
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const files = parsed.positionals;
  const check = parsed.values.check === true;
  if (files.length === 0)
    throw new CliError("no input files (try 'sketchc --help')");
  if (files.includes("-") && files.length > 1)
    throw new CliError("'-' (standard input) must be the only file");
  let errors = 0;
  let broken = 0;
  const changed: string[] = [];
  for (const file of files) {
    const stdin = file === "-";
    const name = stdin ? "<stdin>" : file;
    const source = stdin ? fs.readFileSync(0, "utf8") : readSource(file);
    const result = formatSource(source, name);
    if (result.formatted === undefined) {
      printDiagnostics(result.diagnostics, source);
      errors += result.diagnostics.length;
      broken++;
      continue;
    }
    if (stdin && !check) process.stdout.write(result.formatted);
    if (result.formatted === source) continue;
    changed.push(name);
    if (check) process.stdout.write(`${name}\n`);
    else if (!stdin) {
      writeFileAtomic(file, result.formatted);
      process.stdout.write(`${file}: formatted\n`);
    }
  }
  if (errors > 0)
    process.stderr.write(
      `${plural(errors, "error")} in ${plural(broken, "file")}: a file with syntax errors is not formatted.\n`,
    );
  if (check && changed.length > 0)
    process.stderr.write(
      `${plural(changed.length, "file")} would be reformatted by 'sketchc fmt'.\n`,
    );
  return errors > 0 || (check && changed.length > 0) ? 1 : 0;
}

/** `sketchc lsp`: the options an LSP client may pass (stdio is the only transport). */
async function runLsp(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        stdio: { type: "boolean" },
        clientProcessId: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message} (try 'sketchc --help')`);
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { runLanguageServer } = await import("../lsp/server.js");
  return runLanguageServer();
}

/** Runs the CLI with the given arguments (without `node sketchc`); returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "train" || command === "eval") {
    const { runTrainCommand } = await import("./train-command.js");
    return runTrainCommand(command, rest);
  }
  if (command === "fmt") return runFormat(rest);
  if (command === "lsp") return runLsp(rest);
  if (
    command === "synthesize" ||
    command === "experiment" ||
    command === "report"
  )
    return (await import("./experiment-commands.js")).runExperimentCommand(
      command,
      rest,
    );
  const checkOnly = command === "check";
  const args = checkOnly ? rest : [...argv];
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message} (try 'sketchc --help')`);
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.values.version) {
    process.stdout.write(`${SKETCHC_VERSION}\n`);
    return 0;
  }
  return runCompile(parsed.positionals, parsed.values.out, checkOnly);
}

/** Entry point for bin/sketchc.js: exit codes, and one line for any user error. */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`sketchc: error: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    throw e; // an internal bug: keep the stack trace
  }
}
