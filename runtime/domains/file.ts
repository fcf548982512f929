// A user's tasks from a JSON Lines file (docs/tasks.md), one JSON object per line:
//   {"symbols": [0, 1, 2, ...]}                        optional first line: the value of class k
//   {"formula": "mul(add(s1, s3), sub(s1, s3))"}       a task from a formula in the sketch's names
//   {"formula": "add(s1, s2)", "given": true}          a given program: not inferred, run exactly
//   {"pairs": [[12, 7], [3, 40], ...], "outputs": [...]}  data: training-image indices per symbol
// The first line may also say {"inputs": V}. Data tasks share their pairs, as all tasks of a run
// do (Sec. 4.1): later data lines may omit "pairs", and if they give them they must be the same.
// Every mistake is a DataError naming the file, the line and the field.

import * as fs from "node:fs";
import { DataError } from "../data/errors.js";
import type { ImageSet } from "../data/images.js";
import type { SketchModule } from "../sketch-module.js";
import { checkAlphabet, type Alphabet } from "./alphabet.js";
import type { DomainPairs, DomainTask, TaskDomain } from "./domain.js";
import { createProgramSpace, placeExpr } from "./embed.js";
import {
  countOps,
  evaluateExpr,
  formatExpr,
  languageOf,
  parseExpr,
  type Expr,
  type Language,
} from "./expression.js";

/** A task of a task file. */
export interface FileTask extends DomainTask {
  /** Its 1-based line in the file. */
  readonly line: number;
  /** The formula of a formula task. */
  readonly expr?: Expr;
}

/** One task line, checked against the sketch's language. */
export type TaskLine = {
  readonly line: number;
  readonly name?: string;
} & (
  | { readonly kind: "formula"; readonly expr: Expr; readonly given: boolean }
  | {
      readonly kind: "data";
      readonly pairs: readonly (readonly number[])[];
      readonly outputs: readonly number[];
    }
);

/** A task file read and checked against the sketch's language (not yet against the data). */
export interface TaskFile {
  readonly file: string;
  /** The first line's alphabet, if it gives one. */
  readonly symbols?: { readonly line: number; readonly values: Alphabet };
  readonly tasks: readonly TaskLine[];
}

const HEADER_FIELDS = ["symbols", "inputs"];
const TASK_FIELDS = ["formula", "given", "name", "pairs", "outputs"];

/** The error of line `line`, field `field` (if any): `tasks.jsonl:3: field 'formula': ...`. */
export function taskFileError(
  file: string,
  line: number,
  field: string | undefined,
  message: string,
): DataError {
  return new DataError(
    `${file}:${line}: ${field === undefined ? "" : `field '${field}': `}${message}`,
  );
}

/**
 * Reads and checks a task file against the sketch's language: JSON per line, known fields,
 * formulas that parse in the sketch's names, pairs of V images with one output each.
 * @param sketchFile named when the file's `inputs` differs from the sketch's
 * @throws DataError naming the file, the line and the field
 */
