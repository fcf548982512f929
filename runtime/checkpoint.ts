// Checkpoints: one file, written atomically (temp file + rename), so a crash mid-write never
// loses the previous checkpoint. Layout: 4-byte little-endian header length, a JSON header
// (run state and, per tensor, name, shape and offset), then every tensor's float32 values.

import * as fs from "node:fs";
import { writeFileAtomic } from "../compiler/compile.js";
import type { ParamSnapshot } from "./nets/params.js";

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface Checkpoint<State> {
  readonly state: State;
  readonly tensors: readonly NamedArray[];
}

const MAGIC = "sketchc-checkpoint-1";

/** A checkpoint file that cannot be read: truncated, foreign or damaged. */
export class CheckpointError extends Error {}

export function writeCheckpoint<State>(
  file: string,
  checkpoint: Checkpoint<State>,
): void {
  let offset = 0;
  const entries = checkpoint.tensors.map((t) => {
    const e = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return e;
  });
  const header = Buffer.from(
    JSON.stringify({ magic: MAGIC, state: checkpoint.state, tensors: entries }),
    "utf8",
  );
  const body = Buffer.alloc(4 + header.length + offset * 4);
  body.writeUInt32LE(header.length, 0);
  header.copy(body, 4);
  let at = 4 + header.length;
  for (const t of checkpoint.tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(
      body,
      at,
    );
    at += t.data.byteLength;
  }
  writeFileAtomic(file, body);
}

/** Reads a checkpoint; a truncated or foreign file gets an error naming the file. */
export function readCheckpoint<State>(file: string): Checkpoint<State> {
  if (!fs.existsSync(file)) {
    throw new CheckpointError(
      `${file}: no checkpoint (is this a run folder of sketchc train?)`,
    );
  }
  const bytes = fs.readFileSync(file);
  const fail = (why: string): never => {
    throw new CheckpointError(
      `${file}: not a valid sketchc checkpoint (${why})`,
    );
  };
  if (bytes.length < 4) fail("file too short");
  const headerLength = bytes.readUInt32LE(0);
  if (4 + headerLength > bytes.length) fail("truncated header");
  let header: {
    magic?: string;
    state: State;
    tensors: {
      name: string;
      shape: number[];
      offset: number;
      length: number;
    }[];
  };
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString("utf8"));
  } catch {
    return fail("unreadable header");
  }
  if (header.magic !== MAGIC) fail("wrong magic");
  const dataStart = 4 + headerLength;
  const tensors = header.tensors.map((e) => {
    const start = dataStart + e.offset * 4;
    if (start + e.length * 4 > bytes.length)
      fail(`tensor '${e.name}' is truncated`);
    const data = new Float32Array(e.length);
    Buffer.from(data.buffer).set(bytes.subarray(start, start + e.length * 4));
    return { name: e.name, shape: e.shape, data };
  });
  return { state: header.state, tensors };
}

/** ParamSnapshot <-> named arrays with a name prefix, e.g. `grounder/conv1/kernel`. */
export function snapshotToArrays(
  prefix: string,
  snapshot: ParamSnapshot,
): NamedArray[] {
  return Object.entries(snapshot).map(([name, v]) => ({
    name: `${prefix}/${name}`,
    shape: v.shape,
    data: Float32Array.from(v.data),
  }));
}

export function arraysToSnapshot(
  prefix: string,
  arrays: readonly NamedArray[],
): ParamSnapshot {
  const out: ParamSnapshot = {};
  for (const a of arrays) {
    if (a.name.startsWith(`${prefix}/`)) {
      out[a.name.slice(prefix.length + 1)] = {
        shape: [...a.shape],
        data: Array.from(a.data),
      };
    }
  }
  return out;
}
