// `sketchc experiment table1 --preset quick --jobs 2` end to end, through the built binary: every
// table cell equals the metric in its run's metrics.json, a second invocation skips every run,
// and an experiment killed mid-way (SIGKILL of its process group) completes when run again.
// Needs `npm run build` (dist/); a few minutes on 2 cores.

import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { TABLE1_COLUMNS, type Results } from "../../cli/experiments/report.js";
import { planExperiment } from "../../cli/experiments/plan.js";

const run = promisify(execFile);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-exp-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const BIN = "bin/sketchc.js";

async function experiment(out: string) {
  return run(
    process.execPath,
    [
      BIN,
      "experiment",
      "table1",
      "--preset",
      "quick",
      "--jobs",
      "2",
      "--out",
      out,
    ],
    { maxBuffer: 1 << 24 },
  );
}

describe("sketchc experiment table1 --preset quick", () => {
  const out = path.join(root, "t1");

  it("runs every row, and every table cell is its run's metric", async () => {
    const { stderr } = await experiment(out);
    const runs = planExperiment("table1", "quick", 1);
    expect(stderr.match(/ start /g)).toHaveLength(runs.length);
    expect(stderr.match(/ done /g)).toHaveLength(runs.length);
    const results = JSON.parse(
      fs.readFileSync(path.join(out, "results.json"), "utf8"),
    ) as Results;
    // Two blocks (the objectives), each a table of every row.
    expect(results.tables.map((t) => t.title)).toEqual([
      "Table 1: the model and its ablations, the cpu preset",
      "Table 1: the model and its ablations, the paper's objective",
      "The runs",
    ]);
    // The runs table: every run once, with its wall time from its metrics.json.
    const runsTable = results.tables[2];
    expect(runsTable.rows.map((r) => r.label).sort()).toEqual(
      runs.map((r) => r.id).sort(),
    );
    for (const row of runsTable.rows) {
      const metrics = JSON.parse(
        fs.readFileSync(
          path.join(out, "runs", row.label, "metrics.json"),
          "utf8",
        ),
      );
      expect(row.cells.wallSeconds.value).toBe(metrics.wallSeconds);
    }
    for (const table of results.tables.slice(0, 2)) {
      expect(table.rows.map((r) => r.label)).toEqual([
        "ROAP (our model)",
        "w/o program, i.e., CNN+MLP",
        "w/o amortized inference",
        "w/o gumbel-softmax",
        "w/ Syntax-Tree",
        "w/ depth=10",
        "w/ depth=3",
      ]);
      const block = table.title.includes("paper") ? "paper-" : "cpu-";
      for (const row of table.rows)
        for (const c of TABLE1_COLUMNS) {
          const cell = row.cells[c.key];
          expect(cell.run).toMatch(new RegExp(`^runs/${block}`));
          const metrics = JSON.parse(
            fs.readFileSync(path.join(out, cell.run!, "metrics.json"), "utf8"),
          );
          expect(cell.value).toEqual(c.of(metrics));
        }
      expect(table.rows[1].cells.programSuccess.value).toBe(0);
      expect(table.rows[0].paper.programSuccess).toBe("459 / 500");
    }
    // The paper's objective block really trained without the cpu preset's additions.
    const paperRoap = JSON.parse(
      fs.readFileSync(
        path.join(
          out,
          results.tables[1].rows[0].cells.programSuccess.run!,
          "metrics.json",
        ),
        "utf8",
      ),
    );
    expect(paperRoap.config.preset).toBe("paper");
    expect(paperRoap.config.symbolPrior).toBe(0);
    // Fig. 5 from the same runs, one heatmap per block.
    expect(results.figures.map((f) => f.title)).toEqual([
      "Fig. 5 from Table 1's runs, the cpu preset",
      "Fig. 5 from Table 1's runs, the paper's objective",
    ]);
    expect(fs.readFileSync(path.join(out, "report.md"), "utf8")).toMatch(
      /\| ROAP \(our model\) \|/,
    );
    expect(fs.readFileSync(path.join(out, "report.html"), "utf8")).toMatch(
      /<table class="results">/,
    );
  }, 600_000);

  it("skips the finished runs when run again", async () => {
    const { stderr } = await experiment(out);
    expect(stderr).not.toMatch(/ start /);
    expect(stderr.match(/ skip /g)).toHaveLength(
      planExperiment("table1", "quick", 1).length,
    );
  }, 300_000);

  it("completes after the experiment's process group is killed mid-way", async () => {
    const killed = path.join(root, "killed");
    const child = spawn(
      process.execPath,
      [
        BIN,
        "experiment",
        "table1",
        "--preset",
        "quick",
        "--jobs",
        "2",
        "--out",
        killed,
      ],
      { detached: true, stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    await new Promise<void>((resolve) => {
      child.stderr!.on("data", (d) => {
        log += String(d);
        // Kill once a run has finished and others are in flight.
        if (/ done /.test(log) && child.exitCode === null) {
          process.kill(-child.pid!, "SIGKILL");
          resolve();
        }
      });
      child.on("exit", () => resolve());
    });
    await new Promise((r) => child.on("exit", r));
    const before = fs
      .readdirSync(path.join(killed, "runs"))
      .filter((d) =>
        fs.existsSync(path.join(killed, "runs", d, "metrics.json")),
      );
    const total = planExperiment("table1", "quick", 1).length;
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(total);
    const { stderr } = await experiment(killed);
    expect(stderr.match(/ skip /g)!.length).toBe(before.length);
    expect(stderr).toMatch(new RegExp(`${total}/${total} runs finished`));
  }, 600_000);
});
