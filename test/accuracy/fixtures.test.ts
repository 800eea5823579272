// Known answers: test/fixtures/*.json, written by tools/make_fixtures.py (the seed's algorithms in
// numpy float64), including the course's published checks. Both backends, both dtypes.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DType, PoolMode } from '../../src/index.js';
import { absOf, EPS, expectExact, expectWithin, makeBackends, sumBound } from '../helpers.js';

interface T { shape: number[]; data: number[] }
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'));

/** Half a unit in the last printed decimal of a published value. */
const printed = (decimals: number) => 0.5 * 10 ** -decimals;
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

let backends: Backend[];
let js: Backend;
beforeAll(async () => {
  const b = await makeBackends();
  backends = [b.wasm, b.js];
  js = b.js;
});

/** Extra roundings when the float64 inputs are stored as float32: one per factor of a product. */
const inputRoundings = (dtype: DType) => (dtype === 'float32' ? 2 : 0);
/** The fixture's values as given, rounded to the dtype (what a float32 tensor can hold). */
const asDType = (data: number[], dtype: DType) => (dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data));

describe.each<DType>(['float64', 'float32'])('numpy fixtures, %s', (dtype) => {
  const tensor = (be: Backend, t: T) => be.tensor(t.shape, t.data, dtype);

  it('zeroPad', () => {
    const f = fixture('zero_pad');
    for (const be of backends) {
      const out = be.zeroPad(tensor(be, f.X), f.pad);
      expect(out.shape).toEqual(f.out.shape);
      expectExact(out.data, asDType(f.out.data, dtype), `${be.name} zeroPad`);
    }
  });

  it('convSingleStep (published Z = -6.99908945068)', () => {
    const f = fixture('conv_single_step');
    let magnitude = Math.abs(f.b.data[0]);
    f.aSlice.data.forEach((v: number, i: number) => (magnitude += Math.abs(v * f.W.data[i])));
    const k = f.aSlice.data.length + 1 + inputRoundings(dtype) + 1;
    for (const be of backends) {
      const z = be.convSingleStep(tensor(be, f.aSlice), tensor(be, f.W), tensor(be, f.b));
      expectWithin([z], [f.Z], k * EPS[dtype] * magnitude, `${be.name} convSingleStep`);
      if (dtype === 'float64') expectWithin([z], [f.published.Z], printed(11) + k * EPS[dtype] * magnitude, 'published');
    }
  });

  it('convForward (published mean(Z) and Z[0, 2, 1])', () => {
    const f = fixture('conv_forward');
    const [fH, fW, C] = f.W.shape;
    const k = fH * fW * C + 1 + inputRoundings(dtype);
    for (const be of backends) {
      const A = tensor(be, f.A), W = tensor(be, f.W), b = tensor(be, f.b);
      const { Z } = be.convForward(A, W, b, f.hparameters);
      const mag = js.convForward(absOf(js, js.tensor(f.A.shape, f.A.data, 'float64')), absOf(js, js.tensor(f.W.shape, f.W.data, 'float64')),
        absOf(js, js.tensor(f.b.shape, f.b.data, 'float64')), f.hparameters).Z.data;
      expect(Z.shape).toEqual(f.Z.shape);
      const bound = sumBound(mag, k, dtype);
      expectWithin(Z.data, f.Z.data, bound, `${be.name} Z`);
      if (dtype === 'float64') {
        const n = Z.size;
        expectWithin([mean(Z.data)], [f.published.meanZ], mean(bound) + n * EPS.float64 * mean(mag) + printed(16), 'published mean(Z)');
        const [, nH, nW, N] = Z.shape as number[];
        const at = (2 * nW! + 1) * N!;
        expectWithin(Z.data.slice(at, at + N!), f.published.Z021, printed(8), 'published Z[0, 2, 1]');
      }
    }
  });

  const backwardCase = (name: string, published: boolean) => () => {
    const f = fixture(name);
    const [fH, fW, , N] = f.W.shape;
    const dZdata: T = f.dZ ?? f.Z;
    const f64 = (t: T) => js.tensor(t.shape, t.data, 'float64');
    const mag = js.convForward(absOf(js, f64(f.A)), absOf(js, f64(f.W)), absOf(js, f64(f.b)), f.hparameters);
    const magGrad = js.convBackward(absOf(js, f64(dZdata)), mag.cache);
    const [m, nH, nW] = dZdata.shape as number[];
    for (const be of backends) {
      const { cache } = be.convForward(tensor(be, f.A), tensor(be, f.W), tensor(be, f.b), f.hparameters);
      const { dA, dW, db } = be.convBackward(tensor(be, dZdata), cache);
      const r = inputRoundings(dtype);
      const bA = sumBound(magGrad.dA.data, fH * fW * N + r, dtype);
      const bW = sumBound(magGrad.dW.data, m! * nH! * nW! + r, dtype);
      const bB = sumBound(magGrad.db.data, m! * nH! * nW! + 1, dtype);
      expectWithin(dA.data, f.dA.data, bA, `${be.name} dA`);
      expectWithin(dW.data, f.dW.data, bW, `${be.name} dW`);
      expectWithin(db.data, f.db.data, bB, `${be.name} db`);
      if (published && dtype === 'float64') {
        // dZ = Z here; Z itself carries Z's rounding, which the fixture's dZ (its exact float64 Z) does not
        expectWithin([mean(dA.data)], [f.published.meanDA], printed(11) + mean(bA), 'published mean(dA)');
        expectWithin([mean(dW.data)], [f.published.meanDW], printed(11) + mean(bW), 'published mean(dW)');
        expectWithin([mean(db.data)], [f.published.meanDB], printed(11) + mean(bB), 'published mean(db)');
      }
    }
  };
  it('convBackward with dZ = Z, pad 2, stride 2 (published means)', backwardCase('conv_backward', true));
  it('convBackward with pad 0 and stride 3 > f 2', backwardCase('conv_backward_pad0_stride_gt_f', false));

  it.each(['pool_forward_s1', 'pool_forward_s2'])('poolForward %s', (name) => {
    const f = fixture(name);
    for (const be of backends) {
      for (const mode of ['max', 'average'] as PoolMode[]) {
        const { A } = be.poolForward(tensor(be, f.A), f.hparameters, mode);
        expect(A.shape).toEqual(f[mode].shape);
        if (mode === 'max') expectExact(A.data, asDType(f.max.data, dtype), `${be.name} max`);
        else {
          const mag = js.poolForward(absOf(js, js.tensor(f.A.shape, f.A.data, 'float64')), f.hparameters, 'average').A.data;
          expectWithin(A.data, f.average.data, sumBound(mag, f.hparameters.f ** 2 + 1 + (dtype === 'float32' ? 1 : 0), dtype), `${be.name} average`);
        }
      }
    }
  });

  it('createMaskFromWindow and distributeValue', () => {
    const m = fixture('create_mask_from_window');
    const d = fixture('distribute_value');
    for (const be of backends) {
      expectExact(be.createMaskFromWindow(tensor(be, m.x)).data, asDType(m.mask.data.map(Number), dtype), `${be.name} mask`);
      expectExact(be.distributeValue(d.dz, d.shape, dtype).data, asDType(d.out.data, dtype), `${be.name} distributeValue`);
    }
  });

  const poolBackwardCheck = (be: Backend, f: Record<string, T & Record<string, unknown>> & { hparameters: { f: number; stride: number } }, expected: Record<PoolMode, T>) => {
    const overlaps = Math.ceil(f.hparameters.f / f.hparameters.stride) ** 2 + 1 + (dtype === 'float32' ? 1 : 0);
    const dA64 = js.tensor(f['dA']!.shape, f['dA']!.data, 'float64');
    for (const mode of ['max', 'average'] as PoolMode[]) {
      const { cache } = be.poolForward(tensor(be, f['A']!), f.hparameters, mode);
      const got = be.poolBackward(tensor(be, f['dA']!), cache);
      const magCache = js.poolForward(js.tensor(f['A']!.shape, f['A']!.data, 'float64'), f.hparameters, mode).cache;
      const mag = js.poolBackward(absOf(js, dA64), magCache).data;
      expectWithin(got.data, expected[mode].data, sumBound(mag, overlaps, dtype), `${be.name} ${mode}`);
    }
  };

  it('poolBackward (published dA_prev[1, 1], average and max)', () => {
    const f = fixture('pool_backward');
    for (const be of backends) {
      poolBackwardCheck(be, f, { max: f.max, average: f.average });
      if (dtype === 'float64') {
        for (const mode of ['average', 'max'] as PoolMode[]) {
          const { cache } = be.poolForward(tensor(be, f.A), f.hparameters, mode);
          const d = be.poolBackward(tensor(be, f.dA), cache).data;
          // dA_prev[1, 1] of shape (3, 2): rows of the (5, 5, 3, 2) gradient at i = 1, h = 1
          const start = ((1 * 5 + 1) * 3) * 2;
          expectWithin(d.slice(start, start + 6), f.published[mode === 'max' ? 'max11' : 'average11'].flat(), printed(8), `published ${mode}`);
        }
      }
    }
  });

  it('pooling on windows whose values are all negative (stride < f)', () => {
    const f = fixture('pool_all_negative');
    for (const be of backends) {
      expectExact(be.poolForward(tensor(be, f.A), f.hparameters, 'max').A.data, asDType(f.max.data, dtype), `${be.name} max`);
      poolBackwardCheck(be, f, { max: f.dA_prev_max, average: f.dA_prev_average });
    }
  });
});
