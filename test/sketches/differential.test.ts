// Differential tests of every shipped sketch: the emitted soft interpreter on one-hot z and the
// emitted exact evaluator against an independent evaluator of the IR (reference-evaluator.ts), on
// random discrete programs; the
// encode/decode round trip; expected against discrete length; autodiff against finite differences;
// and tensor leaks. Each sketch is compiled, written and imported once, in beforeAll.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core's node bundle registers no gradients; the per-op ESM files load under vitest.
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";
import fc from "fast-check";
import { ts } from "ts-morph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  compileSketch,
  createModuleProject,
  PACKAGE_ROOT,
  writeCompiled,
} from "../../compiler/compile.js";
import {
  createRandom,
  randomDirection,
  randomProgram,
  randomSoftParams,
  randomSymbols,
  type CompiledModule,
  type Program,
  type StraightProgram,
} from "./programs.js";
import { referenceEvaluate } from "./reference-evaluator.js";
import type { SketchIR } from "../../compiler/ir.js";

const SKETCHES = path.join(PACKAGE_ROOT, "sketches");
/** Besides the shipped sketches, one with every built-in function (in a tree, with constants). */
const EXTRA: Record<string, string> = {
  "zz-functions.sketch": `sketch functions {
  inputs 2;
  const k = -0.5;
  op f(a, b) = min(a, b) - max(a, k) + abs(a - b) * 2;
  op g(a) = exp(a) + log(a) - sqrt(a) / 3;
  op h(a, b) = tanh(a) * sigmoid(b) + relu(a - b) - square(b) / a;
  op skip(a) = a cost 0;
  tree depth 2 { leaves: inputs, consts; }
}`,
};
const FILES = [
  ...fs
    .readdirSync(SKETCHES)
    .filter((f) => f.endsWith(".sketch"))
    .sort(),
  ...Object.keys(EXTRA),
];

/** Random programs per sketch, examples per batch, and the float32 tolerance of values. */
const PROGRAMS = 12;
const EXAMPLES = 8;
const RELATIVE = 1e-5;

let outDir = "";
const modules = new Map<string, CompiledModule>();
const typescripts = new Map<string, string>();
const irs = new Map<string, SketchIR>();

beforeAll(async () => {
  await tf.setBackend("cpu");
  await tf.ready();
  // The modules import @tensorflow/tfjs-core; vitest resolves it from the package root even for
  // files under the OS temp dir (the first test below checks it is this file's instance).
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-differential-"));
  for (const file of FILES) {
    const name = file.replace(/\.sketch$/, "");
    const result = await compileSketch(
      EXTRA[file] ?? fs.readFileSync(path.join(SKETCHES, file), "utf8"),
      file,
    );
    expect(result.diagnostics).toEqual([]);
    typescripts.set(file, result.typescript!);
    irs.set(file, result.ir!);
    writeCompiled(outDir, name, result.typescript!);
    const url = pathToFileURL(path.join(outDir, `${name}.mjs`)).href;
    modules.set(file, (await import(/* @vite-ignore */ url)) as CompiledModule);
  }
});

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

function mod(file: string): CompiledModule {
  const m = modules.get(file);
  if (!m) throw new Error(`${file} was not compiled`);
  return m;
}

function dispose(z: Readonly<Record<string, tf.Tensor>>): void {
  tf.dispose(Object.values(z));
}

/** The seeded random programs of a sketch (the same on every run). */
function programsOf(file: string): Program[] {
  const next = createRandom(1 + FILES.indexOf(file));
  return Array.from({ length: PROGRAMS }, () => randomProgram(mod(file), next));
}

it("the modules share this file's tfjs-core", () => {
  const m = mod("arith.sketch");
  const z = m.encode(programsOf("arith.sketch")[0]);
  expect(z.op).toBeInstanceOf(tf.Tensor);
  dispose(z);
});

it("every compiled sketch type-checks", () => {
  const project = createModuleProject();
  for (const [file, text] of typescripts) {
    project.createSourceFile(
      path.join(PACKAGE_ROOT, ".sketchc-emit", `${file}.mts`),
      text,
    );
  }
  const errors = project
    .getPreEmitDiagnostics()
    .map(
      (d) =>
        `${d.getSourceFile()?.getBaseName()}:${d.getLineNumber()}: ${ts.flattenDiagnosticMessageText(d.compilerObject.messageText, " ")}`,
    );
  expect(errors).toEqual([]);
});

