// The whole pipeline: text -> AST -> checked AST -> IR -> TypeScript -> JavaScript + .d.mts.
// `compileSketch` is pure; `writeCompiled` is the only function here that touches the disk, and it
// writes each file atomically (temp file + rename) so an interrupted run never leaves half a module.
// Modules are ES modules named .mts/.mjs/.d.mts, so they load as such in CommonJS projects too.

import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Project, ts } from "ts-morph";
import { checkSketch } from "./check.js";
import { hasErrors, type Diagnostic } from "./diagnostics.js";
import { MODULE_RUNTIME } from "./emit/common.js";
import { emitModule } from "./emit/module.js";
import type { SketchIR } from "./ir.js";
import { lowerSketch } from "./lower.js";
import { parseSketch } from "./parse.js";
import { writeFileAtomic } from "../util/files.js";

/** Files are written atomically and durably (util/files.ts); re-exported for the package API. */
export { writeFileAtomic };

export interface CompileResult {
  readonly diagnostics: readonly Diagnostic[];
  /** Present when there were no errors. */
  readonly ir?: SketchIR;
  readonly typescript?: string;
}

/** Parses and checks only (what `sketchc check` runs). */
export function checkSource(
  text: string,
  file: string,
): { diagnostics: readonly Diagnostic[] } {
  const parsed = parseSketch(text, file);
  if (!parsed.ast) return { diagnostics: parsed.diagnostics };
  return { diagnostics: checkSketch(parsed.ast, file).diagnostics };
}

/** The pipeline, stopping after the first stage that reports errors. */
export async function compileSketch(
  text: string,
  file: string,
): Promise<CompileResult> {
  const parsed = parseSketch(text, file);
  if (!parsed.ast) return { diagnostics: parsed.diagnostics };
  const checked = checkSketch(parsed.ast, file);
  if (hasErrors(checked.diagnostics))
    return { diagnostics: checked.diagnostics };
  const ir = lowerSketch(checked.ast, path.basename(file), text);
  const typescript = await emitModule(ir);
  return { diagnostics: checked.diagnostics, ir, typescript };
}

/** The package root, whose node_modules resolves @tensorflow/tfjs-core for type checking. */
export const PACKAGE_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  ...(fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`)
    ? ["..", ".."]
    : [".."]),
);

/** Where `sketchc/module-runtime` is: this checkout's sources, or the built package's declarations. */
const MODULE_RUNTIME_FILE = fileURLToPath(import.meta.url).endsWith(".ts")
  ? path.join(PACKAGE_ROOT, "runtime", "module-runtime", "index.ts")
  : path.join(PACKAGE_ROOT, "dist", "runtime", "module-runtime", "index.d.ts");

const EMIT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  declaration: true,
  skipLibCheck: true,
  types: [],
  // Type checks see the runtime library this compiler belongs to, built or not.
  paths: { [MODULE_RUNTIME]: [MODULE_RUNTIME_FILE] },
};

/** A ts-morph project that sees the package's node_modules, for emitting and type-checking modules. */
export function createModuleProject(): Project {
  return new Project({
    compilerOptions: EMIT_OPTIONS,
    skipAddingFilesFromTsConfig: true,
  });
}

function addModule(project: Project, typescript: string, name: string) {
  const virtualPath = path.join(PACKAGE_ROOT, ".sketchc-emit", `${name}.mts`);
  return project.createSourceFile(virtualPath, typescript, { overwrite: true });
}

/**
 * TypeScript module text -> { js, dts } (NAME.mjs and NAME.d.mts), file by file: the emitted
 * module annotates every export, so neither output needs a type-checked program
 * (isolatedDeclarations). Tests type-check the modules in full with `typeCheckModule`.
 */
export function transpileModule(
  typescript: string,
  name: string,
): { js: string; dts: string } {
  const fileName = `${name}.mts`;
  const js = ts.transpileModule(typescript, {
    fileName,
    compilerOptions: { ...EMIT_OPTIONS, module: ts.ModuleKind.ES2022 },
  }).outputText;
  const declaration = ts.transpileDeclaration(typescript, {
    fileName,
    compilerOptions: { ...EMIT_OPTIONS, isolatedDeclarations: true },
    reportDiagnostics: true,
  });
  const problems = declaration.diagnostics ?? [];
  if (problems.length > 0) {
    const first = ts.flattenDiagnosticMessageText(
      problems[0].messageText,
      "\n",
    );
    throw new Error(
      `internal error: ${fileName} needs type inference for its declarations: ${first}`,
    );
  }
  return { js, dts: declaration.outputText };
}

/** Type errors of an emitted module against the installed @tensorflow/tfjs-core (tests assert none). */
export function typeCheckModule(typescript: string, name: string): string[] {
  const project = createModuleProject();
  addModule(project, typescript, name);
  return project
    .getPreEmitDiagnostics()
    .map((d) =>
      ts.flattenDiagnosticMessageText(d.compilerObject.messageText, "\n"),
    );
}

/**
 * Writes NAME.mts, NAME.mjs and NAME.d.mts into outDir; returns the paths written. The .m
 * extensions make them ES modules whatever the "type" of the package.json above them.
 */
export function writeCompiled(
  outDir: string,
  name: string,
  typescript: string,
): string[] {
  const { js, dts } = transpileModule(typescript, name);
  const files: [string, string][] = [
    [path.join(outDir, `${name}.mts`), typescript],
    [path.join(outDir, `${name}.mjs`), js],
    [path.join(outDir, `${name}.d.mts`), dts],
  ];
  for (const [file, text] of files) writeFileAtomic(file, text);
  return files.map(([f]) => f);
}
