// The training ops, wasm against the js reference on random shapes, both dtypes: conv with padding
// modes and a fused ReLU, dense layers (at the tiles' edges too), ReLU, softmax, softmax
// cross-entropy, and the optimizer steps. Sums agree within their derived bounds; ReLU and the
// float64 optimizer steps (the same arithmetic in the same order) exactly.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Activation, Backend, DType, Padding, Tensor } from '../../src/index.js';
import { EPS, ETA, absOf, copyTo, expectExact, expectWithin, kernelExports, makeBackends, randn, rng, sumBound } from '../helpers.js';
import { compareConv } from './compare.js';

let wasm: Backend, js: Backend;
beforeAll(async () => ({ wasm, js } = await makeBackends()));

const dtype = fc.constantFrom<DType>('float32', 'float64');
const activation = fc.constantFrom<Activation>('linear', 'relu');

describe('conv with padding modes and a fused ReLU', () => {
  const padding = fc.oneof(
    fc.constantFrom<Padding>('same', 'valid'),
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))
      .map(([t, b, l, r]) => [[t, b], [l, r]] as Padding),
  );
  it("'same', 'valid' and 4-sided padding, linear and ReLU: forward and every gradient", () => {
    fc.assert(fc.property(
      fc.record({
        m: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
        C: fc.integer({ min: 1, max: 20 }), N: fc.integer({ min: 1, max: 20 }), fH: fc.integer({ min: 1, max: 6 }), fW: fc.integer({ min: 1, max: 6 }),
        sH: fc.integer({ min: 1, max: 3 }), sW: fc.integer({ min: 1, max: 3 }), padding, activation, dtype, seed: fc.integer(),
      }),
      (c) => {
        const pad = c.padding === 'same' ? null : c.padding === 'valid' ? [[0, 0], [0, 0]] : (c.padding as [[number, number], [number, number]]);
        if (pad && (c.fH > c.H + pad[0][0] + pad[0][1] || c.fW > c.W + pad[1][0] + pad[1][1])) return;
        if (!pad && (c.fH > c.H + c.fH - 1 || c.fW > c.W + c.fW - 1)) return;
        compareConv(wasm, js, { ...c, padH: 0, padW: 0 });
      },
    ), { numRuns: 150 });
  });

  it("'same' gives ceil(n / stride) outputs, the odd padding row and column at the bottom and right (TensorFlow's split)", () => {
    for (const be of [wasm, js]) {
      for (const [n, f, s] of [[5, 3, 1], [5, 4, 1], [7, 3, 2], [6, 4, 2], [4, 5, 3]] as const) {
        const A = be.tensor([1, n, n, 1]), W = be.tensor([f, f, 1, 1]), b = be.tensor([1, 1, 1, 1]);
        const { Z, cache } = be.convForward(A, W, b, { stride: s, pad: 'same' });
        const out = Math.ceil(n / s), total = Math.max((out - 1) * s + f - n, 0);
        expect(Z.shape).toEqual([1, out, out, 1]);
        expect(cache.hparameters.pad).toEqual([[Math.floor(total / 2), Math.ceil(total / 2)], [Math.floor(total / 2), Math.ceil(total / 2)]]);
      }
    }
  });
});