describe.each(FILES)("%s", (file) => {
  it("evaluate(p, s) and execute(encode(p), s) equal the reference evaluator on random programs", () => {
    const m = mod(file);
    const next = createRandom(100 + FILES.indexOf(file));
    for (const program of programsOf(file)) {
      const s = randomSymbols(EXAMPLES, m.sketch.numInputs, next);
      const z = m.encode(program);
      const out = tf.tidy(() => m.execute(z, tf.tensor2d(s)).arraySync());
      dispose(z);
      expect(out).toHaveLength(1);
      s.forEach((row, b) => {
        const exact = referenceEvaluate(irs.get(file)!, program, row);
        expect(m.evaluate(program, row), m.format(program)).toBe(exact);
        expect(
          Math.abs(out[0][b] - exact),
          `${m.format(program)}\non ${row}`,
        ).toBeLessThanOrEqual(RELATIVE * Math.max(1, Math.abs(exact)));
      });
    }
  });

  it("decode(encode(p)) is p", () => {
    const m = mod(file);
    for (const program of programsOf(file)) {
      const z = m.encode(program);
      expect(m.decode(z)).toEqual([program]);
      dispose(z);
    }
  });

  it("decodes soft z to the pruned argmax of every line (ties: the first allowed)", () => {
    const m = mod(file);
    if (m.sketch.model !== "straight") return;
    const next = createRandom(700 + FILES.indexOf(file));
    const T = 6;
    const z = randomSoftParams(m, T, next);
    const [opHead, ...argHeads] = m.sketch.heads;
    const data = Object.fromEntries(
      m.sketch.heads.map((h) => [h.name, z[h.name].arraySync()]),
    );
    // The first maximum among a row's allowed columns.
    const argmax = (row: number[], mask: readonly number[]) =>
      row.reduce(
        (best, v, c) =>
          mask[c] === 1 && (best < 0 || v > row[best]) ? c : best,
        -1,
      );
    const expected = Array.from({ length: T }, (_, t) =>
      m.prune({
        lines: opHead.mask.map((mask, l) => {
          const o = argmax(data[opHead.name][t][l], mask);
          return {
            op: m.sketch.operators[o].name,
            args: argHeads
              .slice(0, m.sketch.operators[o].arity)
              .map((h) => argmax(data[h.name][t][l], h.mask[l])),
          };
        }),
      }),
    );
    expect(m.decode(z)).toEqual(expected);
    dispose(z);
  });

  it("evaluates decoded programs (kept plans, straight-line code) as the reference does, twice", () => {
    const m = mod(file);
    const next = createRandom(300 + FILES.indexOf(file));
    for (const program of programsOf(file)) {
      const z = m.encode(program);
      const [decoded] = m.decode(z);
      dispose(z);
      if (m.sketch.model === "straight")
        expect(Object.isFrozen(decoded)).toBe(true);
      for (const row of randomSymbols(EXAMPLES, m.sketch.numInputs, next)) {
        const exact = referenceEvaluate(irs.get(file)!, program, row);
        expect(m.evaluate(decoded, row)).toBe(exact);
        expect(m.evaluate(decoded, row)).toBe(exact);
      }
    }
  });

  it("evaluateMany gives evaluate's values to the bit, for hand-built and decoded programs", () => {
    const m = mod(file);
    const next = createRandom(500 + FILES.indexOf(file));
    const V = m.sketch.numInputs;
    const rows = randomSymbols(EXAMPLES, V, next);
    const flat = Float64Array.from(rows.flat());
    for (const program of programsOf(file)) {
      const z = m.encode(program);
      const [decoded] = m.decode(z);
      dispose(z);
      for (const p of [program, decoded]) {
        const many = m.evaluateMany!(p, flat, new Float64Array(rows.length));
        expect(Array.from(many)).toEqual(rows.map((row) => m.evaluate(p, row)));
      }
    }
    expect(() =>
      m.evaluateMany!(programsOf(file)[0], flat, new Float64Array(3)),
    ).toThrow(/expected 3 x/);
  });

  it("expectedLength(encode(p)) is length(p)", () => {
    const m = mod(file);
    for (const program of programsOf(file)) {
      const z = m.encode(program);
      const expected = tf.tidy(() => m.expectedLength(z).arraySync());
      dispose(z);
      expect(expected).toHaveLength(1);
      expect(expected[0]).toBeCloseTo(m.length(program), 5);
    }
  });

  it("gives the same result for s as [B, V] and as [T, B, V]", () => {
    const m = mod(file);
    const next = createRandom(200 + FILES.indexOf(file));
    const T = 3;
    const z = randomSoftParams(m, T, next);
    const s = tf.tensor2d(randomSymbols(EXAMPLES, m.sketch.numInputs, next));
    const [shared, perTask] = tf.tidy(() => [
      m.execute(z, s).arraySync(),
      m
        .execute(z, tf.tile(tf.expandDims(s, 0), [T, 1, 1]) as tf.Tensor3D)
        .arraySync(),
    ]);
    tf.dispose([s, ...Object.values(z)]);
    expect(shared).toHaveLength(T);
    expect(shared[0]).toHaveLength(EXAMPLES);
    expect(perTask).toEqual(shared);
    expect(shared.flat().every(Number.isFinite)).toBe(true);
  });

  it("soft z gives expected lengths between 0 and the total cost of the model", () => {
    const m = mod(file);
    const z = randomSoftParams(m, 4, createRandom(300 + FILES.indexOf(file)));
    const lengths = tf.tidy(() => m.expectedLength(z).arraySync());
    dispose(z);
    const maxCost = Math.max(...m.sketch.operators.map((o) => o.cost));
    const rows = m.sketch.heads[0].shape[0];
    for (const l of lengths) {
      expect(l).toBeGreaterThanOrEqual(0);
      expect(l).toBeLessThanOrEqual(rows * maxCost + 1e-4);
    }
  });

  it.each(["execute", "expectedLength"] as const)(
    "the gradient of %s w.r.t. soft z matches central differences",
    (fn) => {
      const m = mod(file);
      const next = createRandom(400 + FILES.indexOf(file));
      const T = 2;
      // A tree's length does not read its leaves, so the leaf head gets no gradient at all.
      const names = m.sketch.heads
        .map((h) => h.name)
        .filter((n) => !(fn === "expectedLength" && n === "leaf"));
      const z = randomSoftParams(m, T, next);
      const direction = randomDirection(m, T, next);
      const s = tf.tensor2d(randomSymbols(4, m.sketch.numInputs, next));
      const weights = tf.randomUniform([T, 4], -1, 1, "float32", 7);
      const loss = (...heads: tf.Tensor[]): tf.Scalar => {
        const params: Record<string, tf.Tensor3D> = { ...z };
        names.forEach((n, i) => (params[n] = heads[i] as tf.Tensor3D));
        return fn === "execute"
          ? tf.sum(tf.mul(m.execute(params, s), weights))
          : tf.sum(tf.mul(m.expectedLength(params), tf.range(1, T + 1)));
      };
      const heads = names.map((n) => z[n]);
      const { analytic, numeric } = tf.tidy(() => {
        const grads = tf.grads(loss)(heads);
        // The directional derivative <grad, d> against (f(z + eps d) - f(z - eps d)) / 2 eps.
        const analytic = grads
          .map((g, i) => tf.sum(tf.mul(g, direction[names[i]])).dataSync()[0])
          .reduce((a, b) => a + b, 0);
        const eps = 1e-2;
        const at = (sign: number) =>
          loss(
            ...heads.map((h, i) =>
              tf.add(h, tf.mul(sign * eps, direction[names[i]])),
            ),
          ).dataSync()[0];
        return { analytic, numeric: (at(1) - at(-1)) / (2 * eps) };
      });
      tf.dispose([
        s,
        weights,
        ...Object.values(z),
        ...Object.values(direction),
      ]);
      expect(Number.isFinite(analytic)).toBe(true);
      expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(
        2e-2 * Math.max(1, Math.abs(analytic)),
      );
    },
  );

  it("leaks no tensors", () => {
    const m = mod(file);
    const [program] = programsOf(file);
    const s = tf.tensor2d(
      randomSymbols(EXAMPLES, m.sketch.numInputs, createRandom(5)),
    );
    const start = tf.memory().numTensors;
    tf.tidy(() => {
      const z = m.encode(program);
      m.execute(z, s);
      m.expectedLength(z);
    });
    expect(tf.memory().numTensors).toBe(start);

    // Outside a tidy: encode makes one tensor per head, execute and expectedLength one result each.
    const z = m.encode(program);
    const withZ = tf.memory().numTensors;
    expect(withZ - start).toBe(m.sketch.heads.length);
    const out = m.execute(z, s);
    const len = m.expectedLength(z);
    expect(tf.memory().numTensors).toBe(withZ + 2);
    m.decode(z);
    expect(tf.memory().numTensors).toBe(withZ + 2);
    tf.dispose([out, len, s]);
    dispose(z);
    expect(tf.memory().numTensors).toBe(start - 1);
  });
});

