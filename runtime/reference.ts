// The supervised reference points for grounding accuracy (Sec. 4.1 asks how close the learned
// symbols come to it): the same grounder architecture trained on the image labels, for as many
// steps and images per step as the ROAP run, then scored on the test split's images; once as a
// classifier (cross-entropy) and once as g itself, one squashed output regressed on the symbol
// (with the categorical output, K logits whose expected value over the alphabet is regressed).

import * as tf from "@tensorflow/tfjs-core";
import type { TrainConfig } from "./config.js";
import type { Split } from "./data/pairs.js";
import { createSymbolReader, symbolBounds } from "./domains/alphabet.js";
import { symbolsOf } from "./model.js";
import {
  createResNet18,
  createSmallCnn,
  type Grounder,
} from "./nets/grounder.js";
import { createRng, deriveSeed } from "./random.js";

/**
 * What the supervised reference learns from the labels: `classes`, a classifier (K logits,
 * cross-entropy; accuracy = argmax is the class), or `symbols`, g itself (one output squashed like
 * g's, squared error to the gold symbol; accuracy = read as the alphabet value like the grounding
 * accuracy).
 */
export type ReferenceTarget = "classes" | "symbols";

/** What a supervised reference scores on the test split's images. */
export interface ReferenceScore {
  /** The share of images read right (the class, or the alphabet value nearest to the symbol). */
  readonly accuracy: number;
  /**
   * The symbolic loss of its reading, mean (s - gold)^2: for the classifier s is its most
   * probable class's value, for g the symbol it outputs.
   */
  readonly symbolicLoss: number;
}

/**
 * Test accuracy and symbolic loss of the grounder architecture trained on the labels: as many
 * classes as the alphabet has values (the splits' `alphabet`).
 */
export function trainSupervisedReference(
  config: TrainConfig,
  train: Split,
  test: Split,
  target: ReferenceTarget = "classes",
): ReferenceScore {
  const numClasses = train.alphabet.length;
  const bounds = symbolBounds(train.alphabet);
  const reader = createSymbolReader(train.alphabet);
  const { height: H, width: W, channels: C } = train;
  // g itself has K logits with the categorical output; its symbol is their expected value.
  const outputs =
    target === "classes" || config.grounderOutput === "categorical"
      ? numClasses
      : undefined;
  const values = [...train.alphabet].sort((a, b) => a - b);
  const net: Grounder<tf.Tensor1D | tf.Tensor2D> =
    outputs === undefined
      ? config.grounder === "resnet18"
        ? createResNet18({ seed: config.seed, inChannels: C })
        : createSmallCnn({ seed: config.seed, inputShape: [H, W, C] })
      : config.grounder === "resnet18"
        ? createResNet18({
            seed: config.seed,
            inChannels: C,
            numClasses: outputs,
          })
        : createSmallCnn({
            seed: config.seed,
            inputShape: [H, W, C],
            numClasses: outputs,
          });
  const optimizer = tf.train.adam(
    config.learningRate,
    0.9,
    0.999,
    config.adamEpsilon,
  );
  const perImage = H * W * C;
  const images = train.numPairs * train.numInputs;
  const batch = config.batch * train.numInputs; // as many images as a ROAP step grounds
  const steps = config.epochs * config.stepsPerEpoch;
  for (let step = 0; step < steps; step++) {
    const rng = createRng(deriveSeed(config.seed, 2_000_003 + step));
    const picks = Array.from({ length: batch }, () => rng.int(images));
    const x = new Float32Array(batch * perImage);
    picks.forEach((k, b) =>
      x.set(
        train.images.subarray(k * perImage, (k + 1) * perImage),
        b * perImage,
      ),
    );
    const loss = optimizer.minimize(
      () => {
        const out = net.call(tf.tensor4d(x, [batch, H, W, C])); // [N, K] | [N]
        if (target === "symbols") {
          const gold = tf.tensor1d(
            Float32Array.from(picks, (k) => train.symbols[k]),
          );
          return tf.mean(
            tf.square(
              tf.sub(
                symbolsOf(out, config.grounderOutput, bounds, values),
                gold,
              ),
            ),
          ) as tf.Scalar;
        }
        // An int oneHot cast to float: a float oneHot is wrong on wasm.
        const labels = Int32Array.from(picks, (k) => train.classes[k]);
        const oneHot = tf.cast(
          tf.oneHot(tf.tensor1d(labels, "int32"), numClasses),
          "float32",
        );
        return tf.losses.softmaxCrossEntropy(oneHot, out) as tf.Scalar;
      },
      true,
      net.variables,
    );
    loss?.dispose();
  }
  let correct = 0;
  let squared = 0;
  const total = test.numPairs * test.numInputs;
  for (let start = 0; start < total; start += 512) {
    const n = Math.min(512, total - start);
    const predicted = tf.tidy(() => {
      const out = net.call(
        tf.tensor4d(
          test.images.subarray(start * perImage, (start + n) * perImage),
          [n, H, W, C],
        ),
      );
      return target === "classes"
        ? tf.argMax(out, 1).dataSync()
        : symbolsOf(out, config.grounderOutput, bounds, values).dataSync();
    });
    for (let i = 0; i < n; i++) {
      const gold = test.alphabet[test.classes[start + i]];
      const right =
        target === "classes"
          ? predicted[i] === test.classes[start + i]
          : reader.read(predicted[i]) === gold;
      if (right) correct++;
      const s =
        target === "classes" ? test.alphabet[predicted[i]] : predicted[i];
      squared += (s - gold) ** 2;
    }
  }
  net.dispose();
  optimizer.dispose();
  return { accuracy: correct / total, symbolicLoss: squared / total };
}
