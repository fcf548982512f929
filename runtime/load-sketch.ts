// Compiles a .sketch file and imports the generated module, for `sketchc train` and the library
// API. The module is written into the run folder (so a run keeps the exact interpreter it used),
// with its imports of @tensorflow/tfjs-core and sketchc/module-runtime pinned to this package's
// files: the runtime and the module must share one TF.js instance, wherever the run folder is.

import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  compileSketch,
  transpileModule,
  writeFileAtomic,
} from "../compiler/compile.js";
import { formatDiagnostic, hasErrors } from "../compiler/diagnostics.js";
import { RunError } from "./run-error.js";
import type { SketchModule } from "./sketch-module.js";

/** A sketch that failed to compile: the message holds the printed diagnostics. */
export class SketchCompileError extends Error {}

const require = createRequire(import.meta.url);

/** This package's runtime library, next to this file (module-runtime/index.ts when run from source). */
const MODULE_RUNTIME_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "module-runtime",
  `index${path.extname(fileURLToPath(import.meta.url))}`,
);

/**
 * Writes NAME.mts and NAME.mjs into outDir, the .mjs importing this package's tfjs-core and
 * runtime library by file URL; returns the .mjs path.
 */
export function writePinnedModule(
  outDir: string,
  name: string,
  typescript: string,
): string {
  const { js } = transpileModule(typescript, name);
  const pins: Record<string, string> = {
    "@tensorflow/tfjs-core": require.resolve("@tensorflow/tfjs-core"),
    "sketchc/module-runtime": MODULE_RUNTIME_FILE,
  };
  const pinned = js.replace(
    /from "(@tensorflow\/tfjs-core|sketchc\/module-runtime)"/g,
    (_, specifier: string) =>
      `from ${JSON.stringify(pathToFileURL(pins[specifier]).href)}`,
  );
  const jsFile = path.join(outDir, `${name}.mjs`);
  writeFileAtomic(path.join(outDir, `${name}.mts`), typescript);
  writeFileAtomic(jsFile, pinned);
  return jsFile;
}

/** The module `loadSketch(sketchFile, outDir)` writes and imports. */
export function moduleFileOf(sketchFile: string, outDir: string): string {
  return path.join(
    outDir,
    `${path.basename(sketchFile).replace(/\.sketch$/, "")}.mjs`,
  );
}

/** Compiles `sketchFile` into `outDir` (NAME.mts and NAME.mjs) and imports it. */
export async function loadSketch(
  sketchFile: string,
  outDir: string,
): Promise<SketchModule> {
  let source: string;
  try {
    source = fs.readFileSync(sketchFile, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a directory"
          : String(code ?? e);
    // Not a diagnostic: one `sketchc: error:` line, as `sketchc check` prints it.
    throw new RunError(`cannot read sketch '${sketchFile}': ${why}`);
  }
  const result = await compileSketch(source, sketchFile);
  if (hasErrors(result.diagnostics) || !result.typescript) {
    throw new SketchCompileError(
      result.diagnostics.map((d) => formatDiagnostic(d, source)).join("\n"),
    );
  }
  const jsFile = writePinnedModule(
    outDir,
    path.basename(moduleFileOf(sketchFile, outDir), ".mjs"),
    result.typescript,
  );
  return (await import(
    `${pathToFileURL(jsFile).href}?v=${Date.now()}`
  )) as SketchModule;
}
