// `sketchc train` option parsing: defaults, every flag's mapping, and errors naming the flag.

import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../runtime/config.js";
import {
  formatMetrics,
  parseEvalArgs,
  parseTrainArgs,
} from "../../cli/train-command.js";
import { CliError } from "../../cli/main.js";

describe("parseTrainArgs", () => {
  it("maps flags onto the config and keeps the defaults otherwise", () => {
    const { config, fresh } = parseTrainArgs([
      "sketches/arith.sketch",
      "--tasks",
      "20",
      "--task-batch",
      "10",
      "--lr",
      "0.001",
      "--no-gumbel",
      "--backend",
      "cpu",
      "--fresh",
    ]);
    expect(config).toEqual({
      ...DEFAULT_CONFIG,
      sketch: "sketches/arith.sketch",
      tasks: 20,
      taskBatch: 10,
      learningRate: 0.001,
      gumbel: false,
      backend: "cpu",
    });
    expect(fresh).toBe(true);
  });

  it.each([
    [["a.sketch", "--tasks", "0"], /--tasks must be an integer >= 1, got '0'/],
    [["a.sketch", "--lr", "fast"], /--lr must be a number >= 0, got 'fast'/],
    [["a.sketch", "--backend", "tpu"], /--backend must be one of/],
    [
      ["a.sketch", "--grounder", "vgg"],
      /--grounder must be small-cnn or resnet18/,
    ],
    [["a.sketch", "--data", "/no/such/dir"], /--data: no such folder/],
    [
      ["a.sketch", "--out", "package.json"],
      /--out: 'package.json' exists and is not a folder/,
    ],
    [
      ["a.sketch", "--imitation", "lots"],
      /--imitation must be a number >= 0, got .lots./,
    ],
    [
      ["a.sketch", "--memory-samples", "1.5"],
      /--memory-samples must be an integer >= 0/,
    ],
    [[], /takes one SKETCH file/],
    [["a.sketch", "--bogus"], /Unknown option '--bogus'/],
  ])("rejects %j", (args, message) => {
    expect(() => parseTrainArgs(args)).toThrow(CliError);
    expect(() => parseTrainArgs(args)).toThrow(message);
  });
});

describe("formatMetrics", () => {
  it("prints the metrics of Sec. 4.1 as a table", () => {
    const text = formatMetrics(
      {
        programSuccess: { count: 459, total: 500, rate: 0.918 },
        symbolicLoss: 0.00086,
        testLoss: 0.11,
        groundingAccuracy: 0.97,
        meanProgramLength: 9.6,
      },
      12.5,
      { classes: 0.88, symbols: 0.6 },
    );
    expect(text).toContain("reference: classifier");
    expect(text).toMatch(/reference: g on the symbols\s+60\.00%/);
    expect(text).toMatch(/program success\s+459 \/ 500 \(91\.8%\)/);
    expect(text).toMatch(/grounding accuracy\s+97\.00%/);
  });
});

describe("runTrainCommand", () => {
  it("reports a folder without a checkpoint as one user error", async () => {
    const { runTrainCommand } = await import("../../cli/train-command.js");
    await expect(runTrainCommand("eval", ["/nonexistent/run"])).rejects.toThrow(
      /no checkpoint \(is this a run folder/,
    );
    await expect(
      runTrainCommand("eval", ["/nonexistent/run"]),
    ).rejects.toBeInstanceOf(CliError);
  });
});

describe("parseEvalArgs", () => {
  it("takes a run folder and an optional --decode-samples", () => {
    expect(parseEvalArgs(["runs/a"])).toEqual({
      dir: "runs/a",
      decodeSamples: undefined,
    });
    expect(parseEvalArgs(["runs/a", "--decode-samples", "0"])).toEqual({
      dir: "runs/a",
      decodeSamples: 0,
    });
    expect(() => parseEvalArgs([])).toThrow(/usage: sketchc eval RUN_DIR/);
    expect(() => parseEvalArgs(["a", "--decode-samples", "many"])).toThrow(
      /--decode-samples must be an integer >= 0/,
    );
  });
});
