// Every user error of the CLI (docs/errors.md): a table of rows, each the arguments, the files
// to create first, the environment (failpoints for a full disk), the stderr it must print and the
// exit status, run through `run` of cli/main.ts (what bin/sketchc.js calls) with stdout and stderr
// captured. Every error is one `sketchc: error:` line (or a sketch's diagnostics), never a stack
// trace, and a failure leaves nothing half-written in the run folder.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { run } from "../../cli/main.js";

const SAMPLE = path.resolve("runtime/data/fixtures/fashion-mnist-sample");
const SKETCH = path.resolve("sketches/arith-depth3.sketch");
/** A run of a second or two: 4 tasks, one step of 4 pairs, 16-wide nets. */
const TINY = [
  "--tasks",
  "4",
  "--task-batch",
  "4",
  "--epochs",
  "1",
  "--steps",
  "1",
  "--batch",
  "4",
  "--train-pairs",
  "32",
  "--test-pairs",
  "8",
  "--held-out-tasks",
  "4",
  "--hidden",
  "16",
  "--backend",
  "wasm",
  "--quiet",
];
const GOOD = `sketch good {
  inputs 2;
  op add(a, b) = a + b;
  op skip(a) = a cost 0;
  straight lines 3 { }
}
`;
const BAD = `sketch bad {
  inputs 2;
  op add(a, b) = a + b * c;
  straight lines 3 { }
}
`;

const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-errors-"));
/** A trained run (2 epochs, so checkpoint.ckpt and checkpoint.ckpt.prev) the checkpoint rows damage copies of. */
const BASE_RUN = path.join(root, "base-run");

/** `sketchc train` of the tiny run on the committed sample into `out`. */
function trainArgs(out: string, ...more: string[]): string[] {
  return ["train", SKETCH, "--data", SAMPLE, ...TINY, "--out", out, ...more];
}

/** The bytes of an IDX file of unsigned bytes with dimensions `dims`, `bodyBytes` of body. */
function idx(dims: number[], bodyBytes = dims.reduce((a, b) => a * b, 1)) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.alloc(bodyBytes)]);
}

/** An IDX dataset folder: each file's bytes, the well-formed default where not given. */
function idxFolder(
  files: Partial<Record<"images" | "labels" | "testImages", Buffer>>,
): Record<string, Buffer> {
  return {
    "data/train-images-idx3-ubyte": files.images ?? idx([4, 2, 2]),
    "data/train-labels-idx1-ubyte": files.labels ?? idx([4]),
    "data/t10k-images-idx3-ubyte": files.testImages ?? idx([4, 2, 2]),
    "data/t10k-labels-idx1-ubyte": idx([4]),
  };
}

/** A CIFAR-10 folder whose batches are all `bytes`. */
function cifarFolder(bytes: Buffer): Record<string, Buffer> {
  const files: Record<string, Buffer> = { "data/test_batch.bin": bytes };
  for (let i = 1; i <= 5; i++) files[`data/data_batch_${i}.bin`] = bytes;
  return files;
}

/** Copies the trained run to `d/run` and applies `damage` to it. */
function copyRun(d: string, damage: (run: string) => void = () => {}): void {
  fs.cpSync(BASE_RUN, path.join(d, "run"), { recursive: true });
  damage(path.join(d, "run"));
}

function flipLastByte(file: string): void {
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 1] ^= 0x01;
  fs.writeFileSync(file, bytes);
}

/** A checkpoint whose header parses but names another format. */
function foreignCheckpoint(): Buffer {
  const header = Buffer.from(JSON.stringify({ magic: "other-format-1" }));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length, 0);
  return Buffer.concat([length, header]);
}

interface Row {
  /** The situation, as docs/errors.md names it. */
  readonly name: string;
  /** The arguments; `$D` is the row's own temporary folder. */
  readonly args: readonly string[];
  /** Files to create under `$D` first (contents may use `$D`). */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** Empty folders to create under `$D`. */
  readonly dirs?: readonly string[];
  /** More set-up in `$D`, after the files. */
  readonly setup?: (d: string) => void;
  readonly env?: Readonly<Record<string, string>>;
  /** What stderr must match (after `$D` is replaced by the folder). */
  readonly stderr: RegExp | string;
  readonly status: number;
  /** The stderr is a sketch's diagnostics, not `sketchc:` lines. */
  readonly diagnostics?: boolean;
  /** Paths under `$D` that must not exist afterwards. */
  readonly absent?: readonly string[];
  /** Folders under `$D` that must be empty afterwards. */
  readonly empty?: readonly string[];
}

