// The training step, evaluation and checkpoints on a backend that reads tensors only
// asynchronously, as webgpu does (its readSync needs a browser): the cpu backend's kernels under
// the name 'webgpu', whose synchronous reads (dataSync, arraySync) throw unless the tensor holds
// values written from the host, never a kernel's output (as webgpu returns those). A paper-preset
// run must train, evaluate and resume there, with cpu's numbers to float32 rounding; a run with the
// program memory must stop at once with one line.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { afterAll, beforeAll, expect, it } from "vitest";
import { selectBackend } from "../../runtime/backend.js";
import { PRESETS, type TrainConfig } from "../../runtime/config.js";
import { readsSynchronously } from "../../runtime/host-read.js";
import {
  createRun,
  evaluateRun,
  resumeRun,
  RunError,
  saveRun,
  trainStep,
  type RunContext,
} from "../../runtime/train.js";
import { disposeRun, tinyRunConfig } from "./tiny-run.js";

const ASYNC_ONLY = "webgpu";

/** The cpu backend, remembering which tensors hold values written from the host. */
class AsyncOnlyBackend extends MathBackendCPU {
  readonly fromHost = new WeakSet<object>();

  override write(
    values: Parameters<MathBackendCPU["write"]>[0],
    shape: number[],
    dtype: tf.DataType,
  ): object {
    const dataId = super.write(values, shape, dtype);
    this.fromHost.add(dataId);
    return dataId;
  }

  // Kernels make their outputs through this (and `write`): not the host's.
  override makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: Parameters<MathBackendCPU["makeTensorInfo"]>[2],
  ): tf.TensorInfo {
    const info = super.makeTensorInfo(shape, dtype, values);
    this.fromHost.delete(info.dataId);
    return info;
  }
}
const backend = new AsyncOnlyBackend();
const root = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-async-reads-"));
const engine = tf.engine() as unknown as {
  readSync(dataId: object): unknown;
  backendName: string;
};
const readSync = engine.readSync.bind(engine);

beforeAll(async () => {
  await selectBackend("cpu");
  tf.registerBackend(ASYNC_ONLY, () => backend, 0);
  for (const kernel of tf.getKernelsForBackend("cpu"))
    tf.registerKernel({ ...kernel, backendName: ASYNC_ONLY });
  // Kernels read their inputs from the backend directly; only the engine's reads are the user's.
  engine.readSync = (dataId: object) => {
    if (engine.backendName === ASYNC_ONLY && !backend.fromHost.has(dataId))
      throw new Error("a synchronous read on an asynchronous backend");
    return readSync(dataId);
  };
});

afterAll(async () => {
  engine.readSync = readSync;
  for (const kernel of tf.getKernelsForBackend(ASYNC_ONLY))
    tf.unregisterKernel(kernel.kernelName, ASYNC_ONLY);
  tf.removeBackend(ASYNC_ONLY);
  await selectBackend("cpu");
  fs.rmSync(root, { recursive: true, force: true });
});

// The cpu backend's convolutions are slow: few tasks and pairs, no held-out or new tasks.
const paperConfig = (out: string): TrainConfig =>
  tinyRunConfig(root, out, {
    ...PRESETS.paper,
    backend: "cpu",
    tasks: 2,
    batch: 2,
    testPairs: 4,
    heldOutTasks: 0,
    generalizationTasks: 0,
  });

type Snapshot = Awaited<ReturnType<RunContext["model"]["save"]>>;

/** The largest |a - b| over every parameter of both nets. */
function maxDiff(a: Snapshot, b: Snapshot): number {
  let max = 0;
  for (const net of ["grounder", "recognizer"] as const)
    for (const [name, { data }] of Object.entries(a[net]))
      data.forEach(
        (x, i) => (max = Math.max(max, Math.abs(x - b[net][name].data[i]))),
      );
  return max;
}

/** Two steps, a checkpoint, a third step, the evaluation, and the third step after a resume. */
async function exercise(out: string) {
  const run = await createRun(paperConfig(out));
  const losses = [
    (await trainStep(run, 0, 0)).loss,
    (await trainStep(run, 0, 1)).loss,
  ];
  await saveRun(run, 1, 0);
  const third = await trainStep(run, 1, 2);
  const params = await run.model.save();
  const { metrics } = await evaluateRun(run);
  disposeRun(run);
  const resumed = await createRun(paperConfig(out));
  await resumeRun(resumed);
  const again = (await trainStep(resumed, 1, 2)).loss;
  disposeRun(resumed);
  return { losses, third, params, metrics, again };
}

it("trains, evaluates and resumes on an asynchronous backend, as on cpu", async () => {
  await tf.setBackend("cpu");
  const cpu = await exercise("cpu");
  await tf.setBackend(ASYNC_ONLY);
  expect(readsSynchronously()).toBe(false);
  expect(tf.scalar(1).dataSync()).toEqual(Float32Array.of(1));
  expect(() => tf.add(tf.scalar(1), 1).dataSync()).toThrow(/synchronous read/);
  const async = await exercise("async");
  await tf.setBackend("cpu");
  expect(async.losses.every(Number.isFinite)).toBe(true);
  // The same kernels, but 'webgpu' runs the op-based interpreter (the fused one is the CPU
  // backends'): the numbers agree to float32 rounding. The resumed step is the same bit for bit.
  async.losses.forEach((l, i) => expect(l).toBeCloseTo(cpu.losses[i], 5));
  expect(async.third.loss).toBeCloseTo(cpu.third.loss, 5);
  expect(maxDiff(async.params, cpu.params)).toBeLessThan(1e-5);
  expect(async.metrics.symbolicLoss).toBeCloseTo(cpu.metrics.symbolicLoss, 5);
  expect(async.metrics.programSuccess).toEqual(cpu.metrics.programSuccess);
  expect(async.again).toBe(async.third.loss);
  expect(Number.isFinite(async.third.symbols.std)).toBe(true);
}, 300_000);

it("stops a run whose program memory reads tensors within a step, in one line", async () => {
  await tf.setBackend(ASYNC_ONLY);
  try {
    const config = tinyRunConfig(root, "memory", {
      backend: "cpu",
      imitation: 1,
    });
    const error = await createRun(config).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunError);
    const message = (error as Error).message;
    expect(message).toContain("the program memory (--imitation 0)");
    expect(message).toContain("--preset paper");
    expect(message).not.toContain("\n");
  } finally {
    await tf.setBackend("cpu");
  }
});
