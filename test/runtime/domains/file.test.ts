// Task files (JSON Lines): formulas in the sketch's names, given programs, data tasks sharing their
// pairs, the alphabet line; every mistake names the file, the line and the field. Then the
// domain a run builds from its config: which one, which alphabet, and the mismatches.

import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type TrainConfig } from "../../../runtime/config.js";
import { DataError } from "../../../runtime/data/errors.js";
import type { ImageDataset } from "../../../runtime/data/images.js";
import {
  createDomain,
  resolveDomainName,
} from "../../../runtime/domains/create.js";
import {
  createFileDomain,
  readTaskFile,
  testPairCount,
} from "../../../runtime/domains/file.js";
import {
  languageOf,
  type Language,
} from "../../../runtime/domains/expression.js";
import { RunError } from "../../../runtime/run-error.js";
import type { SketchModule } from "../../../runtime/sketch-module.js";
import { syntheticSet } from "../data/helpers.js";
import { compile, compileText, tempPath } from "./helpers.js";

const TINY = `sketch tiny {
  inputs 2;
  const ten = 10;
  op add(a, b) = a + b;
  op mul(a, b) = a * b;
  op skip(a) = a cost 0;
  straight lines 2 { args: inputs, consts, earlier; }
  output last;
}
`;

let module: SketchModule;
let language: Language;
/** 60 training images (label n % 10) and 30 test images. */
const dataset: ImageDataset = {
  name: "synthetic",
  train: syntheticSet(60),
  test: syntheticSet(30),
  numClasses: 10,
};

beforeAll(async () => {
  module = await compileText("tiny", TINY);
  language = languageOf(module);
});

