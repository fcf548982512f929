// The runtime library that generated modules import (runtime/module-runtime), on its own: the
// formula printer's parentheses, scopes and masks, and the refusal of a module written for another
// module format. Everything else it does is tested through generated modules (test/sketches,
// test/compiler/fused.test.ts).

import "@tensorflow/tfjs-backend-cpu";
import { describe, expect, it } from "vitest";
import {
  fmt,
  MODULE_FORMAT,
  scopeRows,
  straightSketch,
  type StraightSpec,
} from "../../runtime/module-runtime/index.js";
import { maskFromScope } from "../../runtime/module-runtime/common.js";
import { MODULE_FORMAT as EMITTED_FORMAT } from "../../compiler/emit/common.js";

describe("fmt", () => {
  const [a, b, c] = ["a", "b", "c"].map(fmt.atom);

  it.each([
    [fmt.bin(fmt.bin(a, "-", b), "-", c), "a - b - c"],
    [fmt.bin(a, "-", fmt.bin(b, "-", c)), "a - (b - c)"],
    [fmt.bin(a, "+", fmt.bin(b, "*", c)), "a + b * c"],
    [fmt.bin(fmt.bin(a, "+", b), "*", c), "(a + b) * c"],
    [fmt.bin(a, "/", fmt.bin(b, "*", c)), "a / (b * c)"],
    [fmt.neg(fmt.bin(a, "+", b)), "-(a + b)"],
    [fmt.bin(a, "*", fmt.num(-2)), "a * -2"],
    [fmt.call("min", [a, fmt.bin(b, "+", c)]), "min(a, b + c)"],
  ])("%#: %s", (f, text) => {
    expect(f.text).toBe(text);
  });
});

describe("scopes", () => {
  it("scopeRows repeats a row pattern and maskFromScope marks its intervals", () => {
    const scope = scopeRows(3, (l) => [
      [0, 1],
      [2 + l, 3 + l],
    ]);
    expect(scope).toEqual([
      [
        [0, 1],
        [2, 3],
      ],
      [
        [0, 1],
        [3, 4],
      ],
      [
        [0, 1],
        [4, 5],
      ],
    ]);
    expect(maskFromScope(scope, 5)).toEqual([
      [1, 0, 1, 0, 0],
      [1, 0, 0, 1, 0],
      [1, 0, 0, 0, 1],
    ]);
  });
});

describe("module format", () => {
  it("is the one the emitter writes", () => {
    expect(EMITTED_FORMAT).toBe(MODULE_FORMAT);
  });

  it("refuses a module compiled for another format, naming its sketch", () => {
    const spec: StraightSpec<"id", "op" | "arg1"> = {
      format: MODULE_FORMAT + 1,
      name: "old",
      source: "old.sketch",
      numInputs: 1,
      constants: [],
      ops: ["id"],
      arity: [1],
      cost: [1],
      lengthPrior: 0,
      lines: 1,
      outputSlot: 1,
      heads: [
        { name: "op", scope: [[[0, 1]]] },
        { name: "arg1", scope: [[[0, 1]]] },
      ],
      operators: { id: (x: number) => x },
      tensorOperators: (x) => [x],
      formulas: { id: (x) => x },
      fused: { forward: () => {}, backward: () => {} },
    };
    expect(() => straightSketch(spec)).toThrow(
      /old\.sketch has module format 2, but this sketchc runtime reads format 1: recompile/,
    );
    expect(straightSketch({ ...spec, format: MODULE_FORMAT }).sketch).toEqual({
      name: "old",
      source: "old.sketch",
      model: "straight",
      numInputs: 1,
      constants: [],
      size: 1,
      operators: [{ name: "id", arity: 1, cost: 1 }],
      heads: [
        { name: "op", shape: [1, 1], mask: [[1]] },
        { name: "arg1", shape: [1, 2], mask: [[1, 0]] },
      ],
      lengthPrior: 0,
    });
  });
});
