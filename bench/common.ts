// Shared by the sketchc runner and the report of `bash bench/run.sh`: the timing loop, the
// result format both sides write (bench/reference/roap_reference.py writes the same shape).

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Seconds per step of one workload. */
export interface WorkloadTimes {
  readonly id: string;
  readonly label: string;
  readonly seconds: number[];
}

/** Seconds of one component's forward pass, and of its forward and backward passes. */
export interface ComponentTimes {
  readonly name: string;
  readonly forward: number[];
  readonly forwardBackward: number[];
}

/** What each side writes. */
export interface SideResult {
  readonly side: "sketchc" | "pytorch" | "pytorch-fast";
  readonly warmup: number;
  readonly steps: number;
  readonly rows: WorkloadTimes[];
  readonly profile: ComponentTimes[];
  /** sketchc: the kernels of one full step, by total time. */
  readonly kernels?: { name: string; ms: number; calls: number }[];
  readonly [key: string]: unknown;
}

/** Runs `step` `warmup` times, then returns the seconds of each of `steps` more runs. */
export async function timeSteps(
  step: () => unknown,
  warmup: number,
  steps: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await step();
  const seconds: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await step();
    seconds.push((performance.now() - start) / 1000);
  }
  return seconds;
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]
    : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The folder above this file that holds package.json (works from bench/ and from dist-bench/bench/). */
export function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (
    !fs.existsSync(path.join(dir, "package.json")) ||
    !fs.existsSync(path.join(dir, "sketches"))
  ) {
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error("bench: cannot find the repository root");
    dir = parent;
  }
  return dir;
}
