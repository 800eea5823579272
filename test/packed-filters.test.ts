// A forward convolution (or a dense layer, which runs as one) keeps its packed filter between calls
// (src/wasm/packed.ts): on several threads where the convolution is cut over them, on one where the
// packed filter takes 1 MiB or more, and not under a memory maximum. The copy is checked against the
// filter's bits at every call, so a filter changed in any way between two calls (through its `data`
// view, or by an op) gives the output of a fresh pack; a filter changed at every call is not kept;
// kept copies give way to an allocation that could not be met otherwise.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CnnAllocationError, createBackend, type Backend, type DType, type Tensor } from '../src/index.js';
import { Arena } from '../src/wasm/arena.js';
import { PackedFilters } from '../src/wasm/packed.js';
import { BUILD, expectExact, kernelExports, randn, rng } from './helpers.js';

const DTYPES: DType[] = ['float32', 'float64'];
const workOf = (be: Backend) => (be as unknown as { work(): { scratchBytes: number; kernelCalls: number } }).work();
const bits = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

describe('packed_filter_differs: the kernel that compares a kept packed filter with the filter', () => {
  it.each(DTYPES)('%s: 0 for the filter it was packed from; 1 for any element changed in the rows it compares, at the blocks\' edges', async (dtype) => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const k = await kernelExports(memory);
    const p = dtype === 'float32' ? 'f32' : 'f64';
    const sz = dtype === 'float32' ? 4 : 8;
    const nr = dtype === 'float32' ? 8 : 4;
    fc.assert(
      fc.property(
        // taps x input channels (R rows) and output channels N around the blocks of nr
        fc.record({ R: fc.integer({ min: 1, max: 40 }), N: fc.integer({ min: 1, max: 3 * nr + 1 }), rows: fc.boolean(), pick: fc.nat(), seed: fc.integer() }),
        ({ R, N, rows, pick, seed }) => {
          const w = 1024, packed = w + R * N * sz + 64;
          const view = dtype === 'float32' ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer);
          const values = randn(rng(seed), R * N);
          const at = pick % (R * N), r = Math.floor(at / N);
          if (pick % 2 === 0) values[at] = 0; // half the time the element changed below goes from 0 to -0
          view.set(values, w / sz);
          // R rows as one tap of R input channels: w[r][n] at r * N + n
          k[`${p}_${rows ? 'pack_filter_rows' : 'pack_filter'}`]!(w, packed, 1, 1, R, N, 0, 0, 0, N * sz, sz);
          expect(k[`${p}_packed_filter_differs`]!(w, packed, R, N, rows ? 1 : 0, 0, R)).toBe(0);
          // one element's bits changed (0 -> -0 where it is 0): the rows that hold it differ, the others do not
          view[w / sz + at] = values[at] === 0 ? -0 : -values[at]!;
          expect(k[`${p}_packed_filter_differs`]!(w, packed, R, N, rows ? 1 : 0, 0, R)).toBe(1);
          expect(k[`${p}_packed_filter_differs`]!(w, packed, R, N, rows ? 1 : 0, r, r + 1)).toBe(1);
          expect(k[`${p}_packed_filter_differs`]!(w, packed, R, N, rows ? 1 : 0, 0, r)).toBe(0);
          expect(k[`${p}_packed_filter_differs`]!(w, packed, R, N, rows ? 1 : 0, r + 1, R)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fingerprint: bytes changed everywhere change it; the same bytes give the same one', async () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const k = await kernelExports(memory);
    const view = new Float32Array(memory.buffer);
    for (const n of [1, 3, 4, 100, 1000, 4096, 40_000]) {
      view.set(randn(rng(n), n), 256);
      const before = k['fingerprint']!(1024, 4 * n);
      expect(k['fingerprint']!(1024, 4 * n)).toBe(before);
      for (let i = 0; i < n; i++) view[256 + i] = view[256 + i]! * 0.999 + 1e-4; // as a training step moves every weight
      expect(k['fingerprint']!(1024, 4 * n)).not.toBe(before);
    }
  });
});

describe.each(DTYPES)('kept packed filters, %s', (dtype) => {
  let two: Backend, one: Backend;
  beforeAll(async () => {
    two = await createBackend('wasm', { simd: BUILD, threads: 2 });
    one = await createBackend('wasm', { simd: BUILD, threads: 1 });
  });
  afterAll(() => {
    two.dispose();
    one.dispose();
  });

  /** Z of a forward convolution: on `be`, and on the same backend with a fresh copy of W (packed into scratch at its first call). */
  const forward = (be: Backend, A: Tensor, W: Tensor, b: Tensor, pad: number) => be.tidy(() => Array.from(be.convForward(A, W, b, { stride: 1, pad }).Z.data));
  const fresh = (be: Backend, A: Tensor, W: Tensor, b: Tensor, pad: number) => be.tidy(() => forward(be, A, be.tensor(W.shape, W.data, dtype), b, pad));
  /** Scratch bytes a call takes. */
  const scratchOf = (be: Backend, call: () => unknown) => {
    const w0 = workOf(be).scratchBytes;
    call();
    return workOf(be).scratchBytes - w0;
  };
  /** Bytes of W (f x f x C x N) packed: output channels in blocks of 8 (float32) or 4 (float64). */
  const packedBytes = (f: number, C: number, N: number) => {
    const nr = dtype === 'float32' ? 8 : 4;
    return Math.ceil(N / nr) * nr * f * f * C * (dtype === 'float32' ? 4 : 8);
  };

  it('on 2 threads, a filter changed through its data view between calls (any element, any bits) gives the output of a fresh pack', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          C: fc.integer({ min: 1, max: 9 }), N: fc.integer({ min: 1, max: 18 }), f: fc.integer({ min: 1, max: 3 }), pad: fc.integer({ min: 0, max: 1 }),
          pick: fc.nat(), value: fc.constantFrom(0, -0, 1, -2.5, NaN, Infinity), seed: fc.integer(),
        }),
        async ({ C, N, f, pad, pick, value, seed }) => {
          // a backend of its own, whose first call finds no block kept for a filter at W's offset
          const be = await createBackend('wasm', { simd: BUILD, threads: 2 });
          // enough images that the convolution is cut over the threads (2^18 multiply-adds of output pixels)
          const H = 12, nH = H + 2 * pad - f + 1, m = Math.ceil(2 ** 18 / (nH * nH * f * f * C * N)) + 1;
          const r = rng(seed);
          const A = be.tensor([m, H, H, C], randn(r, m * H * H * C), dtype);
          const W = be.tensor([f, f, C, N], randn(r, f * f * C * N), dtype), b = be.tensor([1, 1, 1, N], randn(r, N), dtype);
          let first: number[] = [];
          const packing = scratchOf(be, () => (first = forward(be, A, W, b, pad)));
          // the second call keeps the packed filter, the third uses it: it takes no scratch for it
          expectExact(forward(be, A, W, b, pad), first, 'second call');
          let third: number[] = [];
          expect(packing - scratchOf(be, () => (third = forward(be, A, W, b, pad)))).toBe(packedBytes(f, C, N));
          expectExact(third, first, 'third call');
          W.data[pick % W.size] = value;
          expectExact(forward(be, A, W, b, pad), fresh(be, A, W, b, pad), `after W[${pick % W.size}] = ${bits(value)}`);
          be.dispose();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('on 2 threads, a filter of 144 KiB or more (compared by ranges of rows over the threads) changed in its first, middle or last row gives the output of a fresh pack', async () => {
    const two = await createBackend('wasm', { simd: BUILD, threads: 2 }); // its own: no block kept at W's offset before
    const r = rng(14);
    const A = two.tensor([2, 16, 16, 64], randn(r, 2 * 16 * 16 * 64), dtype), W = two.tensor([3, 3, 64, 64], randn(r, 9 * 64 * 64), dtype), b = two.tensor([1, 1, 1, 64], null, dtype);
    let first: number[] = [];
    const packing = scratchOf(two, () => (first = forward(two, A, W, b, 1)));
    forward(two, A, W, b, 1);
    expect(packing - scratchOf(two, () => expectExact(forward(two, A, W, b, 1), first, 'kept'))).toBe(packedBytes(3, 64, 64));
    for (const at of [0, W.size >> 1, W.size - 1]) {
      W.data[at] = 3;
      expectExact(forward(two, A, W, b, 1), fresh(two, A, W, b, 1), `after W[${at}] = 3`);
    }
    two.dispose();
  });

  it('on 2 threads, a filter an optimizer moves before every call is packed into scratch at every call, as before (no block is taken for it)', async () => {
    const two = await createBackend('wasm', { simd: BUILD, threads: 2 }); // its own: no block kept at W's offset before
    const r = rng(15);
    const A = two.tensor([16, 12, 12, 6], randn(r, 16 * 12 * 12 * 6), dtype), W = two.tensor([3, 3, 6, 16], randn(r, 864), dtype), b = two.tensor([1, 1, 1, 16], null, dtype);
    const grad = two.tensor(W.shape, randn(r, W.size), dtype);
    // every call takes the scratch of the first, which packs W into scratch (a kept block would save packedBytes)
    const packing = scratchOf(two, () => forward(two, A, W, b, 1));
    for (let i = 0; i < 5; i++) {
      two.sgd([W], [grad], { learningRate: 1e-3 });
      expect(scratchOf(two, () => forward(two, A, W, b, 1))).toBe(packing);
    }
    two.dispose();
  });

  it('on 2 threads, a filter that becomes -0 everywhere is packed again (its bits, not its values, are compared)', () => {
    // Z = b + sum of A x W with A and b -0: +0 from filter taps of +0, -0 from taps of -0
    const A = two.tensor([8, 16, 16, 8], new Float64Array(8 * 16 * 16 * 8), dtype), b = two.tensor([1, 1, 1, 16], Array(16).fill(-0), dtype);
    const W = two.tensor([3, 3, 8, 16], null, dtype);
    for (let i = 0; i < 3; i++) expect(forward(two, A, W, b, 0).every((v) => Object.is(v, 0))).toBe(true);
    W.data.fill(-0);
    expect(forward(two, A, W, b, 0).every((v) => Object.is(v, -0))).toBe(true);
    for (const t of [A, W, b]) t.dispose();
  });

  it('a filter an op updates in place (an optimizer step) between inference calls gives the output of a fresh pack', () => {
    const r = rng(11);
    const A = two.tensor([16, 12, 12, 6], randn(r, 16 * 12 * 12 * 6), dtype), W = two.tensor([3, 3, 6, 16], randn(r, 864), dtype), b = two.tensor([1, 1, 1, 16], null, dtype);
    const grad = two.tensor(W.shape, randn(r, W.size), dtype);
    for (let i = 0; i < 3; i++) forward(two, A, W, b, 1);
    two.sgd([W], [grad], { learningRate: 1e-3 });
    expectExact(forward(two, A, W, b, 1), fresh(two, A, W, b, 1), 'after sgd');
    for (const t of [A, W, b, grad]) t.dispose();
  });

  it('on one thread a packed filter of 1 MiB or more is kept (the third call takes no scratch for it) and a change is seen', () => {
    const r = rng(12);
    const n = dtype === 'float32' ? 256 : 128; // W (1024, n): 1 MiB either way
    const X = one.tensor([16, 1024], randn(r, 16 * 1024), dtype), W = one.tensor([1024, n], randn(r, 1024 * n), dtype), b = one.tensor([1, n], null, dtype);
    const dense = () => one.tidy(() => Array.from(one.denseForward(X, W, b).Z.data));
    const first = dense();
    dense();
    const w0 = workOf(one).scratchBytes;
    expectExact(dense(), first, 'third call');
    expect(workOf(one).scratchBytes - w0).toBeLessThan(1 << 20); // its bias only, not a packed filter of 1 MiB
    W.data[W.size - 1] = 7;
    const copy = one.tensor(W.shape, W.data, dtype);
    expectExact(dense(), one.tidy(() => Array.from(one.denseForward(X, copy, b).Z.data)), 'after the change');
    for (const t of [X, W, b, copy]) t.dispose();
  });
});

describe('kept packed filters and memory', () => {
  it.each([1, 2])('on %i thread(s), a backend made with a memory maximum keeps none: every call packs into scratch, and the layer gives the same output', async (threads) => {
    const be = await createBackend('wasm', { simd: BUILD, threads, memory: { initial: 1 << 20, maximum: 16 << 20 } });
    const r = rng(13);
    // a packed filter of 1 MiB, cut over the threads on two (256 x 1024 x 256 multiply-adds)
    const X = be.tensor([256, 1024], randn(r, 256 * 1024)), W = be.tensor([1024, 256], randn(r, 1024 * 256)), b = be.tensor([1, 256]);
    const dense = () => be.tidy(() => Array.from(be.denseForward(X, W, b).Z.data));
    const first = dense();
    for (let i = 0; i < 3; i++) {
      const w0 = workOf(be).scratchBytes;
      expectExact(dense(), first, `call ${i + 2}`);
      expect(workOf(be).scratchBytes - w0).toBeGreaterThanOrEqual(1 << 20);
    }
    be.dispose();
  });

  it('kept blocks give way to an allocation that could not be met otherwise, pinned ones (a call under way) do not', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const arena = new Arena(memory, 1024, 4 << 20);
    const kept = new PackedFilters(arena, true);
    /** How many blocks of 256 KiB can be had now (all freed again). */
    const room = () => {
      const taken: number[] = [];
      try {
        for (;;) taken.push(arena.alloc('test', 256 << 10));
      } catch (e) {
        expect(e).toBeInstanceOf(CnnAllocationError);
      }
      for (const t of taken) arena.free(t);
      return taken.length;
    };
    const without = room();
    const layout = [4, 0, 3, 3, 64, 64];
    // the first sighting remembers the fingerprint; the second, the same, takes a block
    expect(kept.pin(64, layout, 1 << 20, () => 7)).toBeNull();
    const entry = kept.pin(64, layout, 1 << 20, () => 7)!;
    expect(entry).not.toBeNull();
    expect(room()).toBe(without - 4); // pinned: it stays
    kept.unpin(entry);
    expect(room()).toBe(without); // unpinned: it gives way
    // gone: the next sightings start again
    expect(kept.pin(64, layout, 1 << 20, () => 7)).toBeNull();
    const again = kept.pin(64, layout, 1 << 20, () => 7)!;
    again.packed = true;
    kept.unpin(again);
    // a block that cannot be had leaves the others kept: fill the memory (without reclaim), then ask for a second
    const taken: number[] = [];
    try {
      for (;;) taken.push(arena.alloc('test', 256 << 10, false));
    } catch (e) {
      expect(e).toBeInstanceOf(CnnAllocationError);
    }
    expect(kept.pin(4096, layout, 1 << 20, () => 7)).toBeNull();
    expect(kept.pin(4096, layout, 1 << 20, () => 7)).toBeNull();
    expect(kept.pin(64, layout, 1 << 20, () => 7)).toBe(again);
  });
});
