// Property tests: on random shapes and hyperparameters, every op of the wasm backend agrees with the
// js reference. Sums agree within their derived rounding bound; max pooling, the mask and padding exactly.
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import type { Backend, DType, PoolMode } from '../../src/index.js';
import { absOf, copyTo, expectExact, expectWithin, makeBackends, randn, rng, sizeOf, sumBound } from '../helpers.js';
import { compareConv } from './compare.js';

let wasm: Backend, js: Backend;
beforeAll(async () => ({ wasm, js } = await makeBackends()));

const dtype = fc.constantFrom<DType>('float32', 'float64');
/** A hyperparameter as the user may write it: a number when both sides agree, else a pair. */
const pair = (h: number, w: number, asNumber: boolean) => (h === w && asNumber ? h : ([h, w] as [number, number]));
/** Keeps a JS-reference case under ~4 M multiply-adds so the suite stays quick. */
const MAX_MACS = 4e6;

const convCase = fc
  .record({
    m: fc.integer({ min: 1, max: 5 }), H: fc.integer({ min: 1, max: 20 }), W: fc.integer({ min: 1, max: 20 }),
    C: fc.integer({ min: 1, max: 40 }), N: fc.integer({ min: 1, max: 40 }),
    fH: fc.integer({ min: 1, max: 7 }), fW: fc.integer({ min: 1, max: 7 }),
    sH: fc.integer({ min: 1, max: 4 }), sW: fc.integer({ min: 1, max: 4 }),
    padH: fc.integer({ min: 0, max: 3 }), padW: fc.integer({ min: 0, max: 3 }),
    square: fc.boolean(), dtype, seed: fc.integer(),
  })
  .map((c) => (c.square ? { ...c, fW: c.fH, sW: c.sH, padW: c.padH } : c))
  .filter((c) => c.fH <= c.H + 2 * c.padH && c.fW <= c.W + 2 * c.padW)
  .filter((c) => {
    const nH = Math.floor((c.H + 2 * c.padH - c.fH) / c.sH) + 1, nW = Math.floor((c.W + 2 * c.padW - c.fW) / c.sW) + 1;
    return c.m * nH * nW * c.N * c.fH * c.fW * c.C <= MAX_MACS;
  });

