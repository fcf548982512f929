// selectBackend: names, errors for missing optional packages, idempotence, and that the wasm
// backend trains a tiny conv net (loss falls) without leaking tensors.

import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { type BackendName, selectBackend } from "../../runtime/backend.js";
import { wasmGradientConfigs } from "../../runtime/kernels/index.js";

const require = createRequire(import.meta.url);

function isInstalled(specifier: string): boolean {
  try {
    require.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

const HAS_TFJS_NODE =
  isInstalled("@tensorflow/tfjs-node") ||
  isInstalled("@tensorflow/tfjs-node-gpu");
const HAS_WEBGPU = isInstalled("@tensorflow/tfjs-backend-webgpu");

/** A tiny conv net: conv 3x3 x4 -> relu -> maxpool 2 -> dense 3, on 8 images 8x8x1. */
function createTinyNet() {
  const x: tf.Tensor4D = tf.randomNormal([8, 8, 8, 1], 0, 1, "float32", 1); // [B, H, W, 1]
  const labels = tf.cast(
    tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], "int32"), 3),
    "float32",
  ); // [B, 3]
  const filter: tf.Variable<tf.Rank.R4> = tf.variable(
    tf.mul(
      tf.randomNormal([3, 3, 1, 4], 0, 1, "float32", 2),
      0.5,
    ) as tf.Tensor4D,
  );
  const dense = tf.variable(
    tf.mul(tf.randomNormal([4 * 4 * 4, 3], 0, 1, "float32", 3), 0.2),
  );
  const loss = () =>
    tf.tidy(() => {
      const h = tf.maxPool(
        tf.relu(tf.conv2d(x, filter, 1, "same")),
        2,
        2,
        "valid",
      ); // [B, 4, 4, 4]
      const logits = tf.matMul(tf.reshape(h, [8, 4 * 4 * 4]), dense); // [B, 3]
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    });
  const dispose = () => tf.dispose([x, labels, filter, dense]);
  return { loss, variables: [filter, dense], dispose };
}

describe("selectBackend", () => {
  it("selects wasm with SIMD, idempotently", async () => {
    const first = await selectBackend("wasm");
    const second = await selectBackend("wasm");
    expect(first).toEqual(second);
    expect(first.name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(first.description).toMatch(/XNNPACK/);
  });

  it("selects cpu", async () => {
    expect((await selectBackend("cpu")).name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("registers tfjs-core's stock gradients", async () => {
    await selectBackend("cpu");
    expect(tf.getGradient(tf.Sum)).toBeDefined();
    expect(tf.getGradient(tf.Relu)).toBeDefined();
  });

  it.skipIf(HAS_TFJS_NODE)(
    "'auto' falls back to wasm without tfjs-node",
    async () => {
      expect((await selectBackend("auto")).name).toBe("wasm");
    },
  );

  it.skipIf(HAS_TFJS_NODE)(
    "'tensorflow' says how to install tfjs-node",
    async () => {
      await expect(selectBackend("tensorflow")).rejects.toThrow(
        /npm install @tensorflow\/tfjs-node/,
      );
    },
  );

  it.skipIf(HAS_WEBGPU)(
    "'webgpu' says how to install the webgpu backend",
    async () => {
      await expect(selectBackend("webgpu")).rejects.toThrow(
        /npm install .*webgpu/,
      );
    },
  );

  it("installs the replacement gradients for wasm only", async () => {
    const replaced = () =>
      wasmGradientConfigs.map((c) => tf.getGradient(c.kernelName) === c);
    await selectBackend("wasm");
    expect(replaced()).toEqual(wasmGradientConfigs.map(() => true));
    await selectBackend("cpu");
    expect(replaced()).toEqual(wasmGradientConfigs.map(() => false));
    expect(tf.getGradient(tf.Conv2D)).toBeDefined();
  });

  it("rejects an unknown backend name", async () => {
    await expect(selectBackend("nope" as BackendName)).rejects.toThrow(
      /unknown backend 'nope'/,
    );
  });
});

describe("training on wasm", () => {
  it("a tiny conv net's loss falls under Adam", async () => {
    await selectBackend("wasm");
    const net = createTinyNet();
    const optimizer = tf.train.adam(0.05);
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      const loss = optimizer.minimize(net.loss, true, net.variables);
      losses.push(loss!.dataSync()[0]);
      loss!.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.8 * losses[0]);
    optimizer.dispose();
    net.dispose();
  });

  it("repeated gradient steps leak no tensors", async () => {
    await selectBackend("wasm");
    const net = createTinyNet();
    const step = () => {
      const { value, grads } = tf.variableGrads(net.loss, net.variables);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});
