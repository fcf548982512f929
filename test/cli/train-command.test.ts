// `sketchc train` option parsing: defaults, every flag's mapping, and errors naming the flag.

import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, knowledgeOf } from "../../runtime/config.js";
import {
  formatMetrics,
  parseEvalArgs,
  parseTrainArgs,
  runTrainCommand,
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
      "--no-codebook-split",
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
      codebookSplit: false,
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
    [["a.sketch", "--preset", "gpu"], /--preset must be one of cpu, paper/],
    [
      ["a.sketch", "--grounder-output", "tanh"],
      /--grounder-output must be one of sigmoid, linear, categorical/,
    ],
    [
      ["a.sketch", "--memory-layout", "bogus"],
      /--memory-layout must be one of canonical, found/,
    ],
    [
      ["a.sketch", "--memory-search", "1.5"],
      /--memory-search must be an integer >= 0/,
    ],
    [
      ["a.sketch", "--abduction-width", "wide"],
      /--abduction-width must be one of spread, residual/,
    ],
    [
      ["a.sketch", "--abduction-evidence", "some"],
      /--abduction-evidence must be one of batch, all/,
    ],
    [
      ["a.sketch", "--solved-objective", "none"],
      /--solved-objective must be one of both, imitation/,
    ],
    [
      ["a.sketch", "--abduction-alphabet", "ascii"],
      /--abduction-alphabet must be one of gold, codebook/,
    ],
    [
      ["a.sketch", "--symbol-prior", "much"],
      /--symbol-prior must be a number >= 0/,
    ],
    [
      ["a.sketch", "--held-out-tasks", "x"],
      /--held-out-tasks must be an integer >= 0/,
    ],
    [
      ["a.sketch", "--task-batch", "some"],
      /--task-batch must be an integer >= 1/,
    ],
    [
      ["a.sketch", "--domain", "mine"],
      /--domain must be one of arith, enumerate, file/,
    ],
    [
      ["a.sketch", "--task-file", "/no/such.jsonl"],
      /--task-file: no such file '\/no\/such.jsonl'/,
    ],
    [
      ["a.sketch", "--domain", "arith", "--task-file", "package.json"],
      /--task-file is for --domain file, not --domain arith/,
    ],
    [["a.sketch", "--domain", "file"], /--domain file needs --task-file FILE/],
    [["a.sketch", "--max-ops", "1.5"], /--max-ops must be an integer >= 0/],
    [
      ["a.sketch", "--symbols", "0,1,two"],
      /--symbols must be numbers separated by commas, one per class, got 'two'/,
    ],
    [["a.sketch", "--symbols", "1,,2"], /--symbols must be numbers .* got ''/],
    [[], /takes one SKETCH file/],
    [["a.sketch", "--bogus"], /Unknown option '--bogus'/],
  ])("rejects %j", (args, message) => {
    expect(() => parseTrainArgs(args)).toThrow(CliError);
    expect(() => parseTrainArgs(args)).toThrow(message);
  });
});

describe("the task flags", () => {
  it("map --domain, --task-file, --max-ops and --symbols onto the config", () => {
    const { config } = parseTrainArgs([
      "a.sketch",
      "--domain",
      "enumerate",
      "--max-ops",
      "2",
      "--symbols",
      "0, 1,2.5,-3",
    ]);
    expect(config.domain).toBe("enumerate");
    expect(config.maxOps).toBe(2);
    expect(config.symbols).toEqual([0, 1, 2.5, -3]);
    expect(config.taskFile).toBeUndefined();
    const file = parseTrainArgs(["a.sketch", "--task-file", "package.json"]);
    expect(file.config.taskFile).toBe("package.json");
    expect(file.config.domain).toBeUndefined(); // the file domain by default
    expect(parseTrainArgs(["a.sketch"]).config.domain).toBeUndefined();
  });
});

