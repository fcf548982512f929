// Tests of the IDX reader: raw and gzipped round trips, and one test per malformation,
// each checking that the DataError names the file and says what is wrong.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DataError } from "../../../runtime/data/errors.js";
import { encodeIdx, readIdx, writeIdx } from "../../../runtime/data/idx.js";
import { tempDir } from "./helpers.js";

const DIMS = [2, 2, 3];
const DATA = Uint8Array.from({ length: 12 }, (_, i) => i * 20);

/** Writes `bytes` to a temp file and returns the DataError that reading it throws. */
function errorOf(
  bytes: Uint8Array,
  name = "broken-idx3-ubyte",
): { error: DataError; path: string } {
  const path = join(tempDir(), name);
  writeFileSync(path, bytes);
  try {
    readIdx(path);
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return { error: error as DataError, path };
  }
  throw new Error("expected readIdx to throw");
}

describe("readIdx", () => {
  it.each([false, true])("reads a file written with gzip=%s", (gzip) => {
    const path = join(tempDir(), "images-idx3-ubyte");
    writeIdx(path, DIMS, DATA, gzip);
    const idx = readIdx(path);
    expect(idx.dims).toEqual(DIMS);
    expect(Array.from(idx.data)).toEqual(Array.from(DATA));
  });

  it("detects gzip by magic bytes, not by the file name", () => {
    const path = join(tempDir(), "no-extension");
    writeFileSync(path, gzipSync(encodeIdx(DIMS, DATA)));
    expect(readIdx(path).dims).toEqual(DIMS);
  });

  it("rejects a bad magic number", () => {
    const bytes = encodeIdx(DIMS, DATA);
    bytes[0] = 0x50;
    const { error, path } = errorOf(bytes);
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/bad magic number 0x50 0x00 0x08 0x03/);
    expect(error.file).toBe(path);
  });

  it("rejects a truncated body with the expected and found byte counts", () => {
    const bytes = encodeIdx(DIMS, DATA).subarray(0, 4 + 12 + 10);
    const { error, path } = errorOf(bytes);
    expect(error.message).toBe(
      `${path}: truncated IDX body: dims [2, 2, 3] need expected 12 bytes, found 10`,
    );
  });

  it("rejects a truncated gzipped file the same way", () => {
    const { error, path } = errorOf(
      gzipSync(encodeIdx(DIMS, DATA).subarray(0, 20)),
      "x.gz",
    );
    expect(error.message).toBe(
      `${path}: truncated IDX body: dims [2, 2, 3] need expected 12 bytes, found 4`,
    );
  });

  it("rejects trailing bytes", () => {
    const bytes = new Uint8Array([...encodeIdx(DIMS, DATA), 1, 2]);
    expect(errorOf(bytes).error.message).toMatch(
      /trailing bytes.*expected 12 bytes, found 14/,
    );
  });

  it("rejects a truncated header", () => {
    const bytes = encodeIdx(DIMS, DATA).subarray(0, 9);
    expect(errorOf(bytes).error.message).toMatch(
      /truncated IDX header: expected 16 bytes for 3 dimensions, found 9/,
    );
  });

  it("rejects a data type other than unsigned byte, naming it", () => {
    const bytes = encodeIdx([3], new Uint8Array(3));
    bytes[2] = 0x0d;
    const { error, path } = errorOf(bytes);
    expect(error.message).toBe(
      `${path}: unsupported IDX data type 0x0d (float32); only 0x08 (unsigned byte) is supported`,
    );
  });

  it("rejects corrupt gzip and missing files", () => {
    const corrupt = gzipSync(encodeIdx(DIMS, DATA));
    corrupt[12] ^= 0xff;
    expect(errorOf(corrupt).error.message).toMatch(/corrupt gzip data/);
    const missing = join(tempDir(), "nope-idx1-ubyte");
    expect(() => readIdx(missing)).toThrow(
      new DataError("file not found", missing),
    );
  });
});
