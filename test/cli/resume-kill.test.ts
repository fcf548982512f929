// Exact resume after kill -9: the real CLI, killed by SIGKILL at chosen points (mid-step, mid
// checkpoint write, between the checkpoint's two renames, mid evaluation, after logging an epoch,
// mid metrics.json) and at seeded random moments, then run again with the same command, ends with
// the same log.jsonl (wall times aside), metrics.json and programs.txt as an uninterrupted run.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../../runtime/random.js";
import { SAMPLE_DATA } from "../runtime/tiny-run.js";

const BIN = path.resolve("bin/sketchc.js");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-kill-"));

/**
 * A tiny run with the CPU preset's memory, codebook and abduction all on, confident step pairs and
 * the weight average: the state to lose.
 */
function trainArgs(out: string): string[] {
  return [
    "train",
    "sketches/arith-depth3.sketch",
    "--data",
    SAMPLE_DATA,
    "--backend",
    "wasm",
    "--tasks",
    "10",
    "--task-batch",
    "5",
    "--epochs",
    "6",
    "--steps",
    "3",
    "--eval-every",
    "1",
    "--batch",
    "4",
    "--train-pairs",
    "64",
    "--test-pairs",
    "24",
    "--held-out-tasks",
    "8",
    "--hidden",
    "16",
    "--seed",
    "5",
    "--step-pairs",
    "confident",
    "--weight-average",
    "0.9",
    "--quiet",
    "--out",
    out,
  ];
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs the CLI; `failpoints` sets SKETCHC_FAILPOINTS, `killAfterMs` sends SIGKILL from outside. */
function runCli(
  out: string,
  options: { failpoints?: string; killAfterMs?: number } = {},
): Promise<Exit> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.SKETCHC_FAILPOINTS;
    if (options.failpoints) env.SKETCHC_FAILPOINTS = options.failpoints;
    const child = spawn(process.execPath, [BIN, ...trainArgs(out)], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const timer =
      options.killAfterMs === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGKILL"), options.killAfterMs);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

/** A JSON value without its timings (`wallSeconds`, `seconds`: the search times), at any depth. */
function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== "wallSeconds" && k !== "seconds")
      .map(([k, v]) => [k, withoutTimes(v)]),
  );
}

/** What must be identical: the log without wall times, metrics.json without times and folder. */
function results(out: string): {
  log: unknown[];
  metrics: Record<string, unknown>;
  programs: string;
} {
  const log = fs
    .readFileSync(path.join(out, "log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const { wallSeconds: _, ...rest } = JSON.parse(line);
      return rest;
    });
  const { config, ...metrics } = withoutTimes(
    JSON.parse(fs.readFileSync(path.join(out, "metrics.json"), "utf8")),
  ) as Record<string, unknown> & { config: object };
  return {
    log,
    metrics: { ...metrics, config: { ...config, out: "" } },
    programs: fs.readFileSync(path.join(out, "programs.txt"), "utf8"),
  };
}

describe("resume after kill -9", () => {
  const whole = path.join(root, "whole");
  beforeAll(async () => {
    const exit = await runCli(whole);
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
  }, 120_000);

  it("an uninterrupted run is reproducible", async () => {
    const again = path.join(root, "again");
    expect((await runCli(again)).code).toBe(0);
    expect(results(again)).toEqual(results(whole));
  }, 120_000);

  it("killed at every kind of moment and resumed, ends bit for bit as the uninterrupted run", async () => {
    const out = path.join(root, "killed");
    const ckpt = path.join(out, "checkpoint.ckpt");
    // One process per step; each resumes the last. Failpoint hits count within one process, and
    // the comments trace the checkpoint ("file" and ".prev") after each kill; 3 steps an epoch.
    const plan: (string | (() => void))[] = [
      "kill@step:5", // mid epoch 2. file 1
      "kill@checkpoint-rotated:1", // end of epoch 2, between the renames. .prev 1 only
      "kill@write:checkpoint.ckpt:1", // resumes from .prev 1; half of epoch 2's written. .prev 1
      "kill@evaluate:2", // mid epoch 3's evaluation. file 2, .prev 1
      () => {
        // A bit flipped in the newest checkpoint: the next run falls back to .prev 1.
        const bytes = fs.readFileSync(ckpt);
        bytes[bytes.length >> 1] ^= 0x10;
        fs.writeFileSync(ckpt, bytes);
      },
      "kill@epoch-logged:2", // epoch 3 logged, its checkpoint not written. file 2
      "kill@write:metrics.json:1", // after epoch 6's checkpoint, mid metrics.json
    ];
    let killed = 0;
    const warnings: string[] = [];
    for (const step of plan) {
      if (typeof step === "function") {
        step();
        continue;
      }
      const exit = await runCli(out, { failpoints: step });
      warnings.push(
        ...exit.stderr.split("\n").filter((l) => /warning/.test(l)),
      );
      expect(exit.signal, `${step}: ${exit.stderr}`).toBe("SIGKILL");
      killed++;
    }
    const last = await runCli(out);
    expect(last.code, last.stderr).toBe(0);
    expect(killed).toBe(6);
    expect(warnings.join("\n")).toMatch(
      /checkpoint\.ckpt: missing .*using the previous checkpoint/,
    );
    expect(warnings.join("\n")).toMatch(
      /checkpoint\.ckpt: not a valid sketchc checkpoint \(checksum mismatch.*using the previous/,
    );
    expect(results(out)).toEqual(results(whole));
    // No temp file is left behind by the kills.
    expect(fs.readdirSync(out).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  }, 300_000);

  it("killed from outside at seeded random moments until it finishes, ends as the uninterrupted run", async () => {
    const out = path.join(root, "random");
    const rng = createRng(20261201);
    let kills = 0;
    for (let i = 0; i < 12; i++) {
      const exit = await runCli(out, { killAfterMs: 500 + rng.next() * 5000 });
      if (exit.signal !== "SIGKILL") {
        expect(exit.code, exit.stderr).toBe(0);
        break;
      }
      kills++;
    }
    const last = await runCli(out);
    expect(last.code, last.stderr).toBe(0);
    expect(kills).toBeGreaterThan(0);
    console.log(
      `resume-kill: ${kills} kills at random moments before the run finished`,
    );
    expect(results(out)).toEqual(results(whole));
  }, 300_000);
});
