// The native GEMM on 1 and on 2 of sketchc's kernel threads (docs/performance.md, "Both cores
// for the native kernels"): the recognizer's largest products at the cpu preset's step (T = 100
// tasks, B = 32 pairs, V = 3, width 128), timed through tf.matMul on the wasm backend.
//
//   npx tsc -p tsconfig.build.json && node bench/gemm-threads.mjs [calls]
import * as tf from "@tensorflow/tfjs-core";

import { selectBackend } from "../dist/runtime/backend.js";
import {
  nativeStatus,
  setKernelThreads,
} from "../dist/runtime/kernels/native.js";

const calls = Number(process.argv[2] ?? 50);
const backend = await selectBackend("wasm");
console.log(backend.description);
if (!nativeStatus().on) {
  console.log("bench: the native kernels are off; nothing to compare");
  process.exit(1);
}
// [m, k, n, transposeA]: MLP_rel's layers forward, and a weight gradient (X^T dY).
const shapes = [
  [9600, 128, 128, false],
  [3200, 128, 128, false],
  [128, 9600, 128, true],
];
for (const [m, k, n, tA] of shapes) {
  const a = tf.randomNormal(tA ? [k, m] : [m, k], 0, 1, "float32", 1);
  const b = tf.randomNormal([k, n], 0, 1, "float32", 2);
  const row = [];
  for (const threads of [1, 2]) {
    setKernelThreads(threads);
    for (let i = 0; i < 5; i++) tf.matMul(a, b, tA).dispose();
    const start = performance.now();
    for (let i = 0; i < calls; i++) tf.matMul(a, b, tA).dispose();
    const ms = (performance.now() - start) / calls;
    row.push(
      `${threads} thread${threads === 1 ? "" : "s"} ${ms.toFixed(2)} ms (${((2 * m * k * n) / ms / 1e6).toFixed(0)} GFLOP/s)`,
    );
  }
  console.log(`${m}x${k}${tA ? "^T" : ""} by ${k}x${n}: ${row.join(", ")}`);
}
