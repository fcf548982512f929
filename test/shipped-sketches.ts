// The sketches every text-level tool is tested on: the shipped sketches/ and the emitter's
// samples (test/samples/CASE/input.sketch).

import * as fs from "node:fs";
import * as path from "node:path";
import { PACKAGE_ROOT } from "../compiler/compile.js";

/** Every shipped sketch and every emitter sample, as [relative path, text]. */
export function shippedSketches(): [string, string][] {
  const sketches = fs
    .readdirSync(path.join(PACKAGE_ROOT, "sketches"))
    .filter((f) => f.endsWith(".sketch"))
    .map((f) => path.join("sketches", f));
  const samples = fs
    .readdirSync(path.join(PACKAGE_ROOT, "test", "samples"), {
      withFileTypes: true,
    })
    .filter((d) => d.isDirectory())
    .map((d) => path.join("test", "samples", d.name, "input.sketch"));
  return [...sketches, ...samples].map((f) => [
    f,
    fs.readFileSync(path.join(PACKAGE_ROOT, f), "utf8"),
  ]);
}
