// The fused interpreter against the op-based reference: for every straight-line sketch (the
// shipped ones, and two written here that use every construct of an operator body), executeFused
// must give the values of execute and, through its compile-time backward pass, the gradients
// tf.grads takes through execute, for every head of z and for s, shared or per task.

import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core's node bundle registers no gradients; the per-op ESM files load under vitest.
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  compileSketch,
  PACKAGE_ROOT,
  writeCompiled,
} from "../../compiler/compile.js";
import { differentiate } from "../../compiler/derivative.js";
import { derivativeExpr } from "../../compiler/emit/fused.js";
import type { ExprIR } from "../../compiler/ir.js";
import { selectBackend } from "../../runtime/backend.js";
import type { SketchModule } from "../../runtime/sketch-module.js";
import {
  createRandom,
  randomSoftParams,
  type CompiledModule,
} from "../sketches/programs.js";

type FusedModule = CompiledModule &
  Required<Pick<SketchModule, "executeFused">>;

/** Every construct of an operator body, in general position (soft z, moderate inputs). */
const EVERY_CONSTRUCT = `sketch every {
  inputs 2;
  const two = 2;
  op add(a, b) = a + b;
  op sub(a, b) = a - b;
  op mul(a, b) = a * b;
  op div(a, b) = a / (b + 3);
  op neg(a) = -a;
  op half(a) = a / two;
  op hyp(a, b) = sqrt(square(a) + square(b));
  op soft(a) = log(1 + exp(a));
  op curve(a) = tanh(a) + sigmoid(a) - relu(a) + abs(a) * 0.5;
  op clip(a, b) = min(a, b) - max(a, 1) + 2;
  op skip(a) = a cost 0;
  straight lines 4 { args: inputs, consts, earlier; }
  output last;
}`;

/** One line, so one-hot z puts the inputs straight into each operator: ties and clamps. */
const EDGES = `sketch edges {
  inputs 2;
  op lo(a, b) = min(a, b);
  op hi(a, b) = max(a, b);
  op div(a, b) = a / b;
  op ab(a) = abs(a);
  op re(a) = relu(a);
  op lg(a) = log(a);
  op rt(a) = sqrt(a);
  op ex(a) = exp(a);
  straight lines 1 { arg 1: inputs; arg 2: inputs; }
  output last;
}`;

/** Inputs at the ties (a = b, x = 0) and beyond the clamps (exp above 30, log and sqrt below 0). */
const EDGE_SYMBOLS = [
  [0, 0],
  [1, 1],
  [-3, -3],
  [40, 40],
  [1e-7, 1e-7],
  [0.5, -0.5],
];

const SKETCHES = path.join(PACKAGE_ROOT, "sketches");
const SHIPPED = fs
  .readdirSync(SKETCHES)
  .filter((f) => f.endsWith(".sketch"))
  .map((f) => ({
    name: f.replace(/\.sketch$/, ""),
    text: fs.readFileSync(path.join(SKETCHES, f), "utf8"),
  }));
/** The shipped straight-line sketches (the first test checks this against the compiled models). */
const STRAIGHT_SHIPPED = SHIPPED.filter((f) =>
  /^\s*straight\b/m.test(f.text),
).map((f) => f.name);
const OUT_DIR = path.join(PACKAGE_ROOT, "test", `.tmp-fused-${process.pid}`);
const TASKS = 3;
const EXAMPLES = 5;
/** float32 tolerances, relative to the largest entry of the reference tensor. */
const VALUE_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;

const modules = new Map<string, FusedModule>();
const typescripts = new Map<string, string>();

async function compileAndImport(name: string, text: string): Promise<void> {
  const result = await compileSketch(text, `${name}.sketch`);
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  typescripts.set(name, result.typescript!);
  writeCompiled(OUT_DIR, name, result.typescript!);
  const url = pathToFileURL(path.join(OUT_DIR, `${name}.mjs`)).href;
  modules.set(name, (await import(/* @vite-ignore */ url)) as FusedModule);
}

beforeAll(async () => {
  await tf.setBackend("cpu");
  await tf.ready();
  for (const { name, text } of SHIPPED) await compileAndImport(name, text);
  await compileAndImport("every", EVERY_CONSTRUCT);
  await compileAndImport("edges", EDGES);
});

afterAll(() => {
  fs.rmSync(OUT_DIR, { recursive: true, force: true });
});

const straightNames = (): string[] =>
  [...modules.keys()]
    .filter((n) => modules.get(n)!.sketch.model === "straight")
    .sort();

/**
 * Largest |a - b| relative to the largest |b| (at least 1), or with `entrywise`, the largest of
 * |a - b| / max(1, |b|) over the entries (for inputs whose values span many orders of magnitude).
 */
