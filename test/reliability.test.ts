// Hostile and strange input, on both backends and both dtypes: every case either gives the 'js'
// backend's values or a clear error, and a canary tensor allocated before it, guard tensors placed
// right after where its outputs land, its inputs, and memory() are unchanged. Then a seeded fuzz of
// special values (NaN, infinities, -0, denormals, values whose products overflow) through every op,
// wasm against js, and a property that an op's work is bounded by its tensors, whatever its stride,
// padding or window.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnAllocationError, CnnArgumentError, Tensor, createBackend, type Backend, type DType, type PoolMode } from '../src/index.js';
import { TASKS_PER_THREAD } from '../src/wasm/split.js';
import { EPS, ETA, makeBackends, randn, rng, sizeOf } from './helpers.js';

type Work = { scratchBytes: number; kernelCalls: number };
const workOf = (be: Backend) => (be as unknown as { work(): Work }).work();
const BACKENDS = ['wasm', 'js'] as const;
const DTYPES: DType[] = ['float32', 'float64'];

/**
 * Runs `body` between sentinels: a canary tensor allocated before, and after holes the size of each
 * expected output (which best-fit allocation hands to the outputs), a guard tensor each. Checks that
 * no sentinel changed and that memory() is back where it was once `body`'s outputs are disposed.
 * Returns what body returned (its outputs disposed) and copies of its outputs' values.
 */
function guarded<R>(be: Backend, dtype: DType, outputSizes: number[], body: () => R, outputsOf: (r: R) => Tensor[]): { result: R; values: number[][] } {
  const pattern = (n: number, k: number) => Array.from({ length: n }, (_, i) => ((i * 7 + k) % 13) - 6.5);
  const canary = be.tensor([37], pattern(37, 1), dtype);
  const holes = outputSizes.map((n) => be.tensor([n], null, dtype));
  const guards = outputSizes.map((_, j) => be.tensor([19], pattern(19, j + 2), dtype));
  holes.forEach((h) => h.dispose());
  const before = be.memory();
  let result: R;
  try {
    result = body();
  } finally {
    expect(Array.from(canary.data), 'canary').toEqual(pattern(37, 1));
    guards.forEach((g, j) => expect(Array.from(g.data), `guard ${j}`).toEqual(pattern(19, j + 2)));
    canary.dispose();
    guards.forEach((g) => g.dispose());
  }
  const outputs = outputsOf(result);
  const values = outputs.map((t) => Array.from(t.data));
  for (const t of outputs) t.dispose();
  expect(be.memory().tensors).toBe(before.tensors - 1 - guards.length);
  expect(be.memory().bytesInUse).toBe(before.bytesInUse - (37 + 19 * guards.length) * (dtype === 'float32' ? 4 : 8));
  return { result, values };
}

