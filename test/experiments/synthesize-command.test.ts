// `sketchc synthesize`: the smallest program from a pairs file, in the sketch's formula syntax,
// with the programs explored; bad input is one `sketchc: error:` line naming the file and line.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { run } from "../../cli/main.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-synth-cli-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** Runs the CLI, capturing stdout and stderr. */
async function cli(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  await run(argv);
  vi.restoreAllMocks();
  const code = process.exitCode;
  process.exitCode = undefined;
  return { stdout, stderr, code };
}

function write(name: string, text: string): string {
  const file = path.join(root, name);
  fs.writeFileSync(file, text);
  return file;
}

const points = [
  [0.1, 0.5, 0.3],
  [0.7, 0.2, 0.9],
  [0.4, 0.4, 1.0],
  [1.0, 0.6, 0.2],
  [0.3, 0.8, 0.5],
  [0.9, 0.1, 0.6],
];

describe("sketchc synthesize", () => {
  it("prints the smallest program with its size, error and programs explored", async () => {
    const file = write(
      "pairs.jsonl",
      points
        .map((s) => JSON.stringify({ s, y: (s[0] + s[1]) * s[2] }))
        .join("\n") + "\n",
    );
    const r = await cli(
      "synthesize",
      "sketches/arith.sketch",
      "--pairs",
      file,
      "--json",
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.found).toBe(true);
    expect(out.size).toBe(2);
    expect(out.expressible).toBe(true);
    expect(out.formula).toMatch(/s3/);
    expect(out.explored).toBeGreaterThan(0);
    expect(out.exhaustive).toBe(true);
  });

  it("reads a .json array and says so when no program fits the bound", async () => {
    const file = write(
      "pairs.json",
      JSON.stringify(
        points.map((s) => ({ s, y: s[0] * s[1] * s[2] * s[0] - s[1] })),
      ),
    );
    const r = await cli(
      "synthesize",
      "sketches/arith.sketch",
      "--pairs",
      file,
      "--max-size",
      "1",
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no program of size <= 1 .*exhaustive/);
    expect(r.stdout).toMatch(/programs explored/);
  });

  it("names the file and line of a bad pair in one line", async () => {
    const file = write(
      "bad.jsonl",
      `{"s": [0.1, 0.2, 0.3], "y": 0.1}\n{"s": [0.1, 0.2], "y": 0.1}\n`,
    );
    const r = await cli("synthesize", "sketches/arith.sketch", "--pairs", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `sketchc: error: ${file}:2: "s" has 2 symbols, the sketch has 3 inputs\n`,
    );
    const notJson = write("nj.jsonl", `{"s": [0.1, 0.2, 0.3], "y": 0.1}\n{\n`);
    const r2 = await cli(
      "synthesize",
      "sketches/arith.sketch",
      "--pairs",
      notJson,
    );
    expect(r2.stderr).toMatch(/^sketchc: error: .*nj\.jsonl:2: not JSON/);
    expect(r2.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("rejects missing --pairs and bad flags as usage errors", async () => {
    const r = await cli("synthesize", "sketches/arith.sketch");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "sketchc: error: sketchc synthesize needs --pairs FILE\n",
    );
    const r2 = await cli(
      "synthesize",
      "sketches/arith.sketch",
      "--pairs",
      "x.jsonl",
      "--max-size",
      "two",
    );
    expect(r2.stderr).toMatch(/--max-size must be an integer >= 0, got 'two'/);
  });
});
