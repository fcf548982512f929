// The experiment plans: the flags a run records, the block's preset, the scale and the run's own,
// each option once with the value that wins.

import { describe, expect, it } from "vitest";
import {
  EXPERIMENT_NAMES,
  EXPERIMENT_PRESETS,
  overriding,
  planExperiment,
} from "../../cli/experiments/plan.js";

describe("overriding", () => {
  it("drops the options of the base that the flags set again, keeping their order", () => {
    expect(
      overriding(
        ["--epochs", "10", "--no-gumbel", "--eval-every", "2"],
        ["--eval-every", "1", "--prior", "0"],
      ),
    ).toEqual([
      "--epochs",
      "10",
      "--no-gumbel",
      "--eval-every",
      "1",
      "--prior",
      "0",
    ]);
    expect(
      overriding(["--no-gumbel", "--hidden", "8"], ["--no-gumbel"]),
    ).toEqual(["--hidden", "8", "--no-gumbel"]);
    expect(overriding([], ["--tasks", "1"])).toEqual(["--tasks", "1"]);
  });
});

describe("planExperiment", () => {
  it("records every option of a run once", () => {
    for (const name of EXPERIMENT_NAMES)
      for (const preset of EXPERIMENT_PRESETS)
        for (const run of planExperiment(name, preset, 1)) {
          const options = run.flags.filter((f) => f.startsWith("--"));
          expect(
            new Set(options).size,
            `${run.id}: ${run.flags.join(" ")}`,
          ).toBe(options.length);
        }
  });

  it("lets the scale win over the block and the run over the scale", () => {
    const t2 = planExperiment("table2", "cpu", 1);
    const value = (flags: readonly string[], f: string) =>
      flags[flags.indexOf(f) + 1];
    expect(value(t2[1].flags, "--epochs")).toBe("4");
    const quickPaper = planExperiment("table1", "quick", 1).find(
      (r) => r.block === "the paper's objective",
    )!;
    expect(value(quickPaper.flags, "--preset")).toBe("paper");
    expect(value(quickPaper.flags, "--hidden")).toBe("8");
  });
});
