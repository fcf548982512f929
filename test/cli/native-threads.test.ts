// Training does not depend on the number of threads of the native kernels, beyond floating-point
// summation order: tiny runs of the real binary on 1 and 2 OpenBLAS threads (OPENBLAS_NUM_THREADS)
// and on 1 and 2 of sketchc's own kernel threads (SKETCHC_THREADS) give the same losses and
// metrics. The LayerNorm, max-pool and interpreter kernels split fixed blocks between threads;
// OpenBLAS's sgemm and sketchc's GEMM slices split rows and columns, never the inner sum.
// And the counts sketchc chooses (kernels/native.ts `blasThreads`, `kernelThreads`): one BLAS
// thread where the environment does not size OpenBLAS, SKETCHC_BLAS_THREADS over everything,
// every core for the kernel threads unless SKETCHC_THREADS says otherwise, a bad value named in
// the run's header.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { blasThreads, nativeStatus } from "../../runtime/kernels/native.js";
import { ensureBuilt } from "../built-binary.js";
import { trainTiny } from "./tiny-train.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-threads-"));

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The environment without the variables OpenBLAS sizes its threads from, plus `extra`. */
function envWithout(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of [
    "OPENBLAS_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "OMP_NUM_THREADS",
    "SKETCHC_BLAS_THREADS",
    "SKETCHC_THREADS",
  ])
    if (!(name in extra)) delete env[name];
  return env;
}

/** Trains the tiny run under `env`; returns its metrics and epoch losses. */
function train(
  name: string,
  env: NodeJS.ProcessEnv,
): { metrics: Record<string, unknown>; losses: number[] } {
  return trainTiny(path.join(root, name), env);
}

describe.runIf(nativeStatus().on)("native kernels on 1 and 2 threads", () => {
  it("train to the same losses and metrics", { timeout: 300_000 }, () => {
    expect(ensureBuilt()).toBeUndefined();
    const one = train(
      "one",
      envWithout({ OPENBLAS_NUM_THREADS: "1", SKETCHC_THREADS: "1" }),
    );
    const others = [
      {
        run: train(
          "two",
          envWithout({ OPENBLAS_NUM_THREADS: "2", SKETCHC_THREADS: "1" }),
        ),
        line: /native kernels \(.*, 2 BLAS threads, 1 kernel thread\)/,
      },
      {
        run: train(
          "own",
          envWithout({ OPENBLAS_NUM_THREADS: "1", SKETCHC_THREADS: "2" }),
        ),
        line: /native kernels \(.*, 1 BLAS thread, 2 kernel threads\)/,
      },
    ];
    expect(JSON.stringify(one.metrics)).toMatch(
      /native kernels \(.*, 1 BLAS thread, 1 kernel thread\)/,
    );
    expect(one.losses.length).toBeGreaterThan(0);
    for (const { run, line } of others) {
      expect(JSON.stringify(run.metrics)).toMatch(line);
      expect(run.losses.length).toBe(one.losses.length);
      run.losses.forEach((loss, i) =>
        expect(Math.abs(loss - one.losses[i])).toBeLessThanOrEqual(
          1e-5 * Math.abs(one.losses[i]),
        ),
      );
      for (const key of [
        "programSuccess",
        "foundProgramSuccess",
        "groundingAccuracy",
      ]) {
        expect(one.metrics[key]).toBeDefined();
        expect(run.metrics[key]).toEqual(one.metrics[key]);
      }
    }
  });

  it(
    "default to one BLAS thread and every core for the kernels; SKETCHC_BLAS_THREADS and SKETCHC_THREADS set them",
    {
      timeout: 300_000,
    },
    () => {
      expect(ensureBuilt()).toBeUndefined();
      const backend = (run: { metrics: Record<string, unknown> }) =>
        JSON.stringify(run.metrics);
      const cores = os.availableParallelism();
      expect(backend(train("default", envWithout({})))).toContain(
        `, 1 BLAS thread, ${cores} kernel thread${cores === 1 ? "" : "s"})`,
      );
      expect(
        backend(
          train(
            "own",
            envWithout({
              SKETCHC_BLAS_THREADS: "2",
              OPENBLAS_NUM_THREADS: "1",
            }),
          ),
        ),
      ).toMatch(/native kernels \(.*, 2 BLAS threads, \d+ kernel threads?\)/);
      // A bad value leaves the native kernels off, says why, and the run trains on wasm.
      const bad = train("bad", envWithout({ SKETCHC_BLAS_THREADS: "two" }));
      expect(backend(bad)).toContain(
        "native kernels off: SKETCHC_BLAS_THREADS=two: expected a whole number of threads from 1 to 1024",
      );
      expect(bad.losses.length).toBeGreaterThan(0);
      const badOwn = train("bad-own", envWithout({ SKETCHC_THREADS: "0" }));
      expect(backend(badOwn)).toContain(
        "native kernels off: SKETCHC_THREADS=0: expected a whole number of threads from 1 to 1024",
      );
    },
  );
});

describe("blasThreads", () => {
  it("is 1 unless the environment sizes OpenBLAS; SKETCHC_BLAS_THREADS comes first", () => {
    expect(blasThreads({})).toBe(1);
    expect(blasThreads({ OPENBLAS_NUM_THREADS: "" })).toBe(1);
    for (const name of [
      "OPENBLAS_NUM_THREADS",
      "GOTO_NUM_THREADS",
      "OMP_NUM_THREADS",
    ])
      expect(blasThreads({ [name]: "4" })).toBeUndefined();
    expect(
      blasThreads({ SKETCHC_BLAS_THREADS: "3", OPENBLAS_NUM_THREADS: "1" }),
    ).toBe(3);
    for (const bad of ["0", "-1", "1.5", "two", "2000"])
      expect(blasThreads({ SKETCHC_BLAS_THREADS: bad })).toBe(
        `SKETCHC_BLAS_THREADS=${bad}: expected a whole number of threads from 1 to 1024`,
      );
  });
});
