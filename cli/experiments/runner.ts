// Runs an experiment's declared runs, each its own `sketchc train` process (TF.js is not safe in
// several threads of one process), `jobs` at a time. Resumable: a run with metrics.json is
// skipped, the others resume from their checkpoints (train resumes by itself). One progress line
// per run started and finished, with its headline metric.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunSpec } from "./plan.js";

/** bin/sketchc.js of this package. */
const SKETCHC = fileURLToPath(
  new URL("../../../bin/sketchc.js", import.meta.url),
);

/** The folder of a run of the experiment in `dir`. */
export const runFolder = (dir: string, run: RunSpec) =>
  path.join(dir, "runs", run.id);

/** The outcome of one run. */
export interface RunOutcome {
  readonly run: RunSpec;
  readonly status: "skipped" | "done" | "failed";
  readonly seconds: number;
}

/** The headline of a finished run's metrics.json, for its progress line. */
export function headline(metricsFile: string): string {
  try {
    const m = JSON.parse(fs.readFileSync(metricsFile, "utf8"));
    const gl = m.generalizationLoss;
    return (
      `solved ${m.programSuccess.count}/${m.programSuccess.total}, ` +
      `sym ${Number(m.symbolicLoss).toExponential(2)}, test ${Number(m.testLoss).toExponential(2)}` +
      (typeof gl === "number" ? `, gen ${gl.toExponential(2)}` : "")
    );
  } catch {
    return "no metrics";
  }
}

/**
 * Runs `runs` into `dir`/runs/ID, `jobs` at a time. `write` gets the progress lines. Resolves
 * when all are done (a failed run is reported and its stderr kept in ID/stderr.log).
 */
export async function runExperiment(
  dir: string,
  runs: readonly RunSpec[],
  jobs: number,
  write: (line: string) => void,
): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = new Array(runs.length);
  let next = 0;
  const n = runs.length;
  const tag = (i: number) =>
    `[${String(i + 1).padStart(String(n).length)}/${n}]`;
  const one = async (i: number): Promise<void> => {
    const run = runs[i];
    const out = runFolder(dir, run);
    const metrics = path.join(out, "metrics.json");
    if (fs.existsSync(metrics)) {
      write(`${tag(i)} skip ${run.id} (finished: ${headline(metrics)})`);
      outcomes[i] = { run, status: "skipped", seconds: 0 };
      return;
    }
    fs.mkdirSync(out, { recursive: true });
    const resuming = fs.existsSync(path.join(out, "checkpoint.ckpt"));
    write(`${tag(i)} start ${run.id}${resuming ? " (resuming)" : ""}`);
    const started = performance.now();
    const args = [
      SKETCHC,
      "train",
      run.sketch,
      ...run.flags,
      "--seed",
      String(run.seed),
      "--out",
      out,
      "--quiet",
    ];
    const stderr = fs.openSync(path.join(out, "stderr.log"), "w");
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, args, {
        stdio: ["ignore", "ignore", stderr],
      });
      child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
      child.on("error", () => resolve(1));
    });
    fs.closeSync(stderr);
    const seconds = (performance.now() - started) / 1000;
    const ok = code === 0 && fs.existsSync(metrics);
    write(
      `${tag(i)} ${ok ? "done" : "FAILED"} ${run.id} in ${seconds.toFixed(1)} s: ` +
        (ok
          ? headline(metrics)
          : `exit ${code}, see ${path.join(out, "stderr.log")}`),
    );
    outcomes[i] = { run, status: ok ? "done" : "failed", seconds };
  };
  const worker = async () => {
    while (next < n) await one(next++);
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(jobs, n)) }, worker),
  );
  return outcomes;
}
