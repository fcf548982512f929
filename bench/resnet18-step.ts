// ResNet-18 on the wasm backend at the paper's batch: the time of a full training step (grounder
// with its chunked backward pass, recognizer, interpreter, Adam) and the peak memory (the wasm
// heap, which cannot grow past 4 GB, and the process's resident set). For docs/performance.md.
//
//   npx tsc -p bench/tsconfig.json && node dist-bench/bench/resnet18-step.js [--steps 4] [--chunk 32] [--batch 32]

import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../runtime/backend.js";
import { DEFAULT_CONFIG, type TrainConfig } from "../runtime/config.js";
import { createRun, trainStep } from "../runtime/train.js";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "4" },
    chunk: { type: "string", default: "0" },
    batch: { type: "string", default: String(DEFAULT_CONFIG.batch) },
    data: { type: "string" },
  },
});

/** The wasm module's heap: its size is the high-water mark of what the backend allocated. */
function wasmHeapBytes(): number | undefined {
  const backend = tf.backend() as unknown as {
    wasm?: { HEAPU8?: Uint8Array };
  };
  return backend.wasm?.HEAPU8?.buffer.byteLength;
}

const backend = await selectBackend("wasm");
const config: TrainConfig = {
  ...DEFAULT_CONFIG,
  sketch: "sketches/arith.sketch",
  ...(values.data ? { data: values.data } : {}),
  grounder: "resnet18",
  grounderChunk: Number(values.chunk),
  batch: Number(values.batch),
  tasks: 500,
  taskBatch: DEFAULT_CONFIG.taskBatch,
  testPairs: 20,
  heldOutTasks: 0,
  out: "/tmp/sketchc-bench-resnet18",
};
const run = await createRun(config);
const times: number[] = [];
for (let step = 0; step < Number(values.steps); step++) {
  const t0 = performance.now();
  const r = await trainStep(run, 0, step);
  times.push(performance.now() - t0);
  if (!r.finite) throw new Error(`step ${step}: non-finite loss`);
}
const sorted = [...times].slice(1).sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] ?? times[0];
console.log(
  JSON.stringify(
    {
      backend: backend.description,
      images: `${config.batch} pairs x ${run.train.numInputs} = ${config.batch * run.train.numInputs} images of ${run.train.height}x${run.train.width}x${run.train.channels}`,
      grounderChunk: config.grounderChunk,
      taskBatch: config.taskBatch,
      stepMs: times.map((t) => Math.round(t)),
      medianStepMsAfterFirst: Math.round(median),
      wasmHeapMB: Math.round((wasmHeapBytes() ?? NaN) / 2 ** 20),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    },
    null,
    2,
  ),
);
