// `sketchc experiment NAME [--preset quick|cpu|paper] [--jobs N] [--seeds N] [--out DIR]` and
// `sketchc report DIR`: the declared runs of an experiment (plan.ts), run as child processes
// (runner.ts), then the report (report.ts).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CliError } from "../main.js";
import { intFlag } from "../flags.js";
import { writeFileAtomic } from "../../util/files.js";
import {
  defaultSeeds,
  EXPERIMENT_NAMES,
  EXPERIMENT_PRESETS,
  planExperiment,
  type ExperimentName,
  type ExperimentPreset,
} from "./plan.js";
import type { ExperimentRecord } from "./report.js";

export const EXPERIMENT_HELP = `Usage: sketchc experiment table1|table2|fig5|fig6 [options]

Runs the paper's experiment as separate 'sketchc train' processes, then writes DIR/report.md,
DIR/report.html and DIR/results.json. Re-running skips finished runs and resumes the others.

  --preset P   quick (seconds a run, for tests) | cpu (this 2-core machine: 500 steps a run,
               all of Table 1 in at most 90 min with --jobs 2) | paper (the paper's
               settings, for a GPU) (cpu)
  --jobs N     runs at a time (the number of cores)
  --seeds N    seeds per run (table2: 10, fig6: 3 at paper, else 1; quick: fewer)
  --out DIR    experiment folder (experiments/NAME-PRESET)
`;

export async function runExperimentCli(
  args: readonly string[],
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        preset: { type: "string" },
        jobs: { type: "string" },
        seeds: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(
      `${(e as Error).message} (try 'sketchc experiment --help')`,
    );
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(EXPERIMENT_HELP);
    return 0;
  }
  const [name, ...extra] = parsed.positionals;
  if (!EXPERIMENT_NAMES.includes(name as ExperimentName) || extra.length > 0)
    throw new CliError(
      `sketchc experiment takes one of ${EXPERIMENT_NAMES.join(", ")}${name ? `, got '${[name, ...extra].join(" ")}'` : ""}`,
    );
  const preset = (v.preset ?? "cpu") as ExperimentPreset;
  if (!EXPERIMENT_PRESETS.includes(preset))
    throw new CliError(
      `--preset must be one of ${EXPERIMENT_PRESETS.join(", ")}, got '${v.preset}'`,
    );
  const experiment = name as ExperimentName;
  const jobs = intFlag("jobs", v.jobs, os.cpus().length);
  const seeds = intFlag("seeds", v.seeds, defaultSeeds(experiment, preset));
  const dir = v.out ?? path.join("experiments", `${experiment}-${preset}`);
  const runs = planExperiment(experiment, preset, seeds);
  fs.mkdirSync(dir, { recursive: true });
  const recordFile = path.join(dir, "experiment.json");
  const record: ExperimentRecord = { experiment, preset, runs };
  if (fs.existsSync(recordFile)) {
    const old = JSON.parse(
      fs.readFileSync(recordFile, "utf8"),
    ) as ExperimentRecord;
    if (old.experiment !== experiment || old.preset !== preset)
      throw new CliError(
        `--out ${dir} holds experiment ${old.experiment} (preset ${old.preset}); pass another --out`,
      );
  }
  writeFileAtomic(recordFile, JSON.stringify(record, null, 2) + "\n");
  const write = (line: string) => process.stderr.write(line + "\n");
  write(
    `sketchc experiment ${experiment}: ${runs.length} runs, preset ${preset}, ${jobs} at a time, in ${dir}`,
  );
  const started = performance.now();
  const { runExperiment } = await import("./runner.js");
  const outcomes = await runExperiment(dir, runs, jobs, write);
  const failed = outcomes.filter((o) => o.status === "failed");
  const { writeReport } = await import("./report.js");
  await writeReport(dir);
  write(
    `${outcomes.length - failed.length}/${outcomes.length} runs finished in ${((performance.now() - started) / 1000).toFixed(1)} s; report: ${path.join(dir, "report.html")}`,
  );
  return failed.length > 0 ? 1 : 0;
}

const REPORT_HELP = `Usage: sketchc report DIR

Writes DIR/report.md, DIR/report.html and DIR/results.json again from what DIR holds: an
experiment folder (experiment.json, 'sketchc experiment --out') or a finished train run folder
(metrics.json, 'sketchc train --out'). Nothing is trained.
`;

export async function runReportCli(args: readonly string[]): Promise<number> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    process.stdout.write(REPORT_HELP);
    return 0;
  }
  if (args.length !== 1 || args[0].startsWith("-"))
    throw new CliError(
      "usage: sketchc report DIR (an experiment folder or a train run folder)",
    );
  const dir = args[0];
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new CliError(`report: no such folder '${dir}'`, 1);
  if (
    !fs.existsSync(path.join(dir, "experiment.json")) &&
    !fs.existsSync(path.join(dir, "metrics.json"))
  )
    throw new CliError(
      `report: '${dir}' is neither an experiment folder (experiment.json) nor a finished run folder (metrics.json)`,
      1,
    );
  const { writeReport } = await import("./report.js");
  const results = await writeReport(dir);
  process.stdout.write(
    `${path.join(dir, "report.html")}, report.md, results.json: ${results.tables.length} tables, ${results.figures.length} figures\n`,
  );
  return 0;
}
