// The training objective of Eq. 3: the negative reconstruction log-likelihood of Eq. 4, a
// Gaussian with each task's own sigma^t, plus lambda times the expected program length (Eq. 6).

import * as tf from "@tensorflow/tfjs-core";

/**
 * Eq. 4 as a loss: mean over tasks and pairs of (y - yHat)^2 / (2 sigma_t^2).
 * y, yHat: [T, B]; sigma: [T], each task's output standard deviation (floored so constant-output
 * tasks do not divide by zero).
 */
export function reconstructionLoss(
  y: tf.Tensor2D,
  yHat: tf.Tensor2D,
  sigma: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const variance = tf.expandDims(tf.square(sigma), 1); // [T, 1]
    return tf.mean(
      tf.div(tf.square(tf.sub(y, yHat)), tf.mul(2, variance)),
    ) as tf.Scalar;
  });
}

/** Per-task standard deviation of the outputs [T, N] -> [T], floored at `floor`. */
export function outputSigma(
  outputs: Float32Array,
  numTasks: number,
  numPairs: number,
  floor = 0.05,
): Float32Array {
  const sigma = new Float32Array(numTasks);
  for (let t = 0; t < numTasks; t++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < numPairs; i++) {
      const v = outputs[t * numPairs + i];
      sum += v;
      sq += v * v;
    }
    const mean = sum / numPairs;
    sigma[t] = Math.max(
      floor,
      Math.sqrt(Math.max(0, sq / numPairs - mean * mean)),
    );
  }
  return sigma;
}

/** Eq. 3 as a loss to minimise: reconstruction + lambda * mean expected length. */
export function objective(
  reconstruction: tf.Scalar,
  expectedLength: tf.Tensor1D,
  lambda: number,
): tf.Scalar {
  return tf.tidy(() =>
    lambda > 0
      ? (tf.add(
          reconstruction,
          tf.mul(lambda, tf.mean(expectedLength)),
        ) as tf.Scalar)
      : reconstruction.clone(),
  );
}

/**
 * A prior on the grounded symbols' batch statistics (beyond the paper): their mean and variance
 * should match the symbol alphabet's (`alphabetStats` in domains/alphabet.ts; uniform on
 * 0.1..1.0: mean 0.55, variance 0.0825). It only
 * constrains the marginal, never which image is which symbol, and it stops the collapse of all
 * symbols to one value that an untrained recognizer otherwise rewards. s: [B, V].
 */
export function symbolPrior(
  s: tf.Tensor2D,
  target: { mean: number; variance: number },
): tf.Scalar {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(s);
    return tf.add(
      tf.square(tf.sub(mean, target.mean)),
      tf.square(tf.sub(variance, target.variance)),
    ) as tf.Scalar;
  });
}

/**
 * The `categorical` grounder's abduction loss (beyond the paper): the cross-entropy of g's logits
 * on the abduced symbol values' indices, over the symbols some evidence program constrains,
 * divided by all N symbols of the batch (as the squared gap of the scalar outputs is). logits:
 * [N, K]; indices, constrained: [N] (memory.ts `abduceSymbols`).
 */
export function abductionCrossEntropy(
  logits: tf.Tensor2D,
  indices: Int32Array,
  constrained: Uint8Array,
): tf.Scalar {
  const [N, K] = logits.shape;
  if (indices.length !== N || constrained.length !== N)
    throw new Error(
      `abductionCrossEntropy: ${N} logits rows, ${indices.length} indices, ${constrained.length} masks`,
    );
  return tf.tidy(() => {
    // An int oneHot cast to float: a float oneHot is wrong on wasm.
    const target = tf.cast(
      tf.oneHot(tf.tensor1d(indices, "int32"), K),
      "float32",
    ); // [N, K]
    const logp = tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1); // [N]
    const mask = tf.tensor1d(Float32Array.from(constrained)); // [N]
    return tf.div(tf.neg(tf.sum(tf.mul(mask, logp))), N) as tf.Scalar;
  });
}

/**
 * The `categorical` grounder's abduction loss on soft targets (beyond the paper): the
 * cross-entropy -sum_k q_k log softmax(logits)_k of g's logits on abduction's posterior q over the
 * values (memory.ts `abduceSymbols` with `posterior`), weighted per symbol and divided by all N
 * symbols of the batch. logits: [N, K]; targets: [N * K]; weights: [N] (0 where no evidence
 * program reads the symbol).
 */
export function softAbductionCrossEntropy(
  logits: tf.Tensor2D,
  targets: Float32Array,
  weights: Float32Array,
): tf.Scalar {
  const [N, K] = logits.shape;
  if (targets.length !== N * K || weights.length !== N)
    throw new Error(
      `softAbductionCrossEntropy: ${N} x ${K} logits, ${targets.length} targets, ${weights.length} weights`,
    );
  return tf.tidy(() => {
    const q = tf.tensor2d(targets, [N, K]);
    const logp = tf.sum(tf.mul(q, tf.logSoftmax(logits)), 1); // [N]
    return tf.div(
      tf.neg(tf.sum(tf.mul(tf.tensor1d(weights), logp))),
      N,
    ) as tf.Scalar;
  });
}

/**
 * The categorical grounder's form of the symbol prior (beyond the paper): KL(pbar || uniform) =
 * log K - H(pbar) of the batch's mean class probabilities pbar, so every value is used as often
 * as the uniform symbols of the pairs use it. The mean-and-variance prior alone cannot stop g
 * from putting every image in one class: a saturated softmax has no gradient left to move it
 * (docs/results.md, issue 13). logits: [N, K].
 */
export function classBalancePrior(logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const K = logits.shape[1];
    const pbar = tf.mean(tf.softmax(logits), 0); // [K]
    const entropy = tf.neg(tf.sum(tf.mul(pbar, tf.log(tf.add(pbar, 1e-12)))));
    return tf.sub(Math.log(K), entropy) as tf.Scalar;
  });
}
