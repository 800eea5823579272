// Data in and out, on both backends: copies into tensors are exact whatever the source array type,
// t.set() refills a tensor in place, `data` views are fresh after the memory grows, a memory
// reserved up front does not grow (and a maximum is kept), and memory() balances. Pixels need a DOM:
// in Node they say so (test/browser.test.ts runs them in Chromium).
import { describe, expect, it } from 'vitest';
import { CnnAllocationError, CnnArgumentError, CnnUnsupportedError, createBackend, type DType } from '../src/index.js';

describe.each(['wasm', 'js'] as const)('data in and out on %s', (name) => {
  it.each<DType>(['float32', 'float64'])('tensor() copies every number array type exactly, converting as a typed array does (%s)', async (dtype) => {
    const be = await createBackend(name);
    const start = be.memory();
    const values = [0, -0, 1.5, -2.25, 1e-40, 3.4e38, 1e300, NaN, Infinity, 16777217, 255, 256, -129];
    const As = dtype === 'float32' ? Float32Array : Float64Array;
    const sources = [values, Float32Array.from(values), Float64Array.from(values), Int8Array.from(values), Uint8Array.from(values),
      Uint8ClampedArray.from(values), Int16Array.from(values), Uint16Array.from(values), Int32Array.from(values), Uint32Array.from(values)];
    for (const source of sources) {
      const t = be.tensor([values.length], source, dtype);
      // what a typed array of the dtype holds after set(source): each element converted once
      const expected = new As(values.length);
      expected.set(source as ArrayLike<number>);
      expect(Array.from(t.data), source.constructor.name).toEqual(Array.from(expected));
      expect(Object.is(t.data[1], expected[1]), `${source.constructor.name} -0`).toBe(true);
      t.dispose();
    }
    expect(be.memory().tensors).toBe(start.tensors);
    expect(be.memory().bytesInUse).toBe(start.bytesInUse);
  });

  it('set() refills a tensor in place: the same storage, the new values, any number array type', async () => {
    const be = await createBackend(name);
    const t = be.tensor([2, 3], [1, 2, 3, 4, 5, 6]);
    const view = t.data;
    const before = be.memory();
    expect(t.set(Float64Array.of(6, 5, 4, 3, 2, 1))).toBe(t);
    expect(Array.from(view)).toEqual([6, 5, 4, 3, 2, 1]);
    t.set(Int32Array.of(-1, -2, -3, -4, -5, -6));
    expect(Array.from(t.data)).toEqual([-1, -2, -3, -4, -5, -6]);
    t.set([0.5, 0.25, 0.125, 0, 1, 2]);
    expect(Array.from(t.data)).toEqual([0.5, 0.25, 0.125, 0, 1, 2]);
    // from another tensor's view, and from its own
    const u = be.tensor([6], [9, 8, 7, 6, 5, 4]);
    t.set(u.data);
    expect(Array.from(t.data)).toEqual([9, 8, 7, 6, 5, 4]);
    t.set(t.data);
    expect(Array.from(t.data)).toEqual([9, 8, 7, 6, 5, 4]);
    expect(be.memory().tensors).toBe(before.tensors + 1);
    expect(be.memory().bytesInUse).toBe(before.bytesInUse + 24);
    expect(() => t.set([1, 2, 3])).toThrow(CnnArgumentError);
    expect(() => t.set([1, 2, 3])).toThrow(/Tensor\.set: values: expected 6 values, got 3 values/);
  });
});