function relativeError(a: tf.Tensor, b: tf.Tensor, entrywise: boolean): number {
  return tf.tidy(() => {
    const error = tf.abs(tf.sub(a, b));
    if (entrywise)
      return tf.max(tf.div(error, tf.maximum(tf.abs(b), 1))).dataSync()[0];
    return (
      tf.max(error).dataSync()[0] / Math.max(1, tf.max(tf.abs(b)).dataSync()[0])
    );
  });
}

/** Symbols [T, B, V] (or [B, V] when shared) in [-1.5, 1.5]. */
function randomSymbols(
  shape: number[],
  next: () => number,
): tf.Tensor2D | tf.Tensor3D {
  const data = Float32Array.from(
    { length: shape.reduce((a, b) => a * b) },
    () => 3 * next() - 1.5,
  );
  return shape.length === 2
    ? tf.tensor2d(data, [shape[0], shape[1]])
    : tf.tensor3d(data, [shape[0], shape[1], shape[2]]);
}

/**
 * Values and gradients of `run` on z and s: the gradients of sum(y * r) for a fixed random r,
 * with respect to every head of z (in sketch order) and s.
 */
function valueAndGrads(
  m: FusedModule,
  run: FusedModule["execute"],
  z: Record<string, tf.Tensor3D>,
  s: tf.Tensor,
  r: tf.Tensor2D,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  const names = m.sketch.heads.map((h) => h.name);
  const value = run(z, s as tf.Tensor2D);
  const grads = tf.grads((...xs: tf.Tensor[]) => {
    const heads = Object.fromEntries(
      names.map((n, i) => [n, xs[i] as tf.Tensor3D]),
    );
    return tf.sum(tf.mul(run(heads, xs[names.length] as tf.Tensor2D), r));
  })([...names.map((n) => z[n]), s]);
  return { value, grads };
}

/** Compares executeFused with execute on z and s; returns the errors by what they measure. */
function compare(
  m: FusedModule,
  z: Record<string, tf.Tensor3D>,
  s: tf.Tensor,
  entrywise = false,
): Record<string, number> {
  return tf.tidy(() => {
    const next = createRandom(7);
    const [T] = z[m.sketch.heads[0].name].shape;
    const B = s.shape[s.rank - 2];
    const r = tf.tensor2d(
      Float32Array.from({ length: T * B }, () => 2 * next() - 1),
      [T, B],
    );
    const reference = valueAndGrads(m, m.execute, z, s, r);
    const fused = valueAndGrads(m, m.executeFused, z, s, r);
    const errors: Record<string, number> = {
      value: relativeError(fused.value, reference.value, entrywise),
    };
    const names = [...m.sketch.heads.map((h) => h.name), "s"];
    names.forEach((n, i) => {
      expect(fused.grads[i].shape).toEqual(reference.grads[i].shape);
      errors[`d ${n}`] = relativeError(
        fused.grads[i],
        reference.grads[i],
        entrywise,
      );
    });
    return errors;
  });
}

function expectWithin(errors: Record<string, number>): void {
  for (const [what, error] of Object.entries(errors)) {
    const tolerance = what === "value" ? VALUE_TOLERANCE : GRADIENT_TOLERANCE;
    expect(error, what).toBeLessThanOrEqual(tolerance);
  }
}

it("compiles every straight-line sketch with a fused interpreter, and aliases it for trees", () => {
  expect(straightNames()).toEqual(
    ["edges", "every", ...STRAIGHT_SHIPPED].sort(),
  );
  expect(STRAIGHT_SHIPPED.length).toBeGreaterThanOrEqual(6);
  for (const m of modules.values()) {
    expect(typeof m.executeFused).toBe("function");
    if (m.sketch.model === "tree") expect(m.executeFused).toBe(m.execute);
    else expect(m.executeFused).not.toBe(m.execute);
  }
});