describe("--preset", () => {
  // The paper's method (Sec. 3, 4.1), as docs/training.md lists it: every value it sets.
  const paper = {
    preset: "paper",
    imitation: 0,
    memorySamples: 0,
    abduction: 0,
    symbolPrior: 0,
    grounderOutput: "linear",
    memorySearch: 0,
    clipNorm: 0,
    learningRate: 3e-4,
    recognizerHidden: 256,
    taskBatch: 0,
    decodeSamples: 0,
    inferencePairs: "all",
  };

  it("paper sets exactly the documented values and nothing else", () => {
    const { config } = parseTrainArgs(["a.sketch", "--preset", "paper"]);
    expect(config).toEqual({ ...DEFAULT_CONFIG, sketch: "a.sketch", ...paper });
    expect(knowledgeOf(config)).toEqual([]);
  });

  it("cpu is the default, and flags override a preset", () => {
    expect(parseTrainArgs(["a.sketch"]).config).toEqual(
      parseTrainArgs(["a.sketch", "--preset", "cpu"]).config,
    );
    const { config } = parseTrainArgs([
      "a.sketch",
      "--preset",
      "paper",
      "--symbol-prior",
      "0.5",
      "--task-batch",
      "50",
    ]);
    expect(config.symbolPrior).toBe(0.5);
    expect(config.taskBatch).toBe(50);
    expect(config.learningRate).toBe(3e-4);
    expect(
      parseTrainArgs(["a.sketch", "--task-batch", "all"]).config.taskBatch,
    ).toBe(0);
  });

  it("records what the cpu preset knows beyond the images and training outputs", () => {
    const { config } = parseTrainArgs(["a.sketch"]);
    expect(knowledgeOf(config)).toEqual([
      "alphabet-statistics",
      "symbol-range",
      "class-count",
      "program-size",
    ]);
    const gold = parseTrainArgs(["a.sketch", "--abduction-alphabet", "gold"]);
    expect(knowledgeOf(gold.config)).toEqual([
      "alphabet",
      "alphabet-statistics",
      "program-size",
    ]);
    const free = parseTrainArgs([
      "a.sketch",
      "--symbol-prior",
      "0",
      "--grounder-output",
      "linear",
    ]).config;
    expect(knowledgeOf(free)).toEqual(["class-count", "program-size"]);
    const transductive = parseTrainArgs([
      "a.sketch",
      "--transductive-eval",
    ]).config;
    expect(knowledgeOf(transductive)).toContain("other-tasks-test-outputs");
    expect(knowledgeOf({ ...config, oracleSymbols: true })).toEqual([
      "gold-symbols",
      "program-size",
    ]);
  });

  it("maps --memory-search, which knows the programs' size", () => {
    expect(parseTrainArgs(["a.sketch"]).config.memorySearch).toBe(3);
    const { config } = parseTrainArgs(["a.sketch", "--memory-search", "4"]);
    expect(config.memorySearch).toBe(4);
    expect(knowledgeOf(config)).toContain("program-size");
    const off = parseTrainArgs(["a.sketch", "--memory-search", "0"]).config;
    expect(knowledgeOf(off)).not.toContain("program-size");
  });

  it("maps --abduction-width and --abduction-evidence", () => {
    const { config } = parseTrainArgs([
      "a.sketch",
      "--abduction-width",
      "residual",
      "--abduction-evidence",
      "all",
    ]);
    expect(config.abductionWidth).toBe("residual");
    expect(config.abductionEvidence).toBe("all");
  });

  it("maps --solved-objective", () => {
    for (const o of ["both", "imitation"] as const)
      expect(
        parseTrainArgs(["a.sketch", "--solved-objective", o]).config
          .solvedObjective,
      ).toBe(o);
  });

  it("maps --memory-layout, found by default", () => {
    expect(parseTrainArgs(["a.sketch"]).config.memoryLayout).toBe("found");
    expect(
      parseTrainArgs(["a.sketch", "--memory-layout", "canonical"]).config
        .memoryLayout,
    ).toBe("canonical");
  });

  it("maps --target-arg-order, sorted by default, and names the flag on a bad value", () => {
    expect(parseTrainArgs(["a.sketch"]).config.targetArgOrder).toBe("sorted");
    expect(
      parseTrainArgs(["a.sketch", "--target-arg-order", "sorted"]).config
        .targetArgOrder,
    ).toBe("sorted");
    expect(
      parseTrainArgs(["a.sketch", "--target-arg-order", "stored"]).config
        .targetArgOrder,
    ).toBe("stored");
    expect(() =>
      parseTrainArgs(["a.sketch", "--target-arg-order", "alphabetical"]),
    ).toThrow(/--target-arg-order must be one of sorted, stored/);
  });

  it("maps --rehearsal, 0 by default, and rejects a negative count", () => {
    expect(
      parseTrainArgs(["a.sketch", "--rehearsal", "200"]).config.rehearsal,
    ).toBe(200);
    expect(parseTrainArgs(["a.sketch"]).config.rehearsal).toBe(
      DEFAULT_CONFIG.rehearsal,
    );
    expect(() => parseTrainArgs(["a.sketch", "--rehearsal", "2.5"])).toThrow(
      /--rehearsal must be an integer >= 0/,
    );
  });

  it("maps --dreams and --dream-weight, and dreams know the task distribution", () => {
    const { config } = parseTrainArgs([
      "a.sketch",
      "--dreams",
      "16",
      "--dream-weight",
      "0.5",
    ]);
    expect(config.dreams).toBe(16);
    expect(config.dreamWeight).toBe(0.5);
    expect(knowledgeOf(config)).toContain("task-distribution");
    // A run that found nothing to dream (a task file's pool is its training tasks) knows nothing more.
    expect(knowledgeOf(config, { dreams: false })).not.toContain(
      "task-distribution",
    );
    expect(knowledgeOf({ ...config, model: "cnn-mlp" })).not.toContain(
      "task-distribution",
    );
    expect(parseTrainArgs(["a.sketch"]).config.dreams).toBe(0);
    expect(() => parseTrainArgs(["a.sketch", "--dreams", "1.5"])).toThrow(
      /--dreams must be an integer >= 0/,
    );
  });
});

