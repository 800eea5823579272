// An independent oracle: TensorFlow.js on its CPU backend computes conv2d, its input and filter
// gradients, and max/average pooling with their gradients (float32, random data without ties).
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
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