export function readTaskFile(
  file: string,
  language: Language,
  sketchFile: string,
): TaskFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(
      code === "ENOENT" ? "no such task file" : `cannot read: ${code ?? e}`,
      file,
    );
  }
  const V = language.numInputs;
  let symbols: TaskFile["symbols"];
  const tasks: TaskLine[] = [];
  let sharedPairs: { line: number; pairs: number[][] } | undefined;
  let first = true;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    const fail = (field: string | undefined, message: string) =>
      taskFileError(file, line, field, message);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw fail(undefined, `not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw fail(undefined, "expected a JSON object");
    const o = json as Record<string, unknown>;
    const keys = Object.keys(o);
    const isHeader = keys.some((k) => HEADER_FIELDS.includes(k));
    const wasFirst = first;
    first = false;
    if (isHeader) {
      const field = keys.find((k) => HEADER_FIELDS.includes(k))!;
      if (!wasFirst)
        throw fail(field, `only the first line may give '${field}'`);
      const other = keys.find((k) => !HEADER_FIELDS.includes(k));
      if (other !== undefined)
        throw fail(
          other,
          "the first line gives only 'symbols' and 'inputs'; put tasks on the lines after it",
        );
      if ("inputs" in o && o.inputs !== V)
        throw fail(
          "inputs",
          `the task file is for ${JSON.stringify(o.inputs)} inputs, but ${sketchFile} declares 'inputs ${V}'`,
        );
      if ("symbols" in o) {
        if (!Array.isArray(o.symbols))
          throw fail("symbols", "expected a list of numbers, one per class");
        const bad = checkAlphabet(o.symbols);
        if (bad) throw fail("symbols", bad);
        symbols = { line, values: o.symbols as number[] };
      }
      return;
    }
    const unknown = keys.find((k) => !TASK_FIELDS.includes(k));
    if (unknown !== undefined)
      throw fail(
        unknown,
        `unknown field (a task has 'formula' and optionally 'given', or 'pairs' and 'outputs'; either may have a 'name')`,
      );
    if (o.name !== undefined && typeof o.name !== "string")
      throw fail("name", "expected a string");
    const name = o.name as string | undefined;
    if ("formula" in o) {
      const other = ["pairs", "outputs"].find((k) => k in o);
      if (other !== undefined)
        throw fail(other, "a task has either a 'formula' or data, not both");
      if (typeof o.formula !== "string")
        throw fail("formula", 'expected a string such as "add(s1, s2)"');
      const expr = parseExpr(language, o.formula);
      if ("message" in expr)
        throw fail("formula", `${expr.message} (column ${expr.column})`);
      if (o.given !== undefined && typeof o.given !== "boolean")
        throw fail("given", "expected true or false");
      tasks.push({
        line,
        name,
        kind: "formula",
        expr,
        given: o.given === true,
      });
      return;
    }
    if ("given" in o)
      throw fail("given", "only a task with a 'formula' can be given");
    if (!("outputs" in o))
      throw fail(
        undefined,
        "a task needs a 'formula', or 'pairs' and 'outputs'",
      );
    let pairs: number[][];
    if ("pairs" in o) {
      pairs = checkPairs(o.pairs, V, (m) => fail("pairs", m));
      if (
        sharedPairs &&
        JSON.stringify(pairs) !== JSON.stringify(sharedPairs.pairs)
      )
        throw fail(
          "pairs",
          `differ from the pairs of line ${sharedPairs.line}: all tasks of a run share their pairs (omit 'pairs' to reuse them)`,
        );
      sharedPairs ??= { line, pairs };
    } else if (sharedPairs) {
      pairs = sharedPairs.pairs;
    } else {
      throw fail(undefined, "the first data task needs 'pairs'");
    }
    const outputs = o.outputs;
    if (!Array.isArray(outputs) || outputs.length !== pairs.length)
      throw fail(
        "outputs",
        `expected ${pairs.length} numbers, one per pair${Array.isArray(outputs) ? `, got ${outputs.length}` : ""}`,
      );
    const bad = outputs.findIndex(
      (y) => typeof y !== "number" || !Number.isFinite(y),
    );
    if (bad >= 0)
      throw fail(
        "outputs",
        `output ${bad + 1} (${JSON.stringify(outputs[bad])}) is not a finite number`,
      );
    tasks.push({
      line,
      name,
      kind: "data",
      pairs,
      outputs: outputs as number[],
    });
  });
  if (tasks.length === 0)
    throw new DataError("no tasks (docs/tasks.md shows the format)", file);
  return { file, symbols, tasks };
}

/** The fewest pairs of a data task: the last quarter (at least one) are its test pairs. */
export const MIN_DATA_PAIRS = 2;

function checkPairs(
  value: unknown,
  V: number,
  fail: (message: string) => DataError,
): number[][] {
  if (!Array.isArray(value))
    throw fail("expected a list of pairs, each a list of image indices");
  if (value.length < MIN_DATA_PAIRS)
    throw fail(
      `needs at least ${MIN_DATA_PAIRS} pairs (the last quarter, at least one, are test pairs), got ${value.length}`,
    );
  value.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== V)
      throw fail(
        `pair ${i + 1} has ${Array.isArray(pair) ? pair.length : "no list of"} images, but the sketch has ${V} inputs`,
      );
    pair.forEach((x, j) => {
      if (!Number.isInteger(x) || x < 0)
        throw fail(
          `pair ${i + 1}, image ${j + 1}: ${JSON.stringify(x)} is not an image index (an integer >= 0)`,
        );
    });
  });
  return value as number[][];
}

/** Pairs of a data task used for testing, out of `n`: the last quarter, at least one. */
export function testPairCount(n: number): number {
  return Math.max(1, Math.floor(n / 4));
}

/**
 * The file domain: every task of the file, in file order, none held out. Data tasks' image
 * indices are rows of the dataset's training images (`trainImages`); their last quarter (at least
 * one pair) are the test pairs, the rest the training pairs.
 * @throws DataError naming the file and line of an image out of range, an image of a class the
 *   alphabet lacks, or a given program the sketch cannot express
 */
export function createFileDomain(
  taskFile: TaskFile,
  module: SketchModule,
  alphabet: Alphabet,
  trainImages: ImageSet,
): TaskDomain<FileTask> {
  const language = languageOf(module);
  const space = createProgramSpace(module, language);
  const V = language.numInputs;
  const { file } = taskFile;
  const data = taskFile.tasks.filter((t) => t.kind === "data");
  let pairs: DomainPairs | undefined;
  let split = 0;
  if (data.length > 0) {
    const first = data[0];
    const all = first.pairs;
    all.forEach((pair, i) =>
      pair.forEach((row, j) => {
        const fail = (m: string) => taskFileError(file, first.line, "pairs", m);
        if (row >= trainImages.count)
          throw fail(
            `pair ${i + 1}, image ${j + 1}: ${row} is beyond the ${trainImages.count} training images (0..${trainImages.count - 1})`,
          );
        const k = trainImages.labels[row];
        if (k >= alphabet.length)
          throw fail(
            `pair ${i + 1}, image ${j + 1}: image ${row} is class ${k}, which the alphabet of ${alphabet.length} symbols lacks`,
          );
      }),
    );
    split = all.length - testPairCount(all.length);
    pairs = {
      train: Int32Array.from(all.slice(0, split).flat()),
      test: Int32Array.from(all.slice(split).flat()),
    };
  }
  const tasks: FileTask[] = taskFile.tasks.map((t, id) => {
    const where = `${file}:${t.line}`;
    if (t.kind === "data")
      return {
        id,
        line: t.line,
        text: t.name ?? `(${where})`,
        data: {
          train: Float64Array.from(t.outputs.slice(0, split)),
          test: Float64Array.from(t.outputs.slice(split)),
        },
      };
    let given;
    if (t.given) {
      given = placeExpr(space, t.expr);
      if (given === undefined)
        throw taskFileError(
          file,
          t.line,
          "formula",
          "the sketch cannot express this given program (its lines, scopes or tree depth do not fit it); drop 'given' to have it searched for",
        );
    }
    return {
      id,
      line: t.line,
      text: t.name ?? formatExpr(language, t.expr),
      numOps: countOps(language, t.expr),
      expr: t.expr,
      given,
    };
  });
  return {
    name: "file",
    description: `${tasks.length} task${tasks.length === 1 ? "" : "s"} of ${file}`,
    alphabet,
    numInputs: V,
    poolSize: tasks.length,
    drawTasks: () => ({ train: tasks, heldOut: [] }),
    output(task, s) {
      if (task.expr === undefined)
        throw new Error(`${file}:${task.line}: a data task has no formula`);
      return evaluateExpr(language, task.expr, s);
    },
    program: (task) => task.expr,
    pairs,
  };
}