let files = 0;
/** Writes the lines to a fresh tasks file and returns its path. */
function taskFile(...lines: string[]): string {
  const file = tempPath(`tasks-${++files}.jsonl`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

const read = (file: string) => readTaskFile(file, language, "tiny.sketch");

describe("readTaskFile", () => {
  it("reads the alphabet line, formulas, given programs and data tasks", () => {
    const file = taskFile(
      '{"symbols": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "inputs": 2}',
      '{"formula": "add(s1, s2)", "given": true}',
      "",
      '{"formula": "mul(s1, add(s2, ten))", "name": "scaled"}',
      '{"pairs": [[0, 1], [2, 3], [4, 5], [6, 7]], "outputs": [1, 5, 9, 13]}',
      '{"outputs": [0, 6, 20, 42]}',
    );
    const t = read(file);
    expect(t.symbols).toEqual({
      line: 1,
      values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    });
    expect(t.tasks.map((x) => [x.line, x.kind])).toEqual([
      [2, "formula"],
      [4, "formula"],
      [5, "data"],
      [6, "data"],
    ]);
    expect(t.tasks[0]).toMatchObject({ given: true });
    expect(t.tasks[1]).toMatchObject({ given: false, name: "scaled" });
    // Line 6 reuses the pairs of line 5.
    expect(t.tasks[3]).toMatchObject({
      pairs: [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ],
    });
  });

  it.each([
    [["{nope"], 1, undefined, /not valid JSON \(/],
    [["[1, 2]"], 1, undefined, /expected a JSON object/],
    [
      ['{"formula": "mull(s1, s2)"}'],
      1,
      "formula",
      /unknown operator 'mull' \(column 1\)/,
    ],
    [
      ['{"formula": "add(s1, s3)"}'],
      1,
      "formula",
      /symbol 's3' is beyond the sketch's 2 inputs/,
    ],
    [
      ['{"formula": "add(s1)"}'],
      1,
      "formula",
      /operator 'add' takes 2 arguments, got 1/,
    ],
    [['{"formula": 3}'], 1, "formula", /expected a string/],
    [['{"frmula": "add(s1, s2)"}'], 1, "frmula", /unknown field/],
    [
      ['{"formula": "s1", "given": "yes"}'],
      1,
      "given",
      /expected true or false/,
    ],
    [['{"formula": "s1", "name": 7}'], 1, "name", /expected a string/],
    [
      ['{"formula": "s1", "outputs": [1, 2]}'],
      1,
      "outputs",
      /either a 'formula' or data, not both/,
    ],
    [
      ['{"given": true, "outputs": [1, 2]}'],
      1,
      "given",
      /only a task with a 'formula' can be given/,
    ],
    [
      ['{"name": "x"}'],
      1,
      undefined,
      /a task needs a 'formula', or 'pairs' and 'outputs'/,
    ],
    [
      ['{"outputs": [1, 2]}'],
      1,
      undefined,
      /the first data task needs 'pairs'/,
    ],
    [
      ['{"pairs": [[0, 1]], "outputs": [1]}'],
      1,
      "pairs",
      /needs at least 2 pairs/,
    ],
    [
      ['{"pairs": [[0, 1], [2]], "outputs": [1, 2]}'],
      1,
      "pairs",
      /pair 2 has 1 images, but the sketch has 2 inputs/,
    ],
    [
      ['{"pairs": [[0, 1], [2, -3]], "outputs": [1, 2]}'],
      1,
      "pairs",
      /pair 2, image 2: -3 is not an image index/,
    ],
    [
      ['{"pairs": 5, "outputs": [1, 2]}'],
      1,
      "pairs",
      /expected a list of pairs/,
    ],
    [
      ['{"pairs": [[0, 1], [2, 3]], "outputs": [1]}'],
      1,
      "outputs",
      /expected 2 numbers, one per pair, got 1/,
    ],
    [
      ['{"pairs": [[0, 1], [2, 3]], "outputs": [1, "2"]}'],
      1,
      "outputs",
      /output 2 \("2"\) is not a finite number/,
    ],
    [
      [
        '{"pairs": [[0, 1], [2, 3]], "outputs": [1, 2]}',
        '{"pairs": [[0, 1], [2, 4]], "outputs": [1, 2]}',
      ],
      2,
      "pairs",
      /differ from the pairs of line 1: all tasks of a run share their pairs/,
    ],
    [
      ['{"formula": "s1"}', '{"symbols": [1, 2]}'],
      2,
      "symbols",
      /only the first line may give 'symbols'/,
    ],
    [
      ['{"symbols": [1, "a"]}'],
      1,
      "symbols",
      /value 2 \("a"\) is not a finite number/,
    ],
    [['{"symbols": 3}'], 1, "symbols", /expected a list of numbers/],
    [
      ['{"symbols": [1, 2], "formula": "s1"}'],
      1,
      "formula",
      /the first line gives only 'symbols' and 'inputs'/,
    ],
    [
      ['{"inputs": 3}', '{"formula": "s1"}'],
      1,
      "inputs",
      /the task file is for 3 inputs, but tiny.sketch declares 'inputs 2'/,
    ],
  ])("rejects %j at line %d, field %s", (lines, line, field, message) => {
    const file = taskFile(...lines);
    const prefix = `${file}:${line}: ${field === undefined ? "" : `field '${field}': `}`;
    let error: unknown;
    try {
      read(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message.startsWith(prefix)).toBe(true);
    expect((error as Error).message.slice(prefix.length)).toMatch(message);
  });

  it("names the file when it is missing or holds no task", () => {
    expect(() => read("/no/such/tasks.jsonl")).toThrow(
      /^\/no\/such\/tasks\.jsonl: no such task file$/,
    );
    const empty = taskFile('{"symbols": [1, 2]}', "");
    expect(() => read(empty)).toThrow(`${empty}: no tasks`);
  });
});

describe("createFileDomain", () => {
  const alphabet = Array.from({ length: 10 }, (_, k) => k);

  it("keeps file order, places given programs, and splits the data's pairs", () => {
    const file = taskFile(
      '{"formula": "add(s1, s2)", "given": true}',
      '{"formula": "mul(s1, add(s2, ten))"}',
      '{"pairs": [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]], "outputs": [1, 5, 9, 13, 17], "name": "sum"}',
    );
    const domain = createFileDomain(
      read(file),
      module,
      alphabet,
      dataset.train,
    );
    const { train, heldOut } = domain.drawTasks(500, 100, 0);
    expect(heldOut).toEqual([]);
    expect(train.map((t) => t.text)).toEqual([
      "add(s1, s2)",
      "mul(s1, add(s2, ten))",
      "sum",
    ]);
    expect(train[0].given).toBeDefined();
    expect(train[1].given).toBeUndefined();
    expect(domain.output(train[1], [2, 3])).toBe(26);
    // 5 pairs: the last quarter, at least one, are test pairs.
    expect(testPairCount(5)).toBe(1);
    expect(Array.from(domain.pairs!.train)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(domain.pairs!.test)).toEqual([8, 9]);
    expect(Array.from(train[2].data!.train)).toEqual([1, 5, 9, 13]);
    expect(Array.from(train[2].data!.test)).toEqual([17]);
  });

  it.each([
    [
      '{"pairs": [[0, 1], [2, 60]], "outputs": [1, 2]}',
      "pairs",
      /pair 2, image 2: 60 is beyond the 60 training images \(0\.\.59\)/,
      alphabet,
    ],
    [
      '{"pairs": [[0, 1], [2, 7]], "outputs": [1, 2]}',
      "pairs",
      /pair 2, image 2: image 7 is class 7, which the alphabet of 5 symbols lacks/,
      [0, 1, 2, 3, 4],
    ],
    [
      '{"formula": "add(add(s1, s2), add(s2, s1))", "given": true}',
      "formula",
      /the sketch cannot express this given program/,
      alphabet,
    ],
  ])("rejects %j (field %s)", (line, field, message, values) => {
    const file = taskFile('{"formula": "s1"}', line);
    let error: unknown;
    try {
      createFileDomain(read(file), module, values, dataset.train);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    const prefix = `${file}:2: field '${field}': `;
    expect((error as Error).message.startsWith(prefix)).toBe(true);
    expect((error as Error).message.slice(prefix.length)).toMatch(message);
  });
});

describe("createDomain", () => {
  const config = (overrides: Partial<TrainConfig>): TrainConfig => ({
    ...DEFAULT_CONFIG,
    sketch: "tiny.sketch",
    ...overrides,
  });

  it("chooses arith for the paper's sketches, enumerate for others, file with a task file", async () => {
    const arith = await compile("sketches/arith-depth3.sketch");
    const horner = await compile("sketches/horner.sketch");
    const smooth = await compile("sketches/smooth.sketch");
    expect(resolveDomainName(config({}), arith)).toBe("arith");
    expect(resolveDomainName(config({}), horner)).toBe("arith"); // add, sub, mul by their bodies
    expect(resolveDomainName(config({}), smooth)).toBe("enumerate"); // 2 inputs
    expect(resolveDomainName(config({}), module)).toBe("enumerate");
    expect(resolveDomainName(config({ taskFile: "t.jsonl" }), module)).toBe(
      "file",
    );
    expect(resolveDomainName(config({ domain: "enumerate" }), arith)).toBe(
      "enumerate",
    );
  });

  it("takes the alphabet from --symbols, the task file or the class count", () => {
    const enumerate = createDomain(config({ maxOps: 1 }), module, dataset);
    expect(enumerate.name).toBe("enumerate");
    expect(enumerate.alphabet).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
    ]);
    const symbols = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    expect(
      createDomain(config({ maxOps: 1, symbols }), module, dataset).alphabet,
    ).toEqual(symbols);
    const file = taskFile(
      `{"symbols": ${JSON.stringify(symbols)}}`,
      '{"formula": "s1"}',
    );
    const fromFile = createDomain(config({ taskFile: file }), module, dataset);
    expect(fromFile.name).toBe("file");
    expect(fromFile.alphabet).toEqual(symbols);
    const five: ImageDataset = {
      ...dataset,
      train: syntheticSet(20, 5),
      test: syntheticSet(10, 5),
    };
    expect(createDomain(config({ maxOps: 1 }), module, five).alphabet).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5,
    ]);
  });

  it("reports every mismatch as one user error naming the flag or the file", async () => {
    const smooth = await compile("sketches/smooth.sketch");
    const file = taskFile('{"symbols": [1, 2, 3]}', '{"formula": "s1"}');
    const cases: [() => unknown, typeof RunError | typeof DataError, RegExp][] =
      [
        [
          () => createDomain(config({ symbols: [1, 2, 3] }), module, dataset),
          RunError,
          /^--symbols: 3 values given, but the dataset synthetic has 10 classes, and the alphabet lacks classes 3\.\.9: give one value per class$/,
        ],
        [
          () =>
            createDomain(
              config({ symbols: Array(12).fill(1) }),
              module,
              dataset,
            ),
          RunError,
          /^--symbols: 12 values given, but the dataset synthetic has only 10 classes/,
        ],
        [
          () => createDomain(config({ taskFile: file }), module, dataset),
          DataError,
          new RegExp(
            `^${file}:1: field 'symbols': 3 values given, but the dataset synthetic has 10 classes`,
          ),
        ],
        [
          () =>
            createDomain(
              config({ taskFile: file, symbols: [1] }),
              module,
              dataset,
            ),
          RunError,
          new RegExp(
            `^--symbols and ${file}:1 both give the alphabet; keep one$`,
          ),
        ],
        [
          () =>
            createDomain(
              config({ domain: "arith", sketch: "sketches/smooth.sketch" }),
              smooth,
              dataset,
            ),
          RunError,
          /^--domain arith: the paper's tasks have 3 symbols, but sketches\/smooth.sketch declares 'inputs 2'/,
        ],
        [
          () =>
            createDomain(
              config({ domain: "enumerate", taskFile: file }),
              module,
              dataset,
            ),
          RunError,
          /^--task-file is for --domain file, not --domain enumerate$/,
        ],
        [
          () => createDomain(config({ domain: "file" }), module, dataset),
          RunError,
          /^--domain file needs --task-file FILE$/,
        ],
      ];
    for (const [run, type, message] of cases) {
      expect(run).toThrow(type);
      expect(run).toThrow(message);
    }
  });
});