const INT_FLAGS: [string, number][] = [
  ["tasks", 1],
  ["epochs", 1],
  ["steps", 1],
  ["batch", 1],
  ["task-batch", 1],
  ["train-pairs", 1],
  ["test-pairs", 1],
  ["hidden", 1],
  ["eval-every", 1],
  ["max-ops", 0],
  ["seed", 0],
  ["prior-epoch", 0],
  ["late-epoch", 0],
  ["memory-samples", 0],
  ["memory-search", 0],
  ["grounder-chunk", 0],
  ["decode-samples", 0],
  ["held-out-tasks", 0],
  ["rehearsal", 0],
];
const NUMBER_FLAGS = [
  "lr",
  "late-lr",
  "clip-norm",
  "prior",
  "late-sharpness",
  "imitation",
  "imitation-threshold",
  "abduction",
  "abduction-threshold",
  "symbol-prior",
  "mutation-rate",
];
const CHOICE_FLAGS: [string, string][] = [
  ["preset", "cpu, paper"],
  ["domain", "arith, enumerate, file"],
  ["abduction-alphabet", "gold, codebook"],
  ["grounder-output", "sigmoid, linear, categorical"],
  ["abduction-targets", "posterior, hard"],
  ["abduction-width", "spread, residual"],
  ["abduction-evidence", "batch, all"],
  ["memory-layout", "canonical, found"],
  ["solved-objective", "both, imitation"],
  ["inference-pairs", "all, confident"],
];

const FLAG_ROWS: Row[] = [
  {
    name: "train: no SKETCH",
    args: ["train"],
    stderr:
      "sketchc: error: sketchc train takes one SKETCH file (try 'sketchc train --help')\n",
    status: 2,
  },
  {
    name: "train: an unknown option",
    args: ["train", SKETCH, "--bogus"],
    stderr:
      /^sketchc: error: Unknown option '--bogus'\..*\(try 'sketchc train --help'\)\n$/,
    status: 2,
  },
  {
    name: "train: an option without its value",
    args: ["train", SKETCH, "--tasks"],
    stderr:
      /^sketchc: error: Option '--tasks <value>' argument missing \(try 'sketchc train --help'\)\n$/,
    status: 2,
  },
  ...INT_FLAGS.map(([flag, min]): Row => ({
    name: `train: --${flag} not an integer >= ${min}`,
    args: ["train", SKETCH, `--${flag}`, "1.5"],
    stderr: `sketchc: error: --${flag} must be an integer >= ${min}, got '1.5'\n`,
    status: 2,
  })),
  {
    name: "train: --tasks 0",
    args: ["train", SKETCH, "--tasks", "0"],
    stderr: "sketchc: error: --tasks must be an integer >= 1, got '0'\n",
    status: 2,
  },
  ...NUMBER_FLAGS.map((flag): Row => ({
    name: `train: --${flag} not a number >= 0`,
    args: ["train", SKETCH, `--${flag}=-1`],
    stderr: `sketchc: error: --${flag} must be a number >= 0, got '-1'\n`,
    status: 2,
  })),
  ...CHOICE_FLAGS.map(([flag, choices]): Row => ({
    name: `train: --${flag} not one of ${choices}`,
    args: ["train", SKETCH, `--${flag}`, "nope"],
    stderr: `sketchc: error: --${flag} must be one of ${choices}, got 'nope'\n`,
    status: 2,
  })),
  {
    name: "train: --backend unknown",
    args: ["train", SKETCH, "--backend", "tpu"],
    stderr:
      "sketchc: error: --backend must be one of auto, tensorflow, wasm, webgpu, cpu, got 'tpu'\n",
    status: 2,
  },
  {
    name: "train: --grounder unknown",
    args: ["train", SKETCH, "--grounder", "vgg"],
    stderr:
      "sketchc: error: --grounder must be small-cnn or resnet18, got 'vgg'\n",
    status: 2,
  },
  {
    name: "train: --symbols not numbers",
    args: ["train", SKETCH, "--symbols", "0.1,,x"],
    stderr:
      "sketchc: error: --symbols must be numbers separated by commas, one per class, got ''\n",
    status: 2,
  },
  {
    name: "train: --data no such folder",
    args: ["train", SKETCH, "--data", "$D/nope"],
    stderr: "sketchc: error: --data: no such folder '$D/nope'\n",
    status: 2,
  },
  {
    name: "train: --out a file",
    args: ["train", SKETCH, "--out", "$D/file"],
    files: { file: "" },
    stderr: "sketchc: error: --out: '$D/file' exists and is not a folder\n",
    status: 2,
  },
  {
    name: "train: --task-file no such file",
    args: ["train", SKETCH, "--task-file", "$D/nope.jsonl"],
    stderr: "sketchc: error: --task-file: no such file '$D/nope.jsonl'\n",
    status: 2,
  },
  {
    name: "train: --task-file with another --domain",
    args: ["train", SKETCH, "--domain", "arith", "--task-file", "$D/t.jsonl"],
    files: { "t.jsonl": "" },
    stderr:
      "sketchc: error: --task-file is for --domain file, not --domain arith\n",
    status: 2,
  },
  {
    name: "train: --domain file without --task-file",
    args: ["train", SKETCH, "--domain", "file"],
    stderr: "sketchc: error: --domain file needs --task-file FILE\n",
    status: 2,
  },
  {
    name: "train: --weight-average not a decay",
    args: ["train", SKETCH, "--weight-average", "1"],
    stderr:
      "sketchc: error: --weight-average must be a decay in [0, 1) (0: off; e.g. 0.99), got '1'\n",
    status: 2,
  },
  {
    name: "eval: --weights not averaged or live",
    args: ["eval", "$D", "--weights", "mean"],
    stderr:
      "sketchc: error: --weights must be one of averaged, live, got 'mean'\n",
    status: 2,
  },
  {
    name: "eval: no RUN_DIR",
    args: ["eval"],
    stderr:
      "sketchc: error: usage: sketchc eval RUN_DIR [--decode-samples N] [--inference-pairs all|confident] [--weights averaged|live] [--data DIR] [--transductive-eval]\n",
    status: 2,
  },
  {
    name: "eval: an unknown option",
    args: ["eval", "$D", "--epochs", "3"],
    stderr:
      /^sketchc: error: Unknown option '--epochs'.*\(usage: sketchc eval RUN_DIR .*\)\n$/,
    status: 2,
  },
  {
    name: "eval: --decode-samples not an integer",
    args: ["eval", "$D", "--decode-samples", "many"],
    stderr:
      "sketchc: error: --decode-samples must be an integer >= 0, got 'many'\n",
    status: 2,
  },
  {
    name: "eval: --data no such folder",
    args: ["eval", "$D", "--data", "$D/nope"],
    stderr: "sketchc: error: --data: no such folder '$D/nope'\n",
    status: 2,
  },
];

