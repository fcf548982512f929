// The sketchc side of `bash bench/run.sh`: times the training-step workloads of the issue
// "benchmark the training step against a PyTorch reference" on the wasm backend, plus a profile
// (forward and forward+backward of each component, and the kernels of one full ROAP step).
// bench/reference/roap_reference.py runs the same workloads in PyTorch; bench/report.ts joins them.
//
//   node dist-bench/bench/training-step.js --out bench/results/.sketchc.json [--steps 10] [--warmup 2]

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";

import { compileSketch } from "../compiler/compile.js";
import { formatDiagnostic, hasErrors } from "../compiler/diagnostics.js";
import { selectBackend } from "../runtime/backend.js";
import { writePinnedModule } from "../runtime/load-sketch.js";
import { DEFAULT_CONFIG, type TrainConfig } from "../runtime/config.js";
import { createModel, forward } from "../runtime/model.js";
import {
  createRecognizer,
  MASKED_LOGIT,
  type ProgramLogits,
} from "../runtime/nets/recognizer.js";
import { createSmallCnn } from "../runtime/nets/grounder.js";
import { reconstructionLoss } from "../runtime/objective.js";
import { sampleRelaxed } from "../runtime/relaxation.js";
import type { ProgramParams, SketchModule } from "../runtime/sketch-module.js";
import * as train from "../runtime/train.js";
import { createRun, trainStep } from "../runtime/train.js";
import {
  findRepoRoot,
  timeSteps,
  type ComponentTimes,
  type SideResult,
  type WorkloadTimes,
} from "./common.js";

// Shapes of the benchmark: the arith sketch with the paper's T = 500 tasks (Sec. 4.1).
const TASKS = 500; // T
const PAIRS = 32; // B
const INPUTS = 3; // V
const IMAGE: [number, number, number] = [28, 28, 1]; // Fashion-MNIST
const HIDDEN = 128; // recognizer hidden width = feature size
const SEED = 0;

/** A compiled sketch module; `executeFused` when the compiler emits it. */
type BenchModule = SketchModule & { executeFused?: SketchModule["execute"] };

const adam = () =>
  tf.train.adam(
    DEFAULT_CONFIG.learningRate,
    0.9,
    0.999,
    DEFAULT_CONFIG.adamEpsilon,
  );

/** One optimizer step of `loss` over `vars`, synchronised by reading the loss. */
function minimizeStep(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  loss: () => tf.Scalar,
): number {
  const cost = optimizer.minimize(loss, true, vars)!;
  const value = cost.dataSync()[0];
  cost.dispose();
  return value;
}