it("inlines each operator and its compile-time derivatives (rational's div)", () => {
  const ts = typescripts.get("rational")!;
  expect(ts).toMatch(/^export function executeFused\(/m);
  expect(ts).toContain("y += w3 * scalar.div(x1, x2); // div(a, b) = a / b");
  expect(ts).toContain(
    "dx1 += w3 * (Math.abs(x2) >= SAFE.divEpsilon ? 1 / x2 : 0);",
  );
});

describe.each(["every", ...STRAIGHT_SHIPPED])("%s", (name) => {
  it.each(["shared", "per-task"] as const)(
    "matches execute in values and gradients, s %s",
    (kind) => {
      const m = modules.get(name)!;
      const next = createRandom(name.length);
      const z = randomSoftParams(m, TASKS, next);
      const V = m.sketch.numInputs;
      const s = randomSymbols(
        kind === "shared" ? [EXAMPLES, V] : [TASKS, EXAMPLES, V],
        next,
      );
      expectWithin(compare(m, z, s));
      tf.dispose([...Object.values(z), s]);
    },
  );
});

it("follows the TF.js gradients at ties and clamps (one-hot z, every operator)", () => {
  const m = modules.get("edges")!;
  // One task per operator: line 1 applies it to (s1, s2).
  const programs = m.sketch.operators.map((o) => ({
    lines: [{ op: o.name, args: o.arity === 2 ? [0, 1] : [0] }],
  }));
  const encoded = programs.map((p) => m.encode(p));
  const z = Object.fromEntries(
    m.sketch.heads.map((h) => [
      h.name,
      tf.concat(encoded.map((e) => e[h.name])) as tf.Tensor3D,
    ]),
  );
  // Per task, so each operator's gradient with respect to s is compared on its own.
  const s = tf.tensor3d(programs.map(() => EDGE_SYMBOLS));
  expectWithin(compare(m, z, s, true));
  tf.dispose([
    ...encoded.flatMap((e) => Object.values(e)),
    ...Object.values(z),
    s,
  ]);
});

it("leaks no tensors, forward or backward", () => {
  const m = modules.get("arith")!;
  const next = createRandom(3);
  const z = randomSoftParams(m, TASKS, next);
  const s = randomSymbols([EXAMPLES, 3], next);
  const heads = m.sketch.heads.map((h) => z[h.name]);
  const step = () =>
    tf.tidy(() => {
      const loss = (...xs: tf.Tensor[]) =>
        tf.sum(
          m.executeFused(
            Object.fromEntries(
              m.sketch.heads.map((h, i) => [h.name, xs[i] as tf.Tensor3D]),
            ),
            xs[heads.length] as tf.Tensor2D,
          ),
        );
      tf.grads(loss)([...heads, s]);
    });
  step();
  const before = tf.memory().numTensors;
  step();
  step();
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([...heads, s]);
});

it.each(["arith", "every"])(
  "matches execute on the wasm backend too: %s",
  async (name) => {
    await selectBackend("wasm");
    try {
      const m = modules.get(name)!;
      const next = createRandom(11);
      const z = randomSoftParams(m, TASKS, next);
      const s = randomSymbols([TASKS, EXAMPLES, m.sketch.numInputs], next);
      expectWithin(compare(m, z, s));
      tf.dispose([...Object.values(z), s]);
    } finally {
      await selectBackend("cpu");
    }
  },
);

it("checks the shape of s", () => {
  const m = modules.get("arith")!;
  const z = randomSoftParams(m, TASKS, createRandom(1));
  expect(() =>
    m.executeFused(z, tf.zeros([EXAMPLES, 4]) as tf.Tensor2D),
  ).toThrow(RangeError);
  expect(() =>
    m.executeFused(z, tf.zeros([TASKS + 1, EXAMPLES, 3]) as tf.Tensor3D),
  ).toThrow(RangeError);
  tf.dispose(Object.values(z));
});

describe("differentiate", () => {
  const x = (index: number): ExprIR => ({
    kind: "param",
    index,
    name: `x${index + 1}`,
  });
  const bin = (
    op: "+" | "-" | "*" | "/",
    left: ExprIR,
    right: ExprIR,
  ): ExprIR => ({
    kind: "binary",
    op,
    left,
    right,
  });
  const call = (fn: "min" | "relu" | "exp", ...args: ExprIR[]): ExprIR => ({
    kind: "call",
    fn,
    args,
  });

  it.each([
    ["a + b by a", bin("+", x(0), x(1)), 0, "1"],
    ["a - b by b", bin("-", x(0), x(1)), 1, "(-1)"],
    ["a * b by a", bin("*", x(0), x(1)), 0, "x2"],
    ["a * b by a, b unused", bin("*", x(1), x(1)), 0, "0"],
    [
      "a / b by a",
      bin("/", x(0), x(1)),
      0,
      "(Math.abs(x2) >= SAFE.divEpsilon ? (1 / x2) : 0)",
    ],
    [
      "min(a, b) by a: ties go to a",
      call("min", x(0), x(1)),
      0,
      "(x1 <= x2 ? 1 : 0)",
    ],
    ["relu(a): 0 at 0", call("relu", x(0)), 0, "(x1 > 0 ? 1 : 0)"],
    [
      "exp(a): 0 above the clamp",
      call("exp", x(0)),
      0,
      "(x1 <= SAFE.expCeiling ? scalar.exp(x1) : 0)",
    ],
  ])("%s", (_, body, param, expected) => {
    expect(derivativeExpr(differentiate(body, param))).toBe(expected);
  });
});