const COMPILE_ROWS: Row[] = [
  {
    name: "compile: no input files",
    args: ["check"],
    stderr: "sketchc: error: no input files (try 'sketchc --help')\n",
    status: 2,
  },
  {
    name: "compile: no -o",
    args: ["$D/good.sketch"],
    files: { "good.sketch": GOOD },
    stderr: "sketchc: error: missing -o DIR (where to write the modules)\n",
    status: 2,
  },
  {
    name: "compile: an unknown option",
    args: ["$D/good.sketch", "--frobnicate"],
    stderr:
      /^sketchc: error: Unknown option '--frobnicate'.*\(try 'sketchc --help'\)\n$/,
    status: 2,
  },
  {
    name: "compile: a file name that cannot name a module",
    args: ["check", "$D/my sketch.sketch"],
    files: { "my sketch.sketch": GOOD },
    stderr:
      "sketchc: error: '$D/my sketch.sketch': a sketch file name may use letters, digits, '_', '-' and '.'\n",
    status: 2,
  },
  {
    name: "compile: two files of one name",
    args: ["$D/good.sketch", "$D/sub/good.sketch", "-o", "$D/out"],
    files: { "good.sketch": GOOD, "sub/good.sketch": GOOD },
    stderr:
      "sketchc: error: '$D/sub/good.sketch' and '$D/good.sketch' would both write good.mts\n",
    status: 2,
  },
  {
    name: "sketch: no such file",
    args: ["check", "$D/missing.sketch"],
    stderr: "sketchc: error: cannot read '$D/missing.sketch': no such file\n",
    status: 1,
  },
  {
    name: "sketch: a folder",
    args: ["check", "$D"],
    stderr: "sketchc: error: cannot read '$D': it is a directory\n",
    status: 1,
  },
  {
    name: "sketch: compile errors (diagnostics and a summary)",
    args: ["$D/bad.sketch", "-o", "$D/out"],
    files: { "bad.sketch": BAD },
    stderr:
      /^\$D\/bad\.sketch\(3,26\): error SK201: Unknown name 'c'[^]*\n1 error and 0 warnings in 1 file\.\n$/,
    status: 1,
    diagnostics: true,
    absent: ["out"],
  },
  {
    name: "output: -o under a regular file",
    args: ["$D/good.sketch", "-o", "$D/file/out"],
    files: { "good.sketch": GOOD, file: "" },
    stderr:
      "sketchc: error: cannot write '$D/file/out/good.mts': a parent of it is a file, not a folder (ENOTDIR)\n",
    status: 1,
  },
  {
    name: "output: -o a read-only folder",
    args: ["$D/good.sketch", "-o", "$D/ro"],
    files: { "good.sketch": GOOD },
    setup: (d) => fs.mkdirSync(path.join(d, "ro"), { mode: 0o555 }),
    // Root may write into a read-only folder: there the failpoint denies it instead.
    env: { SKETCHC_FAILPOINTS: "eacces@good.mts:1" },
    stderr:
      "sketchc: error: cannot write '$D/ro/good.mts': permission denied (EACCES)\n",
    status: 1,
  },
  {
    name: "full disk: compile -o",
    args: ["$D/good.sketch", "-o", "$D/out"],
    files: { "good.sketch": GOOD },
    env: { SKETCHC_FAILPOINTS: "enospc@good.mts:1" },
    stderr:
      "sketchc: error: cannot write '$D/out/good.mts': no space left on the device (ENOSPC)\n",
    status: 1,
  },
];