/** A dense case on both backends: forward and backward, within their bounds. */
function compareDense(c: { m: number; rest: number[]; n: number; activation: Activation; dtype: DType; seed: number }): void {
  const rand = rng(c.seed);
  const k = c.rest.reduce((a, b) => a * b, 1);
  const X = js.tensor([c.m, ...c.rest], randn(rand, c.m * k), c.dtype);
  const W = js.tensor([k, c.n], randn(rand, k * c.n), c.dtype);
  const b = js.tensor([1, c.n], randn(rand, c.n), c.dtype);
  const ref = js.denseForward(X, W, b, { activation: c.activation });
  const dZ = js.tensor([c.m, c.n], randn(rand, c.m * c.n), c.dtype);
  const refGrad = js.denseBackward(dZ, ref.cache);
  const mag = js.denseForward(absOf(js, X), absOf(js, W), absOf(js, b));
  const reaching = c.activation === 'relu' ? js.reluBackward(dZ, js.relu(ref.Z).cache) : dZ;
  const magGrad = js.denseBackward(absOf(js, reaching), mag.cache);
  const got = wasm.denseForward(copyTo(wasm, X), copyTo(wasm, W), copyTo(wasm, b), { activation: c.activation });
  // the backward pass from the reference's Z (a value within rounding of 0 may fall on the other side of the ReLU)
  const gotGrad = wasm.denseBackward(copyTo(wasm, dZ), { ...got.cache, Z: copyTo(wasm, ref.Z) });
  const tag = JSON.stringify(c);
  expect(got.Z.shape).toEqual([c.m, c.n]);
  expect(gotGrad.dX.shape).toEqual([c.m, ...c.rest]);
  expectWithin(got.Z.data, ref.Z.data, sumBound(mag.Z.data, k + 1, c.dtype), `Z ${tag}`);
  expectWithin(gotGrad.dX.data, refGrad.dX.data, sumBound(magGrad.dX.data, c.n, c.dtype), `dX ${tag}`);
  expectWithin(gotGrad.dW.data, refGrad.dW.data, sumBound(magGrad.dW.data, c.m, c.dtype), `dW ${tag}`);
  expectWithin(gotGrad.db.data, refGrad.db.data, sumBound(magGrad.db.data, c.m, c.dtype), `db ${tag}`);
  for (const t of [got.Z, gotGrad.dX, gotGrad.dW, gotGrad.db]) t.dispose();
}

describe('dense', () => {
  it('random shapes, X of any rank read as (m, k), linear and ReLU', () => {
    fc.assert(fc.property(
      fc.record({
        m: fc.integer({ min: 1, max: 40 }), rest: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 3 }),
        n: fc.integer({ min: 1, max: 40 }), activation, dtype, seed: fc.integer(),
      }),
      compareDense,
    ), { numRuns: 150 });
  });

  // the conv micro-kernel that runs dense layers takes 4 rows x 2 vectors of columns (8 float32 or 4
  // float64); the filter gradient's tile takes 4 columns of X; few output columns take dot products
  const around = (tile: number) => [tile - 1, tile, tile + 1, 2 * tile - 1, 2 * tile, 2 * tile + 1];
  it.each<DType>(['float32', 'float64'])('tile edges, %s', (dt) => {
    const NR = dt === 'float32' ? 8 : 4;
    for (const m of around(4)) {
      around(NR).forEach((n, i) => {
        for (const k of [around(4)[i]!, 16 + i]) compareDense({ m, rest: [k], n, activation: i % 2 ? 'relu' : 'linear', dtype: dt, seed: m * 100 + n * 10 + k });
      });
      for (let n = 1; n <= 4; n++) compareDense({ m, rest: [2, 4], n, activation: 'linear', dtype: dt, seed: m + n });
    }
  });

  // fewer than 16 rows read W in place: 4-row tiles over blocks of 64 rows of W, and rows left over
  // streaming down W 4 rows at a time; the input gradient, dot products of 4 rows of W at a time
  it.each<DType>(['float32', 'float64'])('few rows, %s: every row count, K around its blocks, N around its tiles', (dt) => {
    for (const m of [1, 2, 3, 4, 5, 7, 8, 13, 15, 16, 17]) {
      for (const k of [1, 3, 4, 5, 63, 64, 65, 129]) {
        for (const n of [1, 3, 4, 5, 7, 8, 9, 16, 17]) compareDense({ m, rest: [k], n, activation: (m + k + n) % 2 ? 'relu' : 'linear', dtype: dt, seed: m * 10000 + k * 100 + n });
      }
    }
  });

  // 16 rows or more and fewer output columns than 4 vectors: the filter gradient runs along X's rows
  // (gemm_tn's narrow path: 2 vectors of k and 4 columns a pass, then 1 vector, 2 and 1 columns, then
  // single k), and over rows of at least 16 vectors the forward pass takes dot products
  it.each<DType>(['float32', 'float64'])('many rows, few output columns, %s: k around its vectors, every column tail', (dt) => {
    const L = dt === 'float32' ? 4 : 2;
    for (const m of [16, 17, 35]) {
      for (const k of [1, L - 1, L, L + 1, 2 * L - 1, 2 * L, 2 * L + 1, 3 * L + 1, 16 * L, 16 * L + 1, 40 * L + 3]) {
        for (let n = 1; n <= 4 * L; n++) compareDense({ m, rest: [k], n, activation: (m + k + n) % 2 ? 'relu' : 'linear', dtype: dt, seed: m * 10000 + k * 100 + n });
      }
    }
  });

  it('a wide layer (1, 4096) x (4096, 1000) and a tall one (300, 3) x (3, 2)', () => {
    compareDense({ m: 1, rest: [4096], n: 1000, activation: 'linear', dtype: 'float32', seed: 1 });
    compareDense({ m: 300, rest: [3], n: 2, activation: 'relu', dtype: 'float64', seed: 2 });
  });
});

