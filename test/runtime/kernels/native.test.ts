// The native kernels (native/blas.cc through runtime/kernels/native.ts) against the stock wasm
// kernels and the cpu backend: matmuls in every transpose and batch-broadcast combination, the
// fused matmul's bias and activations (and its fallbacks), Conv2D and its gradients, and the LayerNorm (+ ReLU) forward
// and gradient against the composed formulation. CI installs OpenBLAS, so there the native path
// must be on; elsewhere, without the addon or OpenBLAS, the fallback and its notice are tested.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";

import { selectBackend } from "../../../runtime/backend.js";
import { layerNorm } from "../../../runtime/kernels/layer-norm.js";
import { maxPoolBackprop } from "../../../runtime/kernels/max-pool-grad.js";
import {
  describeNativeKernels,
  installNativeKernels,
  kernelThreads,
  MAX_POOL_GRAD_KERNEL,
  nativeKernelsActive,
  nativeMaxPoolGradActive,
  nativeStatus,
  setKernelThreads,
  uninstallNativeKernels,
} from "../../../runtime/kernels/native.js";
import { sumRows } from "../../../runtime/kernels/outer-reduce.js";
import {
  abduceSymbols,
  createMemory,
  crossProductJs,
  installCrossProduct,
  activeCrossProduct,
  storeProgram,
} from "../../../runtime/memory.js";
import { loadSketch } from "../../../runtime/load-sketch.js";
import {
  argumentMixer,
  installArgumentMixer,
  javascriptMixer,
} from "../../../runtime/module-runtime/mixing.js";
import { createRecognizer } from "../../../runtime/nets/recognizer.js";
import type { SketchModule } from "../../../runtime/sketch-module.js";
import {
  createRandom,
  randomSoftParams,
  type CompiledModule,
} from "../../sketches/programs.js";
import { fakeSketch, NUM_INPUTS } from "../nets/fake-sketch.js";
import { expectClose, wave } from "./helpers.js";

const status = nativeStatus();

/** arith.sketch compiled into a temporary folder and imported, on the wasm backend. */
async function loadArithOnWasm(): Promise<SketchModule & CompiledModule> {
  await selectBackend("wasm");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sketchc-native-"));
  return (await loadSketch("sketches/arith.sketch", dir).finally(() =>
    fs.rmSync(dir, { recursive: true, force: true }),
  )) as SketchModule & CompiledModule;
}

/** Runs f on wasm with the native kernels (true) or the stock ones (false), as plain numbers. */
async function onWasm(
  native: boolean,
  f: () => tf.Tensor | tf.Tensor[],
): Promise<number[][]> {
  await selectBackend("wasm");
  if (native) installNativeKernels();
  else uninstallNativeKernels();
  expect(nativeKernelsActive()).toBe(native);
  try {
    return tf.tidy(() => {
      const out = f();
      return (Array.isArray(out) ? out : [out]).map((t) =>
        Array.from(t.dataSync()),
      );
    });
  } finally {
    installNativeKernels();
  }
}

async function onCpu(f: () => tf.Tensor | tf.Tensor[]): Promise<number[][]> {
  await selectBackend("cpu");
  return tf.tidy(() => {
    const out = f();
    return (Array.isArray(out) ? out : [out]).map((t) =>
      Array.from(t.dataSync()),
    );
  });
}

describe("native kernel status", () => {
  it("is on under CI (which installs OpenBLAS), and says why when off", () => {
    if (process.env.CI === "true") expect(status).toMatchObject({ on: true });
    const line = describeNativeKernels(status);
    if (status.on) {
      expect(line).toMatch(/^native kernels \((OpenBLAS [\d.]+|.+), /);
      expect(line).toMatch(/, \d+ kernel threads?\)$/);
      expect(status.info.threads).toBeGreaterThan(0);
      expect(status.info.kernelThreads).toBeGreaterThan(0);
    } else {
      expect(line).toBe(`native kernels off: ${status.reason}`);
    }
    expect(
      describeNativeKernels({ on: false, reason: "SKETCHC_NATIVE=0" }),
    ).toBe("native kernels off: SKETCHC_NATIVE=0");
  });

  it("is part of the wasm backend's description", async () => {
    const backend = await selectBackend("wasm");
    expect(backend.description).toContain(describeNativeKernels(status));
    expect(nativeKernelsActive()).toBe(status.on);
  });
});

