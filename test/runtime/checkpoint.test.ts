// Checkpoint files: round trip, atomic replacement, and clear errors for damaged files.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  arraysToSnapshot,
  CheckpointError,
  loadCheckpoint,
  previousCheckpointFile,
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

  it("detects a flipped bit anywhere by its checksum", () => {
    const file = path.join(dir, "flip.ckpt");
    writeCheckpoint(file, { state: { epoch: 1 }, tensors });
    const good = fs.readFileSync(file);
    // A bit in the tensor data, where no parser would notice it, and one in the checksum.
    for (const at of [good.length - 40, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x01;
      fs.writeFileSync(file, bad);
      expect(() => readCheckpoint(file)).toThrow(
        /flip\.ckpt: not a valid sketchc checkpoint \(checksum mismatch/,
      );
    }
    fs.writeFileSync(file, Buffer.concat([good, Buffer.from([0])]));
    expect(() => readCheckpoint(file)).toThrow(/1 bytes too many/);
  });

  it("keeps the previous checkpoint and falls back to it when the newest is damaged", () => {
    const sub = fs.mkdtempSync(path.join(dir, "rotate-"));
    const file = path.join(sub, "run.ckpt");
    expect(loadCheckpoint(file)).toBeUndefined();
    writeCheckpoint(file, { state: { epoch: 1 }, tensors });
    expect(fs.existsSync(previousCheckpointFile(file))).toBe(false);
    writeCheckpoint(file, { state: { epoch: 2 }, tensors });
    const fresh = loadCheckpoint<{ epoch: number }>(file)!;
    expect([fresh.checkpoint.state.epoch, fresh.warning]).toEqual([
      2,
      undefined,
    ]);
    // Truncated: the previous one (epoch 1), with a warning naming the damaged file.
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
    const back = loadCheckpoint<{ epoch: number }>(file)!;
    expect(back.checkpoint.state.epoch).toBe(1);
    expect(back.file).toBe(previousCheckpointFile(file));
    expect(back.warning).toMatch(
      /run\.ckpt: not a valid sketchc checkpoint \(truncated.*; using the previous checkpoint .*run\.ckpt\.prev/,
    );
    // Missing (killed between the two renames): the previous one too.
    fs.rmSync(file);
    expect(loadCheckpoint<{ epoch: number }>(file)!.warning).toMatch(
      /run\.ckpt: missing/,
    );
    // Both damaged: an error naming both.
    fs.writeFileSync(file, "garbage");
    fs.writeFileSync(previousCheckpointFile(file), "garbage");
    expect(() => loadCheckpoint(file)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(file)).toThrow(
      /run\.ckpt: not a valid .*; and the previous checkpoint cannot be used either: .*run\.ckpt\.prev: not a valid/,
    );
  });

  it("maps parameter snapshots to prefixed arrays and back", () => {
    const snap = { "conv/kernel": { shape: [1, 2], data: [0.25, 0.5] } };
    expect(arraysToSnapshot("g", snapshotToArrays("g", snap))).toEqual(snap);
  });
});