describe(`wasm vs js (property-based)`, () => {
  it('convForward and convBackward agree within the rounding bound of their sums', () => {
    fc.assert(
      fc.property(convCase, (c) => compareConv(wasm, js, c)),
      { numRuns: 200 },
    );
  });

  const poolCase = fc
    .record({
      m: fc.integer({ min: 1, max: 5 }), H: fc.integer({ min: 1, max: 20 }), W: fc.integer({ min: 1, max: 20 }),
      C: fc.integer({ min: 1, max: 40 }), fH: fc.integer({ min: 1, max: 7 }), fW: fc.integer({ min: 1, max: 7 }),
      sH: fc.integer({ min: 1, max: 4 }), sW: fc.integer({ min: 1, max: 4 }), square: fc.boolean(),
      mode: fc.constantFrom<PoolMode>('max', 'average'), ties: fc.boolean(), dtype, seed: fc.integer(),
    })
    .map((c) => (c.square ? { ...c, fW: c.fH, sW: c.sH } : c))
    .filter((c) => c.fH <= c.H && c.fW <= c.W);

  it('poolForward (max exact, average within its bound) and poolBackward (both modes)', () => {
    fc.assert(
      fc.property(poolCase, (c) => {
        const rand = rng(c.seed);
        const n = c.m * c.H * c.W * c.C;
        // with `ties`, values come from a handful of integers so windows have several maxima
        const values = c.ties ? Float64Array.from({ length: n }, () => Math.floor(rand() * 4) - 2) : randn(rand, n);
        const hp = { f: pair(c.fH, c.fW, c.square), stride: pair(c.sH, c.sW, c.square) };
        const A = js.tensor([c.m, c.H, c.W, c.C], values, c.dtype);
        const ref = js.poolForward(A, hp, c.mode);
        const dA = js.tensor(ref.A.shape, randn(rand, ref.A.size), c.dtype);
        const refBack = js.poolBackward(dA, ref.cache);
        const magFwd = js.poolForward(absOf(js, A), hp, c.mode);
        const magBack = js.poolBackward(absOf(js, dA), ref.cache);

        const got = wasm.poolForward(copyTo(wasm, A), hp, c.mode);
        const gotBack = wasm.poolBackward(copyTo(wasm, dA), got.cache);
        const tag = JSON.stringify(c);
        if (c.mode === 'max') expectExact(got.A.data, ref.A.data, `max pool ${tag}`);
        else expectWithin(got.A.data, ref.A.data, sumBound(magFwd.A.data, c.fH * c.fW + 1, c.dtype), `average pool ${tag}`);
        // each input position is reached by at most this many windows; +1 for the average's division
        const overlaps = Math.ceil(c.fH / c.sH) * Math.ceil(c.fW / c.sW) + 1;
        expectWithin(gotBack.data, refBack.data, sumBound(magBack.data, overlaps, c.dtype), `pool backward ${tag}`);
        for (const t of [got.A, gotBack, got.cache.A_prev]) t.dispose();
      }),
      { numRuns: 200 },
    );
  });

  it('zeroPad is exact', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
        fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), dtype, fc.integer(),
        (shape, padH, padW, dt, seed) => {
          const X = js.tensor(shape, randn(rng(seed), sizeOf(shape)), dt);
          const ref = js.zeroPad(X, [padH, padW]);
          const got = wasm.zeroPad(copyTo(wasm, X), [padH, padW]);
          expectExact(got.shape, ref.shape, 'shape');
          expectExact(got.data, ref.data, `zeroPad ${JSON.stringify({ shape, padH, padW, dt })}`);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('convSingleStep agrees within its bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 40 }), dtype, fc.integer(), (fH, fW, C, dt, seed) => {
        const rand = rng(seed);
        const a = randn(rand, fH * fW * C), w = randn(rand, fH * fW * C), bias = randn(rand, 1);
        const ref = js.convSingleStep(js.tensor([fH, fW, C], a, dt), js.tensor([fH, fW, C], w, dt), js.tensor([1, 1, 1], bias, dt));
        const got = wasm.convSingleStep(wasm.tensor([fH, fW, C], a, dt), wasm.tensor([fH, fW, C], w, dt), wasm.tensor([1, 1, 1], bias, dt));
        const ja = js.tensor([fH, fW, C], a, dt).data, jw = js.tensor([fH, fW, C], w, dt).data;
        let mag = Math.abs(js.tensor([1], bias, dt).data[0]!);
        for (let i = 0; i < ja.length; i++) mag += Math.abs(ja[i]! * jw[i]!);
        expectWithin([got], [ref], sumBound([mag], fH * fW * C + 1, dt), 'convSingleStep');
      }),
      { numRuns: 60 },
    );
  });

  it('createMaskFromWindow is exact, every tie gets 1; distributeValue matches', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), dtype, fc.integer(), fc.double({ min: -1e6, max: 1e6, noNaN: true }), (h, w, ties, dt, seed, dz) => {
        const rand = rng(seed);
        const values = ties ? Float64Array.from({ length: h * w }, () => Math.floor(rand() * 3)) : randn(rand, h * w);
        expectExact(wasm.createMaskFromWindow(wasm.tensor([h, w], values, dt)).data, js.createMaskFromWindow(js.tensor([h, w], values, dt)).data, 'mask');
        expectExact(wasm.distributeValue(dz, [h, w], dt).data, js.distributeValue(dz, [h, w], dt).data, 'distributeValue');
      }),
      { numRuns: 80 },
    );
  });
});