/** Forward only (result read back) and forward+backward (gradients read back) of one component. */
async function timeComponent(
  name: string,
  warmup: number,
  steps: number,
  vars: tf.Variable[],
  fwd: () => tf.Tensor | Readonly<Record<string, tf.Tensor>>,
  loss: (out: ReturnType<typeof fwd>) => tf.Scalar,
): Promise<ComponentTimes> {
  const forwardOnly = () =>
    tf.tidy(() => {
      const out = fwd();
      (out instanceof tf.Tensor ? out : Object.values(out)[0]).dataSync();
    });
  const forwardBackward = () => {
    const { value, grads } = tf.variableGrads(() => loss(fwd()), vars);
    value.dataSync();
    for (const g of Object.values(grads)) g.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  return {
    name,
    forward: await timeSteps(forwardOnly, warmup, steps),
    forwardBackward: await timeSteps(forwardBackward, warmup, steps),
  };
}

/** Compiles sketches/arith.sketch into bench/.gen and imports the generated module. */
async function compileArith(root: string): Promise<BenchModule> {
  const file = path.join(root, "sketches", "arith.sketch");
  const source = fs.readFileSync(file, "utf8");
  const result = await compileSketch(source, "sketches/arith.sketch");
  if (hasErrors(result.diagnostics) || result.typescript === undefined) {
    throw new Error(
      result.diagnostics.map((d) => formatDiagnostic(d, source)).join("\n"),
    );
  }
  const js = writePinnedModule(
    path.join(root, "bench", ".gen"),
    "arith",
    result.typescript,
  );
  return (await import(pathToFileURL(js).href)) as BenchModule;
}

/** Per head, the additive mask (0 where allowed, MASKED_LOGIT where the sketch forbids). */
function maskBiases(module: SketchModule): Record<string, tf.Tensor3D> {
  return Object.fromEntries(
    module.sketch.heads.map((h) => [
      h.name,
      tf.tensor3d(
        h.mask.flat().map((m) => (1 - m) * MASKED_LOGIT),
        [1, ...h.shape],
      ),
    ]),
  );
}

/** The loss of the recognizer workload: the mean of softmax(logits) times fixed random weights, over heads. */
function recognizerLoss(
  logits: Readonly<Record<string, tf.Tensor>>,
  weights: Record<string, tf.Tensor>,
): tf.Scalar {
  return tf.addN(
    Object.keys(logits).map((k) =>
      tf.mean(tf.mul(tf.softmax(logits[k]), weights[k])),
    ),
  ) as tf.Scalar;
}

/** The thread and kernel settings this process ran under, and the cores it may run on. */
function processEnv(): Record<string, unknown> {
  let cpusAllowed: string | undefined;
  try {
    cpusAllowed = /^Cpus_allowed_list:\s*(.*)$/m.exec(
      fs.readFileSync("/proc/self/status", "utf8"),
    )?.[1];
  } catch {
    // not Linux
  }
  const env = (name: string) => process.env[name] ?? null;
  return {
    OPENBLAS_NUM_THREADS: env("OPENBLAS_NUM_THREADS"),
    OMP_NUM_THREADS: env("OMP_NUM_THREADS"),
    OPENBLAS_CORETYPE: env("OPENBLAS_CORETYPE"),
    SKETCHC_NATIVE: env("SKETCHC_NATIVE"),
    SKETCHC_THREADS: env("SKETCHC_THREADS"),
    cpusAllowed: cpusAllowed ?? null,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      "profile-steps": { type: "string", default: "5" },
    },
  });
  if (values.out === undefined) throw new Error("--out FILE is required");
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  const profileSteps = Number(values["profile-steps"]);
  const root = findRepoRoot();
  const loadStart = os.loadavg()[0];

  const backend = await selectBackend("wasm"); // registers the gradients and the wasm fixes
  console.log(`sketchc: backend ${backend.description}`);
  const module = await compileArith(root);
  const rows: WorkloadTimes[] = [];
  const profile: ComponentTimes[] = [];
  const row = async (id: string, label: string, step: () => unknown) => {
    await timeSteps(step, warmup, 0); // warm-ups create the optimizer's slots
    const before = tf.memory().numTensors;
    const seconds = await timeSteps(step, 0, steps);
    const leaked = tf.memory().numTensors - before;
    rows.push({ id, label, seconds });
    const median = [...seconds].sort((a, b) => a - b)[
      Math.floor(seconds.length / 2)
    ];
    console.log(
      `  ${label}: ~${(median * 1e3).toFixed(1)} ms${leaked > 0 ? ` (${leaked} tensors leaked)` : ""}`,
    );
  };

  const images = tf.randomUniform(
    [PAIRS * INPUTS, ...IMAGE],
    0,
    1,
    "float32",
    1,
  ) as tf.Tensor4D;
  const y = tf.sub(
    tf.mul(tf.randomUniform([TASKS, PAIRS], 0, 1, "float32", 2), 2),
    0.5,
  ) as tf.Tensor2D;
  const s = tf.randomUniform(
    [PAIRS, INPUTS],
    0.1,
    1,
    "float32",
    3,
  ) as tf.Tensor2D;
  const weights = Object.fromEntries(
    module.sketch.heads.map((h, k) => [
      h.name,
      tf.randomUniform([1, ...h.shape], 0, 1, "float32", 10 + k),
    ]),
  );

  // (a) grounder: the small CNN with its defaults, loss = mean squared output.
  const grounder = createSmallCnn({ seed: SEED, inputShape: IMAGE });
  {
    const optimizer = adam();
    const loss = () => tf.mean(tf.square(grounder.call(images))) as tf.Scalar;
    await row("grounder", "grounder step (small CNN, 96 images 28x28)", () =>
      minimizeStep(optimizer, grounder.variables, loss),
    );
    optimizer.dispose();
    profile.push(
      await timeComponent(
        "grounder",
        1,
        profileSteps,
        grounder.variables,
        () => grounder.call(images),
        (out) => tf.mean(tf.square(out as tf.Tensor)),
      ),
    );
  }

  // (b) recognizer: the PointNet with hidden = featureSize = 128 on the arith heads.
  const recognizer = createRecognizer({
    sketch: module.sketch,
    hidden: HIDDEN,
    featureSize: HIDDEN,
    seed: SEED + 1,
  });
  {
    const optimizer = adam();
    const loss = () =>
      tf.tidy(() => recognizerLoss(recognizer.call(s, y), weights));
    await row(
      "recognizer",
      "recognizer step (PointNet, T=500, B=32, H=128)",
      () => minimizeStep(optimizer, recognizer.variables, loss),
    );
    optimizer.dispose();
    profile.push(
      await timeComponent(
        "recognizer",
        1,
        profileSteps,
        recognizer.variables,
        () => recognizer.call(s, y),
        (out) => recognizerLoss(out as ProgramLogits, weights),
      ),
    );
  }

  // (c) interpreter: trainable program logits [T, rows, choices], z = masked softmax, MSE to random targets.
  {
    const biases = maskBiases(module);
    const logits = Object.fromEntries(
      module.sketch.heads.map((h, k) => [
        h.name,
        tf.variable(
          tf.randomNormal([TASKS, ...h.shape], 0, 1, "float32", 20 + k),
        ),
      ]),
    );
    const vars = Object.values(logits);
    const target = tf.randomUniform(
      [TASKS, PAIRS],
      0,
      1,
      "float32",
      4,
    ) as tf.Tensor2D;
    const softProgram = (): ProgramParams =>
      Object.fromEntries(
        Object.entries(logits).map(([k, v]) => [
          k,
          tf.softmax(tf.add(v, biases[k])) as tf.Tensor3D,
        ]),
      );
    const interpreters: [string, string, SketchModule["execute"]][] = [
      [
        "interpreter",
        "interpreter step (L=30, K=4, T=500, B=32)",
        module.execute,
      ],
    ];
    if (typeof module.executeFused === "function") {
      interpreters.push([
        "interpreter-fused",
        "interpreter step, executeFused",
        module.executeFused,
      ]);
    }
    for (const [id, label, execute] of interpreters) {
      const optimizer = adam();
      const loss = () =>
        tf.mean(
          tf.square(tf.sub(execute(softProgram(), s), target)),
        ) as tf.Scalar;
      await row(id, label, () => minimizeStep(optimizer, vars, loss));
      optimizer.dispose();
    }
    const masked = () =>
      Object.fromEntries(
        Object.entries(logits).map(([k, v]) => [
          k,
          tf.add(v, biases[k]) as tf.Tensor3D,
        ]),
      );
    profile.push(
      await timeComponent(
        "gumbel-softmax",
        1,
        profileSteps,
        vars,
        () => sampleRelaxed(masked(), { sharpness: 1, gumbel: true, seed: 5 }),
        (z) => recognizerLoss(z as ProgramParams, weights),
      ),
    );
    for (const [id, , execute] of interpreters) {
      profile.push(
        await timeComponent(
          id,
          1,
          profileSteps,
          vars,
          () => execute(softProgram(), s),
          (out) => tf.mean(tf.square(tf.sub(out as tf.Tensor, target))),
        ),
      );
    }
    tf.dispose([...vars, target, ...Object.values(biases)]);
  }
  grounder.dispose();
  recognizer.dispose();

  // (d) the full ROAP step of runtime/train.ts on arith.sketch, T = 500.
  const out = path.join(root, "bench", ".tmp", "roap");
  fs.rmSync(out, { recursive: true, force: true });
  const base: TrainConfig = {
    ...DEFAULT_CONFIG,
    sketch: path.join(root, "sketches", "arith.sketch"),
    out,
    backend: "wasm",
    tasks: TASKS,
    batch: PAIRS,
    recognizerHidden: HIDDEN,
    trainPairs: 2000,
    testPairs: 200,
    // The paper's step, which the PyTorch reference computes: no program memory, no abduction.
    imitation: 0,
    memorySamples: 0,
    abduction: 0,
  };
  // Every task in every step, as the paper, also where the runtime can subsample tasks per step.
  const config = (
    "taskBatch" in DEFAULT_CONFIG ? { ...base, taskBatch: TASKS } : base
  ) as TrainConfig;
  const run = await createRun(config);
  let step = 0;
  await row(
    "roap",
    "full ROAP step (arith, T=500, B=32)",
    async () => await trainStep(run, 0, step++),
  );

  // Where the time of a full step goes: the whole model's forward and forward+backward...
  const model = createModel({
    module: run.module,
    alphabet: run.domain.alphabet,
    grounder: "small-cnn",
    imageShape: IMAGE,
    recognizerHidden: HIDDEN,
    seed: SEED,
  });
  const sigma = tf.ones([TASKS]) as tf.Tensor1D;
  // As trainStep: the fused interpreter on wasm where the runtime has one (`fused` is newer).
  const fusedInTrainStep =
    "usesFusedInterpreter" in train &&
    typeof module.executeFused === "function";
  const forwardOptions = {
    sharpness: 1,
    gumbel: true,
    seed: 7,
    fused: fusedInTrainStep,
  } as Parameters<typeof forward>[3];
  profile.push(
    await timeComponent(
      "full model",
      1,
      profileSteps,
      model.variables,
      () => forward(model, images, y, forwardOptions).yHat,
      (yHat) => reconstructionLoss(y, yHat as tf.Tensor2D, sigma),
    ),
  );
  model.dispose();

  // ...and the kernels of one step of runtime/train.ts (times from tf.profile, which syncs each kernel).
  const info = await tf.profile(async () => {
    await trainStep(run, 0, step++);
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    byKernel.set(k.name, { ms: entry.ms + ms, calls: entry.calls + 1 });
  }
  const kernels = [...byKernel.entries()]
    .map(([name, v]) => ({ name, ...v }))
    .sort((a, b) => b.ms - a.ms);
  run.model.dispose();
  run.optimizer.dispose();
  fs.rmSync(out, { recursive: true, force: true });

  const tfjsVersion = tf.version_core;
  const result: SideResult = {
    side: "sketchc",
    backend: backend.description,
    tfjs: tfjsVersion,
    node: process.version,
    loadAvg: { start: loadStart, end: os.loadavg()[0] },
    env: processEnv(),
    fusedInterpreterInTrainStep: fusedInTrainStep,
    warmup,
    steps,
    config: {
      tasks: TASKS,
      batch: PAIRS,
      recognizerHidden: HIDDEN,
      taskBatch: (config as { taskBatch?: number }).taskBatch,
    },
    rows,
    profile,
    kernels,
  };
  fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
  fs.writeFileSync(values.out, JSON.stringify(result, null, 2) + "\n");
}

await main();