/** The error `fn` throws (it must throw). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

const expectArgumentError = (e: Error, op: string, argument: string) => {
  expect(e).toBeInstanceOf(CnnArgumentError);
  expect((e as CnnArgumentError).op).toBe(op);
  expect((e as CnnArgumentError).argument).toBe(argument);
};

describe.each(BACKENDS)('hostile input on %s', (name) => {
  let be: Backend;
  let js: Backend;
  beforeAll(async () => {
    be = await createBackend(name);
    js = await createBackend('js');
  });

  describe.each(DTYPES)('%s', (dtype) => {
    it('tensor fields cannot be reassigned or redefined; ops use the real size', () => {
      const x = be.tensor([2, 2], [1, 3, 3, 0], dtype);
      expect(() => { (x as unknown as { size: number }).size = 64; }).toThrow(TypeError);
      expect(() => Object.defineProperty(x, 'size', { value: 64 })).toThrow(TypeError);
      expect(() => Object.defineProperty(x, 'shape', { get: () => [8, 8] })).toThrow(TypeError);
      expect(() => { (x.shape as number[])[0] = 9; }).toThrow(TypeError);
      expect(() => Object.setPrototypeOf(x, {})).toThrow(TypeError);
      expect(x.size).toBe(4);
      const { values } = guarded(be, dtype, [4], () => be.createMaskFromWindow(x), (m) => [m]);
      expect(values[0]).toEqual([0, 1, 1, 0]);
    });

    it('an object whose shape getter changes, made from a tensor, is not a tensor', () => {
      const X = be.tensor([1, 2, 2, 1], [1, 2, 3, 4], dtype);
      let reads = 0;
      const fake = Object.create(X, { shape: { get: () => (++reads < 3 ? [1, 2, 2, 1] : [1, 50, 50, 1]) } });
      const e = guarded(be, dtype, [16], () => errorOf(() => be.zeroPad(fake, 1)), () => []).result;
      expectArgumentError(e, 'zeroPad', 'X');
      expect(e.message).toMatch(/only looks like a tensor/);
    });

    it('a subclass of Tensor cannot be made, and a Proxy of a tensor is refused by ops and methods', () => {
      class Evil extends (Tensor as unknown as new (...a: unknown[]) => object) {
        get offset() {
          return 1e9;
        }
      }
      const before = be.memory();
      const e = errorOf(() => new Evil());
      expectArgumentError(e, 'Tensor', 'constructor');
      const X = be.tensor([1, 3, 3, 1], null, dtype);
      const proxy = new Proxy(X, {});
      expectArgumentError(guarded(be, dtype, [9], () => errorOf(() => be.relu(proxy)), () => []).result, 'relu', 'X');
      expectArgumentError(errorOf(() => proxy.data), 'Tensor.data', 'this');
      expectArgumentError(errorOf(() => proxy.dispose()), 'Tensor.dispose', 'this');
      X.dispose();
      expect(be.memory()).toEqual(before);
    });

    it('a pad element read twice would answer 1 then -1: it is read once', () => {
      let reads = 0;
      const pad: number[] = [0, 1];
      Object.defineProperty(pad, 0, { get: () => (reads++ === 0 ? 1 : -1), enumerable: true });
      const data = Array.from(randn(rng(3), 2 * 4 * 5 * 3));
      const A = be.tensor([2, 4, 5, 3], data, dtype), W = be.tensor([3, 3, 3, 2], randn(rng(4), 54), dtype), b = be.tensor([1, 1, 1, 2], [0.5, -1], dtype);
      const { result, values } = guarded(be, dtype, [2 * 6 * 5 * 2], () => be.convForward(A, W, b, { stride: 1, pad }), (r) => [r.Z]);
      expect(reads).toBe(1);
      const ref = be.convForward(A, W, b, { stride: 1, pad: [1, 1] });
      expect(result.Z.shape).toEqual(ref.Z.shape);
      expect(values[0]).toEqual(Array.from(ref.Z.data));
    });

    it('a stride getter that disposes the input and allocates another tensor: the input is found disposed', () => {
      const A = be.tensor([1, 5, 5, 3], null, dtype), W = be.tensor([3, 3, 3, 8], null, dtype), b = be.tensor([1, 1, 1, 8], null, dtype);
      let other: Tensor | undefined;
      const hp = { get stride() { A.dispose(); other = be.tensor([1, 5, 5, 3], Array(75).fill(7), dtype); return 1; }, pad: 0 };
      const e = errorOf(() => be.convForward(A, W, b, hp));
      expectArgumentError(e, 'convForward', 'A_prev');
      expect(e.message).toMatch(/disposed/);
      other!.dispose();
    });

    it('a cache whose A_prev getter would change between reads: it is read once, dW is the first tensor\'s', () => {
      const rand = rng(5);
      const a1 = Array.from(randn(rand, 75)), a2 = a1.map((v) => v * 3 + 1);
      const A1 = be.tensor([1, 5, 5, 3], a1, dtype), A2 = be.tensor([1, 5, 5, 3], a2, dtype);
      const W = be.tensor([3, 3, 3, 4], randn(rand, 108), dtype), b = be.tensor([1, 1, 1, 4], null, dtype);
      const { Z, cache } = be.convForward(A1, W, b, { stride: 1, pad: 0 });
      let reads = 0;
      const shifty = { ...cache, get A_prev() { return reads++ === 0 ? A1 : A2; } };
      const dZ = be.tensor(Z.shape, randn(rand, Z.size), dtype);
      const { values } = guarded(be, dtype, [108, 4], () => be.convBackwardFilter(dZ, shifty), (r) => [r.dW, r.db]);
      expect(reads).toBe(1);
      const honest = be.convBackwardFilter(dZ, cache);
      expect(values[0]).toEqual(Array.from(honest.dW.data));
    });

    it("non-finite filter taps in the input gradient give the seed's numbers", () => {
      const A = be.tensor([1, 3, 3, 1], null, dtype), W = be.tensor([2, 2, 1, 1], [Infinity, 1, 1, 1], dtype), b = be.tensor([1, 1, 1, 1], null, dtype);
      const { Z, cache } = be.convForward(A, W, b, { stride: 1, pad: 0 });
      const dZ = be.tensor(Z.shape, [1, 1, 1, 1], dtype);
      const { values } = guarded(be, dtype, [9], () => be.convBackwardInput(dZ, cache), (t) => [t]);
      expect(values[0]).toEqual([Infinity, Infinity, 1, Infinity, Infinity, 2, 1, 2, 1]);
    });

    it('average pooling of values whose sum overflows float32 gives their mean', () => {
      const A = be.tensor([1, 2, 2, 1], [3e38, 3e38, 3e38, 3e38], dtype);
      const { values } = guarded(be, dtype, [1], () => be.poolForward(A, { f: 2, stride: 2 }, 'average'), (r) => [r.A]);
      expect(values[0]).toEqual([dtype === 'float32' ? Math.fround(3e38) : 3e38]);
    });

    it('a stride of 1e8 costs no more than a stride of 2', () => {
      const A = be.tensor([1, 3, 3, 2], randn(rng(6), 18), dtype), W = be.tensor([2, 2, 2, 3], randn(rng(7), 24), dtype), b = be.tensor([1, 1, 1, 3], null, dtype);
      const cost = (stride: number) => {
        const { Z, cache } = be.convForward(A, W, b, { stride, pad: 0 });
        const dZ = be.tensor(Z.shape, null, dtype);
        const w0 = workOf(be);
        guarded(be, dtype, [18], () => be.convBackwardInput(dZ, cache), (t) => [t]);
        const w1 = workOf(be);
        return { scratch: w1.scratchBytes - w0.scratchBytes, calls: w1.kernelCalls - w0.kernelCalls };
      };
      const small = cost(2), huge = cost(1e8);
      expect(huge.scratch).toBeLessThanOrEqual(small.scratch);
      expect(huge.calls).toBeLessThanOrEqual(small.calls);
    });

    it('data that is not numbers is refused, naming data', () => {
      expectArgumentError(errorOf(() => be.tensor([4], new BigInt64Array(4) as never, dtype)), 'tensor', 'data');
      expectArgumentError(errorOf(() => be.tensor([4], { length: 4 } as never, dtype)), 'tensor', 'data');
      expectArgumentError(errorOf(() => be.tensor([2], ['1', 2] as never, dtype)), 'tensor', 'data[0]');
      expectArgumentError(errorOf(() => be.tensor([2], new DataView(new ArrayBuffer(8)) as never, dtype)), 'tensor', 'data');
      // eslint-disable-next-line no-sparse-arrays
      expectArgumentError(errorOf(() => be.tensor([3], [1, , 3] as never, dtype)), 'tensor', 'data[1]');
      // non-finite numbers are values like any other
      expect(Array.from(be.tensor([3], [NaN, Infinity, -0], dtype).data)).toEqual([NaN, Infinity, -0]);
    });

    it('Tensor.set checks before it writes: a rejected call leaves the tensor as it was', () => {
      const t = be.tensor([3], [1, 2, 3], dtype);
      expectArgumentError(errorOf(() => t.set([4, 'x' as never, 6])), 'Tensor.set', 'values[1]');
      expectArgumentError(errorOf(() => t.set([4, 5])), 'Tensor.set', 'values');
      expect(Array.from(t.data)).toEqual([1, 2, 3]);
      expect(Array.from(t.set(Int8Array.of(-1, 0, 1)).data)).toEqual([-1, 0, 1]);
    });

    it('a 400x400 pooling window works (no engine error)', () => {
      const data = randn(rng(8), 400 * 400 * 2);
      const A = be.tensor([1, 400, 400, 2], data, dtype);
      for (const mode of ['max', 'average'] as PoolMode[]) {
        const { values } = guarded(be, dtype, [2], () => be.poolForward(A, { f: 400, stride: 1 }, mode), (r) => [r.A]);
        const ref = js.poolForward(js.tensor([1, 400, 400, 2], data, dtype), { f: 400, stride: 1 }, mode);
        // the mean of 160000 normal values: each |value| is below 6, so its rounding is within 160000 eps 6
        const bound = mode === 'max' ? 0 : 400 * 400 * EPS[dtype] * 6;
        for (let c = 0; c < 2; c++) expect(Math.abs(values[0]![c]! - ref.A.data[c]!)).toBeLessThanOrEqual(bound);
      }
    });

    it('padding far larger than the input, with a stride to match, is computed without materialising it', () => {
      const A = be.tensor([1, 2, 2, 1], [1, 2, 3, 4], dtype), W = be.tensor([3, 3, 1, 1], Array(9).fill(1), dtype), b = be.tensor([1, 1, 1, 1], [0.5], dtype);
      // the padded input would be 80002 x 80002: 6.4e9 elements, beyond 4 GiB
      const w0 = workOf(be);
      const { result, values } = guarded(be, dtype, [4], () => be.convForward(A, W, b, { stride: 40000, pad: 40000 }), (x) => [x.Z]);
      expect(workOf(be).scratchBytes - w0.scratchBytes).toBeLessThan(1e5);
      expect(result.Z.shape).toEqual([1, 2, 2, 1]);
      // of the windows at rows and columns 0 and 40000 of the padded input, only the last holds the input
      expect(values[0]).toEqual([0.5, 0.5, 0.5, 10.5]);
    });

    it('unknown hyperparameter keys are errors that name the key and list the accepted ones', () => {
      const A = be.tensor([1, 5, 5, 3], null, dtype), W = be.tensor([3, 3, 3, 8], null, dtype), b = be.tensor([1, 1, 1, 8], null, dtype);
      const e1 = errorOf(() => be.convForward(A, W, b, { stride: 1, pad: 1, dilation: 2 } as never));
      expectArgumentError(e1, 'convForward', 'hparameters.dilation');
      expect(e1.message).toMatch(/stride, pad, activation/);
      const e2 = errorOf(() => be.poolForward(A, { f: 2, stride: 2, pad: 1 } as never));
      expectArgumentError(e2, 'poolForward', 'hparameters.pad');
      expect(e2.message).toMatch(/f, stride/);
      expectArgumentError(errorOf(() => be.poolBackward(A, be.poolForward(A, { f: 1, stride: 1 }).cache, 'max', { tie: 'first' } as never)), 'poolBackward', 'options.tie');
    });

    it('a disposed tensor cannot be read', () => {
      const x = be.tensor([2], [1, 2], dtype);
      x.dispose();
      expectArgumentError(errorOf(() => x.data), 'Tensor.data', 'this');
      expectArgumentError(errorOf(() => x.set([1, 2])), 'Tensor.set', 'this');
      expect(String(x)).toMatch(/disposed/);
    });

    it('an op that would need more than wasm32 can address is a CnnAllocationError, and the backend keeps working', () => {
      const A = be.tensor([1, 1, 1, 1], [1], dtype), W = be.tensor([1, 1, 1, 1], [1], dtype), b = be.tensor([1, 1, 1, 1], null, dtype);
      const before = be.memory();
      const e = errorOf(() => be.convForward(A, W, b, { stride: 1, pad: 40000 }));
      expect(e).toBeInstanceOf(CnnAllocationError);
      expect(e.message).toMatch(/^convForward: cannot allocate/);
      expect(be.memory().tensors).toBe(before.tensors);
      expect(Array.from(be.convForward(A, W, b, { stride: 1, pad: 0 }).Z.data)).toEqual([1]);
    });
  });
});

// ---------------------------------------------------------------- special values, wasm against js

/** Elements agree: identical where either is not finite (Object.is: NaN, the infinity's sign), else within the bound. */
function expectAgree(got: ArrayLike<number>, ref: ArrayLike<number>, bound: ArrayLike<number> | number, label: string): void {
  expect(got.length, label).toBe(ref.length);
  const bad: string[] = [];
  for (let i = 0; i < ref.length && bad.length < 5; i++) {
    const g = got[i]!, r = ref[i]!;
    const b = typeof bound === 'number' ? bound : bound[i]!;
    const ok = Number.isFinite(g) && Number.isFinite(r) ? Math.abs(g - r) <= b : Object.is(g, r);
    if (!ok) bad.push(`[${i}] wasm ${g} js ${r} (bound ${b})`);
  }
  expect(bad, label).toEqual([]);
}