/** Rows that get as far as loading the sketch, the data or the tasks (a second or two each). */
const TRAIN_ROWS: Row[] = [
  {
    name: "sketch: train on no such file",
    args: trainArgs("$D/run").map((a) => (a === SKETCH ? "$D/nope.sketch" : a)),
    stderr:
      "sketchc: error: cannot read sketch '$D/nope.sketch': no such file\n",
    status: 1,
    absent: ["run"],
  },
  {
    name: "sketch: train on a sketch with errors",
    args: trainArgs("$D/run").map((a) => (a === SKETCH ? "$D/bad.sketch" : a)),
    files: { "bad.sketch": BAD },
    stderr: /^\$D\/bad\.sketch\(3,26\): error SK201: Unknown name 'c'/,
    status: 1,
    diagnostics: true,
    absent: ["run"],
  },
  {
    name: "output: --out under a regular file",
    args: trainArgs("$D/file/run"),
    files: { file: "" },
    stderr:
      "sketchc: error: cannot write '$D/file/run': a parent of it is a file, not a folder (ENOTDIR)\n",
    status: 1,
  },
  {
    name: "output: --out a read-only folder",
    args: trainArgs("$D/ro/run"),
    setup: (d) => fs.mkdirSync(path.join(d, "ro"), { mode: 0o555 }),
    env: { SKETCHC_FAILPOINTS: "eacces@run:1" },
    stderr:
      "sketchc: error: cannot write '$D/ro/run': permission denied (EACCES)\n",
    status: 1,
  },
  {
    name: "backend: tensorflow not installed",
    args: trainArgs("$D/run", "--backend", "tensorflow"),
    stderr:
      /^sketchc: error: backend 'tensorflow' needs @tensorflow\/tfjs-node \(CPU\) or @tensorflow\/tfjs-node-gpu \(CUDA\), and neither is installed: .* Or use --backend wasm\.\n$/,
    status: 1,
    absent: ["run"],
  },
  {
    name: "backend: webgpu not installed",
    args: trainArgs("$D/run", "--backend", "webgpu"),
    stderr:
      /^sketchc: error: backend 'webgpu' needs (WebGPU in Node: run `npm install webgpu @tensorflow\/tfjs-backend-webgpu`|@tensorflow\/tfjs-backend-webgpu: run `npm install @tensorflow\/tfjs-backend-webgpu`)\n$/,
    status: 1,
    absent: ["run"],
  },
  // The dataset: nothing is left in a run folder that did not exist, nor in an empty one.
  {
    name: "dataset: a file, not a folder",
    args: trainArgs("$D/run", "--data", "$D/file"),
    files: { file: "" },
    stderr: "sketchc: error: $D/file: dataset folder not found\n",
    status: 1,
    absent: ["run"],
  },
  {
    name: "dataset: neither IDX nor CIFAR-10",
    args: trainArgs("$D/run", "--data", "$D/data"),
    dirs: ["data"],
    stderr:
      "sketchc: error: $D/data: no dataset found: expected train-images-idx3-ubyte[.gz] and the other IDX files, or CIFAR-10 data_batch_1.bin (possibly under cifar-10-batches-bin/)\n",
    status: 1,
    absent: ["run"],
  },
  {
    name: "dataset: an IDX file missing",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: { "data/train-images-idx3-ubyte": idx([4, 2, 2]) },
    dirs: ["run"],
    stderr:
      "sketchc: error: $D/data: missing train-labels-idx1-ubyte (or train-labels-idx1-ubyte.gz)\n",
    status: 1,
    empty: ["run"],
  },
  {
    name: "dataset: IDX bad magic",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: Buffer.from("hello world") }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: not an IDX file: bad magic number 0x68 0x65 0x6c 0x6c (expected 0x00 0x00 dtype ndims)\n",
    status: 1,
    absent: ["run"],
  },
  {
    name: "dataset: IDX too short for the magic",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: Buffer.from([0, 0]) }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: not an IDX file: 2 bytes, too short for the 4-byte magic\n",
    status: 1,
  },
  {
    name: "dataset: IDX data type not unsigned byte",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]) }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: unsupported IDX data type 0x0d (float32); only 0x08 (unsigned byte) is supported\n",
    status: 1,
  },
  {
    name: "dataset: IDX 0 dimensions",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: Buffer.from([0, 0, 0x08, 0]) }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: IDX header declares 0 dimensions\n",
    status: 1,
  },
  {
    name: "dataset: IDX truncated header",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: Buffer.from([0, 0, 0x08, 3, 0, 0, 0, 4]) }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: truncated IDX header: expected 16 bytes for 3 dimensions, found 8\n",
    status: 1,
  },
  {
    name: "dataset: IDX truncated body",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: idx([4, 2, 2], 10) }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: truncated IDX body: dims [4, 2, 2] need expected 16 bytes, found 10\n",
    status: 1,
  },
  {
    name: "dataset: IDX trailing bytes",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: idx([4, 2, 2], 20) }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: IDX body has trailing bytes: dims [4, 2, 2] need expected 16 bytes, found 20\n",
    status: 1,
  },
  {
    name: "dataset: corrupt gzip",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: {
      ...idxFolder({}),
      "data/train-images-idx3-ubyte": Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]),
    },
    stderr:
      /^sketchc: error: \$D\/data\/train-images-idx3-ubyte: corrupt gzip data \(.+\)\n$/,
    status: 1,
  },
  {
    name: "dataset: images not [N, H, W] or [N, H, W, C]",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ images: idx([4, 4]) }),
    stderr:
      "sketchc: error: $D/data/train-images-idx3-ubyte: expected image dims [N, H, W] or [N, H, W, C], found [4, 4]\n",
    status: 1,
  },
  {
    name: "dataset: labels not [N]",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ labels: idx([4, 1]) }),
    stderr:
      "sketchc: error: $D/data/train-labels-idx1-ubyte: expected label dims [N], found [4, 1]\n",
    status: 1,
  },
  {
    name: "dataset: label and image counts differ",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ labels: idx([3]) }),
    stderr:
      "sketchc: error: $D/data/train-labels-idx1-ubyte: has 3 labels but $D/data/train-images-idx3-ubyte has 4 images\n",
    status: 1,
  },
  {
    name: "dataset: test and training images of different sizes",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: idxFolder({ testImages: idx([4, 3, 3]) }),
    stderr:
      "sketchc: error: $D/data/t10k-images-idx3-ubyte: test images are 3x3x1 but training images are 2x2x1\n",
    status: 1,
  },
  {
    name: "dataset: a CIFAR-10 batch file missing",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: { "data/data_batch_1.bin": Buffer.alloc(3073) },
    stderr: "sketchc: error: $D/data/data_batch_2.bin: file not found\n",
    status: 1,
  },
  {
    name: "dataset: CIFAR-10 batch of a wrong length",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: cifarFolder(Buffer.alloc(100)),
    stderr:
      "sketchc: error: $D/data/data_batch_1.bin: not a CIFAR-10 batch: length 100 is not a positive multiple of the 3073-byte record\n",
    status: 1,
  },
  {
    name: "dataset: CIFAR-10 label above 9",
    args: trainArgs("$D/run", "--data", "$D/data"),
    files: cifarFolder(Buffer.concat([Buffer.from([12]), Buffer.alloc(3072)])),
    stderr:
      "sketchc: error: $D/data/data_batch_1.bin: record 0 has label 12; CIFAR-10 labels are 0..9\n",
    status: 1,
  },
  // Task files (the rest of their messages: test/runtime/domains/file.test.ts).
  {
    name: "task file: a line that is not JSON",
    args: trainArgs("$D/run", "--task-file", "$D/t.jsonl"),
    files: { "t.jsonl": "{nope\n" },
    stderr: /^sketchc: error: \$D\/t\.jsonl:1: not valid JSON \(.+\)\n$/,
    status: 1,
    absent: ["run"],
  },
  {
    name: "task file: an unknown field",
    args: trainArgs("$D/run", "--task-file", "$D/t.jsonl"),
    files: { "t.jsonl": '{"formula": "s1"}\n{"frmula": "s2"}\n' },
    stderr:
      "sketchc: error: $D/t.jsonl:2: field 'frmula': unknown field (a task has 'formula' and optionally 'given', or 'pairs' and 'outputs'; either may have a 'name')\n",
    status: 1,
  },
  {
    name: "task file: no tasks",
    args: trainArgs("$D/run", "--task-file", "$D/t.jsonl"),
    files: { "t.jsonl": "\n" },
    stderr:
      "sketchc: error: $D/t.jsonl: no tasks (docs/tasks.md shows the format)\n",
    status: 1,
    absent: ["run"],
  },
  {
    name: "task file: an alphabet of the wrong size",
    args: trainArgs("$D/run", "--task-file", "$D/t.jsonl"),
    files: { "t.jsonl": '{"symbols": [1, 2, 3]}\n{"formula": "s1"}\n' },
    stderr:
      "sketchc: error: $D/t.jsonl:1: field 'symbols': 3 values given, but the dataset fashion-mnist-sample has 10 classes, and the alphabet lacks classes 3..9: give one value per class\n",
    status: 1,
  },
  {
    name: "task file: --symbols as well as the file's alphabet",
    args: trainArgs(
      "$D/run",
      "--task-file",
      "$D/t.jsonl",
      "--symbols",
      "1,2,3,4,5,6,7,8,9,10",
    ),
    files: {
      "t.jsonl":
        '{"symbols": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n{"formula": "s1"}\n',
    },
    stderr:
      "sketchc: error: --symbols and $D/t.jsonl:1 both give the alphabet; keep one\n",
    status: 1,
  },
  {
    name: "tasks: --symbols of the wrong size",
    args: trainArgs("$D/run", "--symbols", "1,2"),
    stderr:
      "sketchc: error: --symbols: 2 values given, but the dataset fashion-mnist-sample has 10 classes, and the alphabet lacks classes 2..9: give one value per class\n",
    status: 1,
    absent: ["run"],
  },
  {
    name: "tasks: --domain arith on a sketch without 3 inputs",
    args: trainArgs("$D/run", "--domain", "arith").map((a) =>
      a === SKETCH ? "$D/good.sketch" : a,
    ),
    files: { "good.sketch": GOOD },
    stderr:
      "sketchc: error: --domain arith: the paper's tasks have 3 symbols, but $D/good.sketch declares 'inputs 2' (try --domain enumerate)\n",
    status: 1,
  },
  {
    name: "tasks: --max-ops too many candidates",
    args: trainArgs("$D/run", "--domain", "enumerate", "--max-ops", "9"),
    stderr:
      /^sketchc: error: --max-ops 9: .*arith-depth3\.sketch has [\d,]+ candidate programs with at most 9 operators, over the 3,000,000 the enumerate domain tries; lower --max-ops or give a --task-file\n$/,
    status: 1,
  },
  {
    name: "tasks: --domain enumerate on a sketch of constants only",
    args: trainArgs("$D/run", "--domain", "enumerate", "--max-ops", "1").map(
      (a) => (a === SKETCH ? "$D/zero.sketch" : a),
    ),
    files: {
      "zero.sketch":
        "sketch zero {\n  inputs 2;\n  op zero(a) = a * 0;\n  straight lines 1 { }\n}\n",
    },
    stderr:
      "sketchc: error: --domain enumerate: zero.sketch expresses no non-constant program with at most 1 operators\n",
    status: 1,
  },
  {
    name: "tasks: a task with a non-finite output",
    args: trainArgs("$D/run", "--task-file", "$D/t.jsonl").map((a) =>
      a === SKETCH ? "$D/big.sketch" : a,
    ),
    files: {
      "big.sketch":
        "sketch big {\n  inputs 2;\n  op big(a) = exp(30) * exp(30) * exp(30) * exp(30) * a;\n  op skip(a) = a cost 0;\n  straight lines 2 { }\n}\n",
      "t.jsonl": '{"formula": "big(big(s1))"}\n',
    },
    stderr:
      /^sketchc: error: task 'big\(big\(s1\)\)' has a non-finite output \(Infinity\) on the symbols \[.+\]\n$/,
    status: 1,
  },
];

