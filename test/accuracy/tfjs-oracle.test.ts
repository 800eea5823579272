// An independent oracle: TensorFlow.js on its CPU backend computes conv2d, its input and filter
// gradients, and max/average pooling with their gradients (float32, random data without ties).
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, PoolMode } from '../../src/index.js';
import { absOf, expectWithin, makeBackends, randn, rng, sumBound } from '../helpers.js';

let wasm: Backend, js: Backend;
beforeAll(async () => {
  ({ wasm, js } = await makeBackends());
  // tfjs's PROD flag silences its console messages (the cpu backend's "Hi, looks like you are
  // running TensorFlow.js in Node.js" banner); in tfjs 4.22 it gates nothing else
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const dims = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });

describe('tfjs (cpu backend) as oracle, float32', () => {
  it('conv2d forward, input gradient and filter gradient', () => {
    const cases = fc.record({
      m: dims(1, 3), H: dims(3, 14), W: dims(3, 14), C: dims(1, 19), N: dims(1, 19),
      fH: dims(1, 5), fW: dims(1, 5), sH: dims(1, 3), sW: dims(1, 3), padH: dims(0, 2), padW: dims(0, 2), seed: fc.integer(),
    }).filter((c) => c.fH <= c.H + 2 * c.padH && c.fW <= c.W + 2 * c.padW);
    fc.assert(
      fc.property(cases, (c) => {
        const rand = rng(c.seed);
        const a = randn(rand, c.m * c.H * c.W * c.C), w = randn(rand, c.fH * c.fW * c.C * c.N);
        const hp = { stride: [c.sH, c.sW] as [number, number], pad: [c.padH, c.padW] as [number, number] };
        const A = wasm.tensor([c.m, c.H, c.W, c.C], a), W = wasm.tensor([c.fH, c.fW, c.C, c.N], w), b = wasm.tensor([1, 1, 1, c.N]);
        const { Z, cache } = wasm.convForward(A, W, b, hp);
        const g = randn(rand, Z.size);
        const { dA, dW } = wasm.convBackward(wasm.tensor(Z.shape, g), cache);

        const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [c.padH, c.padH], [c.padW, c.padW], [0, 0]];
        const x = tf.tensor4d(A.toArray(), [c.m, c.H, c.W, c.C]);
        const f = tf.tensor4d(W.toArray(), [c.fH, c.fW, c.C, c.N]);
        const dZ = tf.tensor(Array.from(g, Math.fround), Z.shape as number[]);
        const conv = (xx: tf.Tensor, ff: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, [c.sH, c.sW], pad);
        const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(conv(xx, ff), dZ)))([x, f]);

        // bounds from the same sums over absolute values
        const mag = js.convForward(absOf(js, js.tensor(A.shape, A.data)), absOf(js, js.tensor(W.shape, W.data)), js.tensor(b.shape), hp);
        const magGrad = js.convBackward(absOf(js, js.tensor(Z.shape, g)), mag.cache);
        const tag = JSON.stringify(c);
        expectWithin(Z.data, conv(x, f).dataSync(), sumBound(mag.Z.data, c.fH * c.fW * c.C + 1, 'float32'), `Z ${tag}`);
        expectWithin(dA.data, gx!.dataSync(), sumBound(magGrad.dA.data, c.fH * c.fW * c.N + 1, 'float32'), `dA ${tag}`);
        const P = Z.size / c.N;
        expectWithin(dW.data, gf!.dataSync(), sumBound(magGrad.dW.data, P + 1, 'float32'), `dW ${tag}`);
        tf.dispose([x, f, dZ, gx!, gf!]);
        for (const t of [A, W, b, Z, dA, dW]) t.dispose();
      }),
      { numRuns: 25 },
    );
  });

  it('max and average pooling, forward and gradient', () => {
    const cases = fc.record({
      m: dims(1, 3), H: dims(2, 14), W: dims(2, 14), C: dims(1, 19), fH: dims(1, 4), fW: dims(1, 4), sH: dims(1, 3), sW: dims(1, 3),
      mode: fc.constantFrom<PoolMode>('max', 'average'), seed: fc.integer(),
    }).filter((c) => c.fH <= c.H && c.fW <= c.W);
    fc.assert(
      fc.property(cases, (c) => {
        const rand = rng(c.seed);
        const a = randn(rand, c.m * c.H * c.W * c.C);
        const hp = { f: [c.fH, c.fW] as [number, number], stride: [c.sH, c.sW] as [number, number] };
        const A = wasm.tensor([c.m, c.H, c.W, c.C], a);
        const { A: out, cache } = wasm.poolForward(A, hp, c.mode);
        const g = randn(rand, out.size);
        const dAPrev = wasm.poolBackward(wasm.tensor(out.shape, g), cache);

        const x = tf.tensor4d(A.toArray(), [c.m, c.H, c.W, c.C]);
        const dy = tf.tensor(Array.from(g, Math.fround), out.shape as number[]);
        const pool = (xx: tf.Tensor) =>
          c.mode === 'max' ? tf.maxPool(xx as tf.Tensor4D, [c.fH, c.fW], [c.sH, c.sW], 'valid') : tf.avgPool(xx as tf.Tensor4D, [c.fH, c.fW], [c.sH, c.sW], 'valid');
        const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(pool(xx), dy)))(x);

        const jsA = js.tensor(A.shape, A.data);
        const magFwd = js.poolForward(absOf(js, jsA), hp, c.mode).A.data;
        const magBack = js.poolBackward(absOf(js, js.tensor(out.shape, g)), js.poolForward(jsA, hp, c.mode).cache).data;
        const overlaps = Math.ceil(c.fH / c.sH) * Math.ceil(c.fW / c.sW) + 1;
        const tag = JSON.stringify(c);
        expectWithin(out.data, pool(x).dataSync(), sumBound(magFwd, c.fH * c.fW + 1, 'float32'), `forward ${tag}`);
        expectWithin(dAPrev.data, gx.dataSync(), sumBound(magBack, overlaps + 1, 'float32'), `gradient ${tag}`);
        tf.dispose([x, dy, gx]);
        for (const t of [A, out, dAPrev]) t.dispose();
      }),
      { numRuns: 40 },
    );
  });
});

