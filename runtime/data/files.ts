// Reading a dataset file into bytes: raw or gzipped (detected by the 1f 8b magic bytes,
// not by the file name), with every file-system or decompression failure turned into a
// DataError that names the file.

import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { DataError } from "./errors.js";

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** True when `bytes` starts with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1
  );
}

/**
 * Reads `path` whole, gunzipping it when it is gzip data.
 * @throws DataError when the file is missing, unreadable, or corrupt gzip
 */
export function readBytes(path: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "file not found"
        : `cannot read file (${code ?? String(err)})`;
    throw new DataError(why, path);
  }
  if (!isGzip(raw)) return raw;
  try {
    return gunzipSync(raw);
  } catch (err) {
    throw new DataError(`corrupt gzip data (${(err as Error).message})`, path);
  }
}

/** The first of `candidates` that exists, or undefined. */
export function firstExisting(
  candidates: readonly string[],
): string | undefined {
  return candidates.find((p) => existsSync(p));
}
