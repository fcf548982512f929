// Compiles a .sketch file and imports the generated module, for `sketchc train` and the library
// API. The module is written into the run folder (so a run keeps the exact interpreter it used),
// with its @tensorflow/tfjs-core import pinned to this package's copy: the runtime and the module
// must share one TF.js instance, wherever the run folder is.

import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
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

/** Compiles `sketchFile` into `outDir` (NAME.ts and NAME.js) and imports it. */
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
  const name = path.basename(sketchFile).replace(/\.sketch$/, "");
  const { js } = transpileModule(result.typescript, name);
  const tfjsCore = pathToFileURL(require.resolve("@tensorflow/tfjs-core")).href;
  const pinned = js.replace(
    /from "@tensorflow\/tfjs-core"/,
    `from ${JSON.stringify(tfjsCore)}`,
  );
  const tsFile = path.join(outDir, `${name}.ts`);
  const jsFile = path.join(outDir, `${name}.mjs`);
  writeFileAtomic(tsFile, result.typescript);
  writeFileAtomic(jsFile, pinned);
  return (await import(
    `${pathToFileURL(jsFile).href}?v=${Date.now()}`
  )) as SketchModule;
}
