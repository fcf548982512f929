// The long fuzz run (`npm run fuzz -- --cases 100000 --seed 1`): mutated sketches through the
// front end, every Nth accepted one through the emitter, a summary at the end, and every input
// that threw or ran too long saved to the output folder (replay it with `sketchc check FILE`).
//
//   --cases N       cases to run (env FUZZ_CASES, default 100000)
//   --seed S        the seed; case i of seed S is always the same input (env FUZZ_SEED, default 1)
//   --from I        the first case index (default 0), to replay a range
//   --emit-every K  compile every Kth accepted input to TypeScript too (default 200; 0: never)
//   --slow-ms M     a case whose front end takes longer is reported and saved (default 2000)
//   --slow-emit-ms M  the same for the emitter, which is slower (ts-morph, prettier; default 20000)
//   --out DIR       where crashing and slow inputs go (default fuzz-crashes/)

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { emitCase, programSize, runFrontEnd } from "./harness.js";
import { createCase, loadCorpus, type FuzzCase } from "./mutate.js";

/** Emitting is slow for the largest programs; the sample skips them (their size is capped anyway). */
const EMIT_MAX_SIZE = 200;

function integer(
  value: string | undefined,
  fallback: number,
  name: string,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(
      `fuzz: --${name} must be a non-negative integer, got '${value}'\n`,
    );
    process.exit(2);
  }
  return n;
}

interface Problem {
  readonly fuzzCase: FuzzCase;
  readonly what: string;
  readonly ms: number;
}

function save(outDir: string, seed: number, p: Problem, tag: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, `${tag}-seed${seed}-case${p.fuzzCase.index}`);
  fs.writeFileSync(`${base}.sketch`, p.fuzzCase.text);
  fs.writeFileSync(
    `${base}.txt`,
    `seed ${seed}, case ${p.fuzzCase.index}, mutations: ${p.fuzzCase.mutations.join(", ")}\n` +
      `${Math.round(p.ms)} ms\n${p.what}\n`,
  );
  return `${base}.sketch`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      cases: { type: "string" },
      seed: { type: "string" },
      from: { type: "string" },
      "emit-every": { type: "string" },
      "slow-ms": { type: "string" },
      "slow-emit-ms": { type: "string" },
      out: { type: "string" },
    },
  });
  const cases = integer(
    values.cases ?? process.env.FUZZ_CASES,
    100_000,
    "cases",
  );
  const seed = integer(values.seed ?? process.env.FUZZ_SEED, 1, "seed");
  const from = integer(values.from, 0, "from");
  const emitEvery = integer(values["emit-every"], 200, "emit-every");
  const slowMs = integer(values["slow-ms"], 2000, "slow-ms");
  const slowEmitMs = integer(values["slow-emit-ms"], 20_000, "slow-emit-ms");
  const outDir = path.resolve(values.out ?? "fuzz-crashes");

  // npm runs scripts in the package root, whose sketches/ and test/samples/ are the corpus.
  const corpus = loadCorpus(process.cwd());
  const counts = { diagnostics: 0, ir: 0, emitted: 0 };
  const codes = new Map<string, number>();
  const crashes: Problem[] = [];
  const slow: Problem[] = [];
  let slowest = { ms: 0, index: -1 };
  let slowestEmit = { ms: 0, index: -1 };
  const flagSlow = (fuzzCase: FuzzCase, ms: number, stage: string) => {
    const problem = {
      fuzzCase,
      what: `${stage} took ${Math.round(ms)} ms`,
      ms,
    };
    slow.push(problem);
    process.stdout.write(
      `slow: case ${fuzzCase.index} (${stage}): ${Math.round(ms)} ms -> ${save(outDir, seed, problem, "slow")}\n`,
    );
  };
  let accepted = 0;
  const started = performance.now();
  process.stdout.write(
    `fuzz: seed ${seed}, cases ${from}..${from + cases - 1}\n`,
  );

  for (let index = from; index < from + cases; index++) {
    const fuzzCase = createCase(corpus, seed, index);
    const t0 = performance.now();
    let frontEndMs = 0;
    try {
      const outcome = runFrontEnd(fuzzCase.text);
      frontEndMs = performance.now() - t0;
      counts[outcome.kind]++;
      for (const d of outcome.diagnostics)
        codes.set(d.code, (codes.get(d.code) ?? 0) + 1);
      if (outcome.kind === "ir") {
        accepted++;
        if (
          emitEvery > 0 &&
          accepted % emitEvery === 0 &&
          programSize(outcome.ir) <= EMIT_MAX_SIZE
        ) {
          const e0 = performance.now();
          await emitCase(fuzzCase.text);
          counts.emitted++;
          const emitMs = performance.now() - e0;
          if (emitMs > slowestEmit.ms) slowestEmit = { ms: emitMs, index };
          if (emitMs > slowEmitMs) flagSlow(fuzzCase, emitMs, "emitter");
        }
      }
    } catch (e) {
      const ms = performance.now() - t0;
      const problem = { fuzzCase, what: (e as Error).stack ?? String(e), ms };
      crashes.push(problem);
      const file = save(outDir, seed, problem, "crash");
      process.stdout.write(
        `crash: case ${index} (${fuzzCase.mutations.join(", ")}): ${String(e).split("\n")[0]} -> ${file}\n`,
      );
    }
    if (frontEndMs > slowest.ms) slowest = { ms: frontEndMs, index };
    if (frontEndMs > slowMs) flagSlow(fuzzCase, frontEndMs, "front end");
    if ((index - from + 1) % 10_000 === 0)
      process.stdout.write(
        `  ${index - from + 1} cases, ${crashes.length} crashes, ${Math.round((performance.now() - started) / 1000)} s\n`,
      );
  }

  const seconds = (performance.now() - started) / 1000;
  const topCodes = [...codes.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`);
  process.stdout.write(
    [
      `fuzz: ${cases} cases in ${seconds.toFixed(1)} s (seed ${seed})`,
      `  rejected with diagnostics ${counts.diagnostics}, accepted ${counts.ir}, emitted ${counts.emitted}`,
      `  diagnostics by code: ${topCodes.join(", ")}`,
      `  slowest front end: case ${slowest.index}, ${Math.round(slowest.ms)} ms; slowest emit: case ${slowestEmit.index}, ${Math.round(slowestEmit.ms)} ms; too slow: ${slow.length}`,
      `  crashes: ${crashes.length}${crashes.length > 0 ? ` (saved in ${outDir})` : ""}`,
      "",
    ].join("\n"),
  );
  return crashes.length > 0 || slow.length > 0 ? 1 : 0;
}

process.exitCode = await main();