/** Rows on a trained run folder (copies of BASE_RUN), and writes that fail on a full disk. */
const RUN_ROWS: Row[] = [
  {
    name: "run folder: eval without a checkpoint",
    args: ["eval", "$D"],
    stderr:
      "sketchc: error: $D/checkpoint.ckpt: no checkpoint (is this a run folder of sketchc train?)\n",
    status: 1,
  },
  {
    name: "checkpoint: truncated",
    args: ["eval", "$D/run"],
    setup: (d) =>
      copyRun(d, (r) => {
        fs.rmSync(path.join(r, "checkpoint.ckpt.prev"));
        const file = path.join(r, "checkpoint.ckpt");
        fs.truncateSync(file, fs.statSync(file).size - 1000);
      }),
    stderr:
      /^sketchc: error: \$D\/run\/checkpoint\.ckpt: not a valid sketchc checkpoint \(truncated: \d+ bytes, expected \d+\)\n$/,
    status: 1,
  },
  {
    name: "checkpoint: checksum mismatch",
    args: ["eval", "$D/run"],
    setup: (d) =>
      copyRun(d, (r) => {
        fs.rmSync(path.join(r, "checkpoint.ckpt.prev"));
        flipLastByte(path.join(r, "checkpoint.ckpt"));
      }),
    stderr:
      "sketchc: error: $D/run/checkpoint.ckpt: not a valid sketchc checkpoint (checksum mismatch: the file is damaged)\n",
    status: 1,
  },
  {
    name: "checkpoint: wrong magic",
    args: ["eval", "$D/run"],
    setup: (d) =>
      copyRun(d, (r) => {
        fs.rmSync(path.join(r, "checkpoint.ckpt.prev"));
        fs.writeFileSync(path.join(r, "checkpoint.ckpt"), foreignCheckpoint());
      }),
    stderr:
      "sketchc: error: $D/run/checkpoint.ckpt: not a valid sketchc checkpoint (wrong magic)\n",
    status: 1,
  },
  {
    name: "checkpoint: too short, bad header",
    args: ["eval", "$D/run"],
    setup: (d) =>
      copyRun(d, (r) => {
        fs.rmSync(path.join(r, "checkpoint.ckpt.prev"));
        fs.writeFileSync(path.join(r, "checkpoint.ckpt"), "ab");
      }),
    stderr:
      "sketchc: error: $D/run/checkpoint.ckpt: not a valid sketchc checkpoint (file too short)\n",
    status: 1,
  },
  {
    name: "checkpoint: damaged, the previous one used with a warning",
    args: ["eval", "$D/run"],
    setup: (d) =>
      copyRun(d, (r) => flipLastByte(path.join(r, "checkpoint.ckpt"))),
    stderr:
      "sketchc: warning: $D/run/checkpoint.ckpt: not a valid sketchc checkpoint (checksum mismatch: the file is damaged); using the previous checkpoint $D/run/checkpoint.ckpt.prev\n",
    status: 0,
  },
  {
    name: "checkpoint: missing, the previous one used with a warning",
    args: ["eval", "$D/run"],
    setup: (d) => copyRun(d, (r) => fs.rmSync(path.join(r, "checkpoint.ckpt"))),
    stderr:
      "sketchc: warning: $D/run/checkpoint.ckpt: missing (the run stopped while replacing it); using the previous checkpoint $D/run/checkpoint.ckpt.prev\n",
    status: 0,
  },
  {
    name: "checkpoint: it and the previous one damaged",
    args: ["eval", "$D/run"],
    setup: (d) =>
      copyRun(d, (r) => {
        flipLastByte(path.join(r, "checkpoint.ckpt"));
        fs.writeFileSync(path.join(r, "checkpoint.ckpt.prev"), "garbage");
      }),
    stderr:
      /^sketchc: error: \$D\/run\/checkpoint\.ckpt: not a valid sketchc checkpoint \(checksum mismatch: the file is damaged\); and the previous checkpoint cannot be used either: \$D\/run\/checkpoint\.ckpt\.prev: not a valid sketchc checkpoint \(truncated header\)\n$/,
    status: 1,
  },
  {
    name: "checkpoint: train resumes a damaged one without a previous one",
    args: trainArgs("$D/run"),
    setup: (d) =>
      copyRun(d, (r) => {
        fs.rmSync(path.join(r, "checkpoint.ckpt.prev"));
        flipLastByte(path.join(r, "checkpoint.ckpt"));
      }),
    stderr:
      "sketchc: error: $D/run/checkpoint.ckpt: not a valid sketchc checkpoint (checksum mismatch: the file is damaged)\n",
    status: 1,
  },
  {
    name: "checkpoint: train resumes one of another configuration",
    args: trainArgs("$D/run", "--hidden", "8"),
    setup: (d) => copyRun(d),
    stderr:
      /^sketchc: error: \$D\/run\/checkpoint\.ckpt: cannot resume: .+\. The checkpoint was written by a different configuration \(sketch, nets or sizes\); pass --fresh or another --out\.\n$/,
    status: 1,
  },
  {
    name: "checkpoint: train resumes another seed's run",
    args: trainArgs("$D/run", "--seed", "5"),
    setup: (d) => copyRun(d),
    stderr:
      /^sketchc: error: \$D\/run\/checkpoint\.ckpt: this run was trained with --seed \d+; the command says --seed 5\. Resume it with the run's settings, or pass --fresh \(or another --out\) to start over\.\n$/,
    status: 1,
  },
  {
    name: "full disk: metrics.json",
    args: trainArgs("$D/run"),
    env: { SKETCHC_FAILPOINTS: "enospc@metrics.json:1" },
    stderr:
      "sketchc: error: cannot write '$D/run/metrics.json': no space left on the device (ENOSPC)\n",
    status: 1,
    absent: ["run/metrics.json", "run/programs.txt"],
  },
  {
    name: "full disk: log.jsonl",
    args: trainArgs("$D/run"),
    env: { SKETCHC_FAILPOINTS: "enospc@log.jsonl:1" },
    stderr:
      "sketchc: error: cannot write '$D/run/log.jsonl': no space left on the device (ENOSPC)\n",
    status: 1,
    absent: ["run/checkpoint.ckpt", "run/metrics.json"],
  },
  {
    name: "full disk: checkpoint.ckpt",
    args: trainArgs("$D/run"),
    env: { SKETCHC_FAILPOINTS: "enospc@checkpoint.ckpt:1" },
    stderr:
      "sketchc: error: cannot write '$D/run/checkpoint.ckpt': no space left on the device (ENOSPC)\n",
    status: 1,
    absent: ["run/checkpoint.ckpt", "run/metrics.json"],
  },
];

