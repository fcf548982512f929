// The real `sketchc` binary for tests that spawn it: bin/sketchc.js runs dist/, so this builds
// dist/ first when a source is newer than it (a lock folder keeps two test files from building at once).

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT } from "../compiler/compile.js";

export const SKETCHC_BIN = path.join(PACKAGE_ROOT, "bin", "sketchc.js");
const BUILT = path.join(PACKAGE_ROOT, "dist", "cli", "main.js");
const SOURCES = ["cli", "compiler", "grammar", "lsp", "runtime"];

function newestSource(): number {
  let newest = 0;
  for (const folder of SOURCES) {
    const root = path.join(PACKAGE_ROOT, folder);
    if (!fs.existsSync(root)) continue;
    for (const f of fs.readdirSync(root, { recursive: true }) as string[]) {
      if (f.endsWith(".ts"))
        newest = Math.max(newest, fs.statSync(path.join(root, f)).mtimeMs);
    }
  }
  return newest;
}

function isFresh(): boolean {
  return fs.existsSync(BUILT) && fs.statSync(BUILT).mtimeMs >= newestSource();
}

/** Builds dist/ when stale; returns why the binary cannot run, or undefined when it can. */
export function ensureBuilt(): string | undefined {
  if (isFresh()) return undefined;
  const lock = path.join(PACKAGE_ROOT, "dist", ".test-build-lock");
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // A lock older than the deadline was left by a run that died: take it over.
      const held = fs.statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 120_000)
        fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline)
        return "another test's build did not finish";
      execFileSync("sleep", ["0.5"]);
    }
  }
  try {
    if (!isFresh())
      execFileSync("npm", ["run", "build"], {
        cwd: PACKAGE_ROOT,
        stdio: "pipe",
      });
    return undefined;
  } catch (e) {
    return `npm run build failed: ${String((e as { stdout?: Buffer }).stdout ?? e).slice(0, 500)}`;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