describe.runIf(status.on)("native matmul", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  const cases: [string, number[], number[], boolean, boolean][] = [
    ["2-D", [5, 7], [7, 3], false, false],
    ["2-D, transposeA", [7, 5], [7, 3], true, false],
    ["2-D, transposeB", [5, 7], [3, 7], false, true],
    ["2-D, both", [7, 5], [3, 7], true, true],
    ["batched", [4, 5, 6], [4, 6, 3], false, false],
    ["batched, both", [4, 6, 5], [4, 3, 6], true, true],
    ["a broadcast over b's batch", [5, 6], [2, 2, 6, 3], false, false],
    ["b broadcast over a's batch", [2, 3, 5, 6], [1, 6, 4], false, false],
    [
      "general broadcast (falls back)",
      [2, 1, 5, 6],
      [1, 3, 6, 4],
      false,
      false,
    ],
    ["empty inner axis", [3, 0], [0, 4], false, false],
    ["a large GEMM", [300, 130], [70, 130], false, true],
  ];
  for (const [name, aShape, bShape, tA, tB] of cases) {
    it(`BatchMatMul ${name} matches the stock kernel and cpu`, async () => {
      const f = () => tf.matMul(wave(aShape, 0.1), wave(bShape, 0.9), tA, tB);
      const [native] = await onWasm(true, f);
      const [stock] = await onWasm(false, f);
      const [cpu] = await onCpu(f);
      expectClose(native, cpu);
      expectClose(stock, cpu);
    });
  }

  const fused: [string, string, boolean][] = [
    ["bias + relu", "relu", true],
    ["bias, linear", "linear", true],
    ["no bias, relu", "relu", false],
    ["elu (falls back)", "elu", true],
  ];
  for (const [name, activation, withBias] of fused) {
    it(`_FusedMatMul ${name} matches cpu`, async () => {
      const f = () =>
        tf.fused.matMul({
          a: wave([9, 6], 0.2) as tf.Tensor2D,
          b: wave([6, 4], 1.3) as tf.Tensor2D,
          bias: withBias ? wave([4], 2.0) : undefined,
          activation: activation as tf.fused.Activation,
        });
      const [native] = await onWasm(true, f);
      const [cpu] = await onCpu(f);
      expectClose(native, cpu);
    });
  }

  it("computes a fused matmul's gradients as cpu does", async () => {
    const f = () => {
      const a = wave([8, 5], 0.4);
      const b = wave([5, 3], 0.7);
      const bias = wave([3], 1.1);
      const grads = tf.grads((x, w, c) =>
        tf.sum(
          tf.mul(
            tf.fused.matMul({
              a: x as tf.Tensor2D,
              b: w as tf.Tensor2D,
              bias: c,
              activation: "relu",
            }),
            wave([8, 3], 0.5),
          ),
        ),
      );
      return grads([a, b, bias]);
    };
    const native = await onWasm(true, f);
    const cpu = await onCpu(f);
    native.forEach((g, i) => expectClose(g, cpu[i]));
  });

  it("sums rows with a ones-row GEMM as the pool does", async () => {
    const f = () => sumRows(wave([700, 9], 0.3) as tf.Tensor2D);
    const [native] = await onWasm(true, f);
    const [stock] = await onWasm(false, f);
    expectClose(native, stock);
  });

  it("keeps NaN through the fused ReLU", async () => {
    const [out] = await onWasm(true, () =>
      tf.fused.matMul({
        a: tf.tensor2d([[NaN, 1]]),
        b: tf.tensor2d([[1], [1]]),
        activation: "relu",
      }),
    );
    expect(Number.isNaN(out[0])).toBe(true);
  });
});

describe("kernelThreads", () => {
  it("is SKETCHC_THREADS where set, else the cores; a bad value says why", () => {
    expect(kernelThreads({}, 2)).toBe(2);
    expect(kernelThreads({ SKETCHC_THREADS: "" }, 16)).toBe(16);
    expect(kernelThreads({}, 0)).toBe(1);
    expect(kernelThreads({ SKETCHC_THREADS: "1" }, 2)).toBe(1);
    expect(kernelThreads({ SKETCHC_THREADS: "3" }, 2)).toBe(3);
    for (const bad of ["0", "two", "1.5", "2000"])
      expect(kernelThreads({ SKETCHC_THREADS: bad }, 2)).toBe(
        `SKETCHC_THREADS=${bad}: expected a whole number of threads from 1 to 1024`,
      );
  });
});

