// The public API surface: backend selection, tensors, views, copies, disposal, features.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CnnUnsupportedError, createBackend, Tensor } from '../src/index.js';

describe('createBackend', () => {
  it("defaults to 'wasm' and reports its build", async () => {
    const be = await createBackend();
    expect(be.name).toBe('wasm');
    expect(['simd', 'relaxed-simd']).toContain(be.features.build);
    expect((await createBackend('js')).features.build).toBe('scalar');
    expect((await createBackend('wasm', { simd: 'plain' })).features.build).toBe('simd');
  });

  it("{ simd: 'relaxed' } is refused with a clear error where the engine does not validate relaxed SIMD", async () => {
    // this project runs Node without --experimental-wasm-relaxed-simd (Node 20 needs it)
    const relaxed = await createBackend('wasm', { simd: 'relaxed' }).then((b) => b.features.build, (e: Error) => e);
    if (relaxed instanceof Error) {
      expect(relaxed).toBeInstanceOf(CnnUnsupportedError);
      expect(relaxed.message).toMatch(/relaxed SIMD.*simd: 'plain'/);
      expect((await createBackend('wasm')).features.build).toBe('simd');
    } else {
      expect(relaxed).toBe('relaxed-simd');
      expect((await createBackend('wasm')).features.build).toBe('relaxed-simd');
    }
  });

  describe('an engine without WebAssembly SIMD', () => {
    afterEach(() => vi.restoreAllMocks());
    it("gets a clear error that suggests 'js'", async () => {
      vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
      await expect(createBackend('wasm')).rejects.toThrow(CnnUnsupportedError);
      await expect(createBackend('wasm')).rejects.toThrow(/does not support WebAssembly SIMD.*createBackend\('js'\)/);
      vi.restoreAllMocks();
      expect((await createBackend('wasm')).name).toBe('wasm');
    });
  });
});

