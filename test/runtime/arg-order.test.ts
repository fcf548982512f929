// One argument order for symmetric operators (runtime/arg-order.ts): which operators are found
// symmetric, how rows are rewritten (and when they are left alone), that a rewritten program
// computes what the stored one does, and that the imitation loss and the dream pool use it.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  argumentOrderOf,
  isSymmetric,
  sortArguments,
  type ArgumentOrder,
} from "../../runtime/arg-order.js";
import { selectBackend } from "../../runtime/backend.js";
import { defaultAlphabet } from "../../runtime/domains/alphabet.js";
import { createArithDomain } from "../../runtime/domains/arith.js";
import { languageOf } from "../../runtime/domains/expression.js";
import { createDreamPool } from "../../runtime/dreams.js";
import { loadSketch } from "../../runtime/load-sketch.js";
import {
  createMemory,
  imitationLoss,
  targetChoices,
  updateMemory,
} from "../../runtime/memory.js";
import type { StraightProgram as Program } from "../../runtime/module-runtime/straight.js";
import type { SketchModule } from "../../runtime/sketch-module.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-arg-order-"));
let module: SketchModule<Program>;
let order: ArgumentOrder;

beforeAll(async () => {
  await selectBackend("wasm");
  module = (await loadSketch(
    "sketches/arith-depth3.sketch",
    path.join(root, "module"),
  )) as SketchModule<Program>;
  order = argumentOrderOf(module as SketchModule<unknown>)!;
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const opIndex = (name: string) =>
  module.sketch.operators.findIndex((o) => o.name === name);

/** Per head, the choices of one program ([rows]), from its one-hot encoding. */
function choicesOf(program: Program): Record<string, Int32Array> {
  const z = module.encode(program);
  const out = Object.fromEntries(
    Object.entries(z).map(([name, t]) => {
      const [, rows, choices] = t.shape;
      const data = t.dataSync();
      const row = new Int32Array(rows);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < choices; c++)
          if (data[r * choices + c] === 1) row[r] = c;
      return [name, row];
    }),
  );
  Object.values(z).forEach((t) => t.dispose());
  return out;
}

describe("isSymmetric", () => {
  it("tells symmetric operators from the others, by value at probe points", () => {
    expect(isSymmetric((a, b) => a + b, 2)).toBe(true);
    expect(isSymmetric((a, b) => a * b, 2)).toBe(true);
    expect(isSymmetric((a, b) => Math.max(a, b), 2)).toBe(true);
    expect(isSymmetric((a, b) => a - b, 2)).toBe(false);
    expect(isSymmetric((a, b) => a * a + b, 2)).toBe(false);
    expect(isSymmetric((a, b, c) => a + b + c, 3)).toBe(true);
    expect(isSymmetric((a, b, c) => a + b - c, 3)).toBe(false);
    expect(isSymmetric((a) => a, 1)).toBe(false);
    // Not finite at a probe: not trusted as symmetric.
    expect(isSymmetric((a, b) => (a + b) / 0, 2)).toBe(false);
  });
});

describe("argumentOrderOf", () => {
  it("finds add and mul symmetric in arith, and nothing to order in a syntax tree", async () => {
    expect(order.op).toBe("op");
    expect(order.args).toEqual(["arg1", "arg2"]);
    const symmetric = module.sketch.operators.map(
      (o, k) => `${o.name}:${order.symmetric[k]}`,
    );
    expect(symmetric).toEqual([
      "add:true",
      "sub:false",
      "mul:true",
      "skip:false",
    ]);
    const tree = await loadSketch(
      "sketches/arith-tree2.sketch",
      path.join(root, "tree"),
    );
    expect(argumentOrderOf(tree)).toBeUndefined();
  });
});

describe("sortArguments", () => {
  it("orders a symmetric operator's arguments by slot and leaves the rest, keeping the values", () => {
    // Slots: s1, s2, s3 are 0, 1, 2; line l is slot 3 + l; the output is line 3.
    const program: Program = {
      lines: [
        { op: "mul", args: [2, 0] }, // s3 * s1 -> s1 * s3
        { op: "sub", args: [3, 1] }, // not symmetric: kept
        { op: "add", args: [4, 3] }, // line 2 + line 1 -> line 1 + line 2
      ],
    };
    const choices = choicesOf(program);
    const before = Object.fromEntries(
      Object.entries(choices).map(([k, v]) => [k, Array.from(v)]),
    );
    sortArguments(order, choices, module.sketch.size);
    expect(Array.from(choices.op)).toEqual(before.op);
    expect(Array.from(choices.arg1)).toEqual([0, 3, 3]);
    expect(Array.from(choices.arg2)).toEqual([2, 1, 4]);
    const sorted: Program = {
      lines: [
        { op: "mul", args: [0, 2] },
        { op: "sub", args: [3, 1] },
        { op: "add", args: [3, 4] },
      ],
    };
    expect(choicesOf(sorted)).toEqual(choices);
    for (const s of [
      [0.3, 0.7, 1.1],
      [-2, 5, 0.25],
    ])
      expect(module.evaluate(sorted, s)).toBeCloseTo(
        module.evaluate(program, s),
        12,
      );
  });

  it("reads only an operator's own arguments, and leaves a row whose sorted form is out of scope", () => {
    const skip = opIndex("skip");
    const mul = opIndex("mul");
    const ops = Int32Array.from([skip, mul]);
    const arg1 = Int32Array.from([2, 2]);
    const arg2 = Int32Array.from([0, 0]);
    sortArguments(order, { op: ops, arg1, arg2 }, 2);
    // skip reads arg1 alone: its unread arg2 is not a reason to swap.
    expect([arg1[0], arg2[0]]).toEqual([2, 0]);
    expect([arg1[1], arg2[1]]).toEqual([0, 2]);
    // A sketch whose arg1 may not read slot 0 on row 0: the row stays as it is.
    const narrow: ArgumentOrder = {
      ...order,
      masks: [
        [
          [0, 1, 1],
          [1, 1, 1],
        ],
        [
          [1, 1, 1],
          [1, 1, 1],
        ],
      ],
    };
    const a1 = Int32Array.from([2, 2]);
    const a2 = Int32Array.from([0, 0]);
    sortArguments(
      narrow,
      { op: Int32Array.from([mul, mul]), arg1: a1, arg2: a2 },
      2,
    );
    expect([a1[0], a2[0], a1[1], a2[1]]).toEqual([2, 0, 0, 2]);
  });
});

describe("sorted imitation targets", () => {
  const symbols = [
    [0.2, 0.5, 0.9],
    [0.7, 0.1, 0.4],
    [0.3, 0.8, 0.6],
  ];
  const s2plusS1: Program = {
    lines: [null, null, { op: "add", args: [1, 0] }],
  };
  const y = symbols.map((s) => s[1] + s[0]);

  it("keep the stored program as found and teach add(s1, s2) for add(s2, s1)", () => {
    const stored = createMemory(module, 1);
    const sorted = createMemory(module, 1, { sortedArguments: true });
    for (const m of [stored, sorted])
      updateMemory(m, module, 0, [s2plusS1], symbols, y, 0.5);
    expect(sorted.programs[0]).toEqual(stored.programs[0]);
    expect(Array.from(sorted.choices.arg1)).toEqual(
      Array.from(stored.choices.arg1),
    );
    expect(targetChoices(stored, [0]).arg1[2]).toBe(1);
    expect(targetChoices(stored, [0]).arg2[2]).toBe(0);
    expect(targetChoices(sorted, [0]).arg1[2]).toBe(0);
    expect(targetChoices(sorted, [0]).arg2[2]).toBe(1);
    // A relabeling that swaps s1 and s3 comes first, then the order: add(s2, s3).
    const swap13 = (head: string, c: number) =>
      head.startsWith("arg") && c < 3 ? [2, 1, 0][c] : c;
    const relabeled = targetChoices(sorted, [0], swap13);
    expect([relabeled.arg1[2], relabeled.arg2[2]]).toEqual([1, 2]);
    // The loss is -log q of the sorted target, against a hand computation.
    const logits = Object.fromEntries(
      module.sketch.heads.map((h, k) => [
        h.name,
        tf.tensor3d(
          Array.from(
            { length: h.shape[0] * h.shape[1] },
            (_, i) => Math.cos(i + 5 * k) * 2,
          ),
          [1, h.shape[0], h.shape[1]],
        ),
      ]),
    );
    const logq = (name: string, row: number, choice: number) => {
      const l = logits[name].arraySync()[0][row];
      const max = Math.max(...l);
      const z = l.reduce((a, x) => a + Math.exp(x - max), 0);
      return l[choice] - max - Math.log(z);
    };
    const add = opIndex("add");
    const loss = imitationLoss(sorted, [0], logits, 0.01);
    expect(loss.dataSync()[0]).toBeCloseTo(
      -(logq("op", 2, add) + logq("arg1", 2, 0) + logq("arg2", 2, 1)),
      4,
    );
    const asStored = imitationLoss(stored, [0], logits, 0.01);
    expect(asStored.dataSync()[0]).toBeCloseTo(
      -(logq("op", 2, add) + logq("arg1", 2, 1) + logq("arg2", 2, 0)),
      4,
    );
    [loss, asStored, ...Object.values(logits)].forEach((t) => t.dispose());
  });

  it("are what the dream pool places with the order on, for the same programs", () => {
    const domain = createArithDomain(defaultAlphabet(10), languageOf(module));
    const plain = createDreamPool(module, domain, []);
    const sorted = createDreamPool(module, domain, [], true);
    expect(sorted.programs.length).toBe(plain.programs.length);
    let changed = 0;
    sorted.programs.forEach((p, k) => {
      const q = plain.programs[k];
      expect(p.task.id).toBe(q.task.id);
      for (let r = 0; r < module.sketch.size; r++) {
        const o = p.choices.op[r];
        if (order.symmetric[o] && p.live.op[r] === 1)
          expect(p.choices.arg1[r]).toBeLessThanOrEqual(p.choices.arg2[r]);
        if (p.choices.arg1[r] !== q.choices.arg1[r]) changed++;
      }
      for (const s of [
        [0.3, 0.7, 1.1],
        [-2, 5, 0.25],
      ])
        expect(module.evaluate(p.program as Program, s)).toBeCloseTo(
          module.evaluate(q.program as Program, s),
          9,
        );
    });
    // The placement alone does not order the arguments, so the option changes some.
    expect(changed).toBeGreaterThan(0);
  });
});