describe.runIf(status.on)("native matmul split between kernel threads", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  /** f's outputs with the kernel threads set to `threads`, restored after. */
  async function withThreads(
    threads: number,
    f: () => tf.Tensor,
  ): Promise<number[]> {
    const before = nativeStatus();
    const [out] = await onWasm(true, f);
    try {
      setKernelThreads(threads);
      return (await onWasm(true, f))[0];
    } finally {
      setKernelThreads(before.on ? before.info.kernelThreads : 1);
      expect(out.length).toBeGreaterThan(0);
    }
  }

  // Each large enough (at least 2^22 multiply-adds) to be split: by rows, by columns, by batch.
  const cases: [string, number[], number[], boolean, boolean][] = [
    ["rows", [700, 90], [90, 80], false, false],
    ["rows, transposeA", [90, 700], [90, 80], true, false],
    ["columns, transposeB", [40, 90], [1300, 90], false, true],
    ["columns, both", [90, 40], [1300, 90], true, true],
    [
      "an odd split (rows not a multiple of 16)",
      [613, 101],
      [101, 77],
      false,
      false,
    ],
    ["batches", [4, 200, 90], [4, 90, 70], false, false],
    ["a broadcast over the batch", [3, 300, 90], [90, 70], false, false],
  ];
  for (const [name, aShape, bShape, tA, tB] of cases) {
    it(`splits ${name} with cpu's values, on 1 and 2 threads alike`, async () => {
      const f = () => tf.matMul(wave(aShape, 0.1), wave(bShape, 0.9), tA, tB);
      const one = await withThreads(1, f);
      const two = await withThreads(2, f);
      const [cpu] = await onCpu(f);
      expectClose(one, cpu);
      expectClose(two, cpu);
      expectClose(two, one, 1e-5);
    });
  }

  it("splits a fused matmul's bias and ReLU with its slices", async () => {
    const f = () =>
      tf.fused.matMul({
        a: wave([900, 70], 0.2) as tf.Tensor2D,
        b: wave([70, 90], 1.3) as tf.Tensor2D,
        bias: wave([90], 2.0),
        activation: "relu",
      });
    const two = await withThreads(2, f);
    const [cpu] = await onCpu(f);
    expectClose(two, cpu);
    expect(two.some((v) => v === 0)).toBe(true);
    expect(two.some((v) => v > 0)).toBe(true);
  });
});