/** Seeded values with about one in six replaced by a special value of the dtype. */
function specialValues(seed: number, n: number, dtype: DType): number[] {
  const rand = rng(seed);
  const huge = dtype === 'float32' ? [1e20, -1e20, 3.4e38, -3.4e38] : [1e200, -1e200, 1.7e308, -1.7e308];
  const tiny = dtype === 'float32' ? [1e-40, -1e-40, 1e-45] : [5e-324, -5e-324, 1e-310];
  const specials = [NaN, Infinity, -Infinity, -0, 0, ...huge, ...tiny];
  return Array.from(randn(rand, n), (v) => (rand() < 1 / 6 ? specials[Math.floor(rand() * specials.length)]! : v));
}

describe('special values through every op, wasm against js', () => {
  let wasm: Backend, js: Backend;
  beforeAll(async () => ({ wasm, js } = await makeBackends()));

  // |value| for the bounds of finite results; a NaN counts 0: a term that is NaN makes its result
  // NaN, which is compared exactly, so a finite result has no NaN among its terms
  const magnitude = (values: number[]) => values.map((v) => (Number.isNaN(v) ? 0 : Math.abs(v)));

  it.each(DTYPES)('conv forward (linear, relu; padding numbers, same) and every backward op (%s)', (dtype) => {
    const rand = rng(11);
    for (let run = 0; run < 60; run++) {
      const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
      const m = pick(1, 2), H = pick(1, 7), W = pick(1, 7), C = pick(1, 9), N = pick(1, 12);
      const fH = pick(1, 4), fW = pick(1, 4), s = pick(1, 3);
      const pad = rand() < 0.3 ? 'same' : rand() < 0.5 ? pick(0, 2) : [pick(0, 2), pick(0, 2)];
      const activation = rand() < 0.4 ? 'relu' : 'linear';
      const resolvedH = pad === 'same' ? H : H + 2 * (Array.isArray(pad) ? pad[0]! : pad as number);
      const resolvedW = pad === 'same' ? W : W + 2 * (Array.isArray(pad) ? pad[1]! : pad as number);
      if (fH > resolvedH || fW > resolvedW) continue;
      const a = specialValues(run * 4 + 1, m * H * W * C, dtype), w = specialValues(run * 4 + 2, fH * fW * C * N, dtype), bias = specialValues(run * 4 + 3, N, dtype);
      const hp = { stride: s, pad, activation } as const;
      const ref = js.convForward(js.tensor([m, H, W, C], a, dtype), js.tensor([fH, fW, C, N], w, dtype), js.tensor([1, 1, 1, N], bias, dtype), hp as never);
      const got = wasm.convForward(wasm.tensor([m, H, W, C], a, dtype), wasm.tensor([fH, fW, C, N], w, dtype), wasm.tensor([1, 1, 1, N], bias, dtype), hp as never);
      const mag = js.convForward(js.tensor([m, H, W, C], magnitude(a), 'float64'), js.tensor([fH, fW, C, N], magnitude(w), 'float64'),
        js.tensor([1, 1, 1, N], magnitude(bias), 'float64'), { ...hp, activation: 'linear' } as never);
      const tag = JSON.stringify({ run, m, H, W, C, N, fH, fW, s, pad, activation, dtype });
      expectAgree(got.Z.data, ref.Z.data, Array.from(mag.Z.data, (v) => (fH * fW * C + 1) * EPS[dtype] * v), `Z ${tag}`);
      const dz = specialValues(run * 4 + 4, ref.Z.size, dtype);
      const refB = js.convBackward(js.tensor(ref.Z.shape, dz, dtype), ref.cache);
      const gotB = wasm.convBackward(wasm.tensor(ref.Z.shape, dz, dtype), got.cache);
      // with a fused ReLU only dZ where Z > 0 reaches the sums
      const reaching = activation === 'relu' ? dz.map((v, i) => (ref.Z.data[i]! > 0 ? v : 0)) : dz;
      const magB = js.convBackward(js.tensor(ref.Z.shape, magnitude(reaching), 'float64'), mag.cache);
      const P = m * ref.Z.shape[1]! * ref.Z.shape[2]!;
      expectAgree(gotB.dA.data, refB.dA.data, Array.from(magB.dA.data, (v) => fH * fW * N * EPS[dtype] * v), `dA ${tag}`);
      expectAgree(gotB.dW.data, refB.dW.data, Array.from(magB.dW.data, (v) => P * EPS[dtype] * v), `dW ${tag}`);
      expectAgree(gotB.db.data, refB.db.data, Array.from(magB.db.data, (v) => P * EPS[dtype] * v), `db ${tag}`);
    }
  });

  it.each(DTYPES)('dense forward and backward (few rows and many), linear and ReLU (%s)', (dtype) => {
    const rand = rng(13);
    for (let run = 0; run < 60; run++) {
      const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
      const m = rand() < 0.5 ? pick(1, 6) : pick(16, 24), k = pick(1, 70), n = pick(1, 20);
      const activation = rand() < 0.4 ? 'relu' : 'linear';
      const x = specialValues(run * 4 + 1, m * k, dtype), w = specialValues(run * 4 + 2, k * n, dtype), bias = specialValues(run * 4 + 3, n, dtype);
      const ref = js.denseForward(js.tensor([m, k], x, dtype), js.tensor([k, n], w, dtype), js.tensor([1, n], bias, dtype), { activation });
      const got = wasm.denseForward(wasm.tensor([m, k], x, dtype), wasm.tensor([k, n], w, dtype), wasm.tensor([1, n], bias, dtype), { activation });
      const mag = js.denseForward(js.tensor([m, k], magnitude(x), 'float64'), js.tensor([k, n], magnitude(w), 'float64'), js.tensor([1, n], magnitude(bias), 'float64'));
      const tag = JSON.stringify({ run, m, k, n, activation, dtype });
      expectAgree(got.Z.data, ref.Z.data, Array.from(mag.Z.data, (v) => (k + 1) * EPS[dtype] * v), `Z ${tag}`);
      const dz = specialValues(run * 4 + 4, m * n, dtype);
      const refB = js.denseBackward(js.tensor([m, n], dz, dtype), ref.cache);
      const gotB = wasm.denseBackward(wasm.tensor([m, n], dz, dtype), got.cache);
      const reaching = activation === 'relu' ? dz.map((v, i) => (ref.Z.data[i]! > 0 ? v : 0)) : dz;
      const magB = js.denseBackward(js.tensor([m, n], magnitude(reaching), 'float64'), mag.cache);
      expectAgree(gotB.dX.data, refB.dX.data, Array.from(magB.dX.data, (v) => n * EPS[dtype] * v), `dX ${tag}`);
      expectAgree(gotB.dW.data, refB.dW.data, Array.from(magB.dW.data, (v) => m * EPS[dtype] * v), `dW ${tag}`);
      expectAgree(gotB.db.data, refB.db.data, Array.from(magB.db.data, (v) => m * EPS[dtype] * v), `db ${tag}`);
    }
  });

  it.each(DTYPES)('softmax and softmax cross-entropy (%s)', (dtype) => {
    for (let run = 0; run < 40; run++) {
      const x = specialValues(run + 300, 6 * 9, dtype);
      const xs = dtype === 'float32' ? x.map(Math.fround) : x;
      const labels = Array.from({ length: 6 }, (_, i) => (i * 5 + run) % 9);
      // each value within (n + 2 x 3 ulps of exp + 3 + |x - max| + |x - max| at most) eps of itself (see training-ops.test.ts)
      const bound = (values: ArrayLike<number>, scale: number) => Array.from(values, (v, i) => {
        const r = Math.floor(i / 9);
        const row = xs.slice(r * 9, r * 9 + 9);
        const mx = Math.max(...row);
        const spread = Math.max(...row.map((u) => (Number.isFinite(u - mx) ? Math.abs(u - mx) : 0)));
        const k = 9 + 6 + 3 + 2 * spread;
        // a spread beyond the dtype's range leaves exp's argument (and so the value) unbounded
        return Number.isFinite(k) ? k * EPS[dtype] * (Math.abs(v) + scale) + 12 * ETA[dtype] : Infinity;
      });
      const ref = js.softmax(js.tensor([6, 9], x, dtype)).toArray(), got = wasm.softmax(wasm.tensor([6, 9], x, dtype)).toArray();
      expectAgree(got, ref, bound(ref, 0), `softmax run ${run}`);
      const rl = js.softmaxCrossEntropy(js.tensor([6, 9], x, dtype), labels), gl = wasm.softmaxCrossEntropy(wasm.tensor([6, 9], x, dtype), labels);
      expectAgree(gl.dLogits.toArray(), rl.dLogits.toArray(), bound(rl.dLogits.toArray(), 1 / 6), `dLogits run ${run}`);
      if (!Number.isFinite(rl.loss) || !Number.isFinite(gl.loss)) expect(Object.is(gl.loss, rl.loss), `loss run ${run}`).toBe(true);
    }
  });

  it.each(DTYPES)('pooling forward and backward, max (ties all and first) and average (%s)', (dtype) => {
    const rand = rng(12);
    for (let run = 0; run < 80; run++) {
      const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
      const m = pick(1, 2), H = pick(1, 8), W = pick(1, 8), C = pick(1, 18), f = pick(1, 3), s = pick(1, 3);
      if (f > H || f > W) continue;
      const mode: PoolMode = rand() < 0.5 ? 'max' : 'average';
      const ties = rand() < 0.5 ? 'all' : 'first';
      const a = specialValues(run * 2 + 1, m * H * W * C, dtype);
      const ref = js.poolForward(js.tensor([m, H, W, C], a, dtype), { f, stride: s }, mode);
      const got = wasm.poolForward(wasm.tensor([m, H, W, C], a, dtype), { f, stride: s }, mode);
      const tag = JSON.stringify({ run, m, H, W, C, f, s, mode, ties, dtype });
      const mag = js.poolForward(js.tensor([m, H, W, C], magnitude(a), 'float64'), { f, stride: s }, mode);
      expectAgree(got.A.data, ref.A.data, mode === 'max' ? 0 : Array.from(mag.A.data, (v) => (f * f + 1) * EPS[dtype] * v), `pool ${tag}`);
      if (mode === 'max') for (let i = 0; i < ref.A.size; i++) expect(Object.is(got.A.data[i], ref.A.data[i]), `signed zero at ${i} ${tag}`).toBe(true);
      const da = specialValues(run * 2 + 2, ref.A.size, dtype);
      const refB = js.poolBackward(js.tensor(ref.A.shape, da, dtype), ref.cache, mode, { ties });
      const gotB = wasm.poolBackward(wasm.tensor(ref.A.shape, da, dtype), got.cache, mode, { ties });
      // every share of a window's gradient, as if each position of it received the whole
      const magB = js.poolBackward(js.tensor(ref.A.shape, magnitude(da), 'float64'), mag.cache, 'average');
      const overlaps = Math.ceil(f / s) ** 2 + 1;
      expectAgree(gotB.data, refB.data, Array.from(magB.data, (v) => overlaps * f * f * EPS[dtype] * v), `pool backward ${tag}`);
    }
  });

  it.each(DTYPES)('max pooling keeps the first of equal maxima in every kernel path: -0 before +0 gives -0 (%s)', (dtype) => {
    // channel counts reach the 4-vector, 1-vector and scalar paths; windows 2x2, 3x3 (stride 2: the
    // sliding kernel; stride 1) and 4x3
    for (const C of [1, 3, 4, 5, 16, 19]) {
      for (const [f, s] of [[[2, 2], 2], [[3, 3], 2], [[3, 3], 1], [[4, 3], 1]] as const) {
        for (let seed = 0; seed < 6; seed++) {
          const rand = rng(seed * 31 + C);
          const values = Array.from({ length: 2 * 7 * 7 * C }, () => [-0, 0, -1, -0.5][Math.floor(rand() * 4)]!);
          const ref = js.poolForward(js.tensor([2, 7, 7, C], values, dtype), { f, stride: s }).A.toArray();
          const got = wasm.poolForward(wasm.tensor([2, 7, 7, C], values, dtype), { f, stride: s }).A.toArray();
          got.forEach((v, i) => expect(Object.is(v, ref[i]), `C ${C} f ${f} s ${s} seed ${seed} [${i}]: wasm ${Object.is(v, -0) ? '-0' : v} js ${Object.is(ref[i], -0) ? '-0' : ref[i]}`).toBe(true));
        }
      }
    }
  });

  it.each(DTYPES)('zeroPad, relu, reluBackward, createMaskFromWindow, convSingleStep, distributeValue (%s)', (dtype) => {
    for (let run = 0; run < 40; run++) {
      const x = specialValues(run + 100, 2 * 3 * 4 * 5, dtype);
      const g = specialValues(run + 200, 2 * 3 * 4 * 5, dtype);
      const on = (be: Backend) => {
        const X = be.tensor([2, 3, 4, 5], x, dtype);
        const { Y, cache } = be.relu(X);
        return {
          pad: be.zeroPad(X, [1, 2]).toArray(), Y: Y.toArray(), dX: be.reluBackward(be.tensor([2, 3, 4, 5], g, dtype), cache).toArray(),
          mask: be.createMaskFromWindow(be.tensor([6, 20], x, dtype)).toArray(),
          dot: be.convSingleStep(be.tensor([3, 4, 10], x, dtype), be.tensor([3, 4, 10], g, dtype), be.tensor([1], [x[7]!], dtype)),
          share: be.distributeValue(g[run]!, [3, 2], dtype).toArray(),
        };
      };
      const w = on(wasm), r = on(js);
      for (const key of ['pad', 'Y', 'dX', 'mask', 'share'] as const) expectAgree(w[key], r[key], 0, `${key} run ${run}`);
      for (const key of ['pad', 'Y', 'dX', 'mask', 'share'] as const) w[key].forEach((v, i) => expect(Object.is(v, r[key][i]), `${key}[${i}] sign`).toBe(true));
      let mag = Math.abs(x[7]!);
      for (let i = 0; i < 120; i++) mag += Math.abs(x[i]! * g[i]!);
      expectAgree([w.dot], [r.dot], 121 * EPS[dtype] * mag, `dot run ${run}`);
    }
  });
});