describe('special values in pooling windows', () => {
  // max pooling takes a fast max that drops NaN, plus a running sum that flags windows holding a NaN
  // (or both infinities) for an exact redo: these cases take every path of that scheme
  // 3x3 stride-2 max pooling slides along rows and checks, per output row, only the input rows it
  // brings in: a lone NaN at every position (each row, column and channel of every channel tail)
  // must reach exactly the windows that hold it
  it.each<DType>(['float32', 'float64'])('a lone NaN anywhere reaches exactly its windows in 3x3 stride-2 max pooling (%s)', (dtype) => {
    for (const C of [1, 3, 5, 8, 17]) {
      const shape = [2, 7, 6, C];
      const base = Array.from(randn(rng(C), 2 * 7 * 6 * C));
      for (let at = 0; at < base.length; at++) {
        const values = base.slice();
        values[at] = NaN;
        const ref = js.poolForward(js.tensor(shape, values, dtype), { f: 3, stride: 2 }, 'max');
        const got = wasm.poolForward(wasm.tensor(shape, values, dtype), { f: 3, stride: 2 }, 'max');
        expectExact(got.A.data, ref.A.data, `NaN at ${at} of ${shape}`);
        for (const t of [got.A, got.cache.A_prev, ref.A]) t.dispose();
      }
    }
  });

  // the js reference adds each routed gradient to a zero: a -0 comes back as +0 whether the windows
  // overlap (dx zeroed, then added to) or tile dx exactly (each value written once)
  it.each<DType>(['float32', 'float64'])('negative zeros in the output gradient come back as the js reference gives them (%s)', (dtype) => {
    for (const C of [1, 4, 5, 9]) {
      for (const [H, W, f, stride] of [[6, 4, 2, 2], [7, 5, 3, 2], [6, 6, 3, 3]] as const) {
        const A = js.tensor([2, H, W, C], Array.from(randn(rng(C + H), 2 * H * W * C)), dtype);
        for (const mode of ['max', 'average'] as PoolMode[]) {
          const ref = js.poolForward(A, { f, stride }, mode);
          const got = wasm.poolForward(copyTo(wasm, A), { f, stride }, mode);
          const g = Array.from({ length: ref.A.size }, (_, i) => [-0, 0, -1.5, 2][i % 4]!);
          for (const ties of ['all', 'first'] as const) {
            const refBack = js.poolBackward(js.tensor(ref.A.shape, g, dtype), ref.cache, mode, { ties });
            const gotBack = wasm.poolBackward(wasm.tensor(ref.A.shape, g, dtype), got.cache, mode, { ties });
            // max routes values as they are; an average's shares are rounded sums: compare its zeros
            const zeros = (a: ArrayLike<number>) => Array.from(a, (v) => (v === 0 ? v : 1));
            if (mode === 'max') expectExact(gotBack.data, refBack.data, `max backward, ties ${ties}, C=${C} ${H}x${W} f=${f} s=${stride}`);
            else expectExact(zeros(gotBack.data), zeros(refBack.data), `average backward's zeros, C=${C} ${H}x${W} f=${f} s=${stride}`);
          }
        }
      }
    }
  });

  it.each<DType>(['float32', 'float64'])('NaN and infinities pool like the js reference (%s)', async (dtype) => {
    for (const C of [1, 3, 4, 16, 17]) {
      const n = 2 * 6 * 5 * C;
      const rand = rng(C);
      const base = Array.from(randn(rand, n));
      const picks = Array.from({ length: n }, () => rand());
      // huge finite values make the max path's running sum overflow to infinities (and NaN); in an
      // average they would overflow a float32 sum where the js reference's float64 sum does not
      const withSpecials = (specials: number[]) => base.map((v, i) => (i % 7 === 0 ? specials[Math.floor(picks[i]! * specials.length)]! : v));
      for (const [f, stride] of [[2, 2], [3, 1], [3, 2]] as const) {
        for (const mode of ['max', 'average'] as PoolMode[]) {
          const values = withSpecials(mode === 'max' ? [NaN, Infinity, -Infinity, 3e38, -3e38] : [NaN, Infinity, -Infinity]);
          const A = js.tensor([2, 6, 5, C], values, dtype);
          const ref = js.poolForward(A, { f, stride }, mode);
          const got = wasm.poolForward(copyTo(wasm, A), { f, stride }, mode);
          if (mode === 'max') expectExact(got.A.data, ref.A.data, `max C=${C} f=${f} s=${stride}`);
          // the mask routes nothing from a window whose max is NaN, on both backends
          const g = Array.from({ length: ref.A.size }, (_, i) => (i % 5) - 2);
          const refBack = js.poolBackward(js.tensor(ref.A.shape, g, dtype), ref.cache);
          const gotBack = wasm.poolBackward(wasm.tensor(ref.A.shape, g, dtype), got.cache);
          if (mode === 'max') expectExact(gotBack.data, refBack.data, `max backward C=${C} f=${f} s=${stride}`);
          else {
            // non-finite averages agree exactly; finite ones within the bound of their sums
            const nonFinite = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isFinite(v) ? 0 : v));
            expectExact(nonFinite(got.A.data), nonFinite(ref.A.data), `average non-finite C=${C}`);
          }
        }
      }
    }
  });
});