describe.runIf(status.on)("native max-pool gradient", () => {
  type Pad = "same" | "valid";
  const cases: [
    number[],
    number | [number, number],
    number | [number, number],
    Pad,
  ][] = [
    [[6, 28, 28, 16], 2, 2, "valid"], // above the threads' threshold (64k floats)
    [[3, 7, 9, 5], 3, 2, "same"],
    [[2, 6, 6, 4], 3, 1, "valid"],
    [[4, 5, 5, 3], 2, 2, "same"],
    [[1, 8, 8, 2], [3, 2], [2, 1], "same"],
    [[1, 1, 1, 1], 1, 1, "valid"],
  ];
  for (const [shape, filterSize, strides, pad] of cases) {
    it(`routes dy as the forward-op gradient does: x ${shape}, filter ${filterSize}, strides ${strides}, ${pad}`, async () => {
      await selectBackend("wasm");
      expect(nativeMaxPoolGradActive()).toBe(true);
      const attrs = { filterSize, strides, pad };
      // Inputs on a coarse grid, so windows hold tied maxima (the first one wins).
      const x = () => tf.round(tf.mul(wave(shape, 0.4), 2)) as tf.Tensor4D;
      const dyOf = (t: tf.Tensor4D) =>
        wave(tf.maxPool(t, filterSize, strides, pad).shape, 0.8) as tf.Tensor4D;
      const native = () => {
        const xs = x();
        return tf
          .engine()
          .runKernel(
            MAX_POOL_GRAD_KERNEL,
            { dy: dyOf(xs), x: xs },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
      };
      const composed = () => {
        const xs = x();
        const y = tf.maxPool(xs, filterSize, strides, pad);
        return maxPoolBackprop(dyOf(xs), xs, y, attrs);
      };
      const [got] = await onWasm(true, native);
      const [expected] = await onWasm(true, composed);
      // Overlapping windows add into one cell in another order: float rounding only.
      expectClose(got, expected, 1e-6);
      const before = nativeStatus();
      setKernelThreads(1);
      try {
        const [single] = await onWasm(true, native);
        expect(single).toEqual(got);
      } finally {
        setKernelThreads(before.on ? before.info.kernelThreads : 1);
      }
    });
  }

  it("serves tf.grad through maxPool on wasm", async () => {
    const loss = (x: tf.Tensor) => {
      const y = tf.maxPool(x as tf.Tensor4D, 2, 2, "same");
      return tf.sum(tf.mul(y, wave(y.shape, 0.8)));
    };
    const input = () => wave([2, 6, 6, 3], 0.4);
    const [native] = await onWasm(true, () => tf.grad(loss)(input()));
    const [cpu] = await onCpu(() => tf.grad(loss)(input()));
    expectClose(native, cpu, 1e-6);
    expect(native.filter((v) => v !== 0).length).toBe(2 * 3 * 3 * 3);
  });
});

describe.runIf(status.on)("native Conv2D (im2col + GEMM)", () => {
  const conv =
    (
      strides: [number, number],
      pad: "same" | "valid" | number,
      dilations: [number, number],
    ) =>
    (x: tf.Tensor, filter: tf.Tensor) =>
      tf.conv2d(
        x as tf.Tensor4D,
        filter as tf.Tensor4D,
        strides,
        pad,
        "NHWC",
        dilations,
      );
  /** y, and the gradients of sum(y * dy) in x and the filter (on wasm, kernels/conv2d-grad.ts). */
  const withGrads =
    (xShape: number[], fShape: number[], op: ReturnType<typeof conv>) => () => {
      const x = wave(xShape, 0.3);
      const filter = wave(fShape, 1.1);
      const y = op(x, filter);
      const dy = wave(y.shape, 2.3);
      const grads = tf.grads((a, b) => tf.sum(tf.mul(op(a, b), dy)))([
        x,
        filter,
      ]);
      return [y, ...grads];
    };

  it("the grounder's convolutions: values and gradients match the stock kernel and cpu", async () => {
    for (const [xShape, fShape] of [
      [
        [5, 28, 28, 1],
        [3, 3, 1, 16],
      ],
      [
        [6, 14, 14, 16],
        [3, 3, 16, 32],
      ],
    ]) {
      const f = withGrads(xShape, fShape, conv([1, 1], "same", [1, 1]));
      const native = await onWasm(true, f);
      const stock = await onWasm(false, f);
      const cpu = await onCpu(f);
      native.forEach((values, i) => {
        expectClose(values, cpu[i]);
        expectClose(stock[i], cpu[i]);
      });
    }
  });

  // Shapes the small CNN does not use (ResNet-18's strides, other paddings): against cpu.
  const cases: [
    string,
    number[],
    number[],
    [number, number],
    "same" | "valid" | number,
  ][] = [
    ["3x3 valid", [2, 7, 6, 4], [3, 3, 4, 5], [1, 1], "valid"],
    ["stride 2, same", [3, 9, 8, 4], [3, 3, 4, 6], [2, 2], "same"],
    ["stride (2, 1), pad 1", [2, 8, 7, 4], [5, 3, 4, 3], [2, 1], 1],
    [
      "1x1, one channel (shallow: the stock kernel)",
      [4, 5, 5, 1],
      [1, 1, 1, 2],
      [1, 1],
      "valid",
    ],
  ];
  for (const [name, xShape, fShape, strides, pad] of cases) {
    it(`${name}: values and gradients match cpu`, async () => {
      const f = withGrads(xShape, fShape, conv(strides, pad, [1, 1]));
      const native = await onWasm(true, f);
      const cpu = await onCpu(f);
      native.forEach((values, i) => expectClose(values, cpu[i]));
    });
  }

  it("dilation 2: values match cpu", async () => {
    const f = () =>
      conv(
        [1, 1],
        "same",
        [2, 2],
      )(wave([2, 9, 9, 4], 0.3), wave([3, 3, 4, 4], 1.1));
    const [native] = await onWasm(true, f);
    const [cpu] = await onCpu(f);
    expectClose(native, cpu);
  });
});

describe.runIf(status.on)("native LayerNorm", () => {
  for (const relu of [false, true]) {
    for (const [rows, dim] of [
      [7, 5],
      [1000, 32], // several row blocks, split between threads
    ]) {
      it(`matches the composed form, values and gradients (relu ${relu}, ${rows} x ${dim})`, async () => {
        const f = () => {
          const x = wave([rows, dim], 0.2);
          const gain = tf.add(wave([dim], 1.4), 1.5);
          const bias = wave([dim], 2.2);
          const weights = wave([rows, dim], 0.6);
          const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(
              tf.mul(
                layerNorm(
                  a as tf.Tensor2D,
                  g as tf.Tensor1D,
                  b as tf.Tensor1D,
                  {
                    epsilon: 1e-5,
                    relu,
                  },
                ),
                weights,
              ),
            );
          const value = layerNorm(
            x as tf.Tensor2D,
            gain as tf.Tensor1D,
            bias as tf.Tensor1D,
            {
              epsilon: 1e-5,
              relu,
            },
          );
          return [value, ...tf.grads(loss)([x, gain, bias])];
        };
        const native = await onWasm(true, f);
        const stock = await onWasm(false, f);
        const cpu = await onCpu(f);
        native.forEach((t, i) => expectClose(t, cpu[i], 2e-4));
        stock.forEach((t, i) => expectClose(t, cpu[i], 2e-4));
      });
    }
  }

  it("is deterministic: the same inputs give the same bits", async () => {
    const f = () =>
      tf.grads((a: tf.Tensor) =>
        tf.sum(
          tf.square(
            layerNorm(a as tf.Tensor2D, tf.ones([64]), tf.zeros([64]), {
              epsilon: 1e-5,
              relu: true,
            }),
          ),
        ),
      )([wave([3000, 64], 0.9)]);
    const first = await onWasm(true, f);
    const second = await onWasm(true, f);
    expect(second).toEqual(first);
  });
});

describe.runIf(status.on)("the recognizer on the native kernels", () => {
  it("gives the logits and gradients of cpu and of the stock kernels", async () => {
    const f = () => {
      const r = createRecognizer({
        sketch: fakeSketch,
        hidden: 48,
        featureSize: 40,
        seed: 3,
      });
      try {
        const s = tf.add(tf.mul(wave([300, NUM_INPUTS], 0.4), 0.5), 0.5);
        const y = wave([20, 300], 1.9) as tf.Tensor2D;
        const loss = () => {
          const logits = r.call(s as tf.Tensor2D, y);
          return tf.addN(
            Object.values(logits).map((l) =>
              tf.mean(tf.mul(tf.softmax(l), wave(l.shape, 0.8))),
            ),
          ) as tf.Scalar;
        };
        const { value, grads } = tf.variableGrads(loss, r.variables);
        return [value, ...r.variables.map((v) => grads[v.name])];
      } finally {
        r.dispose();
      }
    };
    const native = await onWasm(true, f);
    const stock = await onWasm(false, f);
    expect(native.length).toBe(stock.length);
    const cpu = await onCpu(f);
    expect(native.length).toBe(cpu.length);
    // The native path is the closer one to the cpu backend (the stock wasm kernels are about
    // 1e-3 off, on mlp_prog's first-layer gradients). Measured: at most 5.6e-5 on one kernel
    // thread and 1.1e-4 on two, both on mlp_out's last weights, whose gradient sums 6,000 rows
    // with cancellation: a GEMM cut into slices of rows sums in another order inside OpenBLAS.
    native.forEach((t, i) => expectClose(t, cpu[i], 3e-4));
    native.forEach((t, i) => expectClose(t, stock[i], 5e-3));
  });
});

describe.runIf(status.on)(
  "the fused interpreter's native argument mixing",
  () => {
    it("gives the JavaScript loops' values and gradients, bit for bit", async () => {
      const mod = await loadArithOnWasm();
      const run = () => {
        const next = createRandom(5);
        const z = randomSoftParams(mod, 37, next);
        const s = tf.tensor2d(
          Array.from({ length: 11 * NUM_INPUTS }, () => 2 * next() - 1),
          [11, NUM_INPUTS],
        );
        const heads = Object.keys(z);
        const f = (...xs: tf.Tensor[]) => {
          const zs = Object.fromEntries(heads.map((h, k) => [h, xs[k]]));
          return tf.sum(
            tf.mul(
              mod.executeFused!(zs as never, xs[xs.length - 1] as tf.Tensor2D),
              tf.reshape(tf.linspace(-1, 1, 37 * 11), [37, 11]),
            ),
          );
        };
        const value = mod.executeFused!(z as never, s);
        const grads = tf.grads(f)([...heads.map((h) => z[h]), s]);
        return [value, ...grads].map((t) => Array.from(t.dataSync()));
      };
      installNativeKernels();
      expect(argumentMixer()).not.toBe(javascriptMixer);
      const native = tf.tidy(run);
      installArgumentMixer(undefined); // the JavaScript loops
      expect(argumentMixer()).toBe(javascriptMixer);
      const javascript = tf.tidy(run);
      uninstallNativeKernels(); // and back, as the other tests expect
      installNativeKernels();
      expect(native).toEqual(javascript);
    });
  },
);

describe.runIf(status.on)("abduction's native cross product", () => {
  it("is OpenBLAS's dgemm once the kernels are installed, and JavaScript after", () => {
    installNativeKernels();
    const a = Float64Array.from({ length: 7 * 5 }, (_, i) => Math.sin(i) * 3);
    const y = Float64Array.from({ length: 6 * 5 }, (_, i) => Math.cos(i * 0.7));
    const native = new Float64Array(7 * 6);
    const js = new Float64Array(7 * 6);
    activeCrossProduct()(a, y, 7, 5, 6, native);
    crossProductJs(a, y, 7, 5, 6, js);
    expect(activeCrossProduct()).not.toBe(crossProductJs);
    for (let i = 0; i < 7; i++)
      for (let b = 0; b < 6; b++) {
        let direct = 0;
        for (let u = 0; u < 5; u++) direct += a[i * 5 + u] * y[b * 5 + u];
        expect(native[i * 6 + b]).toBeCloseTo(direct, 12);
        expect(js[i * 6 + b]).toBeCloseTo(direct, 12);
      }
    // A non-finite entry of a spoils its own row only.
    a[2 * 5 + 1] = Infinity;
    activeCrossProduct()(a, y, 7, 5, 6, native);
    expect(Array.from(native.subarray(12, 18)).some(Number.isFinite)).toBe(
      false,
    );
    expect(Array.from(native.subarray(0, 12)).every(Number.isFinite)).toBe(
      true,
    );
    uninstallNativeKernels();
    expect(activeCrossProduct()).toBe(crossProductJs);
    installNativeKernels();
  });

  it("abduces the same symbols as the JavaScript product", async () => {
    const mod = await loadArithOnWasm();
    const next = createRandom(11);
    const memory = createMemory(mod, 40);
    const alphabet = Array.from({ length: 10 }, (_, k) => (k + 1) / 10);
    // Random stored programs: one-hot random choices, decoded.
    const z = randomSoftParams(mod, 40, next);
    const programs = mod.decode(z as never);
    Object.values(z).forEach((t) => t.dispose());
    programs.forEach((p, t) => storeProgram(memory, mod, t, p, 0));
    const B = 16;
    const gold = Array.from(
      { length: B * 3 },
      () => alphabet[Math.floor(next() * 10)],
    );
    const symbols = Float32Array.from(gold, (v) => v + 0.03 * (next() - 0.5));
    const y = Float32Array.from({ length: 40 * B }, (_, i) =>
      mod.evaluate(
        programs[Math.floor(i / B)],
        gold.slice((i % B) * 3, (i % B) * 3 + 3),
      ),
    );
    const abduce = () =>
      abduceSymbols(
        memory,
        mod,
        Array.from({ length: 40 }, (_, t) => t),
        new Float32Array(40).fill(1),
        symbols,
        y,
        new Float32Array(40).fill(0.3),
        alphabet,
        { residualWidth: 0.1 },
      );
    installNativeKernels();
    const native = abduce();
    installCrossProduct(undefined);
    const js = abduce();
    installNativeKernels();
    uninstallNativeKernels();
    installNativeKernels();
    expect(Array.from(native.indices)).toEqual(Array.from(js.indices));
    expect(Array.from(native.constrained)).toEqual(Array.from(js.constrained));
  });
});