let rowCount = 0;

/** Creates the row's folder and files, runs it, returns its folder and what it printed. */
async function runRow(row: Row) {
  const d = path.join(root, `row-${++rowCount}`);
  fs.mkdirSync(d);
  const sub = (s: string) => s.split("$D").join(d);
  for (const [name, content] of Object.entries(row.files ?? {})) {
    const file = path.join(d, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      typeof content === "string" ? sub(content) : content,
    );
  }
  for (const dir of row.dirs ?? [])
    fs.mkdirSync(path.join(d, dir), { recursive: true });
  row.setup?.(d);
  const result = await sketchc(row.args.map(sub), row.env);
  return { d, ...result };
}

/** `run` (what the binary calls) with stdout and stderr captured and `env` set meanwhile. */
async function sketchc(
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
) {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation(
    (chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    },
  );
  vi.spyOn(process.stderr, "write").mockImplementation(
    (chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    },
  );
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  let thrown: unknown;
  try {
    await run(argv);
  } catch (e) {
    thrown = e;
  } finally {
    vi.restoreAllMocks();
    for (const k of Object.keys(env)) delete process.env[k];
  }
  const status = process.exitCode ?? 0;
  process.exitCode = undefined;
  // `run` rethrows only internal bugs; the binary would print their stack.
  if (thrown !== undefined)
    stderr += `${(thrown as Error).stack ?? String(thrown)}\n`;
  return { status: thrown === undefined ? status : 1, stdout, stderr };
}