describe('wasm memory: growth, reserving, a maximum', () => {
  it('memory().grows counts growths; a view kept across one is stale (empty), and data gives a fresh one', async () => {
    const be = await createBackend('wasm', { threads: 1 });
    const t = be.tensor([4], [1, 2, 3, 4]);
    const kept = t.data;
    const grows = be.memory().grows;
    const big = be.tensor([be.memory().bytesReserved / 4]);
    expect(be.memory().grows).toBe(grows + 1);
    expect(kept.length).toBe(0); // detached: the symptom the README's troubleshooting describes
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4]);
    big.dispose();
  });

  it('with threads (a shared memory, which growth never detaches) a view kept across growth stays live', async () => {
    const be = await createBackend('wasm', { threads: 2 });
    expect(be.features.threads).toBe(2);
    const t = be.tensor([4], [1, 2, 3, 4]);
    const kept = t.data;
    const big = be.tensor([be.memory().bytesReserved / 4]);
    expect(be.memory().grows).toBeGreaterThan(0);
    expect(Array.from(kept)).toEqual([1, 2, 3, 4]);
    kept[0] = 5;
    expect(t.data[0]).toBe(5);
    expect(t.data === kept).toBe(false); // data is a view of the grown memory
    big.dispose();
    be.dispose();
  });

  it('a memory reserved up front does not grow until tensors need more', async () => {
    const be = await createBackend('wasm', { memory: { initial: 64 << 20 } });
    expect(be.memory().bytesReserved).toBe(64 << 20);
    const t = be.tensor([4], [1, 2, 3, 4]);
    const kept = t.data;
    const batch = be.tensor([16 << 20 >> 2]); // 16 MiB: fits
    const out = be.relu(batch);
    expect(be.memory().grows).toBe(0);
    expect(Array.from(kept)).toEqual([1, 2, 3, 4]); // still a live view
    for (const x of [batch, out.Y, t]) x.dispose();
  });

  it('a maximum is kept: beyond it a CnnAllocationError that says so, and the backend keeps working', async () => {
    const be = await createBackend('wasm', { memory: { initial: 1 << 20, maximum: 4 << 20 } });
    const a = be.tensor([1 << 19]); // 2 MiB
    const before = be.memory();
    let error: unknown;
    try {
      be.tensor([1 << 19]); // 2 MiB more, past 4 MiB with the module's own data
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CnnAllocationError);
    expect((error as Error).message).toMatch(/tensor: cannot allocate 2097152 bytes .*memory maximum this backend was made with \(4194304 bytes\)/);
    expect(be.memory().tensors).toBe(before.tensors);
    a.dispose();
    const again = be.tensor([1 << 19], null);
    expect(again.size).toBe(1 << 19);
    again.dispose();
  });

  it("a dense layer whose scratch does not fit is a CnnAllocationError naming the dense op, not the convolution it runs as", async () => {
    // (16, 1024) x (1024, 512) in float32: W is 2 MiB, and both directions pack a 2 MiB copy of it
    const be = await createBackend('wasm', { memory: { initial: 1 << 20, maximum: 6 << 20 } });
    const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const X = be.tensor([16, 1024], values(16 * 1024)), W = be.tensor([1024, 512], values(1024 * 512)), b = be.tensor([1, 512]);
    const { Z, cache } = be.denseForward(X, W, b);
    const dZ = be.tensor(Z.shape, values(Z.size));
    const expectFailure = (f: () => unknown, op: string) => {
      const before = be.memory();
      let error: unknown;
      try {
        f();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CnnAllocationError);
      expect((error as Error).message).toMatch(new RegExp(`^${op}: cannot allocate`));
      expect(be.memory().tensors).toBe(before.tensors);
    };
    // dX, dW and db fit beside the inputs; the packed filter of the input gradient does not
    expectFailure(() => be.denseBackward(dZ, cache), 'denseBackward');
    // a second weight matrix fits; its packed copy does not
    const W2 = be.tensor([1024, 512], values(1024 * 512));
    expectFailure(() => be.denseForward(X, W2, b), 'denseForward');
    W2.dispose();
    // the backend keeps working: the same layer again
    const again = be.denseForward(X, W, b);
    expect(Array.from(again.Z.data)).toEqual(Array.from(Z.data));
    be.dispose();
  });

  it('memory options are checked', async () => {
    await expect(createBackend('wasm', { memory: { initial: -1 } })).rejects.toThrow(/options\.memory\.initial: expected a whole number of bytes/);
    await expect(createBackend('wasm', { memory: { initial: 2 << 20, maximum: 1 << 20 } })).rejects.toThrow(/options\.memory\.maximum: expected a whole number of bytes from 2097152/);
    await expect(createBackend('wasm', { memory: { initial: 1 << 20, max: 1 } as never })).rejects.toThrow(/options\.memory\.max: expected no other keys than initial, maximum/);
    await expect(createBackend('js', { memory: { initial: 1 << 20 } })).rejects.toThrow(/options\.memory: expected no memory option for 'js'/);
  });
});

describe.each(['wasm', 'js'] as const)('pixels in Node (%s)', (name) => {
  it('fromPixels and toPixels say they need a DOM', async () => {
    const be = await createBackend(name);
    const image = { data: new Uint8ClampedArray(16), width: 2, height: 2 };
    expect(() => be.fromPixels(image)).toThrow(CnnUnsupportedError);
    expect(() => be.fromPixels(image)).toThrow(/fromPixels: needs a DOM .* in Node, make a tensor of the pixel values/);
    const t = be.tensor([2, 2, 1]);
    expect(() => be.toPixels(t)).toThrow(/toPixels: needs a DOM/);
    // its arguments are still checked first
    expect(() => be.fromPixels(image, { channels: 2 as never })).toThrow(/options\.channels: expected 1, 3 or 4/);
    expect(() => be.toPixels(be.tensor([2, 2, 2]))).toThrow(/toPixels: t: expected shape \(h, w, 1\) or \(h, w, 3\)/);
  });
});
