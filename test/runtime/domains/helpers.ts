// Shared helpers of the domain tests: compile a sketch given as text (or a shipped one) into a
// throw-away folder and import it, with the wasm backend the modules run on.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { selectBackend } from "../../../runtime/backend.js";
import { loadSketch } from "../../../runtime/load-sketch.js";
import type { SketchModule } from "../../../runtime/sketch-module.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-domains-"));

beforeAll(async () => {
  await selectBackend("wasm");
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh folder under this file's temporary root. */
export function tempPath(name: string): string {
  return path.join(root, name);
}

/** Writes `text` to NAME.sketch and returns its path. */
export function writeSketch(name: string, text: string): string {
  const file = tempPath(`${name}.sketch`);
  fs.writeFileSync(file, text);
  return file;
}

/** Compiles and imports a sketch file. */
export function compile(file: string): Promise<SketchModule> {
  const name = path.basename(file).replace(/\.sketch$/, "");
  return loadSketch(file, tempPath(`module-${name}`));
}

/** Compiles and imports a sketch given as text. */
export function compileText(name: string, text: string): Promise<SketchModule> {
  return compile(writeSketch(name, text));
}
