import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";

import {
  computeFans,
  createParamStore,
  glorotUniform,
  heUniform,
  onesInit,
  zerosInit,
} from "../../../runtime/nets/params.js";
import { useCpuBackend } from "./setup-cpu.js";

beforeAll(useCpuBackend);

describe("createParamStore", () => {
  it("creates named variables in order and counts parameters", () => {
    const store = createParamStore(1);
    store.create("a/kernel", [3, 4], heUniform);
    store.create("a/bias", [4], zerosInit);
    expect(store.names()).toEqual(["a/kernel", "a/bias"]);
    expect(store.variables().map((v) => v.shape)).toEqual([[3, 4], [4]]);
    expect(store.numParams()).toBe(16);
    expect(() => store.create("a/bias", [4], zerosInit)).toThrow(
      /already exists/,
    );
    expect(() => store.get("missing")).toThrow(/no variable/);
    store.dispose();
  });

  it("initialises reproducibly from the seed, independently per name", () => {
    const a = createParamStore(7);
    const b = createParamStore(7);
    const c = createParamStore(8);
    a.create("x", [5, 6], glorotUniform);
    b.create("other", [2], glorotUniform); // an extra variable must not shift 'x'
    b.create("x", [5, 6], glorotUniform);
    c.create("x", [5, 6], glorotUniform);
    expect(a.save().x).toEqual(b.save().x);
    expect(a.save().x.data).not.toEqual(c.save().x.data);
    [a, b, c].forEach((s) => s.dispose());
  });

  it("draws Glorot and He uniforms within their limits", () => {
    const store = createParamStore(3);
    const shape = [3, 3, 8, 16]; // conv kernel: fanIn 72, fanOut 144
    expect(computeFans(shape)).toEqual({ fanIn: 72, fanOut: 144 });
    const he = store.create("he", shape, heUniform).dataSync();
    const glorot = store.create("glorot", shape, glorotUniform).dataSync();
    const heLimit = Math.sqrt(6 / 72);
    const glorotLimit = Math.sqrt(6 / (72 + 144));
    expect(Math.max(...he.map(Math.abs))).toBeLessThanOrEqual(heLimit);
    expect(Math.max(...he.map(Math.abs))).toBeGreaterThan(0.9 * heLimit);
    expect(Math.max(...glorot.map(Math.abs))).toBeLessThanOrEqual(glorotLimit);
    expect(Array.from(store.create("ones", [3], onesInit).dataSync())).toEqual([
      1, 1, 1,
    ]);
    store.dispose();
  });

  it("round-trips through save and load", () => {
    const source = createParamStore(1);
    const target = createParamStore(2);
    for (const s of [source, target]) {
      s.create("w", [2, 3], heUniform);
      s.create("b", [3], zerosInit);
    }
    source.get("b").assign(tf.tensor1d([1, 2, 3]));
    const snapshot = JSON.parse(JSON.stringify(source.save()));
    target.load(snapshot);
    expect(target.save()).toEqual(source.save());
    expect(snapshot.b).toEqual({ shape: [3], data: [1, 2, 3] });
    source.dispose();
    target.dispose();
  });

  it("rejects snapshots with other names or shapes", () => {
    const store = createParamStore(1);
    store.create("w", [2, 3], heUniform);
    expect(() => store.load({})).toThrow(/missing \[w\]/);
    expect(() =>
      store.load({ w: { shape: [3, 2], data: [0, 0, 0, 0, 0, 0] } }),
    ).toThrow(/shape/);
    expect(() =>
      store.load({
        w: { shape: [2, 3], data: [0, 0, 0, 0, 0, 0] },
        v: { shape: [1], data: [0] },
      }),
    ).toThrow(/unexpected \[v\]/);
    store.dispose();
  });

  it("frees every variable on dispose", () => {
    const before = tf.memory().numTensors;
    const store = createParamStore(1);
    store.create("w", [2, 3], heUniform);
    store.load(store.save());
    store.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