describe.each(['wasm', 'js'] as const)('tensors on %s', (name) => {
  it('shape, dtype, size, data, toArray, dispose', async () => {
    const be = await createBackend(name);
    const A = be.tensor([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(A).toBeInstanceOf(Tensor);
    expect(A.shape).toEqual([2, 3]);
    expect(A.dtype).toBe('float32');
    expect(A.size).toBe(6);
    expect(A.data).toBeInstanceOf(Float32Array);
    const copy = A.toArray();
    A.data[0] = 10; // data is a live view
    expect(A.toArray()[0]).toBe(10);
    expect(copy[0]).toBe(1); // toArray is a copy
    const B = be.tensor([3], Float64Array.of(0.1, 0.2, 0.3), 'float64');
    expect(B.data).toBeInstanceOf(Float64Array);
    expect(Array.from(B.data)).toEqual([0.1, 0.2, 0.3]);
    expect(Array.from(be.tensor([2, 2]).data)).toEqual([0, 0, 0, 0]); // zeros when data is omitted
    expect(Array.from(be.tensor([2], Int32Array.of(7, 8)).data)).toEqual([7, 8]); // any number typed array, converted
    const before = be.memory().tensors;
    B[Symbol.dispose]();
    expect(B.disposed).toBe(true);
    expect(be.memory().tensors).toBe(before - 1);
  });

  it('outputs are new tensors, caches hold the inputs themselves', async () => {
    const be = await createBackend(name);
    const A = be.tensor([1, 4, 4, 2]), W = be.tensor([2, 2, 2, 3]), b = be.tensor([1, 1, 1, 3]);
    const { Z, cache } = be.convForward(A, W, b, { stride: 2, pad: 0 });
    expect(Z.shape).toEqual([1, 2, 2, 3]);
    expect(cache.A_prev).toBe(A);
    expect(cache.W).toBe(W);
    expect(cache.Z).toBe(Z);
    expect(cache.hparameters).toEqual({ stride: [2, 2], pad: [[0, 0], [0, 0]], activation: 'linear' });
    const pooled = be.poolForward(A, { f: [2, 1], stride: [2, 1] }, 'average');
    expect(pooled.A.shape).toEqual([1, 2, 4, 2]);
    expect(pooled.cache.mode).toBe('average');
    expect(pooled.cache.A_prev).toBe(A);
    expect(be.poolBackward(be.tensor(pooled.A.shape), pooled.cache).shape).toEqual([1, 4, 4, 2]);
    expect(be.zeroPad(A, [1, 2]).shape).toEqual([1, 6, 8, 2]);
    expect(Array.from(be.distributeValue(2, [2, 2]).data)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});

describe('the built package in Node', () => {
  it("import { createBackend } from 'cnn-wasm' works with no path or option", async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `import { createBackend } from 'cnn-wasm';
      const be = await createBackend('wasm');
      const { Z } = be.convForward(be.tensor([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]), be.tensor([2, 2, 1, 1], [1, 0, 0, 1]), be.tensor([1, 1, 1, 1], [0.5]), { stride: 1, pad: 0 });
      console.log(JSON.stringify({ build: be.features.build, Z: Array.from(Z.data) }));`;
    const cwd = new URL('..', import.meta.url);
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' }));
    expect(out).toEqual({ build: 'simd', Z: [6.5, 8.5, 12.5, 14.5] });
  });
});

describe.each(['wasm', 'js'] as const)('reshape, tidy and keep on %s', (name) => {
  it('reshape shares the storage: no copy, either survives the other, memory() counts it once', async () => {
    const be = await createBackend(name);
    const start = be.memory();
    const X = be.tensor([2, 3, 4], Array.from({ length: 24 }, (_, i) => i));
    const Y = be.reshape(X, [6, -1]);
    expect(Y.shape).toEqual([6, 4]);
    expect(be.memory().tensors).toBe(start.tensors + 2);
    expect(be.memory().bytesInUse).toBe(start.bytesInUse + 24 * 4);
    Y.data[5] = 100; // the same elements
    expect(X.data[5]).toBe(100);
    X.dispose();
    expect(Y.data[23]).toBe(23);
    expect(be.memory().bytesInUse).toBe(start.bytesInUse + 24 * 4);
    Y.dispose();
    expect(be.memory()).toEqual({ ...start, bytesReserved: be.memory().bytesReserved });
    expect(() => be.reshape(be.tensor([2, 3]), [4])).toThrow(/reshape: shape: expected a shape of 6 elements/);
    expect(() => be.reshape(be.tensor([2, 3]), [-1, 4])).toThrow(/known dimensions divide/);
  });

  it('tidy disposes what fn made but what it returns (inside arrays and objects), nests, and disposes on a throw', async () => {
    const be = await createBackend(name);
    const outside = be.tensor([2], [1, 2]);
    const start = be.memory().tensors;
    const kept = be.tidy(() => {
      be.tensor([3]);
      const a = be.tensor([1], [7]);
      const inner = be.tidy(() => {
        const b = be.tensor([1], [8]);
        be.tensor([5]);
        return { b, list: [be.relu(b).Y] };
      });
      return { a, inner, outside };
    });
    // a, inner.b and the relu output survive; the two unnamed tensors are gone
    expect(be.memory().tensors).toBe(start + 3);
    expect(Array.from(kept.a.data)).toEqual([7]);
    expect(Array.from(kept.inner.list[0]!.data)).toEqual([8]);
    expect(outside.disposed).toBe(false);
    const thrown = be.memory().tensors;
    expect(() => be.tidy(() => {
      be.tensor([4]);
      throw new Error('boom');
    })).toThrow('boom');
    expect(be.memory().tensors).toBe(thrown);
    // an async function cannot be followed: refused, and what it made so far is disposed
    expect(() => be.tidy((async () => be.tensor([1])) as never)).toThrow(/tidy: fn: expected a synchronous function/);
    expect(be.memory().tensors).toBe(thrown);
  });

  it('keep exempts a tensor from the tidy calls it was made in', async () => {
    const be = await createBackend(name);
    let k: Tensor | undefined;
    const start = be.memory().tensors;
    be.tidy(() => {
      be.tidy(() => {
        k = be.keep(be.tensor([1], [5]));
        be.tensor([1]);
      });
    });
    expect(be.memory().tensors).toBe(start + 1);
    expect(Array.from(k!.data)).toEqual([5]);
  });

  it('toString and util.inspect show dtype, shape, backend and the leading values', async () => {
    const be = await createBackend(name);
    const t = be.tensor([2, 3], [1, 2.5, -3, 4, 5, 6]);
    expect(String(t)).toBe(`Tensor float32 [2, 3] (${name})\n[[  1, 2.5,  -3],\n [  4,   5,   6]]`);
    const { inspect } = await import('node:util');
    expect(inspect(t)).toBe(String(t));
    const long = be.tensor([100], Array.from({ length: 100 }, (_, i) => i), 'float64');
    expect(String(long)).toBe(`Tensor float64 [100] (${name})\n[ 0,  1,  2, ..., 97, 98, 99]`);
  });
});

