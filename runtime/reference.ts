// The supervised reference point for grounding accuracy (Sec. 4.1 asks how close the learned
// symbols come to it): the same grounder architecture trained on the image labels with
// cross-entropy, for as many steps and images per step as the ROAP run, then scored on the
// test split's images.

import * as tf from "@tensorflow/tfjs-core";
import type { TrainConfig } from "./config.js";
import type { Split } from "./data/pairs.js";
import { createResNet18, createSmallCnn } from "./nets/grounder.js";
import { createRng, deriveSeed } from "./random.js";

/** Test accuracy of the grounder architecture trained on labels. */
export function trainSupervisedReference(
  config: TrainConfig,
  train: Split,
  test: Split,
  numClasses = 10,
): number {
  const { height: H, width: W, channels: C } = train;
  const classifier =
    config.grounder === "resnet18"
      ? createResNet18({ seed: config.seed, inChannels: C, numClasses })
      : createSmallCnn({
          seed: config.seed,
          inputShape: [H, W, C],
          numClasses,
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
    const labels = Int32Array.from(picks.map((k) => train.classes[k]));
    const loss = optimizer.minimize(
      () => {
        const logits = classifier.call(tf.tensor4d(x, [batch, H, W, C])); // [N, K]
        // An int oneHot cast to float: a float oneHot is wrong on wasm.
        const target = tf.cast(
          tf.oneHot(tf.tensor1d(labels, "int32"), numClasses),
          "float32",
        );
        return tf.losses.softmaxCrossEntropy(target, logits) as tf.Scalar;
      },
      true,
      classifier.variables,
    );
    loss?.dispose();
  }
  let correct = 0;
  const total = test.numPairs * test.numInputs;
  for (let start = 0; start < total; start += 512) {
    const n = Math.min(512, total - start);
    const predicted = tf.tidy(() => {
      const x = tf.tensor4d(
        test.images.subarray(start * perImage, (start + n) * perImage),
        [n, H, W, C],
      );
      return tf.argMax(classifier.call(x), 1).dataSync();
    });
    for (let i = 0; i < n; i++)
      if (predicted[i] === test.classes[start + i]) correct++;
  }
  classifier.dispose();
  optimizer.dispose();
  return correct / total;
}
