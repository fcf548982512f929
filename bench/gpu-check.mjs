// bench/gpu-check.mjs APP OUT: a few training steps of the paper preset (GPU_CHECK_GROUNDER,
// default ResNet-18) on a small batch (GPU_CHECK_PAIRS pairs, GPU_CHECK_STEPS steps), once on a
// CPU backend (GPU_CHECK_REFERENCE: wasm by default, or cpu) and once on webgpu, from one seed;
// prints the losses, the largest parameter difference after the steps and the symbolic loss on a
// few test pairs, and fails when webgpu strays from the reference beyond float32 rounding. APP:
// the folder whose node_modules holds sketchc, tfjs-backend-webgpu and webgpu (bench/gpu.sh
// unpacks it from the bundle).
import * as path from "node:path";
import { pathToFileURL } from "node:url";

const [app, out] = process.argv.slice(2);
if (!app || !out) {
  console.error("usage: node bench/gpu-check.mjs APP OUT");
  process.exit(2);
}
const sketchcDir = path.join(app, "node_modules", "sketchc");
const sketchc = await import(
  pathToFileURL(path.join(sketchcDir, "dist", "runtime", "index.js")).href
);
// The cpu backend's ResNet-18 is slow (pure JavaScript convolutions: over 10 minutes for 2 steps
// of 2 pairs on the loaded dev machine), so the reference is wasm, whose kernels and gradient
// fixes test/runtime/kernels checks against cpu's; GPU_CHECK_REFERENCE=cpu for cpu itself.
const REFERENCE = process.env.GPU_CHECK_REFERENCE ?? "wasm";
const GROUNDER = process.env.GPU_CHECK_GROUNDER ?? "resnet18";
const STEPS = Number(process.env.GPU_CHECK_STEPS ?? 2);
const PAIRS = Number(process.env.GPU_CHECK_PAIRS ?? 2);
const LEARNING_RATE = 3e-4;

/** The config both backends run: the paper preset at a small batch. */
function configFor(backend) {
  return {
    ...sketchc.presetConfig("paper"),
    sketch: path.join(sketchcDir, "sketches", "arith.sketch"),
    data: path.join(
      sketchcDir,
      "runtime",
      "data",
      "fixtures",
      "fashion-mnist-sample",
    ),
    out: path.join(out, backend),
    backend,
    grounder: GROUNDER,
    tasks: 20,
    heldOutTasks: 0,
    generalizationTasks: 0,
    trainPairs: 64,
    testPairs: 4,
    batch: PAIRS,
    learningRate: LEARNING_RATE,
  };
}

/** Losses of STEPS steps, the parameters after them, and g(x) of the test pairs. */
async function runOn(backend) {
  const selected = await sketchc.selectBackend(backend);
  const run = await sketchc.createRun(configFor(backend));
  console.log(`${backend}: ${selected.description}`);
  const started = performance.now();
  const losses = [];
  for (let step = 0; step < STEPS; step++)
    losses.push((await sketchc.trainStep(run, 0, step)).loss);
  const stepMs = (performance.now() - started) / STEPS;
  const params = await run.model.save();
  const evaluation = await sketchc.evaluateRun(run);
  run.model.dispose();
  run.optimizer.dispose();
  return {
    description: selected.description,
    losses,
    stepMs,
    params,
    symbolicLoss: evaluation.metrics.symbolicLoss,
  };
}

/** The largest |a - b| over every parameter of both nets. */
function maxParamDiff(a, b) {
  let max = 0;
  for (const net of ["grounder", "recognizer"])
    for (const [name, { data }] of Object.entries(a[net])) {
      const other = b[net][name].data;
      for (let i = 0; i < data.length; i++)
        max = Math.max(max, Math.abs(data[i] - other[i]));
    }
  return max;
}

const cpu = await runOn(REFERENCE);
const gpu = await runOn("webgpu");
console.log(
  `${STEPS} steps of ${PAIRS} pairs: ${REFERENCE} ${cpu.stepMs.toFixed(0)} ms a step, webgpu ${gpu.stepMs.toFixed(0)} ms a step (the first includes compiling its kernels)`,
);
const relative = cpu.losses.map(
  (l, i) => Math.abs(l - gpu.losses[i]) / Math.max(1e-12, Math.abs(l)),
);
cpu.losses.forEach((l, i) =>
  console.log(
    `step ${i}: loss ${REFERENCE} ${l.toPrecision(7)}  webgpu ${gpu.losses[i].toPrecision(7)}  relative difference ${relative[i].toExponential(2)}`,
  ),
);
const paramDiff = maxParamDiff(cpu.params, gpu.params);
// Adam moves a parameter by at most about lr a step, so float32 rounding in a near-zero gradient
// can flip a step's direction: 2 lr a step bounds that.
const paramBound = 2 * LEARNING_RATE * STEPS;
console.log(
  `largest parameter difference after ${STEPS} steps: ${paramDiff.toExponential(2)} (bound ${paramBound.toExponential(2)})`,
);
console.log(
  `symbolic loss on the test pairs: ${REFERENCE} ${cpu.symbolicLoss?.toPrecision(6)}  webgpu ${gpu.symbolicLoss?.toPrecision(6)}`,
);
const ok =
  relative[0] < 1e-4 &&
  relative.every((r) => r < 1e-2) &&
  paramDiff <= paramBound &&
  gpu.losses.every(Number.isFinite);
console.log(
  ok ? `webgpu agrees with ${REFERENCE}` : `webgpu DISAGREES with ${REFERENCE}`,
);
process.exit(ok ? 0 : 1);
