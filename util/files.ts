// Files that cannot be lost or half-written: every output of sketchc is written to a temporary
// file beside its target, flushed to disk (the file, then after the rename its folder) and renamed
// over the target, so a crash at any moment leaves either the old file or the new one.

import * as fs from "node:fs";
import * as path from "node:path";
import { failpoint, killpoint } from "./failpoints.js";

/** A file that could not be written; the message names it and the reason, for one line. */
export class FileWriteError extends Error {
  constructor(
    readonly file: string,
    readonly code: string | undefined,
  ) {
    super(`cannot write '${file}': ${describeErrno(code)}`);
  }
}

function describeErrno(code: string | undefined): string {
  switch (code) {
    case "ENOSPC":
      return "no space left on the device (ENOSPC)";
    case "EDQUOT":
      return "disk quota exceeded (EDQUOT)";
    case "EACCES":
    case "EPERM":
      return `permission denied (${code})`;
    case "EROFS":
      return "read-only file system (EROFS)";
    case "ENOTDIR":
      return "a parent of it is a file, not a folder (ENOTDIR)";
    case "EISDIR":
      return "it is a folder (EISDIR)";
    default:
      return code ?? "unknown error";
  }
}

/** A full disk or a denied permission, when a test's failpoint asks for one (failpoints.ts). */
function simulatedFailure(name: string): void {
  for (const action of ["enospc", "eacces"] as const)
    if (failpoint(action, name)) {
      const code = action.toUpperCase();
      throw Object.assign(new Error(`${code} (simulated)`), { code });
    }
}

/** A file system error as a FileWriteError naming `file`; anything else (a bug) as it is. */
function asWriteError(file: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  return typeof code === "string" ? new FileWriteError(file, code) : e;
}

function fsyncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a folder; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeAll(
  fd: number,
  bytes: Uint8Array,
  from: number,
  to: number,
): void {
  let at = from;
  while (at < to) at += fs.writeSync(fd, bytes, at, to - at);
}

/**
 * Writes `data` to `file` atomically and durably: temp file, fsync, rename, fsync of the folder.
 * On failure the temp file is removed and a FileWriteError names `file`.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`,
  );
  let fd: number | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fd = fs.openSync(tmp, "w");
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    // Half the bytes first, so a kill test can stop the process in the middle of a write.
    const half = bytes.length >> 1;
    writeAll(fd, bytes, 0, half);
    killpoint(`write:${path.basename(file)}`);
    simulatedFailure(path.basename(file));
    writeAll(fd, bytes, half, bytes.length);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
    fsyncFolder(dir);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The folder is not there to hold a temp file (a parent is a file): nothing to remove.
    }
    throw asWriteError(file, e);
  }
}

const TEMP_NAME = /^\..+\.(\d+)\.\d+\.tmp$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the temp files a killed sketchc left in `dir` (not those of a live process). */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (m && (Number(m[1]) === process.pid || !isAlive(Number(m[1]))))
      fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** mkdir -p, with a FileWriteError naming the folder when it cannot be made. */
export function makeFolder(dir: string): void {
  try {
    simulatedFailure(path.basename(dir));
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw asWriteError(dir, e);
  }
}

/** Appends `text` to `file` (a log: one record a call), with a FileWriteError naming it on failure. */
export function appendToFile(file: string, text: string): void {
  try {
    simulatedFailure(path.basename(file));
    fs.appendFileSync(file, text);
  } catch (e) {
    throw asWriteError(file, e);
  }
}