describe('relu', () => {
  it('forward and backward are exact, NaN and signed zeros included', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), dtype, fc.integer(), (n, dt, seed) => {
      const rand = rng(seed);
      const specials = [NaN, -0, 0, Infinity, -Infinity];
      const x = Array.from(randn(rand, n), (v) => (rand() < 0.1 ? specials[Math.floor(rand() * specials.length)]! : v));
      const g = Array.from(randn(rand, n));
      const run = (be: Backend) => {
        const { Y, cache } = be.relu(be.tensor([n], x, dt));
        return [Y.toArray(), be.reluBackward(be.tensor([n], g, dt), cache).toArray()];
      };
      const [wy, wd] = run(wasm), [jy, jd] = run(js);
      expectExact(wy!, jy!, 'relu');
      expectExact(wd!, jd!, 'reluBackward');
    }), { numRuns: 100 });
  });
});

/** The float32 exp kernel's largest error, in units in the last place (measured below): softmax's bounds count it. */
const EXP_ULPS = 3;

describe('softmax and softmax cross-entropy', () => {
  it('the float32 exp is within EXP_ULPS units in the last place of Math.exp over (-104, 0]', async () => {
    const memory = new WebAssembly.Memory({ initial: 200 });
    const exp = (await kernelExports(memory))['f32_exp']!;
    const n = 1 << 20;
    const x = new Float32Array(memory.buffer, 65536, n), y = new Float32Array(memory.buffer, 65536 + 4 * n, n);
    const rand = rng(9);
    const ulp = (v: number) => {
      const bits = new Uint32Array(Float32Array.of(v).buffer)[0]!;
      return v === 0 ? 2 ** -149 : Math.abs(new Float32Array(Uint32Array.of(bits + 1).buffer)[0]! - v);
    };
    let worst = 0;
    for (let round = 0; round < 4; round++) {
      // the whole range, and the range near 0 where softmax's values mostly fall
      for (let i = 0; i < n; i++) x[i] = round % 2 ? -104 * rand() : -8 * rand() ** 3;
      exp(x.byteOffset, y.byteOffset, n);
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y[i]! - Math.exp(x[i]!)) / ulp(Math.fround(Math.exp(x[i]!))));
    }
    expect(worst).toBeLessThanOrEqual(EXP_ULPS);
  });

  const rows = fc.record({ m: fc.integer({ min: 1, max: 20 }), n: fc.integer({ min: 1, max: 300 }), scale: fc.double({ min: 0.01, max: 60, noNaN: true }), dtype, seed: fc.integer() });

  /**
   * The bound of softmax's value j in a row: e_j = exp(x_j - max) is within EXP_ULPS (float32) plus
   * the rounding of x_j - max, which exp turns into a relative error of |x_j - max| eps; the sum s is
   * within n eps plus the same errors weighted by each term's share p_j; then the division. Each of
   * the n + 4 roundings may also fall in the subnormal range (ETA).
   */
  function softmaxBound(x: number[], p: ArrayLike<number>, n: number, dt: DType): number[] {
    const ulps = dt === 'float32' ? EXP_ULPS : 1;
    const bound: number[] = [];
    for (let r = 0; r < x.length / n; r++) {
      const row = x.slice(r * n, r * n + n);
      const mx = Math.max(...row.map(Math.fround));
      let weighted = 0;
      for (let j = 0; j < n; j++) weighted += p[r * n + j]! * Math.abs(row[j]! - mx);
      for (let j = 0; j < n; j++) {
        const k = n + 2 * ulps + 3 + weighted + Math.abs(row[j]! - mx);
        bound.push(k * EPS[dt] * p[r * n + j]! + (n + 4) * ETA[dt]);
      }
    }
    return bound;
  }

  it('softmax: each value within its derived bound', () => {
    fc.assert(fc.property(rows, (c) => {
      const x = Array.from(randn(rng(c.seed), c.m * c.n), (v) => v * c.scale);
      const xs = c.dtype === 'float32' ? x.map(Math.fround) : x;
      const ref = js.softmax(js.tensor([c.m, c.n], x, c.dtype));
      const got = wasm.softmax(wasm.tensor([c.m, c.n], x, c.dtype));
      expectWithin(got.data, ref.data, softmaxBound(xs, ref.data, c.n, c.dtype), `softmax ${JSON.stringify(c)}`);
    }), { numRuns: 100 });
  });

  it('softmax cross-entropy with class indices and with target distributions: loss and dLogits', () => {
    fc.assert(fc.property(rows, fc.boolean(), (c, indices) => {
      const rand = rng(c.seed);
      const x = Array.from(randn(rand, c.m * c.n), (v) => v * c.scale);
      const labels = Array.from({ length: c.m }, () => Math.floor(rand() * c.n));
      const target = Array.from({ length: c.m * c.n }, () => rand());
      for (let r = 0; r < c.m; r++) {
        let s = 0;
        for (let j = 0; j < c.n; j++) s += target[r * c.n + j]!;
        for (let j = 0; j < c.n; j++) target[r * c.n + j]! /= s;
      }
      const run = (be: Backend) => be.softmaxCrossEntropy(be.tensor([c.m, c.n], x, c.dtype), indices ? labels : be.tensor([c.m, c.n], target, c.dtype));
      const ref = run(js), got = run(wasm);
      const ulps = c.dtype === 'float32' ? EXP_ULPS : 1;
      const xs = c.dtype === 'float32' ? x.map(Math.fround) : x;
      // dLogits = (p - t) / m: p within softmax's bound, then the subtraction of t (exact, or rounded
      // once) and the scaling: three more roundings of values at most |p| + |t|
      const p = js.softmax(js.tensor([c.m, c.n], x, 'float64')).toArray();
      const pBound = softmaxBound(xs, p, c.n, c.dtype);
      const bound = Array.from(ref.dLogits.data, (_, i) => {
        const t = indices ? (labels[Math.floor(i / c.n)] === i % c.n ? 1 : 0) : target[i]!;
        return (pBound[i]! + 3 * EPS[c.dtype] * (p[i]! + t)) / c.m + 3 * ETA[c.dtype];
      });
      expectWithin(got.dLogits.data, ref.dLogits.data, bound, `dLogits ${JSON.stringify(c)}`);
      // the loss: each row's logsumexp - x (terms up to |max| + log n) in the dtype, then a float64 mean
      let lossMag = 0;
      for (let r = 0; r < c.m; r++) {
        let mx = 0;
        for (let j = 0; j < c.n; j++) mx = Math.max(mx, Math.abs(x[r * c.n + j]!));
        lossMag += (3 * mx + Math.log(c.n) + 1) / c.m;
      }
      expectWithin([got.loss], [ref.loss], (c.n + 2 * ulps + 8) * EPS[c.dtype] * lossMag, `loss ${JSON.stringify(c)}`);
    }), { numRuns: 100 });
  });

  it('a row holding an infinity or a NaN gives the reference\'s row exactly', () => {
    for (const dt of ['float32', 'float64'] as DType[]) {
      const x = [1, 2, Infinity, 0, -Infinity, 3, NaN, 4, 5, 6, 7, 8];
      const ref = js.softmax(js.tensor([3, 4], x, dt)).toArray();
      const got = wasm.softmax(wasm.tensor([3, 4], x, dt)).toArray();
      expectExact(got.slice(0, 8), ref.slice(0, 8), `softmax ${dt}`);
      const rl = js.softmaxCrossEntropy(js.tensor([3, 4], x, dt), [0, 1, 2]), gl = wasm.softmaxCrossEntropy(wasm.tensor([3, 4], x, dt), [0, 1, 2]);
      expect(Object.is(gl.loss, rl.loss)).toBe(true);
      expectExact(gl.dLogits.toArray().slice(0, 8), rl.dLogits.toArray().slice(0, 8), `dLogits ${dt}`);
    }
  });
});