describe("--memory-restart", () => {
  it("takes a share in [0, 1] (0: off), 0.35 by default, and names a bad value", () => {
    expect(parseTrainArgs(["a.sketch"]).config.memoryRestart).toBe(0.35);
    for (const [flag, value] of [
      ["0", 0],
      ["0.5", 0.5],
      ["1", 1],
    ] as const)
      expect(
        parseTrainArgs(["a.sketch", "--memory-restart", flag]).config
          .memoryRestart,
      ).toBe(value);
    for (const bad of ["1.5", "=-0.1", "often", ""])
      expect(() =>
        parseTrainArgs(
          bad.startsWith("=")
            ? ["a.sketch", `--memory-restart${bad}`]
            : ["a.sketch", "--memory-restart", bad],
        ),
      ).toThrow(/--memory-restart must be a share between 0 and 1/);
  });
});

describe("--rehearsal-permute-share", () => {
  it("takes a share in [0, 1], 1 by default, and names a bad value", () => {
    expect(parseTrainArgs(["a.sketch"]).config.rehearsalPermuteShare).toBe(1);
    expect(
      parseTrainArgs([
        "a.sketch",
        "--rehearsal-permute",
        "--rehearsal-permute-share",
        "0.25",
      ]).config.rehearsalPermuteShare,
    ).toBe(0.25);
    for (const bad of ["2", "half", ""])
      expect(() =>
        parseTrainArgs([
          "a.sketch",
          "--rehearsal-permute",
          "--rehearsal-permute-share",
          bad,
        ]),
      ).toThrow(/--rehearsal-permute-share must be a share between 0 and 1/);
    // Alone it would change nothing: it says what it needs.
    expect(() =>
      parseTrainArgs(["a.sketch", "--rehearsal-permute-share", "0.5"]),
    ).toThrow(/--rehearsal-permute-share needs --rehearsal-permute/);
  });
});

describe("--weight-average", () => {
  it("takes a decay in [0, 1), off by default, and says what a bad value lacks", () => {
    expect(parseTrainArgs(["a.sketch"]).config.weightAverage).toBe(0);
    expect(
      parseTrainArgs(["a.sketch", "--weight-average", "0.995"]).config
        .weightAverage,
    ).toBe(0.995);
    for (const bad of ["1", "1.5", "fast", ""])
      expect(() =>
        parseTrainArgs(["a.sketch", "--weight-average", bad]),
      ).toThrow(/--weight-average must be a decay in \[0, 1\)/);
  });

  it("sketchc eval reads the live weights with --weights live", () => {
    expect(parseEvalArgs(["runs/a", "--weights", "live"]).overrides).toEqual({
      weightAverage: 0,
    });
    expect(
      parseEvalArgs(["runs/a", "--weights", "averaged"]).overrides,
    ).toEqual({});
    expect(() => parseEvalArgs(["runs/a", "--weights", "mean"])).toThrow(
      /--weights must be one of averaged, live, got 'mean'/,
    );
  });
});

