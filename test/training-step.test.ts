// A whole training step of a LeNet-like net written with the ops inside be.tidy: conv 5x5 1->8
// 'same' + ReLU, max pool 2, conv 5x5 8->16 + ReLU, max pool 2, dense 400->10, softmax
// cross-entropy, Adam. Its gradients match TensorFlow.js's (cpu backend) on one batch within bounds
// derived by running the same step on magnitudes, and 200 steps leave memory() as it was.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AdamState, Backend, ConvCache, DenseCache, DType, PoolCache, Tensor } from '../src/index.js';
import { EPS, expectWithin, makeBackends, randn, rng } from './helpers.js';

let wasm: Backend, js: Backend;
beforeAll(async () => {
  ({ wasm, js } = await makeBackends());
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const BATCH = 32;
const SHAPES = { W1: [5, 5, 1, 8], b1: [1, 1, 1, 8], W2: [5, 5, 8, 16], b2: [1, 1, 1, 16], W3: [400, 10], b3: [1, 10] } as const;
type Name = keyof typeof SHAPES;
const NAMES = Object.keys(SHAPES) as Name[];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Seeded weights (He-scaled) and a batch of smooth images with labels. */
function data(seed: number) {
  const rand = rng(seed);
  const weights = Object.fromEntries(NAMES.map((n) => {
    const fanIn = n === 'W3' ? 400 : n === 'W2' ? 200 : n === 'W1' ? 25 : 0;
    const scale = fanIn ? Math.sqrt(2 / fanIn) : 0.1;
    return [n, Float32Array.from(randn(rand, size(SHAPES[n])), (v) => v * scale)];
  })) as Record<Name, Float32Array>;
  const images = new Float32Array(BATCH * 28 * 28);
  const labels: number[] = [];
  for (let i = 0; i < BATCH; i++) {
    const label = Math.floor(rand() * 10);
    labels.push(label);
    // a blob whose position depends on the label, and noise
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const cy = 6 + 1.6 * label, cx = 20 - 1.4 * label;
        images[(i * 28 + y) * 28 + x] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 20) + 0.1 * rand();
      }
  }
  return { weights, images, labels };
}

interface Step {
  loss: number;
  grads: Record<Name, Tensor>;
  caches: { c1: ConvCache; p1: PoolCache; c2: ConvCache; p2: PoolCache; d: DenseCache };
  probs: Tensor;
}

/** Forward and backward through the net; everything but what it returns is disposed by tidy. */
function forwardBackward(be: Backend, params: Record<Name, Tensor>, x: Tensor, labels: number[]): Step {
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
    caches: { c1: c1.cache, p1: p1.cache, c2: c2.cache, p2: p2.cache, d: d.cache }, probs: be.softmax(d.Z),
  };
}

/** One training step: forward, backward, Adam; returns the loss. */
function trainStep(be: Backend, params: Record<Name, Tensor>, state: AdamState, x: Tensor, labels: number[]): number {
  return be.tidy(() => {
    const { loss, grads } = forwardBackward(be, params, x, labels);
    be.adam(NAMES.map((n) => params[n]), NAMES.map((n) => grads[n]), state, { learningRate: 1e-3 });
    return loss;
  });
}

/** The same net in TensorFlow.js: its loss and gradients. */
function tfjsGradients(d: ReturnType<typeof data>) {
  const v = Object.fromEntries(NAMES.map((n) => [n, tf.tensor(d.weights[n], n === 'b1' || n === 'b2' ? [SHAPES[n][3]] : n === 'b3' ? [10] : [...SHAPES[n]])])) as Record<Name, tf.Tensor>;
  const x = tf.tensor4d(d.images, [BATCH, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10);
  const loss = (W1: tf.Tensor, b1: tf.Tensor, W2: tf.Tensor, b2: tf.Tensor, W3: tf.Tensor, b3: tf.Tensor) => {
    const a1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, W1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D, 2, 2, 'valid');
    const a2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(a1, W2 as tf.Tensor4D, 1, 'valid'), b2)) as tf.Tensor4D, 2, 2, 'valid');
    const z = tf.add(tf.matMul(tf.reshape(a2, [BATCH, 400]), W3 as tf.Tensor2D), b3);
    return tf.losses.softmaxCrossEntropy(y, z) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(loss)(NAMES.map((n) => v[n]));
  return { loss: value.dataSync()[0]!, grads: Object.fromEntries(NAMES.map((n, i) => [n, grads[i]!.dataSync()])) as Record<Name, Float32Array> };
}