// ---------------------------------------------------------------- work bounded by the tensors

// 'wasm' takes the machine's threads ('auto'); its one-thread bound is checked on its own as well
const WORK_BACKENDS = [['wasm', 'wasm', {}], ['wasm on one thread', 'wasm', { threads: 1 }], ['js', 'js', {}]] as const;
describe.each(WORK_BACKENDS)('work on %s is bounded by the tensors, whatever the stride, padding or window', (_label, name, options) => {
  let be: Backend;
  beforeAll(async () => {
    be = await createBackend(name, options);
  });

  it('every conv and pool op, strides up to 1e9', () => {
    const geometry = fc.record({
      m: fc.integer({ min: 1, max: 2 }), H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
      C: fc.integer({ min: 1, max: 6 }), N: fc.integer({ min: 1, max: 6 }),
      fH: fc.integer({ min: 1, max: 4 }), fW: fc.integer({ min: 1, max: 4 }),
      sH: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1e9 })), sW: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1e9 })),
      pad: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5000 })), seed: fc.integer(),
    });
    fc.assert(fc.property(geometry, (c) => {
      const nH = Math.floor((c.H + 2 * c.pad - c.fH) / c.sH) + 1, nW = Math.floor((c.W + 2 * c.pad - c.fW) / c.sW) + 1;
      if (c.fH > c.H + 2 * c.pad || c.fW > c.W + 2 * c.pad || c.m * nH * nW * c.N > 2e5) return;
      const rand = rng(c.seed);
      const A = be.tensor([c.m, c.H, c.W, c.C], randn(rand, c.m * c.H * c.W * c.C)), W = be.tensor([c.fH, c.fW, c.C, c.N], randn(rand, c.fH * c.fW * c.C * c.N)), b = be.tensor([1, 1, 1, c.N]);
      // what the op's tensors hold, in bytes: inputs, outputs, and the output times the window (the work itself)
      // the tensors' sizes, and the output grown by the window on each side (the zero-bordered dZ of the input gradient)
      const outputs = c.m * (nH + 1) * c.fH * (nW + 1) * c.fW * (c.C + 4) + c.m * (nH + c.fH) * (nW + c.fW) * (c.N + 8);
      const tensors = 4 * (A.size + (W.size + 1) * (c.N + 8) + outputs);
      const w0 = workOf(be);
      const { Z, cache } = be.convForward(A, W, b, { stride: [c.sH, c.sW], pad: c.pad });
      const { dA, dW, db } = be.convBackward(be.tensor(Z.shape, randn(rand, Z.size)), cache);
      const w1 = workOf(be);
      expect(w1.scratchBytes - w0.scratchBytes).toBeLessThanOrEqual(8 * tensors);
      // the calls, uncut: forward, the filter's packing, the padding and the convolution (3); the
      // filter gradient, dZ's packing, the input's padding or packing, for each of at most 16 pieces
      // of the pixels (filterPieces, by the shapes alone) its tiles and its bias gradient, the sums
      // of the pieces (dW, db) and the scan for values that are not finite (5 + 2 x 16); the input
      // gradient, dZ's padding, then for each stride class (at most fH fW) its filter's packing and
      // its convolution (1 + 2 fH fW). On several threads each is cut into at most
      // 2 x threads x TASKS_PER_THREAD pieces (splitRegions: whole images, or up to ceil(parts / m)
      // pieces of each image): still no stride in it
      const pieces = be.features.threads > 1 ? 2 * be.features.threads * TASKS_PER_THREAD : 1;
      expect(w1.kernelCalls - w0.kernelCalls).toBeLessThanOrEqual((9 + 2 * 16 + 2 * c.fH * c.fW) * pieces);
      for (const t of [A, W, b, Z, dA, dW, db]) t.dispose();
      if (c.fH <= c.H && c.fW <= c.W) {
        const P = be.tensor([c.m, c.H, c.W, c.C], randn(rand, c.m * c.H * c.W * c.C));
        const p0 = workOf(be);
        const pooled = be.poolForward(P, { f: [c.fH, c.fW], stride: [c.sH, c.sW] });
        be.poolBackward(pooled.A, pooled.cache).dispose();
        expect(workOf(be).scratchBytes - p0.scratchBytes).toBeLessThanOrEqual(8 * 2 * P.size);
        pooled.A.dispose();
        P.dispose();
      }
    }), { numRuns: 150 });
  });
});

// keep sizeOf in use for readers who extend the cases
void sizeOf;
