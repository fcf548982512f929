// Converts the UCI optical handwritten digits that Debian's python3-sklearn ships
// (sklearn/datasets/data/digits.csv.gz: 1,797 images of 8x8 pixels valued 0..16, then the label)
// into the four IDX files `sketchc train --data DIR` reads. Every sixth image goes to the test
// split (299), the others to the training split (1,498); pixels are scaled to 0..255.
//
//   node scripts/digits-to-idx.mjs DIGITS_CSV_GZ OUT_DIR

import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

const [input, out] = process.argv.slice(2);
if (!input || !out) {
  console.error("usage: node scripts/digits-to-idx.mjs DIGITS_CSV_GZ OUT_DIR");
  process.exit(2);
}
const SIDE = 8;
const rows = zlib
  .gunzipSync(fs.readFileSync(input))
  .toString("utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => l.split(",").map(Number));
for (const [i, r] of rows.entries())
  if (r.length !== SIDE * SIDE + 1 || r.some((v) => !Number.isInteger(v)))
    throw new Error(`${input}: row ${i + 1} is not 64 pixels and a label`);

/** An IDX file: magic (unsigned bytes, `dims.length` dimensions), the sizes, the bytes. */
function idx(dims, bytes) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, Buffer.from(bytes)]);
}

fs.mkdirSync(out, { recursive: true });
for (const [name, keep] of [
  ["train", (i) => i % 6 !== 5],
  ["t10k", (i) => i % 6 === 5],
]) {
  const split = rows.filter((_, i) => keep(i));
  const pixels = split.flatMap((r) =>
    r.slice(0, SIDE * SIDE).map((v) => Math.round((v * 255) / 16)),
  );
  const labels = split.map((r) => r[SIDE * SIDE]);
  fs.writeFileSync(
    path.join(out, `${name}-images-idx3-ubyte`),
    idx([split.length, SIDE, SIDE], pixels),
  );
  fs.writeFileSync(
    path.join(out, `${name}-labels-idx1-ubyte`),
    idx([split.length], labels),
  );
  console.log(`${name}: ${split.length} images`);
}
