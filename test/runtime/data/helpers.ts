// Shared helpers of the data-layer tests: throw-away folders and tiny synthetic datasets
// whose pixels encode their row, so a test can tell which image a sampler picked.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { ImageSet } from "../../../runtime/data/images.js";

const made: string[] = [];

/** A fresh temporary folder, removed after the current test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sketchc-data-"));
  made.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0))
    rmSync(dir, { recursive: true, force: true });
});

/** Scale of the row code stored in every pixel of a synthetic image. */
export const ROW_CODE = 1000;

/**
 * An ImageSet of `count` 2x2x1 images with label `n % numClasses`; every pixel of row n is
 * (n + offset) / ROW_CODE, so `rowOf` recovers the row (plus offset) from any pixel.
 */
export function syntheticSet(
  count: number,
  numClasses = 10,
  offset = 0,
): ImageSet {
  const pixels = 4;
  const images = new Float32Array(count * pixels);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % numClasses;
    images.fill((n + offset) / ROW_CODE, n * pixels, (n + 1) * pixels);
  }
  return { images, labels, count, height: 2, width: 2, channels: 1 };
}

/** Inverse of the pixel code of `syntheticSet`. */
export function rowOf(pixel: number): number {
  return Math.round(pixel * ROW_CODE);
}