const abs = (be: Backend, t: Tensor) => be.tensor(t.shape, Array.from(t.data, Math.abs), 'float64');
const f64 = (be: Backend, t: Tensor) => be.tensor(t.shape, t.data, 'float64');

/**
 * How many roundings reach a gradient on any path through the step, per implementation; a sum of n
 * float32 terms counts n (its first-order error is within n eps of the sum of the terms' magnitudes),
 * a value rounded once when stored counts 1.
 *   wasm (float32 sums in the kernels): forward conv1 25 + 1, conv2 200 + 1, dense 400 + 1; softmax
 *     cross-entropy n + 2 x exp's 3 ulps + 6 (and its arguments' rounding, 2 |logit| eps); backward,
 *     on the longest path (to W1): dense dX 10, pool 1, conv2 dA 25 x 16, pool 1, conv1 dW in
 *     chunks of 252 pixels then 100 chunks (conv2 dW: 250 and 13; db1: blocks of 256 pixels, 128 + 98 + 2).
 *   js (float64 sums, each op's output rounded once): forward 3, loss 2, backward 5.
 *   TensorFlow.js's cpu backend (float64 sums; every op's output rounded to float32): forward conv2d,
 *     add, conv2d, add, matMul, add: 6; loss (log-softmax and its gradient): 10; backward matMul,
 *     maxPoolGrad, conv2DBackpropInput, maxPoolGrad, conv2DBackpropFilter, sum: 6.
 */
const ROUNDINGS = {
  wasm: { forward: 26 + 201 + 401, loss: 10 + 2 * 3 + 6, backward: 10 + 1 + 400 + 1 + 352 },
  js: { forward: 3, loss: 2, backward: 5 },
  tfjs: { forward: 6, loss: 10, backward: 6 },
};

/**
 * Bounds on the difference between a backend's gradients and TensorFlow.js's, by running the step on
 * magnitudes in float64 (js): the forward pass on |x| and |W| (ReLU masks and pooling routes taken
 * from the real pass) gives each activation's magnitude and the logits' (zMag); the error reaching
 * dLogits = (p - y) / m is the loss's roundings on p + y and, from logits off by up to
 * forward eps zMag, 2 p of that; the backward pass of that error, plus (forward + backward) eps times
 * the backward pass of |dLogits| on the magnitudes, bounds each gradient's error to first order.
 * Both sides' roundings are counted.
 */
function gradientBounds(step: Step, params: Record<Name, Tensor>, x: Tensor, labels: number[], ours: keyof typeof ROUNDINGS, theirs: keyof typeof ROUNDINGS, dtype: DType): Record<Name, Float64Array> {
  const { c1, p1, c2, p2 } = step.caches;
  const eps = EPS[dtype];
  const R = { forward: ROUNDINGS[ours].forward + ROUNDINGS[theirs].forward, loss: ROUNDINGS[ours].loss + ROUNDINGS[theirs].loss, backward: ROUNDINGS[ours].backward + ROUNDINGS[theirs].backward };
  const W = Object.fromEntries(NAMES.map((n) => [n, abs(js, params[n])])) as Record<Name, Tensor>;
  // forward magnitudes; the masks of the ReLUs (their caches' Z) and the pools' routes (their A_prev) are the real pass's
  const realZ1 = f64(js, c1.Z), realZ2 = f64(js, c2.Z);
  const masked = (t: Tensor, real: Tensor) => js.tensor(t.shape, Array.from(t.data, (v, i) => (real.data[i]! > 0 ? v : 0)), 'float64');
  const z1 = masked(js.convForward(abs(js, x), W.W1, W.b1, { stride: 1, pad: 'same' }).Z, realZ1);
  const a1 = js.poolForward(z1, { f: 2, stride: 2 }).A;
  const z2 = masked(js.convForward(a1, W.W2, W.b2, { stride: 1, pad: 'valid' }).Z, realZ2);
  const a2 = js.poolForward(z2, { f: 2, stride: 2 }).A;
  const logitsMag = js.denseForward(a2, W.W3, W.b3).Z.data;
  const p = step.probs.data;
  const dlError: number[] = [], dlMag: number[] = [];
  for (let r = 0; r < BATCH; r++) {
    let zMax = 0;
    for (let j = 0; j < 10; j++) zMax = Math.max(zMax, logitsMag[r * 10 + j]!);
    for (let j = 0; j < 10; j++) {
      const pj = p[r * 10 + j]!, yj = labels[r] === j ? 1 : 0;
      dlError.push(eps * ((R.loss + 2 * zMax) * (pj + yj) + 2 * pj * R.forward * zMax) / BATCH);
      dlMag.push((pj + yj) / BATCH);
    }
  }
  // the backward pass on magnitudes: caches of |W| and the forward magnitudes, with the real masks and routes
  const backward = (dLogits: number[]) => {
    const g3 = js.denseBackward(js.tensor([BATCH, 10], dLogits, 'float64'), { kind: 'dense', X: a2, W: W.W3, b: W.b3, Z: W.b3, activation: 'linear' });
    const r2 = js.poolBackward(g3.dX, { kind: 'pool', A_prev: f64(js, p2.A_prev), hparameters: p2.hparameters, mode: 'max' }, 'max', { ties: 'first' });
    const g2 = js.convBackward(r2, { ...c2, A_prev: a1, W: W.W2, b: W.b2, Z: realZ2 });
    const r1 = js.poolBackward(g2.dA, { kind: 'pool', A_prev: f64(js, p1.A_prev), hparameters: p1.hparameters, mode: 'max' }, 'max', { ties: 'first' });
    const g1 = js.convBackwardFilter(r1, { ...c1, A_prev: abs(js, x), W: W.W1, b: W.b1, Z: realZ1 });
    return { W1: g1.dW.data, b1: g1.db.data, W2: g2.dW.data, b2: g2.db.data, W3: g3.dW.data, b3: g3.db.data } as Record<Name, Float64Array>;
  };
  const fromError = backward(dlError), fromMag = backward(dlMag);
  return Object.fromEntries(NAMES.map((n) => [n, Float64Array.from(fromMag[n], (v, i) => fromError[n][i]! + (R.forward + R.backward) * eps * v)])) as Record<Name, Float64Array>;
}

