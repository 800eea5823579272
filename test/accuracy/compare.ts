// One comparison of the wasm backend against the js reference, shared by the property test and
// the tile-edge test: conv forward and all three gradients, each within its derived bound; the
// split backward ops (convBackwardInput, convBackwardFilter) give exactly convBackward's values.
import type { Activation, Backend, DType, Padding, Pair } from '../../src/index.js';
import { absOf, copyTo, expectExact, expectWithin, randn, rng, sumBound } from '../helpers.js';

export interface ConvCase {
  m: number; H: number; W: number; C: number; N: number;
  fH: number; fW: number; sH: number; sW: number; padH: number; padW: number;
  dtype: DType; seed: number;
  /** Write stride and pad as numbers when both sides agree (the seed's form). */
  square?: boolean;
  /** Padding given otherwise ('same', 'valid' or 4-sided); padH and padW are then unused. */
  padding?: Padding;
  activation?: Activation;
}

const pair = (h: number, w: number, asNumber: boolean | undefined): Pair => (h === w && asNumber ? h : [h, w]);

export function compareConv(wasm: Backend, js: Backend, c: ConvCase): void {
  const rand = rng(c.seed);
  const hp = { stride: pair(c.sH, c.sW, c.square), pad: c.padding ?? pair(c.padH, c.padW, c.square), activation: c.activation ?? 'linear' };
  const A = js.tensor([c.m, c.H, c.W, c.C], randn(rand, c.m * c.H * c.W * c.C), c.dtype);
  const W = js.tensor([c.fH, c.fW, c.C, c.N], randn(rand, c.fH * c.fW * c.C * c.N), c.dtype);
  const b = js.tensor([1, 1, 1, c.N], randn(rand, c.N), c.dtype);
  const ref = js.convForward(A, W, b, hp);
  const dZ = js.tensor(ref.Z.shape, randn(rand, ref.Z.size), c.dtype);
  const refGrad = js.convBackward(dZ, ref.cache);
  // magnitudes: the same sums over absolute values bound each result's rounding (a ReLU only
  // lowers them); the gradients' flow through the ReLU's mask, so dZ is masked as the reference's is
  const linear = { ...hp, activation: 'linear' as const };
  const mag = js.convForward(absOf(js, A), absOf(js, W), absOf(js, b), linear);
  const reaching = c.activation === 'relu' ? js.reluBackward(dZ, js.relu(ref.Z).cache) : dZ;
  const magGrad = js.convBackward(absOf(js, reaching), mag.cache);

  const got = wasm.convForward(copyTo(wasm, A), copyTo(wasm, W), copyTo(wasm, b), hp);
  const dZw = copyTo(wasm, dZ);
  // the backward pass from the reference's Z: a value within rounding of 0 could take the other
  // side of the ReLU on wasm, and the gradient compared would be another function
  const cache = c.activation === 'relu' ? { ...got.cache, Z: copyTo(wasm, ref.Z) } : got.cache;
  const gotGrad = wasm.convBackward(dZw, cache);
  const P = ref.Z.size / c.N;
  const tag = JSON.stringify(c);
  expectWithin(got.Z.data, ref.Z.data, sumBound(mag.Z.data, c.fH * c.fW * c.C + 1, c.dtype), `Z ${tag}`);
  expectWithin(gotGrad.dA.data, refGrad.dA.data, sumBound(magGrad.dA.data, c.fH * c.fW * c.N, c.dtype), `dA ${tag}`);
  expectWithin(gotGrad.dW.data, refGrad.dW.data, sumBound(magGrad.dW.data, P, c.dtype), `dW ${tag}`);
  expectWithin(gotGrad.db.data, refGrad.db.data, sumBound(magGrad.db.data, P, c.dtype), `db ${tag}`);
  for (const [be, dz, ca, whole] of [[wasm, dZw, cache, gotGrad], [js, dZ, ref.cache, refGrad]] as const) {
    const dA = be.convBackwardInput(dz, ca);
    const { dW, db } = be.convBackwardFilter(dz, ca);
    expectExact(dA.data, whole.dA.data, `${be.name} convBackwardInput ${tag}`);
    expectExact(dW.data, whole.dW.data, `${be.name} convBackwardFilter dW ${tag}`);
    expectExact(db.data, whole.db.data, `${be.name} convBackwardFilter db ${tag}`);
    for (const t of [dA, dW, db]) t.dispose();
  }
  for (const t of [got.Z, gotGrad.dA, gotGrad.dW, gotGrad.db, got.cache.A_prev, got.cache.W, got.cache.b, dZw]) t.dispose();
}