describe("formatMetrics", () => {
  it("prints the metrics of Sec. 4.1 as a table", () => {
    const text = formatMetrics(
      {
        programSuccess: { count: 459, total: 500, rate: 0.918 },
        foundProgramSuccess: { count: 470, total: 500, rate: 0.94 },
        heldOutProgramSuccess: {
          argmax: { count: 30, total: 100, rate: 0.3 },
          sampled: { count: 41, total: 100, rate: 0.41 },
          byOps: [],
          perTask: [],
        },
        symbolicLoss: 0.00086,
        testLoss: 0.11,
        groundingAccuracy: 0.97,
        meanProgramLength: 9.6,
      },
      12.5,
      {
        reference: {
          classes: 0.88,
          classifierSymbolicLoss: 0.0123,
          symbols: 0.6,
        },
        knowledge: ["alphabet"],
      },
    );
    expect(text).toContain("reference: classifier");
    expect(text).toMatch(/reference: classifier's symbolic loss\s+1\.230e-2/);
    expect(text).toMatch(/reference: g on the symbols\s+60\.00%/);
    // The paper's metric leads the table.
    expect(text.split("\n")[0]).toMatch(
      /program success \(argmax of q, the paper's\)\s+459 \/ 500 \(91\.8%\)/,
    );
    expect(text).toMatch(/found program success .*470 \/ 500/);
    expect(text).toMatch(/held-out program success, argmax\s+30 \/ 100/);
    expect(text).toMatch(
      /held-out program success, best of samples\s+41 \/ 100/,
    );
    expect(text).toMatch(/knowledge used\s+alphabet/);
    expect(text).not.toMatch(/transductive/);
    expect(text).toMatch(/grounding accuracy\s+97\.00%/);
    expect(text).not.toMatch(/weights evaluated/);
  });

  it("names the weights evaluated when they are an average", () => {
    const m = {
      programSuccess: { count: 1, total: 2, rate: 0.5 },
      foundProgramSuccess: { count: 1, total: 2, rate: 0.5 },
      symbolicLoss: 0.1,
      testLoss: 0.1,
      groundingAccuracy: 0.5,
      meanProgramLength: 3,
    };
    expect(formatMetrics(m, 1, { weights: "average (decay 0.995)" })).toMatch(
      /weights evaluated\s+average \(decay 0\.995\)/,
    );
    expect(formatMetrics(m, 1, { weights: "last step's" })).not.toMatch(
      /weights evaluated/,
    );
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
      help: false,
      overrides: {},
    });
    expect(parseEvalArgs(["runs/a", "--decode-samples", "0"])).toEqual({
      dir: "runs/a",
      help: false,
      overrides: { decodeSamples: 0 },
    });
    expect(
      parseEvalArgs(["runs/a", "--data", "runtime", "--transductive-eval"]),
    ).toEqual({
      dir: "runs/a",
      help: false,
      overrides: { data: "runtime", transductiveEval: true },
    });
    expect(() => parseEvalArgs(["a", "--data", "/no/such"])).toThrow(
      /--data: no such folder/,
    );
    expect(() => parseEvalArgs([])).toThrow(/usage: sketchc eval RUN_DIR/);
    expect(() => parseEvalArgs(["a", "--decode-samples", "many"])).toThrow(
      /--decode-samples must be an integer >= 0/,
    );
  });

  it("answers --help with the eval help, which names every option it parses", async () => {
    expect(parseEvalArgs(["--help"]).help).toBe(true);
    expect(parseEvalArgs(["-h"]).help).toBe(true);
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      out.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(await runTrainCommand("eval", ["--help"])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const help = out.join("");
    expect(help).toMatch(/^Usage: sketchc eval RUN_DIR/);
    for (const flag of [
      "--decode-samples",
      "--inference-pairs",
      "--weights",
      "--data",
      "--transductive-eval",
    ])
      expect(help).toContain(`\n  ${flag} `);
  });
});
