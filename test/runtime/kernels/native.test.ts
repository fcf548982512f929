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
import {
  describeNativeKernels,
  installNativeKernels,
  nativeKernelsActive,
  nativeStatus,
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
      expect(status.info.threads).toBeGreaterThan(0);
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
    // The native path is the closer one to the cpu backend (about 2e-6 here; the stock wasm
    // kernels about 1e-3, on mlp_prog's first-layer gradients).
    native.forEach((t, i) => expectClose(t, cpu[i], 1e-4));
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