describe('optimizer steps', () => {
  const cases = fc.record({
    sizes: fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 4 }), dtype, seed: fc.integer(),
    lr: fc.double({ min: 1e-4, max: 0.5, noNaN: true }), momentum: fc.double({ min: 0, max: 0.99, noNaN: true }), steps: fc.integer({ min: 1, max: 4 }),
  });

  /** Runs `steps` steps of `kind` on both backends from the same values; returns each backend's tensors' values after. */
  function run(kind: 'sgd' | 'momentum' | 'adam', c: { sizes: number[]; dtype: DType; seed: number; lr: number; momentum: number; steps: number }) {
    const rand = rng(c.seed);
    const p0 = c.sizes.map((n) => Array.from(randn(rand, n)));
    const grads = Array.from({ length: c.steps }, () => c.sizes.map((n) => Array.from(randn(rand, n))));
    const on = (be: Backend) => {
      const params = p0.map((v) => be.tensor([v.length], v, c.dtype));
      const sgdState = kind === 'momentum' ? be.sgdState(params) : undefined;
      const adamState = kind === 'adam' ? be.adamState(params) : undefined;
      for (const step of grads) {
        const gs = step.map((v) => be.tensor([v.length], v, c.dtype));
        if (kind === 'adam') be.adam(params, gs, adamState!, { learningRate: c.lr });
        else be.sgd(params, gs, { learningRate: c.lr, momentum: kind === 'momentum' ? c.momentum : 0, state: sgdState });
        gs.forEach((g) => g.dispose());
      }
      const moments: Tensor[] = [...(sgdState?.velocities ?? []), ...(adamState ? [...adamState.m, ...adamState.v] : [])];
      return { params: params.map((t) => Array.from(t.data)), moments: moments.map((t) => Array.from(t.data)), step: adamState?.step };
    };
    return { wasm: on(wasm), js: on(js) };
  }

  it.each(['sgd', 'momentum', 'adam'] as const)('%s: float64 exactly as the reference, float32 within its derived bound', (kind) => {
    fc.assert(fc.property(cases, (c) => {
      const r = run(kind, c);
      if (kind === 'adam') expect(r.wasm.step).toBe(c.steps);
      if (c.dtype === 'float64') {
        r.js.params.forEach((p, i) => expectExact(r.wasm.params[i]!, p, `params[${i}]`));
        r.js.moments.forEach((m, i) => expectExact(r.wasm.moments[i]!, m, `moments[${i}]`));
        return;
      }
      // float32: each step rounds each of its few operations (at most 12 of them, an Adam update's), on
      // values at most the magnitudes of the parameters plus the updates; errors of several steps add
      const lrSum = c.lr * c.steps;
      r.js.params.forEach((p, i) => {
        const bound = p.map((v, j) => 12 * c.steps * EPS.float32 * (Math.abs(v) + Math.abs(r.wasm.params[i]![j]!) + (kind === 'adam' ? lrSum / (1 - 0.9) : lrSum * 10 * (1 + c.momentum) / (1 - c.momentum))));
        expectWithin(r.wasm.params[i]!, p, bound, `params[${i}] ${JSON.stringify(c)}`);
      });
    }), { numRuns: 60 });
  });

  it('a rejected step changes nothing: mismatched lists, shapes, a shared tensor, momentum without state', () => {
    for (const be of [wasm, js]) {
      const p = be.tensor([3], [1, 2, 3]), q = be.tensor([2], [4, 5]), g = be.tensor([3], [1, 1, 1]);
      const before = [p.toArray(), q.toArray()];
      expect(() => be.sgd([p, q], [g], { learningRate: 1 })).toThrow(/sgd: grads: expected 2 tensors/);
      expect(() => be.sgd([p, q], [g, g], { learningRate: 1 })).toThrow(/grads\[1\]: expected shape \[2\]/);
      expect(() => be.sgd([p, p], [g, g], { learningRate: 1 })).toThrow(/params\[1\]: expected tensors whose elements appear once/);
      expect(() => be.sgd([p], [be.reshape(p, [3])], { learningRate: 1 })).toThrow(/grads\[0\]: expected tensors whose elements appear once/);
      expect(() => be.sgd([p], [g], { learningRate: 1, momentum: 0.9 })).toThrow(/options\.state: expected the state from be\.sgdState/);
      expect(() => be.sgd([p], [g], { learningRate: NaN })).toThrow(/options\.learningRate: expected a finite number, got NaN/);
      const state = be.adamState([p]);
      expect(() => be.adam([p], [g], state, { learningRate: 1, beta1: 1 })).toThrow(/options\.beta1: expected a number in \[0, 1\)/);
      expect(() => be.adam([p], [g], Object.freeze({ ...state }), { learningRate: 1 })).toThrow(TypeError);
      expect([p.toArray(), q.toArray()]).toEqual(before);
      expect(state.m[0]!.toArray()).toEqual(Float32Array.of(0, 0, 0));
    }
  });
});
