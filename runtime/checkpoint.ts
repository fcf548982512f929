// Checkpoints that cannot be lost. A checkpoint is one file: 4-byte little-endian header length,
// a JSON header (run state and, per tensor, name, shape and offset), every tensor's float32 values,
// then a SHA-256 of all that. A new checkpoint is written durably beside the old one
// (util/files.ts), and the old one is kept as NAME.prev until the new one is complete, so a run
// killed at any moment, or a file damaged later, falls back to the one before with a warning.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { writeFileAtomic } from "../util/files.js";
import { killpoint } from "../util/failpoints.js";
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

/** Version 2 adds the data length to the header and the trailing checksum. */
const MAGIC = "sketchc-checkpoint-2";
const MAGIC_V1 = "sketchc-checkpoint-1";
const CHECKSUM_BYTES = 32;

/** A checkpoint file that cannot be read: truncated, foreign or damaged. */
export class CheckpointError extends Error {}

/** The previous checkpoint, kept until a new one is complete. */
export function previousCheckpointFile(file: string): string {
  return `${file}.prev`;
}

/** The bytes of a checkpoint file. */
export function encodeCheckpoint<State>(checkpoint: Checkpoint<State>): Buffer {
  let offset = 0;
  const entries = checkpoint.tensors.map((t) => {
    const e = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return e;
  });
  const header = Buffer.from(
    JSON.stringify({
      magic: MAGIC,
      state: checkpoint.state,
      tensors: entries,
      dataBytes: offset * 4,
    }),
    "utf8",
  );
  const size = 4 + header.length + offset * 4;
  const body = Buffer.alloc(size + CHECKSUM_BYTES);
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
  createHash("sha256").update(body.subarray(0, size)).digest().copy(body, size);
  return body;
}

/**
 * Writes `file`, keeping the checkpoint it replaces as `file.prev` until the new one is on disk:
 * at every moment one of the two is complete.
 */
export function writeCheckpoint<State>(
  file: string,
  checkpoint: Checkpoint<State>,
): void {
  const body = encodeCheckpoint(checkpoint);
  if (fs.existsSync(file)) {
    fs.renameSync(file, previousCheckpointFile(file));
    killpoint("checkpoint-rotated");
  }
  writeFileAtomic(file, body);
}

/** Reads one checkpoint file; a truncated, damaged or foreign file gets an error naming it. */
export function readCheckpoint<State>(file: string): Checkpoint<State> {
  if (!fs.existsSync(file)) {
    throw new CheckpointError(
      `${file}: no checkpoint (is this a run folder of sketchc train?)`,
    );
  }
  return decodeCheckpoint<State>(fs.readFileSync(file), file);
}

/** Parses checkpoint bytes; `file` names them in errors. */
export function decodeCheckpoint<State>(
  bytes: Buffer,
  file: string,
): Checkpoint<State> {
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
    dataBytes?: number;
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
  if (header.magic !== MAGIC && header.magic !== MAGIC_V1) fail("wrong magic");
  const dataStart = 4 + headerLength;
  if (header.magic === MAGIC) {
    const size = dataStart + (header.dataBytes ?? 0);
    if (bytes.length < size + CHECKSUM_BYTES)
      fail(
        `truncated: ${bytes.length} bytes, expected ${size + CHECKSUM_BYTES}`,
      );
    if (bytes.length > size + CHECKSUM_BYTES)
      fail(`${bytes.length - size - CHECKSUM_BYTES} bytes too many`);
    const digest = createHash("sha256")
      .update(bytes.subarray(0, size))
      .digest();
    if (!digest.equals(bytes.subarray(size, size + CHECKSUM_BYTES)))
      fail("checksum mismatch: the file is damaged");
  }
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

/** A checkpoint loaded for resuming, and what was wrong with the newer file if it fell back. */
export interface LoadedCheckpoint<State> {
  readonly checkpoint: Checkpoint<State>;
  /** The file it came from: `file`, or `file.prev` after a fallback. */
  readonly file: string;
  /** Set when `file` was missing or damaged and `file.prev` was used. */
  readonly warning?: string;
}

/**
 * The newest complete checkpoint of `file`: the file itself, or the previous one when the file is
 * damaged or missing (a run killed between the two renames of `writeCheckpoint`). Undefined when
 * there is neither; a CheckpointError when there are only damaged ones.
 */
export function loadCheckpoint<State>(
  file: string,
): LoadedCheckpoint<State> | undefined {
  const prev = previousCheckpointFile(file);
  const hasFile = fs.existsSync(file);
  const hasPrev = fs.existsSync(prev);
  if (!hasFile && !hasPrev) return undefined;
  let problem: string;
  if (hasFile) {
    try {
      return { checkpoint: readCheckpoint<State>(file), file };
    } catch (e) {
      if (!(e instanceof CheckpointError) || !hasPrev) throw e;
      problem = e.message;
    }
  } else {
    problem = `${file}: missing (the run stopped while replacing it)`;
  }
  try {
    return {
      checkpoint: readCheckpoint<State>(prev),
      file: prev,
      warning: `${problem}; using the previous checkpoint ${prev}`,
    };
  } catch (e) {
    throw new CheckpointError(
      `${problem}; and the previous checkpoint cannot be used either: ${(e as Error).message}`,
    );
  }
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