describe("arith", () => {
  /** (s1 + s3) * (s1 - s3) on the 30-line sketch: lines 1, 2 and 30; the rest unused. */
  const program: StraightProgram = {
    lines: Array.from({ length: 30 }, (_, l) =>
      l === 0
        ? { op: "add", args: [0, 2] }
        : l === 1
          ? { op: "sub", args: [0, 2] }
          : l === 29
            ? { op: "mul", args: [3, 4] }
            : null,
    ),
  };

  it("evaluates a program built by hand anew after it changes", () => {
    const m = mod("arith.sketch");
    const lines = [...program.lines];
    const mutable = { lines };
    expect(m.evaluate(mutable, [0.5, 0.25, 0.125])).toBeCloseTo(0.234375, 12);
    lines[29] = { op: "add", args: [3, 4] };
    expect(m.evaluate(mutable, [0.5, 0.25, 0.125])).toBeCloseTo(1, 12);
    lines[29] = { op: "mul", args: [3, 31] };
    expect(() => m.evaluate(mutable, [0.5, 0.25, 0.125])).toThrow(
      /line 29 is read by the output but is null/,
    );
  });

  it("formats a known program as straight-line code and a formula", () => {
    expect(mod("arith.sketch").format(program)).toBe(
      [
        "t1 = add(s1, s3)",
        "t2 = sub(s1, s3)",
        "y = mul(t1, t2)",
        "// y = (s1 + s3) * (s1 - s3)",
      ].join("\n"),
    );
    expect(mod("arith.sketch").formula(program)).toBe("(s1 + s3) * (s1 - s3)");
  });

  it("evaluates, measures and executes the known program", () => {
    const m = mod("arith.sketch");
    expect(m.evaluate(program, [3, 5, 1])).toBe(8);
    expect(m.length(program)).toBe(3);
    const z = m.encode(program);
    const [out, len] = tf.tidy(() => [
      m.execute(z, tf.tensor2d([[3, 5, 1]])).arraySync()[0][0],
      m.expectedLength(z).arraySync()[0],
    ]);
    dispose(z);
    expect(out).toBeCloseTo(8, 5);
    expect(len).toBeCloseTo(3, 5);
  });

  it("keeps the expected length of 30 uniform lines finite and below the total cost", () => {
    // Uniform z: every line is read by many others; counting each use would grow like 2^L.
    const m = mod("arith.sketch");
    const z = Object.fromEntries(
      m.sketch.heads.map((h) => {
        const rows = h.mask.map((row) => {
          const n = row.reduce((a, b) => a + b, 0);
          return row.map((v) => v / n);
        });
        return [h.name, tf.tensor3d([rows])];
      }),
    );
    const [len] = tf.tidy(() => m.expectedLength(z).arraySync());
    dispose(z);
    expect(len).toBeGreaterThan(1);
    expect(len).toBeLessThanOrEqual(30);
  });

  it("rejects programs the sketch cannot express", () => {
    const m = mod("arith.sketch");
    const bad = (line: { op: string; args: number[] }): Program => ({
      lines: program.lines.map((l, i) => (i === 29 ? line : l)),
    });
    expect(() => m.encode(bad({ op: "div", args: [3, 4] }))).toThrow(
      RangeError,
    );
    expect(() => m.encode(bad({ op: "mul", args: [3] }))).toThrow(RangeError);
    expect(() => m.encode(bad({ op: "mul", args: [3, 40] }))).toThrow(
      RangeError,
    );
    expect(() => m.evaluate(program, [1, 2])).toThrow(RangeError);
  });
});

describe("fast-check", () => {
  it("decode(encode(p)) is p for every program of horner", () => {
    const m = mod("horner.sketch");
    // Enough choices for any program: one per line and argument.
    const choices = m.sketch.heads.length * m.sketch.size;
    fc.assert(
      fc.property(
        fc.array(
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          {
            minLength: choices,
            maxLength: choices,
          },
        ),
        (numbers) => {
          let i = 0;
          const program = randomProgram(m, () => numbers[i++]);
          const z = m.encode(program);
          const [decoded] = m.decode(z);
          dispose(z);
          expect(decoded).toEqual(program);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});
