// Checkpoint files: round trip, atomic replacement, and clear errors for damaged files.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  arraysToSnapshot,
  readCheckpoint,
  snapshotToArrays,
  writeCheckpoint,
} from "../../runtime/checkpoint.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-ckpt-"));

describe("checkpoints", () => {
  const tensors = [
    { name: "a/w", shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
    { name: "b", shape: [3], data: Float32Array.from([0.5, -1, 1e-8]) },
  ];

  it("round-trips state and tensors", () => {
    const file = path.join(dir, "rt.ckpt");
    writeCheckpoint(file, { state: { epoch: 3 }, tensors });
    const back = readCheckpoint<{ epoch: number }>(file);
    expect(back.state.epoch).toBe(3);
    expect(
      back.tensors.map((t) => [t.name, t.shape, Array.from(t.data)]),
    ).toEqual(tensors.map((t) => [t.name, t.shape, Array.from(t.data)]));
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("names the file when it is truncated or foreign", () => {
    const file = path.join(dir, "bad.ckpt");
    writeCheckpoint(file, { state: {}, tensors });
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 5));
    expect(() => readCheckpoint(file)).toThrow(/bad\.ckpt: .*truncated/);
    fs.writeFileSync(file, "hello world");
    expect(() => readCheckpoint(file)).toThrow(/bad\.ckpt: not a valid/);
  });

  it("maps parameter snapshots to prefixed arrays and back", () => {
    const snap = { "conv/kernel": { shape: [1, 2], data: [0.25, 0.5] } };
    expect(arraysToSnapshot("g", snapshotToArrays("g", snap))).toEqual(snap);
  });
});