describe('tfjs (cpu backend) as oracle for the training ops, float32', () => {
  const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

  it('relu and its gradient', () => {
    const rand = rng(41);
    const x = f32(randn(rand, 500)), g = f32(randn(rand, 500));
    const { Y, cache } = wasm.relu(wasm.tensor([500], x));
    const dX = wasm.reluBackward(wasm.tensor([500], g), cache);
    const tx = tf.tensor1d(x), tg = tf.tensor1d(g);
    expectWithin(Y.data, tf.relu(tx).dataSync(), 0, 'relu');
    expectWithin(dX.data, tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tg)))(tx).dataSync(), 0, 'relu gradient');
  });

  it('dense (matMul + bias) and its gradients', () => {
    fc.assert(fc.property(fc.record({ m: dims(1, 20), k: dims(1, 40), n: dims(1, 30), seed: fc.integer() }), (c) => {
      const rand = rng(c.seed);
      const x = f32(randn(rand, c.m * c.k)), w = f32(randn(rand, c.k * c.n)), b = f32(randn(rand, c.n)), g = f32(randn(rand, c.m * c.n));
      const X = wasm.tensor([c.m, c.k], x), W = wasm.tensor([c.k, c.n], w), B = wasm.tensor([1, c.n], b);
      const { Z, cache } = wasm.denseForward(X, W, B);
      const { dX, dW, db } = wasm.denseBackward(wasm.tensor([c.m, c.n], g), cache);
      const tx = tf.tensor2d(x, [c.m, c.k]), tw = tf.tensor2d(w, [c.k, c.n]), tb = tf.tensor1d(b), tg = tf.tensor2d(g, [c.m, c.n]);
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.add(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D), bb);
      const [gx, gw, gb] = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, bb), tg)))([tx, tw, tb]);
      const mag = js.denseForward(absOf(js, js.tensor([c.m, c.k], x)), absOf(js, js.tensor([c.k, c.n], w)), absOf(js, js.tensor([1, c.n], b)));
      const magGrad = js.denseBackward(absOf(js, js.tensor([c.m, c.n], g)), mag.cache);
      // both sides round: twice each sum's bound
      expectWithin(Z.data, f(tx, tw, tb).dataSync(), sumBound(mag.Z.data, 2 * (c.k + 1), 'float32'), 'Z');
      expectWithin(dX.data, gx!.dataSync(), sumBound(magGrad.dX.data, 2 * c.n, 'float32'), 'dX');
      expectWithin(dW.data, gw!.dataSync(), sumBound(magGrad.dW.data, 2 * c.m, 'float32'), 'dW');
      expectWithin(db.data, gb!.dataSync(), sumBound(magGrad.db.data, 2 * c.m, 'float32'), 'db');
      tf.dispose([tx, tw, tb, tg, gx!, gw!, gb!]);
    }), { numRuns: 25 });
  });

  it('softmax cross-entropy: loss and gradient (tf.losses.softmaxCrossEntropy, a batch mean)', () => {
    fc.assert(fc.property(fc.record({ m: dims(1, 16), n: dims(2, 30), seed: fc.integer() }), (c) => {
      const rand = rng(c.seed);
      const z = f32(Array.from(randn(rand, c.m * c.n), (v) => 4 * v));
      const labels = Array.from({ length: c.m }, () => Math.floor(rand() * c.n));
      const oneHot = f32(Array.from({ length: c.m * c.n }, (_, i) => (labels[Math.floor(i / c.n)] === i % c.n ? 1 : 0)));
      const { loss, dLogits } = wasm.softmaxCrossEntropy(wasm.tensor([c.m, c.n], z), labels);
      const tz = tf.tensor2d(z, [c.m, c.n]), ty = tf.tensor2d(oneHot, [c.m, c.n]);
      const tLoss = tf.losses.softmaxCrossEntropy(ty, tz);
      const tGrad = tf.grad((v: tf.Tensor) => tf.losses.softmaxCrossEntropy(ty, v))(tz);
      // logits up to |4 x 5 sigma| = 20: exp's argument rounding (up to 2 |x| eps) dominates; both sides
      const k = 2 * (c.n + 2 * 3 + 5 + 2 * 40);
      expectWithin([loss], tLoss.dataSync(), k * 2 ** -23 * 40, 'loss');
      expectWithin(dLogits.data, tGrad.dataSync(), Array.from(dLogits.data, (v, i) => k * 2 ** -23 * (Math.abs(v) + oneHot[i]! / c.m) + 1e-44), 'dLogits');
      tf.dispose([tz, ty, tLoss, tGrad]);
    }), { numRuns: 25 });
  });

  it("conv2d with 'same' padding: forward, input and filter gradients", () => {
    fc.assert(fc.property(fc.record({
      m: dims(1, 2), H: dims(2, 11), W: dims(2, 11), C: dims(1, 6), N: dims(1, 7), f: dims(1, 5), s: dims(1, 3), seed: fc.integer(),
    }), (c) => {
      const rand = rng(c.seed);
      const a = f32(randn(rand, c.m * c.H * c.W * c.C)), w = f32(randn(rand, c.f * c.f * c.C * c.N)), g0 = randn(rand, 1e4);
      const A = wasm.tensor([c.m, c.H, c.W, c.C], a), W = wasm.tensor([c.f, c.f, c.C, c.N], w), b = wasm.tensor([1, 1, 1, c.N]);
      const hp = { stride: c.s, pad: 'same' } as const;
      const { Z, cache } = wasm.convForward(A, W, b, hp);
      const g = f32(g0.slice(0, Z.size));
      const { dA, dW } = wasm.convBackward(wasm.tensor(Z.shape, g), cache);
      const tx = tf.tensor4d(a, [c.m, c.H, c.W, c.C]), tw = tf.tensor4d(w, [c.f, c.f, c.C, c.N]), tg = tf.tensor(g, Z.shape as number[]);
      const conv = (xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, 'same');
      const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), tg)))([tx, tw]);
      const mag = js.convForward(absOf(js, js.tensor(A.shape, a)), absOf(js, js.tensor(W.shape, w)), js.tensor(b.shape), hp);
      const magGrad = js.convBackward(absOf(js, js.tensor(Z.shape, g)), mag.cache);
      const tag = JSON.stringify(c);
      expect(Z.shape, tag).toEqual(conv(tx, tw).shape);
      expectWithin(Z.data, conv(tx, tw).dataSync(), sumBound(mag.Z.data, 2 * (c.f * c.f * c.C + 1), 'float32'), `Z ${tag}`);
      expectWithin(dA.data, gx!.dataSync(), sumBound(magGrad.dA.data, 2 * (c.f * c.f * c.N + 1), 'float32'), `dA ${tag}`);
      expectWithin(dW.data, gw!.dataSync(), sumBound(magGrad.dW.data, 2 * (Z.size / c.N + 1), 'float32'), `dW ${tag}`);
      tf.dispose([tx, tw, tg, gx!, gw!]);
    }), { numRuns: 25 });
  });

  it("max pooling's gradient with ties: 'first' routes as tfjs does, to the first maximum", () => {
    fc.assert(fc.property(fc.record({ H: dims(2, 9), W: dims(2, 9), C: dims(1, 9), f: dims(1, 3), s: dims(1, 3), seed: fc.integer() }).filter((c) => c.f <= c.H && c.f <= c.W), (c) => {
      const rand = rng(c.seed);
      // a handful of values: windows have several maxima
      const a = f32(Array.from({ length: c.H * c.W * c.C }, () => Math.floor(rand() * 3)));
      const A = wasm.tensor([1, c.H, c.W, c.C], a);
      const { A: out, cache } = wasm.poolForward(A, { f: c.f, stride: c.s });
      const g = f32(randn(rand, out.size));
      const dAPrev = wasm.poolBackward(wasm.tensor(out.shape, g), cache, 'max', { ties: 'first' });
      const tx = tf.tensor4d(a, [1, c.H, c.W, c.C]), tg = tf.tensor(g, out.shape as number[]);
      const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, c.f, c.s, 'valid'), tg)))(tx);
      const overlaps = Math.ceil(c.f / c.s) ** 2;
      const magBack = js.poolBackward(absOf(js, js.tensor(out.shape, g)), js.poolForward(js.tensor(A.shape, a), { f: c.f, stride: c.s }).cache, 'max', { ties: 'first' });
      expectWithin(dAPrev.data, gx.dataSync(), sumBound(magBack.data, 2 * overlaps, 'float32'), JSON.stringify(c));
      tf.dispose([tx, tg, gx]);
    }), { numRuns: 40 });
  });

  it.each(['adam', 'momentum'] as const)('one %s step (tf.train) from the same values', (kind) => {
    const rand = rng(kind === 'adam' ? 51 : 52);
    const p = f32(randn(rand, 300)), g = f32(randn(rand, 300));
    const P = wasm.tensor([300], p), G = wasm.tensor([300], g);
    const variable = tf.variable(tf.tensor1d(p));
    const lr = 0.01;
    let bound: number[];
    if (kind === 'adam') {
      const state = wasm.adamState([P]);
      wasm.adam([P], [G], state, { learningRate: lr });
      tf.train.adam(lr).applyGradients([{ name: variable.name, tensor: tf.tensor1d(g) }]);
      // one step: an update of at most lr (|m / sqrt(v)| is 1 at the first step), within 12 roundings on
      // either side; tfjs also takes the bias corrections 1 - beta^t in float32, where 1 - 0.999 loses
      // beta2 / (1 - beta2) units of eps (and 1 - 0.9, beta1 / (1 - beta1)): half the first, and the
      // second, reach the update
      const corrections = 0.999 / 0.001 / 2 + 0.9 / 0.1;
      bound = Array.from(p, (v) => (2 * Math.abs(v) + (24 + corrections) * lr) * 2 ** -23);
    } else {
      // two steps from zero velocity, so the velocity of the first matters in the second
      const state = wasm.sgdState([P]);
      const opt = tf.train.momentum(lr, 0.9);
      for (let step = 0; step < 2; step++) {
        wasm.sgd([P], [G], { learningRate: lr, momentum: 0.9, state });
        opt.applyGradients([{ name: variable.name, tensor: tf.tensor1d(g) }]);
      }
      // each step rounds v and p a few times (4 each side); the velocity reaches 1.9 |g|
      bound = Array.from(p, (v, i) => 2 * 8 * (Math.abs(v) + 3 * lr * Math.abs(g[i]!)) * 2 ** -23);
    }
    expectWithin(P.data, variable.dataSync(), bound, kind);
    variable.dispose();
  });
});