describe('a LeNet-like training step made of the ops', () => {
  it("its gradients are TensorFlow.js's within the derived bounds, on both backends", () => {
    const d = data(3);
    const ref = tfjsGradients(d);
    for (const be of [wasm, js]) {
      const params = Object.fromEntries(NAMES.map((n) => [n, be.tensor(SHAPES[n], d.weights[n])])) as Record<Name, Tensor>;
      const x = be.tensor([BATCH, 28, 28, 1], d.images);
      const step = forwardBackward(be, params, x, d.labels);
      const bounds = gradientBounds(step, params, x, d.labels, be.name, 'tfjs', 'float32');
      for (const n of NAMES) expectWithin(step.grads[n].data, ref.grads[n], bounds[n], `${be.name} ${n}`);
      expect(Math.abs(step.loss - ref.loss)).toBeLessThan(1e-4);
    }
  });

  // float32's worst-case bounds over sums of thousands of terms are wide for the wasm kernels; in
  // float64 the same step, wasm against the js reference, is held to bounds a billion times tighter,
  // which any wrong mask, route or flattening order would break
  it('in float64, the wasm step equals the js reference within the derived bounds', () => {
    const d = data(5);
    const run = (be: Backend) => {
      const params = Object.fromEntries(NAMES.map((n) => [n, be.tensor(SHAPES[n], d.weights[n], 'float64')])) as Record<Name, Tensor>;
      const x = be.tensor([BATCH, 28, 28, 1], d.images, 'float64');
      return { params, x, step: forwardBackward(be, params, x, d.labels) };
    };
    const got = run(wasm), ref = run(js);
    const bounds = gradientBounds(got.step, got.params, got.x, d.labels, 'wasm', 'js', 'float64');
    for (const n of NAMES) expectWithin(got.step.grads[n].data, ref.step.grads[n].data, bounds[n], `wasm float64 ${n}`);
  });

  it.each(['wasm', 'js'] as const)('on %s, 200 steps inside tidy leave memory() exactly as before, and the loss falls', (name) => {
    const be = name === 'wasm' ? wasm : js;
    const d = data(4);
    const params = Object.fromEntries(NAMES.map((n) => [n, be.tensor(SHAPES[n], d.weights[n])])) as Record<Name, Tensor>;
    const state = be.adamState(NAMES.map((n) => params[n]));
    const x = be.tensor([BATCH, 28, 28, 1], d.images);
    const steps = name === 'wasm' ? 200 : 20;
    const first = trainStep(be, params, state, x, d.labels);
    const before = be.memory();
    let last = first;
    for (let i = 1; i < steps; i++) last = trainStep(be, params, state, x, d.labels);
    expect(be.memory()).toEqual(before);
    expect(state.step).toBe(steps);
    expect(last).toBeLessThan(first);
  });
});