/** Temp files of util/files.ts writeFileAtomic: `.NAME.PID.TIME.tmp`. */
function tempFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) =>
    /(^|\/)\..+\.\d+\.\d+\.tmp$/.test(f),
  );
}

function check(row: Row, result: Awaited<ReturnType<typeof runRow>>): void {
  const { d, status, stderr } = result;
  const shown = stderr.split(d).join("$D");
  expect(shown).not.toMatch(/^ {4}at /m);
  if (typeof row.stderr === "string") expect(shown).toBe(row.stderr);
  else expect(shown).toMatch(row.stderr);
  expect(status).toBe(row.status);
  if (!row.diagnostics)
    for (const line of stderr.trimEnd().split("\n"))
      expect(line).toMatch(/^sketchc: (error|warning): /);
  for (const p of row.absent ?? [])
    expect(fs.existsSync(path.join(d, p)), `${p} exists`).toBe(false);
  for (const p of row.empty ?? [])
    expect(fs.readdirSync(path.join(d, p))).toEqual([]);
  expect(tempFiles(d)).toEqual([]);
}

beforeAll(async () => {
  const trained = await sketchc(trainArgs(BASE_RUN, "--epochs", "2"));
  expect(trained.stderr).toBe("");
  expect(trained.status).toBe(0);
  expect(fs.existsSync(path.join(BASE_RUN, "checkpoint.ckpt.prev"))).toBe(true);
});

