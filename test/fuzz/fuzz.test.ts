// The fuzzer in CI: a fixed seed's mutants of the shipped sketches through the front end (each
// gives located diagnostics or an IR, never an exception), random text and bytes, a sample of
// the accepted mutants through the emitter, and a few of those imported, where the soft
// interpreter on one-hot programs must agree with the module's own `evaluate`. The long run is
// `npm run fuzz` (docs/fuzzing.md).

import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT, writeCompiled } from "../../compiler/compile.js";
import {
  createRandom,
  randomProgram,
  randomSymbols,
  type CompiledModule,
} from "../sketches/programs.js";
import { emitCase, programSize, runFrontEnd } from "./harness.js";
import { createCase, loadCorpus, type FuzzCase } from "./mutate.js";

const SEED = 20_251_111;
const CASES = 2000;
/** Accepted mutants compiled to TypeScript, and how many of those are imported and run. */
const EMITTED = 6;
const IMPORTED = 4;
/** A case this slow is a gross outlier (typical cases take milliseconds). */
const OUTLIER_MS = 2000;

const corpus = loadCorpus(PACKAGE_ROOT);
const OUT_DIR = path.join(PACKAGE_ROOT, "test", `.tmp-fuzz-${process.pid}`);

interface Result {
  readonly fuzzCase: FuzzCase;
  readonly outcome: ReturnType<typeof runFrontEnd> | undefined;
  readonly error: string | undefined;
  readonly ms: number;
}

const results: Result[] = [];

beforeAll(async () => {
  await tf.setBackend("cpu");
  await tf.ready();
  for (let i = 0; i < CASES; i++) {
    const fuzzCase = createCase(corpus, SEED, i);
    const t0 = performance.now();
    let outcome: Result["outcome"];
    let error: string | undefined;
    try {
      outcome = runFrontEnd(fuzzCase.text);
    } catch (e) {
      error = String(e);
    }
    results.push({ fuzzCase, outcome, error, ms: performance.now() - t0 });
  }
});

afterAll(() => {
  fs.rmSync(OUT_DIR, { recursive: true, force: true });
});

/** How a failing case is named in an assertion: enough to replay it with createCase. */
const describeCase = (r: Result) =>
  `case ${r.fuzzCase.index} (${r.fuzzCase.mutations.join(", ")}): ${r.error ?? `${Math.round(r.ms)} ms`}`;

describe(`${CASES} mutants of the shipped sketches (seed ${SEED})`, () => {
  it("each gives located diagnostics or an IR, never an exception", () => {
    expect(results.filter((r) => r.error).map(describeCase)).toEqual([]);
  });

  it("none is a gross outlier in time", () => {
    expect(results.filter((r) => r.ms > OUTLIER_MS).map(describeCase)).toEqual(
      [],
    );
  });

  it("reach every stage and every new limit", () => {
    const accepted = results.filter((r) => r.outcome?.kind === "ir").length;
    // Half the mutations keep the syntax, so a good share gets through the checker.
    expect(accepted).toBeGreaterThan(CASES / 20);
    const codes = new Set(
      results.flatMap((r) => r.outcome?.diagnostics.map((d) => d.code) ?? []),
    );
    for (const code of [
      "SK101",
      "SK103",
      "SK104",
      "SK201",
      "SK207",
      "SK223",
      "SK224",
    ])
      expect(codes, code).toContain(code);
  });

  it("are the same inputs on every run", () => {
    const again = createCase(corpus, SEED, 17);
    expect(again).toEqual(results[17].fuzzCase);
    expect(createCase(corpus, SEED + 1, 17).text).not.toBe(again.text);
  });
});

describe("random text", () => {
  it("any string, bytes and lone surrogates included, gives located diagnostics", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 300 }),
          fc.string({
            unit: fc.constantFrom(..."sketch{}();:,=+-*/ab01.e \n\r"),
            maxLength: 300,
          }),
          fc
            .string({ unit: fc.constantFrom(..."(-a"), maxLength: 2000 })
            .map(
              (body) =>
                `sketch s { inputs 2; op f(a) = ${body}; straight lines 2 { } }`,
            ),
        ),
        (text) => {
          runFrontEnd(text);
        },
      ),
      { seed: SEED, numRuns: 600 },
    );
  });
});

describe("accepted mutants through the emitter", () => {
  const modules: { fuzzCase: FuzzCase; module: CompiledModule }[] = [];

  beforeAll(async () => {
    const sample = results
      .filter(
        (r) => r.outcome?.kind === "ir" && programSize(r.outcome.ir) <= 100,
      )
      .slice(0, EMITTED);
    for (const [k, r] of sample.entries()) {
      const { typescript } = await emitCase(r.fuzzCase.text);
      if (k >= IMPORTED) continue;
      const name = `mutant${r.fuzzCase.index}`;
      const js = writeCompiled(OUT_DIR, name, typescript).find((f) =>
        f.endsWith(".mjs"),
      )!;
      const url = pathToFileURL(js).href;
      modules.push({
        fuzzCase: r.fuzzCase,
        module: (await import(/* @vite-ignore */ url)) as CompiledModule,
      });
    }
  });

  it(`compiles ${EMITTED} of them to modules and imports ${IMPORTED}`, () => {
    expect(modules).toHaveLength(IMPORTED);
  });

  it("execute on one-hot z agrees with evaluate wherever both are finite", () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const { fuzzCase, module: m } of modules) {
      const next = createRandom(fuzzCase.index);
      for (let p = 0; p < 8; p++) {
        const program = randomProgram(m, next);
        const s = randomSymbols(4, m.sketch.numInputs, next);
        const z = m.encode(program);
        const out = tf.tidy(() => m.execute(z, tf.tensor2d(s)).arraySync());
        Object.values(z).forEach((t) => t.dispose());
        s.forEach((row, b) => {
          const exact = m.evaluate(program, row);
          const soft = out[0][b];
          // A one-hot mix multiplies the other operators by 0, so an infinite one gives NaN;
          // and float32 overflows long before float64: compare where both are finite.
          if (
            !Number.isFinite(exact) ||
            !Number.isFinite(soft) ||
            Math.abs(exact) > 1e30
          )
            return;
          compared++;
          if (Math.abs(soft - exact) > 1e-4 * Math.max(1, Math.abs(exact)))
            mismatches.push(
              `case ${fuzzCase.index}: ${m.format(program)} on ${row}: ${soft} vs ${exact}`,
            );
        });
      }
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(0);
  });
});
