// A LeNet-like net written with cnn-wasm's ops, shared by the benchmark (bench/impls.mjs) and the
// tests (test/training-step.test.ts): conv 5x5 1->8 'same' + ReLU, max pool 2, conv 5x5 8->16 +
// ReLU, max pool 2, dense 400->10, softmax cross-entropy, Adam. Also the same net in TensorFlow.js.
import { randn, rng } from './random.mjs';

export const BATCH = 32;
/** Parameter shapes, cnn-wasm's layout (tfjs takes the biases as vectors). */
export const SHAPES = { W1: [5, 5, 1, 8], b1: [1, 1, 1, 8], W2: [5, 5, 8, 16], b2: [1, 1, 1, 16], W3: [400, 10], b3: [1, 10] };
export const NAMES = Object.keys(SHAPES);
const size = (s) => s.reduce((a, b) => a * b, 1);

/** Floating-point operations of one step (forward, both gradients of each layer, the update), for a GFLOP/s figure. */
export function stepFlops(batch = BATCH) {
  const conv1 = 2 * batch * 28 * 28 * 8 * 25, conv2 = 2 * batch * 10 * 10 * 16 * 200, dense = 2 * batch * 400 * 10;
  // forward; backward: conv1's filter gradient only, conv2's and dense's both gradients
  return conv1 + conv2 + dense + conv1 + 2 * conv2 + 2 * dense;
}

/**
 * Seeded He-scaled weights and a batch of images that look like something: a blob whose position
 * depends on the label, on a little noise. Float32Arrays, and labels as numbers.
 */
export function lenetData(seed, batch = BATCH) {
  const rand = rng(seed);
  const fanIn = { W1: 25, W2: 200, W3: 400 };
  const weights = Object.fromEntries(NAMES.map((n) => {
    const scale = fanIn[n] ? Math.sqrt(2 / fanIn[n]) : 0.1;
    return [n, Float32Array.from(randn(rand, size(SHAPES[n])), (v) => v * scale)];
  }));
  const images = new Float32Array(batch * 28 * 28);
  const labels = [];
  for (let i = 0; i < batch; i++) {
    const label = Math.floor(rand() * 10);
    labels.push(label);
    const cy = 6 + 1.6 * label, cx = 20 - 1.4 * label;
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) images[(i * 28 + y) * 28 + x] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 20) + 0.1 * rand();
  }
  return { weights, images, labels };
}

/** The parameters as tensors of `be`. */
export function lenetParams(be, weights, dtype = 'float32') {
  return Object.fromEntries(NAMES.map((n) => [n, be.tensor(SHAPES[n], weights[n], dtype)]));
}

/**
 * Forward and backward through the net on backend `be`: the loss, the six gradients, the caches and
 * (with `probs`) the softmax probabilities. Every other tensor it makes is left to the caller's tidy().
 */
export function lenetForwardBackward(be, params, x, labels, { probs = false } = {}) {
  const c1 = be.convForward(x, params.W1, params.b1, { stride: 1, pad: 'same', activation: 'relu' });
  const p1 = be.poolForward(c1.Z, { f: 2, stride: 2 });
  const c2 = be.convForward(p1.A, params.W2, params.b2, { stride: 1, pad: 'valid', activation: 'relu' });
  const p2 = be.poolForward(c2.Z, { f: 2, stride: 2 });
  const d = be.denseForward(p2.A, params.W3, params.b3);
  const { loss, dLogits } = be.softmaxCrossEntropy(d.Z, labels);
  const g3 = be.denseBackward(dLogits, d.cache);
  const g2 = be.convBackward(be.poolBackward(g3.dX, p2.cache, 'max', { ties: 'first' }), c2.cache);
  const g1 = be.convBackwardFilter(be.poolBackward(g2.dA, p1.cache, 'max', { ties: 'first' }), c1.cache);
  return {
    loss, grads: { W1: g1.dW, b1: g1.db, W2: g2.dW, b2: g2.db, W3: g3.dW, b3: g3.db },
    caches: { c1: c1.cache, p1: p1.cache, c2: c2.cache, p2: p2.cache, d: d.cache }, probs: probs ? be.softmax(d.Z) : null,
  };
}

/** One training step (forward, backward, Adam) inside be.tidy; returns the loss. */
export function lenetTrainStep(be, params, state, x, labels, learningRate = 1e-3) {
  return be.tidy(() => {
    const { loss, grads } = lenetForwardBackward(be, params, x, labels);
    be.adam(NAMES.map((n) => params[n]), NAMES.map((n) => grads[n]), state, { learningRate });
    return loss;
  });
}

/** The same net's mean softmax cross-entropy in TensorFlow.js, as a function of the six parameters. */
export function tfjsLenetLoss(tf, x, oneHot) {
  const batch = x.shape[0];
  return (W1, b1, W2, b2, W3, b3) => {
    const a1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, W1, 1, 'same'), b1)), 2, 2, 'valid');
    const a2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(a1, W2, 1, 'valid'), b2)), 2, 2, 'valid');
    const z = tf.add(tf.matMul(tf.reshape(a2, [batch, 400]), W3), b3);
    return tf.losses.softmaxCrossEntropy(oneHot, z);
  };
}

/** The parameters as tfjs tensors (biases as vectors). */
export function tfjsLenetParams(tf, weights) {
  return NAMES.map((n) => tf.tensor(weights[n], n.startsWith('b') ? [SHAPES[n].at(-1)] : SHAPES[n]));
}
