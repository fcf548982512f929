// `sketchc synthesize SKETCH --pairs FILE`: bottom-up enumerative synthesis (runtime/synthesis)
// over a sketch's operators, from grounded symbols and outputs. Pairs are JSON Lines
// `{"s": [0.1, 0.5, 0.3], "y": 0.18}` or a JSON array of them; a bad line is one error naming it.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CliError } from "./main.js";
import { intFlag, numFlag } from "./flags.js";

export const SYNTHESIZE_HELP = `Usage: sketchc synthesize SKETCH --pairs FILE [--max-size N] [--tolerance X] [--json]

The smallest program of SKETCH's operators (bottom-up enumeration by size, programs with equal
outputs on the pairs counted once) whose outputs match the pairs' within the tolerance.

  --pairs FILE     grounded symbols and outputs: JSON Lines {"s": [s1, ..., sV], "y": y}, or a
                   .json array of such objects
  --max-size N     most operator applications of the program (3)
  --tolerance X    largest normalized error: mean squared error / variance of the outputs (0.01)
  --max-programs N candidates evaluated at most (5000000)
  --json           print the result as one JSON object
`;

export interface Pair {
  readonly s: readonly number[];
  readonly y: number;
}

/** Reads a pairs file; `numInputs` symbols per pair. Errors name the file and line. */
export function readPairs(file: string, numInputs: number): Pair[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      `--pairs: cannot read '${file}': ${code === "ENOENT" ? "no such file" : code}`,
      1,
    );
  }
  const records: { value: unknown; where: string }[] = [];
  if (file.endsWith(".json")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new CliError(`${file}: not JSON: ${(e as Error).message}`, 1);
    }
    if (!Array.isArray(value))
      throw new CliError(`${file}: expected an array of {"s", "y"} pairs`, 1);
    value.forEach((v, i) => records.push({ value: v, where: `${file}[${i}]` }));
  } else {
    text.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      const where = `${file}:${i + 1}`;
      try {
        records.push({ value: JSON.parse(line), where });
      } catch (e) {
        throw new CliError(`${where}: not JSON: ${(e as Error).message}`, 1);
      }
    });
  }
  if (records.length === 0) throw new CliError(`${file}: no pairs`, 1);
  return records.map(({ value, where }) => {
    const r = value as { s?: unknown; y?: unknown };
    if (typeof r !== "object" || r === null || !Array.isArray(r.s))
      throw new CliError(`${where}: expected {"s": [numbers], "y": number}`, 1);
    if (r.s.length !== numInputs)
      throw new CliError(
        `${where}: "s" has ${r.s.length} symbols, the sketch has ${numInputs} inputs`,
        1,
      );
    if (!r.s.every((x) => typeof x === "number" && Number.isFinite(x)))
      throw new CliError(`${where}: "s" must hold finite numbers`, 1);
    if (typeof r.y !== "number" || !Number.isFinite(r.y))
      throw new CliError(`${where}: "y" must be a finite number`, 1);
    return { s: r.s as number[], y: r.y };
  });
}

export async function runSynthesizeCommand(
  args: readonly string[],
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        pairs: { type: "string" },
        "max-size": { type: "string" },
        tolerance: { type: "string" },
        "max-programs": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(
      `${(e as Error).message} (try 'sketchc synthesize --help')`,
    );
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(SYNTHESIZE_HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1)
    throw new CliError(
      "sketchc synthesize takes one SKETCH file (try 'sketchc synthesize --help')",
    );
  if (v.pairs === undefined)
    throw new CliError("sketchc synthesize needs --pairs FILE");
  const {
    DEFAULT_MAX_PROGRAMS,
    DEFAULT_MAX_SIZE,
    DEFAULT_TOLERANCE,
    synthesize,
  } = await import("../runtime/synthesis/bottom-up.js");
  const maxSize = intFlag("max-size", v["max-size"], DEFAULT_MAX_SIZE, 0);
  const tolerance = numFlag("tolerance", v.tolerance, DEFAULT_TOLERANCE);
  const maxPrograms = intFlag(
    "max-programs",
    v["max-programs"],
    DEFAULT_MAX_PROGRAMS,
    0,
  );
  const { loadSketch, SketchCompileError } =
    await import("../runtime/load-sketch.js");
  const { selectBackend } = await import("../runtime/backend.js");
  const { languageOf } = await import("../runtime/domains/expression.js");
  const { formulaOf } = await import("../runtime/synthesis/formula.js");
  await selectBackend("cpu");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-synthesize-"));
  try {
    let module;
    try {
      module = await loadSketch(parsed.positionals[0], dir);
    } catch (e) {
      if (e instanceof SketchCompileError) {
        process.stderr.write(e.message + "\n");
        return 1;
      }
      throw e;
    }
    const pairs = readPairs(v.pairs, module.sketch.numInputs);
    const r = synthesize(
      languageOf(module),
      pairs.map((p) => p.s),
      pairs.map((p) => p.y),
      { maxSize, tolerance, maxPrograms },
    );
    const printed = r.program && formulaOf(module, r.program);
    if (v.json) {
      process.stdout.write(
        JSON.stringify({
          found: r.program !== undefined,
          program: r.text ?? null,
          formula: printed?.formula ?? null,
          expressible: printed?.expressible ?? null,
          size: r.size ?? null,
          error: r.error ?? null,
          mse: r.mse ?? null,
          explored: r.explored,
          distinct: r.distinct,
          seconds: r.seconds,
          exhaustive: r.exhaustive,
        }) + "\n",
      );
    } else {
      const cost = `${r.explored.toLocaleString("en-US")} programs explored (${r.distinct.toLocaleString("en-US")} distinct) in ${r.seconds.toFixed(3)} s`;
      if (r.program && printed)
        process.stdout.write(
          `y = ${printed.formula}\n  ${r.text}: size ${r.size}, normalized error ${r.error!.toExponential(3)}, mse ${r.mse!.toExponential(3)}` +
            (printed.expressible
              ? ""
              : `\n  note: ${parsed.positionals[0]} cannot express it as a program`) +
            `\n  ${cost}\n`,
        );
      else
        process.stdout.write(
          `no program of size <= ${maxSize} within tolerance ${tolerance}` +
            (r.exhaustive
              ? " (the search was exhaustive)"
              : ` (stopped at --max-programs ${maxPrograms}: not exhaustive)`) +
            `\n  ${cost}\n`,
        );
    }
    return r.program ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
