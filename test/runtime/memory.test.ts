// The program memory (runtime/memory.ts) on arith-depth3 (3 lines, 4 operators): scoring, keeping
// the best, imitating only live rows, proposals around the stored program, checkpoint round trip.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { loadSketch } from "../../runtime/load-sketch.js";
import {
  abduceSymbols,
  clearMemory,
  createCanonicalizer,
  createMemory,
  createSearcher,
  imitationLoss,
  liveRows,
  loadMemory,
  memoryToArrays,
  normalizedError,
  proposeAround,
  updateMemory,
} from "../../runtime/memory.js";
import { createRng } from "../../runtime/random.js";
import type { SketchModule } from "../../runtime/sketch-module.js";

interface Line {
  op: string;
  args: number[];
}
interface Program {
  lines: (Line | null)[];
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-memory-"));
let module: SketchModule<Program>;

beforeAll(async () => {
  await selectBackend("wasm");
  module = (await loadSketch(
    "sketches/arith-depth3.sketch",
    path.join(root, "module"),
  )) as SketchModule<Program>;
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// Slots: s1, s2, s3 are 0, 1, 2; line l is slot 3 + l. The output is line 3 (slot 5).
const sum12: Program = {
  lines: [null, null, { op: "add", args: [0, 1] }],
};
const sum12Long: Program = {
  lines: [{ op: "add", args: [0, 1] }, null, { op: "skip", args: [3] }],
};
const sum12Roundabout: Program = {
  lines: [
    { op: "add", args: [0, 1] },
    { op: "sub", args: [3, 2] },
    { op: "add", args: [4, 2] },
  ],
};
const product12: Program = {
  lines: [null, null, { op: "mul", args: [0, 1] }],
};

const symbols = [
  [0.1, 0.2, 0.3],
  [0.5, 0.4, 0.9],
  [1.0, 0.7, 0.2],
];
const ySum = symbols.map((s) => s[0] + s[1]);

describe("normalizedError", () => {
  it("is 0 for a program that reproduces the outputs and positive otherwise", () => {
    expect(normalizedError(module, sum12, symbols, ySum, 0.5)).toBeCloseTo(
      0,
      12,
    );
    const e = normalizedError(module, product12, symbols, ySum, 0.5);
    const expected =
      symbols.reduce((acc, s, i) => acc + (s[0] * s[1] - ySum[i]) ** 2, 0) /
      (3 * 0.25);
    expect(e).toBeCloseTo(expected, 6);
  });
});

describe("updateMemory", () => {
  it("keeps the best candidate, prefers the shorter of equals, and rescores the stored one", () => {
    const memory = createMemory(module, 2);
    expect(
      updateMemory(memory, module, 0, [product12], symbols, ySum, 0.5),
    ).toBeGreaterThan(0);
    expect(memory.programs[0]).toEqual(product12);
    updateMemory(memory, module, 0, [sum12Roundabout], symbols, ySum, 0.5);
    expect(memory.programs[0]).toEqual(sum12Roundabout);
    updateMemory(memory, module, 0, [sum12, product12], symbols, ySum, 0.5);
    expect(memory.programs[0]).toEqual(sum12); // same error, shorter
    expect(memory.errors[0]).toBeCloseTo(0, 9);
    // New symbols: the stored program is scored again on them.
    const yProduct = symbols.map((s) => s[0] * s[1]);
    updateMemory(memory, module, 0, [], symbols, yProduct, 0.5);
    expect(memory.errors[0]).toBeGreaterThan(0.01);
    expect(memory.programs[1]).toBeUndefined();
    expect(memory.errors[1]).toBe(Infinity);
  });
});

describe("updateMemory's repeated candidates", () => {
  it("runs each distinct program once and decides as if it ran every one", () => {
    let runs = 0;
    const counting: SketchModule<Program> = {
      ...module,
      evaluateMany: (p, s, out) => {
        runs++;
        return module.evaluateMany!(p, s, out);
      },
    };
    const memory = createMemory(module, 1);
    memory.programs[0] = product12;
    const copies = [sum12, { ...product12 }, structuredClone(sum12), sum12];
    updateMemory(memory, counting, 0, copies, symbols, ySum, 0.5);
    expect(runs).toBe(2); // product12 (stored, and its copy) and sum12 (three times)
    expect(memory.programs[0]).toEqual(sum12);
    expect(memory.errors[0]).toBe(
      normalizedError(module, sum12, symbols, ySum, 0.5),
    );
  });
});

describe("liveRows", () => {
  it("marks the lines the output reaches and the arguments their operators take", () => {
    const live = liveRows(module, sum12Long);
    expect(Array.from(live.op)).toEqual([1, 0, 1]);
    expect(Array.from(live.arg1)).toEqual([1, 0, 1]);
    expect(Array.from(live.arg2)).toEqual([1, 0, 0]); // skip is unary
  });
});

describe("imitationLoss", () => {
  it("is -log q of the stored program's live rows, and zero above the threshold", () => {
    const memory = createMemory(module, 2);
    updateMemory(memory, module, 1, [sum12], symbols, ySum, 0.5);
    const heads = module.sketch.heads;
    const logits = Object.fromEntries(
      heads.map((h, k) => [
        h.name,
        tf.tensor3d(
          Array.from(
            { length: 2 * h.shape[0] * h.shape[1] },
            (_, i) => Math.sin(i + 7 * k) * 2,
          ),
          [2, h.shape[0], h.shape[1]],
        ),
      ]),
    );
    const value = imitationLoss(memory, [0, 1], logits, 0.01);
    // By hand: task 1 (the second row of the batch), line 3: op add, arg1 s1, arg2 s2.
    const logq = (name: string, row: number, choice: number) => {
      const l = logits[name].arraySync()[1][row];
      const max = Math.max(...l);
      const z = l.reduce((a, x) => a + Math.exp(x - max), 0);
      return l[choice] - max - Math.log(z);
    };
    const add = module.sketch.operators.findIndex((o) => o.name === "add");
    const expected =
      -(logq("op", 2, add) + logq("arg1", 2, 0) + logq("arg2", 2, 1)) / 2;
    expect(value.dataSync()[0]).toBeCloseTo(expected, 4);
    const none = imitationLoss(memory, [0, 1], logits, -1);
    expect(none.dataSync()[0]).toBeCloseTo(0, 12);
    [value, none, ...Object.values(logits)].forEach((t) => t.dispose());
  });
});

describe("proposeAround", () => {
  it("keeps the stored live rows at rate 0 and takes the sample at rate 1", () => {
    const memory = createMemory(module, 2);
    updateMemory(memory, module, 0, [sum12Long], symbols, ySum, 0.5);
    // A sample that computes s3 * s3 on every line.
    const sample = Object.fromEntries(
      module.sketch.heads.map((h) => {
        const choice = new Int32Array(2 * h.shape[0]);
        if (h.name === "op")
          choice.fill(
            module.sketch.operators.findIndex((o) => o.name === "mul"),
          );
        else choice.fill(2);
        return [h.name, choice];
      }),
    );
    const random = createRng(1);
    const kept = proposeAround(memory, module, [0, 1], sample, 0, () =>
      random.next(),
    );
    expect(module.formula(kept[0])).toBe(module.formula(sum12Long));
    expect(module.formula(kept[1])).toBe("s3 * s3"); // no stored program
    const taken = proposeAround(memory, module, [0, 1], sample, 1, () =>
      random.next(),
    );
    expect(module.formula(taken[0])).toBe("s3 * s3");
  });
});

describe("abduceSymbols", () => {
  const alphabet = Array.from({ length: 10 }, (_, k) => (k + 1) / 10);
  const line = (op: string, args: number[]): Program => ({
    lines: [null, null, { op, args }],
  });

  it("moves each symbol to the alphabet value the stored programs explain, even past neighbours", () => {
    // Programs y = s1, y = s1 + s2, y = s2 * s3 and y = s1 - s3 (tasks 0-3), on two pairs.
    const programs = [
      line("skip", [0]),
      line("add", [0, 1]),
      line("mul", [1, 2]),
      line("sub", [0, 2]),
    ];
    const gold = [
      [0.3, 0.7, 0.2],
      [0.9, 0.1, 0.6],
    ];
    const memory = createMemory(module, 4);
    const y = new Float32Array(4 * 2);
    programs.forEach((p, t) => {
      gold.forEach((s, b) => (y[t * 2 + b] = module.evaluate(p, s)));
      updateMemory(
        memory,
        module,
        t,
        [p],
        gold,
        Array.from(y.subarray(t * 2, t * 2 + 2)),
        1,
      );
    });
    // g(x) off by up to 3 steps of the alphabet.
    const grounded = Float32Array.from([0.42, 0.5, 0.24, 0.61, 0.13, 0.83]);
    const tasks = [0, 1, 2, 3];
    const abduced = abduceSymbols(
      memory,
      module,
      tasks,
      new Float32Array(4).fill(1),
      grounded,
      y,
      new Float32Array(4).fill(0.05),
      alphabet,
    );
    expect(Array.from(abduced.symbols)).toEqual(
      gold.flat().map((v) => Math.fround(v)),
    );
    expect(Array.from(abduced.constrained)).toEqual([1, 1, 1, 1, 1, 1]);
    // With no imitated task it rounds g(x) to the alphabet.
    const rounded = abduceSymbols(
      memory,
      module,
      tasks,
      new Float32Array(4),
      grounded,
      y,
      new Float32Array(4).fill(0.5),
      alphabet,
    );
    expect(Array.from(rounded.symbols)).toEqual(
      [0.4, 0.5, 0.2, 0.6, 0.1, 0.8].map((v) => Math.fround(v)),
    );
    expect(Array.from(rounded.constrained)).toEqual([0, 0, 0, 0, 0, 0]);
    // Only y = s1 imitated: s2 and s3 are unconstrained.
    const onlyFirst = abduceSymbols(
      memory,
      module,
      tasks,
      Float32Array.from([1, 0, 0, 0]),
      grounded,
      y,
      new Float32Array(4).fill(0.05),
      alphabet,
    );
    expect(Array.from(onlyFirst.constrained)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(onlyFirst.symbols[0]).toBeCloseTo(0.3, 6);
  });
});

describe("abduceSymbols with g's probabilities as the prior", () => {
  const alphabet = Array.from({ length: 10 }, (_, k) => (k + 1) / 10);
  const A = alphabet.length;

  it("returns the posterior marginals: prior times the Gaussian likelihood, by hand", () => {
    // One stored program, y = s1, reads only s1: the tuples factorize, so s1's marginal is
    // p(v) exp(-(v - y)^2 / (2 sigma^2)) normalized, and s2, s3 keep their prior.
    const program: Program = { lines: [null, null, { op: "skip", args: [0] }] };
    const memory = createMemory(module, 1);
    const gold = [[0.4, 0.2, 0.9]];
    updateMemory(memory, module, 0, [program], gold, [0.4], 1);
    const sigma = 0.05;
    const y = Float32Array.of(0.4);
    // A prior that leans to 0.5 for s1 and 0.8 for s2, uniform for s3.
    const prior = (j: number, k: number) =>
      j === 0 ? (k === 4 ? 3 : 1) : j === 1 ? (k === 7 ? 5 : 1) : 1;
    const logPrior = new Float32Array(3 * A);
    for (let j = 0; j < 3; j++) {
      let z = 0;
      for (let k = 0; k < A; k++) z += prior(j, k);
      for (let k = 0; k < A; k++)
        logPrior[j * A + k] = Math.log(prior(j, k) / z);
    }
    // One stored program, g at 0.5 for every symbol: only the options change below.
    const abduce = (options: Parameters<typeof abduceSymbols>[8]) =>
      abduceSymbols(
        memory,
        module,
        [0],
        Float32Array.of(1),
        Float32Array.of(0.5, 0.5, 0.5),
        y,
        Float32Array.of(sigma),
        alphabet,
        options,
      );
    const abduced = abduce({ logPrior, posterior: true });
    const post = abduced.posterior!;
    expect(post).toHaveLength(3 * A);
    const like = alphabet.map(
      (v, k) => prior(0, k) * Math.exp(-((v - 0.4) ** 2) / (2 * sigma * sigma)),
    );
    const z = like.reduce((a, b) => a + b, 0);
    like.forEach((w, k) => expect(post[k]).toBeCloseTo(w / z, 5));
    for (let k = 0; k < A; k++) {
      expect(post[A + k]).toBeCloseTo(Math.exp(logPrior[A + k]), 5);
      expect(post[2 * A + k]).toBeCloseTo(0.1, 5);
    }
    // The prior pulls s1 towards 0.5 but the output says 0.4: the mode is 0.4, and 0.5 keeps
    // more than its likelihood alone would give it.
    expect(abduced.symbols[0]).toBeCloseTo(0.4, 6);
    expect(post[4]).toBeGreaterThan(post[2]);
    expect(Array.from(abduced.constrained)).toEqual([1, 0, 0]);
    // Without the posterior option, the same best tuple and no marginals.
    const plain = abduce({ logPrior });
    expect(plain.posterior).toBeUndefined();
    expect(Array.from(plain.indices)).toEqual(Array.from(abduced.indices));
    expect(() => abduce({ logPrior: new Float32Array(5) })).toThrow(
      /5 prior log-probabilities for 3 symbols of 10 values/,
    );
  });
});

describe("abduceSymbols with widths from the residuals", () => {
  const alphabet = Array.from({ length: 10 }, (_, k) => (k + 1) / 10);
  const A = alphabet.length;
  const identity: Program = { lines: [null, null, { op: "skip", args: [0] }] };
  // Eight pairs of y = s1 (exact); g is unsure of every symbol but s1 of pair 0, which it reads
  // as 0.5 with p 0.9 (0.4, the truth, gets 0.05).
  const gold = [0.4, 0.1, 0.7, 0.3, 0.9, 0.2, 0.6, 1.0];
  const B = gold.length;
  const logPrior = new Float32Array(B * 3 * A).fill(Math.log(1 / A));
  for (let k = 0; k < A; k++)
    logPrior[k] = Math.log(k === 4 ? 0.9 : k === 3 ? 0.05 : 0.05 / 8);
  const y = Float32Array.from(gold);
  const abduce = (
    memory: ReturnType<typeof createMemory>,
    sigma: number,
    residualWidth?: number,
    outputs = y,
  ) =>
    abduceSymbols(
      memory,
      module,
      [0],
      Float32Array.of(1),
      new Float32Array(B * 3).fill(0.5),
      outputs,
      Float32Array.of(sigma),
      alphabet,
      { logPrior, posterior: true, residualWidth },
    );
  /** Stores y = s1 as task 0's program (error 0 on the gold symbols). */
  const storeIdentity = (memory: ReturnType<typeof createMemory>) =>
    updateMemory(
      memory,
      module,
      0,
      [identity],
      gold.map((v) => [v, 0.5, 0.5]),
      gold,
      1,
    );

  it("lets a program that explains its outputs exactly overrule a confident g", () => {
    const memory = createMemory(module, 1);
    storeIdentity(memory);
    // With the output spread as the width (0.3), g's 0.5 wins on pair 0: a 0.1 miss costs
    // (0.1 / 0.3)^2 = 0.11 against -2 log(0.05 / 0.9) = 5.8 for the truth.
    const spread = abduce(memory, 0.3);
    expect(spread.symbols[0]).toBeCloseTo(0.5, 6);
    // The first pass's residual is sqrt(0.1^2 / 8) = 0.035, so the width falls to 0.035 (over
    // the floor 0.1 * 0.3): the miss costs 8 and the truth wins. The other pairs stay right.
    const residual = abduce(memory, 0.3, 0.1);
    for (let b = 0; b < B; b++)
      expect(residual.symbols[b * 3]).toBeCloseTo(gold[b], 6);
    expect(residual.posterior![3]).toBeGreaterThan(0.5);
    // A floor at the spread itself is the spread's abduction, to the bit.
    expect(Array.from(abduce(memory, 0.3, 1).posterior!)).toEqual(
      Array.from(spread.posterior!),
    );
  });

  it("never widens past the spread, and follows a newly stored program", () => {
    const memory = createMemory(module, 1);
    // y = s1 * s2 cannot reach outputs 3 over the truth: its residual is far over the spread,
    // so the width stays the spread and the result is the spread's.
    const product: Program = {
      lines: [null, null, { op: "mul", args: [0, 1] }],
    };
    updateMemory(memory, module, 0, [product], [[0.4, 0.5, 0.5]], [0.4], 1);
    const far = y.map((v) => v + 3);
    expect(Array.from(abduce(memory, 0.3, 0.1, far).posterior!)).toEqual(
      Array.from(abduce(memory, 0.3, undefined, far).posterior!),
    );
    // A better program stored for the task replaces the outputs abduction runs (they are
    // cached per program object, not per task).
    storeIdentity(memory);
    expect(abduce(memory, 0.3, 0.1).symbols[0]).toBeCloseTo(0.4, 6);
  });
});

describe("abduceSymbols against the direct sum", () => {
  // The scoring expands sum_u (p_u - y_u)^2 / w_u^2 to share one product over the programs; this
  // scores every tuple term by term, as the definition reads, on random programs, outputs and
  // priors, with an alphabet value large enough that a product overflows (an impossible tuple),
  // and once with values near 10,000 (outputs to 1e12, residuals near 0.05).
  const A = 5;
  const ops = ["add", "sub", "mul", "skip"];

  it.each([
    [[0.1, 0.3, 0.6, 0.9, 1e200]],
    [[1e4 + 0.1, 1e4 + 0.3, 1e4 + 0.6, 1e4 + 0.9, 1e200]],
  ])(
    "finds the same tuples and posterior marginals, residual widths or not (%j)",
    (alphabet) => {
      const rng = createRng(11);
      const pick = (n: number) => Math.floor(rng.next() * n);
      const T = 12;
      const B = 6;
      const programs: Program[] = Array.from({ length: T }, () => ({
        lines: [
          { op: ops[pick(4)], args: [pick(3), pick(3)] },
          { op: ops[pick(4)], args: [pick(4), pick(4)] },
          { op: ops[pick(4)], args: [pick(5), pick(5)] },
        ],
      }));
      const memory = createMemory(module, T);
      programs.forEach((p, t) => {
        memory.programs[t] = p;
        memory.errors[t] = 0;
      });
      const tasks = Array.from({ length: T }, (_, t) => t);
      const weights = Float32Array.from(tasks, (t) => (t % 5 === 4 ? 0 : 1));
      const gold = Array.from({ length: B }, () =>
        Array.from({ length: 3 }, () => alphabet[pick(4)]),
      );
      const y = new Float32Array(T * B);
      programs.forEach((p, t) =>
        gold.forEach(
          (g, b) =>
            (y[t * B + b] = module.evaluate(p, g) + 0.05 * (rng.next() - 0.5)),
        ),
      );
      const sigma = Float32Array.from(tasks, () => 0.2 + rng.next());
      const logPrior = new Float32Array(B * 3 * A);
      for (let k = 0; k < B * 3; k++) {
        const p = Array.from({ length: A }, () => 0.05 + rng.next());
        const z = p.reduce((a, b) => a + b, 0);
        p.forEach((v, a) => (logPrior[k * A + a] = Math.log(v / z)));
      }
      const tuples = A ** 3;
      const digit = (i: number, j: number) => Math.floor(i / A ** j) % A;
      const tuple = (i: number) => [0, 1, 2].map((j) => alphabet[digit(i, j)]);
      const used = tasks.filter((t) => weights[t] > 0);
      const cost = (b: number, i: number, width: number[]) => {
        let c = 0;
        for (let j = 0; j < 3; j++)
          c -= 2 * logPrior[(b * 3 + j) * A + digit(i, j)];
        used.forEach((t, u) => {
          const d =
            (module.evaluate(programs[t], tuple(i)) - y[t * B + b]) / width[u];
          c += Number.isFinite(d) ? d * d : Infinity;
        });
        return c;
      };
      const argmin = (b: number, width: number[]) => {
        let best = 0;
        for (let i = 1; i < tuples; i++)
          if (cost(b, i, width) < cost(b, best, width)) best = i;
        return best;
      };
      for (const residualWidth of [undefined, 0.1]) {
        let width = used.map((t) => sigma[t]);
        if (residualWidth !== undefined) {
          const first = Array.from({ length: B }, (_, b) => argmin(b, width));
          width = used.map((t) => {
            let r = 0;
            first.forEach((i, b) => {
              const d = module.evaluate(programs[t], tuple(i)) - y[t * B + b];
              r += Number.isFinite(d) ? d * d : Infinity;
            });
            return Math.min(
              sigma[t],
              Math.max(residualWidth * sigma[t], Math.sqrt(r / B)),
            );
          });
        }
        const abduced = abduceSymbols(
          memory,
          module,
          tasks,
          weights,
          new Float32Array(B * 3).fill(0.5),
          y,
          sigma,
          alphabet,
          { logPrior, posterior: true, residualWidth },
        );
        for (let b = 0; b < B; b++) {
          const best = argmin(b, width);
          expect(
            Array.from(abduced.indices.subarray(b * 3, b * 3 + 3)),
          ).toEqual([0, 1, 2].map((j) => digit(best, j)));
          const costs = Array.from({ length: tuples }, (_, i) =>
            cost(b, i, width),
          );
          const low = Math.min(...costs);
          const w = costs.map((c) => Math.exp(-(c - low) / 2));
          const total = w.reduce((a, c) => a + c, 0);
          for (let j = 0; j < 3; j++)
            for (let a = 0; a < A; a++) {
              const marginal =
                w.reduce((m, x, i) => (digit(i, j) === a ? m + x : m), 0) /
                total;
              expect(abduced.posterior![(b * 3 + j) * A + a]).toBeCloseTo(
                marginal,
                5,
              );
            }
        }
      }
    },
  );
});

describe("enumerative proposals (createSearcher)", () => {
  it("places the best-fitting program of each task in the sketch, and the memory keeps it", () => {
    const rng = createRng(3);
    const symbols = Array.from({ length: 16 }, () =>
      Array.from({ length: 3 }, () => (rng.int(10) + 1) / 10),
    );
    const targets = [
      (s: readonly number[]) => s[0] * s[1] - s[2],
      (s: readonly number[]) => s[2],
    ];
    const outputs = targets.map((f) => symbols.map(f));
    const search = createSearcher(module, 3);
    const found = search(symbols, outputs);
    found.forEach((p, t) =>
      symbols.forEach((s) =>
        expect(module.evaluate(p!, s)).toBeCloseTo(targets[t](s), 12),
      ),
    );
    // A memory with search offers it; a wrong stored program is replaced.
    const memory = createMemory(module, 2, { searchSize: 3 });
    expect(memory.search).toBeDefined();
    expect(createMemory(module, 2).search).toBeUndefined();
    updateMemory(memory, module, 0, [sum12], symbols, outputs[0], 1);
    expect(memory.errors[0]).toBeGreaterThan(0.01);
    const proposals = memory.search!(symbols, outputs);
    updateMemory(memory, module, 0, [proposals[0]!], symbols, outputs[0], 1);
    expect(memory.errors[0]).toBeLessThan(1e-12);
    // Outputs no program of 3 operators explains (noise): nothing is offered, not the best
    // of the misfits.
    const noise = symbols.map(() => rng.next());
    expect(search(symbols, [noise])[0]).toBeUndefined();
    // A program the sketch cannot hold (more operators than arith-depth3's 3 lines) is not
    // offered.
    const deep = (s: readonly number[]) => (s[0] + s[1]) * (s[2] - s[0]) * s[1];
    const tooBig = createSearcher(module, 4)(symbols, [symbols.map(deep)]);
    expect(tooBig[0]).toBeUndefined();
  });
});

describe("checkpoint arrays", () => {
  it("restore the programs, their rows and errors", () => {
    const memory = createMemory(module, 3);
    updateMemory(memory, module, 0, [sum12Long], symbols, ySum, 0.5);
    updateMemory(memory, module, 2, [product12], symbols, ySum, 0.5);
    const restored = createMemory(module, 3);
    loadMemory(restored, module, memoryToArrays(memory));
    expect(restored.programs.map((p) => p && module.formula(p))).toEqual(
      memory.programs.map((p) => p && module.formula(p)),
    );
    expect(Array.from(restored.errors)).toEqual(Array.from(memory.errors));
    for (const h of module.sketch.heads) {
      expect(Array.from(restored.live[h.name])).toEqual(
        Array.from(memory.live[h.name]),
      );
    }
    expect(() =>
      loadMemory(createMemory(module, 2), module, memoryToArrays(memory)),
    ).toThrow(/3 tasks, the run 2/);
  });
});

describe("a restart (clearMemory)", () => {
  it("forgets every program, row and error, and counts itself", () => {
    const memory = createMemory(module, 3);
    updateMemory(memory, module, 0, [sum12Long], symbols, ySum, 0.5);
    updateMemory(memory, module, 2, [product12], symbols, ySum, 0.5);
    const fresh = createMemory(module, 3);
    clearMemory(memory, 150);
    expect(memory.programs).toEqual([undefined, undefined, undefined]);
    expect(Array.from(memory.errors)).toEqual([Infinity, Infinity, Infinity]);
    for (const h of module.sketch.heads) {
      expect(Array.from(memory.choices[h.name])).toEqual(
        Array.from(fresh.choices[h.name]),
      );
      expect(Array.from(memory.live[h.name])).toEqual(
        Array.from(fresh.live[h.name]),
      );
    }
    expect([memory.restarts, memory.restartStep]).toEqual([1, 150]);
    // The memory fills again as at the start.
    updateMemory(memory, module, 1, [sum12], symbols, ySum, 0.5);
    expect(module.formula(memory.programs[1]!)).toBe(module.formula(sum12));
  });

  it("survives a checkpoint: the count, the step and the cleared programs", () => {
    const memory = createMemory(module, 2);
    updateMemory(memory, module, 0, [sum12], symbols, ySum, 0.5);
    clearMemory(memory, 200);
    updateMemory(memory, module, 1, [product12], symbols, ySum, 0.5);
    // A run that still holds the programs of before the restart, as one that recovers from a
    // non-finite step does, loads the cleared state.
    const running = createMemory(module, 2);
    updateMemory(running, module, 0, [sum12], symbols, ySum, 0.5);
    loadMemory(running, module, memoryToArrays(memory));
    expect(running.programs[0]).toBeUndefined();
    expect(running.errors[0]).toBe(Infinity);
    for (const h of module.sketch.heads)
      expect(
        running.live[h.name].subarray(0, h.shape[0]).every((v) => v === 0),
      ).toBe(true);
    expect(module.formula(running.programs[1]!)).toBe(
      module.formula(product12),
    );
    expect([running.restarts, running.restartStep]).toEqual([1, 200]);
    // A checkpoint from before restarts existed: none.
    const old = memoryToArrays(createMemory(module, 2)).filter(
      (a) => a.name !== "memory/restarts",
    );
    loadMemory(running, module, old);
    expect([running.restarts, running.restartStep]).toEqual([0, 0]);
  });
});

describe("the canonical memory layout", () => {
  const choicesOf = (memory: ReturnType<typeof createMemory<Program>>) =>
    Object.fromEntries(
      memory.heads.map((h) => [h.name, Array.from(memory.choices[h.name])]),
    );

  it("stores equal expressions in one layout, whatever lines the search used", () => {
    const found = createMemory(module, 2);
    const canonical = createMemory(module, 2, { canonical: true });
    for (const memory of [found, canonical]) {
      updateMemory(memory, module, 0, [sum12], symbols, ySum, 1);
      updateMemory(memory, module, 1, [sum12Long], symbols, ySum, 1);
    }
    const rows = (memory: typeof found, task: number) =>
      Object.fromEntries(
        Object.entries(choicesOf(memory)).map(([name, c]) => {
          const r = memory.heads.find((h) => h.name === name)!.rows;
          return [name, c.slice(task * r, (task + 1) * r)];
        }),
      );
    // As found, the skip chain and the line it starts on differ from sum12's layout.
    expect(rows(found, 0)).not.toEqual(rows(found, 1));
    expect(rows(canonical, 0)).toEqual(rows(canonical, 1));
    // The stored programs compute what was found.
    for (const x of symbols) {
      expect(module.evaluate(canonical.programs[1]!, x)).toBeCloseTo(
        x[0] + x[1],
        12,
      );
    }
  });

  it("keeps the function of a program and drops identities", () => {
    const canonicalize = createCanonicalizer(module);
    const placed = canonicalize(sum12Long);
    expect(placed.lines.filter((l) => l !== null)).toEqual([
      { op: "add", args: [0, 1] },
    ]);
    const roundabout = canonicalize(sum12Roundabout);
    for (const x of symbols) {
      expect(module.evaluate(roundabout, x)).toBeCloseTo(
        module.evaluate(sum12Roundabout, x),
        12,
      );
    }
    // The same function by a different expression is not rewritten to sum12 (no algebra).
    expect(module.formula(roundabout)).toBe(module.formula(sum12Roundabout));
    expect(canonicalize(product12)).toEqual(canonicalize(product12));
  });
});
