// A whole training step of a LeNet-like net written with the ops inside be.tidy: conv 5x5 1->8
// 'same' + ReLU, max pool 2, conv 5x5 8->16 + ReLU, max pool 2, dense 400->10, softmax
// cross-entropy, Adam. Its gradients match TensorFlow.js's (cpu backend) on one batch within bounds
// derived by running the same step on magnitudes, and 200 steps leave memory() as it was.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DType, Tensor } from '../src/index.js';
import { BATCH, NAMES, lenetData, lenetForwardBackward, lenetParams, lenetTrainStep, tfjsLenetLoss, tfjsLenetParams, type LenetStep, type Name } from '../tools/lenet.mjs';
import { EPS, expectWithin, makeBackends } from './helpers.js';

let wasm: Backend, js: Backend;
beforeAll(async () => {
  ({ wasm, js } = await makeBackends());
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

type Step = LenetStep;

/** TensorFlow.js's loss and gradients for the same net and batch. */
function tfjsGradients(d: ReturnType<typeof lenetData>) {
  const x = tf.tensor4d(d.images, [BATCH, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10);
  const { value, grads } = tf.valueAndGrads(tfjsLenetLoss(tf, x, y))(tfjsLenetParams(tf, d.weights));
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
  const p = step.probs!.data;
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
    const d = lenetData(3);
    const ref = tfjsGradients(d);
    for (const be of [wasm, js]) {
      const params = lenetParams(be, d.weights);
      const x = be.tensor([BATCH, 28, 28, 1], d.images);
      const step = lenetForwardBackward(be, params, x, d.labels, { probs: true });
      const bounds = gradientBounds(step, params, x, d.labels, be.name, 'tfjs', 'float32');
      for (const n of NAMES) expectWithin(step.grads[n].data, ref.grads[n], bounds[n], `${be.name} ${n}`);
      expect(Math.abs(step.loss - ref.loss)).toBeLessThan(1e-4);
    }
  });

  // float32's worst-case bounds over sums of thousands of terms are wide for the wasm kernels; in
  // float64 the same step, wasm against the js reference, is held to bounds a billion times tighter,
  // which any wrong mask, route or flattening order would break
  it('in float64, the wasm step equals the js reference within the derived bounds', () => {
    const d = lenetData(5);
    const run = (be: Backend) => {
      const params = lenetParams(be, d.weights, 'float64');
      const x = be.tensor([BATCH, 28, 28, 1], d.images, 'float64');
      return { params, x, step: lenetForwardBackward(be, params, x, d.labels, { probs: true }) };
    };
    const got = run(wasm), ref = run(js);
    const bounds = gradientBounds(got.step, got.params, got.x, d.labels, 'wasm', 'js', 'float64');
    for (const n of NAMES) expectWithin(got.step.grads[n].data, ref.step.grads[n].data, bounds[n], `wasm float64 ${n}`);
  });

  it.each(['wasm', 'js'] as const)('on %s, 200 steps inside tidy leave memory() exactly as before, and the loss falls', (name) => {
    const be = name === 'wasm' ? wasm : js;
    const d = lenetData(4);
    const params = lenetParams(be, d.weights);
    const state = be.adamState(NAMES.map((n) => params[n]));
    const x = be.tensor([BATCH, 28, 28, 1], d.images);
    const steps = name === 'wasm' ? 200 : 20;
    const first = lenetTrainStep(be, params, state, x, d.labels);
    const before = be.memory();
    let last = first;
    for (let i = 1; i < steps; i++) last = lenetTrainStep(be, params, state, x, d.labels);
    expect(be.memory()).toEqual(before);
    expect(state.step).toBe(steps);
    expect(last).toBeLessThan(first);
  });
});
