// Reader and writer for the IDX format of MNIST and Fashion-MNIST: a 4-byte magic
// (0, 0, dtype, ndims), ndims big-endian uint32 dimensions, then the row-major body.
// Only unsigned bytes (dtype 0x08) are supported, which is what both datasets use.

import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { DataError } from "./errors.js";
import { readBytes } from "./files.js";

/** A decoded IDX file: its dimensions and its row-major unsigned-byte body. */
export interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

/** The IDX dtype byte for unsigned bytes; the only one read here. */
export const IDX_UBYTE = 0x08;

const IDX_DTYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
};

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Decodes IDX bytes; `file` is used only in error messages.
 * @throws DataError on a bad magic number, a dtype other than 0x08, or a wrong body length
 */
export function decodeIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(
      `not an IDX file: ${bytes.length} bytes, too short for the 4-byte magic`,
      file,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), hex).join(" ");
    throw new DataError(
      `not an IDX file: bad magic number ${magic} (expected 0x00 0x00 dtype ndims)`,
      file,
    );
  }
  const dtype = bytes[2];
  if (dtype !== IDX_UBYTE) {
    const name = IDX_DTYPE_NAMES[dtype] ?? "unknown";
    throw new DataError(
      `unsupported IDX data type ${hex(dtype)} (${name}); only ${hex(IDX_UBYTE)} (unsigned byte) is supported`,
      file,
    );
  }
  const ndims = bytes[3];
  if (ndims === 0)
    throw new DataError("IDX header declares 0 dimensions", file);
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new DataError(
      `truncated IDX header: expected ${headerLength} bytes for ${ndims} dimensions, found ${bytes.length}`,
      file,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - headerLength;
  if (found !== expected) {
    const what =
      found < expected ? "truncated IDX body" : "IDX body has trailing bytes";
    throw new DataError(
      `${what}: dims [${dims.join(", ")}] need expected ${expected} bytes, found ${found}`,
      file,
    );
  }
  return { dims, data: bytes.slice(headerLength) };
}

/**
 * Reads an IDX file, raw or gzipped (detected by its magic bytes).
 * @throws DataError naming `path` on any problem
 */
export function readIdx(path: string): IdxArray {
  return decodeIdx(readBytes(path), path);
}

/** Encodes an unsigned-byte array as IDX bytes (the inverse of `decodeIdx`). */
export function encodeIdx(
  dims: readonly number[],
  data: Uint8Array,
): Uint8Array {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new RangeError(
      `encodeIdx: dims [${dims.join(", ")}] need ${expected} bytes, got ${data.length}`,
    );
  }
  const headerLength = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLength + data.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, IDX_UBYTE, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLength);
  return out;
}

/** Writes an IDX file, gzipped (level 9) when `gzip` is true. */
export function writeIdx(
  path: string,
  dims: readonly number[],
  data: Uint8Array,
  gzip: boolean,
): void {
  const bytes = encodeIdx(dims, data);
  writeFileSync(path, gzip ? gzipSync(bytes, { level: 9 }) : bytes);
}