afterAll(() => {
  fs.chmodSync(root, 0o755);
  fs.rmSync(root, { recursive: true, force: true });
});

describe("flags", () => {
  it.each(FLAG_ROWS.map((r) => [r.name, r] as const))("%s", async (_, row) => {
    check(row, await runRow(row));
  });
});

describe("compile and check", () => {
  it.each(COMPILE_ROWS.map((r) => [r.name, r] as const))(
    "%s",
    async (_, row) => {
      check(row, await runRow(row));
    },
  );
});

describe("train start-up", () => {
  it.each(TRAIN_ROWS.map((r) => [r.name, r] as const))("%s", async (_, row) => {
    check(row, await runRow(row));
  });
});

describe("run folders, checkpoints and a full disk", () => {
  it.each(RUN_ROWS.map((r) => [r.name, r] as const))("%s", async (_, row) => {
    check(row, await runRow(row));
  });

  it("full disk: metrics.json leaves no partial metrics.json and no temp file", async () => {
    const row = RUN_ROWS.find((r) => r.name === "full disk: metrics.json")!;
    const { d } = await runRow(row);
    const run = path.join(d, "run");
    // The run got as far as its checkpoint, then nothing more.
    expect(fs.readdirSync(run).sort()).toEqual([
      "checkpoint.ckpt",
      "log.jsonl",
      "module",
    ]);
  });
});

describe("running out of memory", () => {
  it("is one line naming the settings to lower", async () => {
    vi.doMock("../../runtime/index.js", async (importOriginal) => ({
      ...(await importOriginal<typeof import("../../runtime/index.js")>()),
      train: async () => {
        throw new WebAssembly.RuntimeError("memory access out of bounds");
      },
    }));
    try {
      const { status, stderr } = await sketchc(
        trainArgs(path.join(root, "oom")),
      );
      expect(stderr).toBe(
        "sketchc: error: the backend ran out of memory (the wasm heap holds at most 4 GB): lower --batch (now 4 pairs a step) or --grounder-chunk (now the whole batch through small-cnn at once); --task-batch and --test-pairs also bound what a step and an evaluation hold\n",
      );
      expect(status).toBe(1);
    } finally {
      vi.doUnmock("../../runtime/index.js");
    }
  });
});

describe("the sketchc binary", () => {
  const bin = path.resolve("bin/sketchc.js");
  const built = path.resolve("dist/cli/main.js");
  /** The binary runs dist/: skip when it is older than a source (`npm run build` first). */
  function staleReason(): string | undefined {
    if (!fs.existsSync(built)) return "not built: run npm run build";
    const at = fs.statSync(built).mtimeMs;
    for (const folder of ["cli", "compiler", "runtime", "util"])
      for (const f of fs.readdirSync(folder, { recursive: true }) as string[])
        if (f.endsWith(".ts") && fs.statSync(path.join(folder, f)).mtimeMs > at)
          return `dist is older than ${folder}/${f}: run npm run build`;
    return undefined;
  }

  // Skipped, not failed, when dist/ is stale: cli.test.ts builds it, and the rows above run in process.
  it
    .skipIf(staleReason() !== undefined)
    .each(
      COMPILE_ROWS.filter((r) =>
        /^(output: -o under|full disk)/.test(r.name),
      ).map((r) => [r.name, r] as const),
    )("%s: one line, no stack trace", async (_, row) => {
    const d = path.join(root, `bin-${++rowCount}`);
    fs.mkdirSync(d);
    const sub = (s: string) => s.split("$D").join(d);
    for (const [name, content] of Object.entries(row.files ?? {}))
      fs.writeFileSync(path.join(d, name), content as string | Buffer);
    const env = { ...process.env, ...row.env };
    if (!row.env) delete env.SKETCHC_FAILPOINTS;
    const child = spawnSync(process.execPath, [bin, ...row.args.map(sub)], {
      env,
      encoding: "utf8",
    });
    expect(child.stderr.split(d).join("$D")).toBe(row.stderr);
    expect(child.status).toBe(row.status);
    expect(tempFiles(d)).toEqual([]);
  });
});
