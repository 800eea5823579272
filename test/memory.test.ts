// Memory: forward + backward in a loop with dispose leaves be.memory() exactly as it was; views of
// linear memory stay usable across growth (read `data` again: the getter re-makes the view).
import { describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../src/index.js';
import { randn, rng } from './helpers.js';

describe.each(['wasm', 'js'] as const)('memory on the %s backend', (name) => {
  it('2000 forward+backward iterations with dispose leave memory() exactly as before', async () => {
    const be = await createBackend(name);
    const keep = be.tensor([4], [1, 2, 3, 4]);
    // one warm-up step lets the wasm memory reach its working size; after it nothing may change
    const step = (i: number) => {
      const made = be.memory().tensors;
      const rand = rng(i);
      const A = be.tensor([2, 9, 8, 3], randn(rand, 432));
      const W = be.tensor([3, 3, 3, 5], randn(rand, 135));
      const b = be.tensor([1, 1, 1, 5], randn(rand, 5));
      const { Z, cache } = be.convForward(A, W, b, { stride: 2, pad: 1 });
      const { A: P, cache: poolCache } = be.poolForward(Z, { f: 2, stride: 1 }, i % 2 ? 'max' : 'average');
      const G = be.tensor(P.shape, randn(rand, P.size));
      const dZ = be.poolBackward(G, poolCache);
      const { dA, dW, db } = be.convBackward(dZ, cache);
      const dAOnly = be.convBackwardInput(dZ, cache);
      const { dW: dWOnly, db: dbOnly } = be.convBackwardFilter(dZ, cache);
      const x = be.tensor([2, 2], [1, 3, 3, 0]);
      const mask = be.createMaskFromWindow(x);
      const pad = be.zeroPad(A, 1);
      const share = be.distributeValue(1, [2, 2]);
      for (const t of [A, W, b, Z, P, G, dZ, dA, dW, db, dAOnly, dWOnly, dbOnly, x, mask, pad, share]) t.dispose();
      expect(be.memory().tensors).toBe(made);
    };
    const start = be.memory();
    step(0);
    const warm = be.memory();
    expect(warm.tensors).toBe(start.tensors);
    expect(warm.bytesInUse).toBe(start.bytesInUse);
    for (let i = 1; i <= 2000; i++) step(i);
    expect(be.memory()).toEqual(warm);
    expect(keep.toArray()).toEqual(Float32Array.of(1, 2, 3, 4));
  });
});

describe('wasm linear memory growth', () => {
  it('a tensor keeps its data across growth; data re-makes the view', async () => {
    // one thread: a memory that is not shared, whose old buffer growth detaches
    const be = await createBackend('wasm', { threads: 1 });
    const A = be.tensor([3, 5], Array.from({ length: 15 }, (_, i) => i * 1.5));
    const before = A.toArray();
    const oldView = A.data;
    const reserved = be.memory().bytesReserved;
    const big = be.tensor([reserved / 4 + 1024]); // larger than all memory so far: forces growth
    expect(be.memory().bytesReserved).toBeGreaterThan(reserved);
    expect(A.data).toEqual(before);
    expect(A.data === oldView).toBe(false);
    expect(oldView.length).toBe(0); // the engine detached it: read A.data again after other calls
    big.dispose();
  });

  it('a tensor made from a view of linear memory copies it even when allocating grows the memory', async () => {
    const be = await createBackend('wasm');
    const src = be.tensor([be.memory().bytesReserved / 8], null); // half the memory
    src.data.forEach((_, i, a) => (a[i] = i % 251));
    const copy = be.tensor(src.shape, src.data); // needs as much again: grows while reading src.data
    expect(copy.toArray()).toEqual(src.toArray());
    expect(copy.data[250]).toBe(250);
  });

  it('freed blocks are reused: the same work twice reserves nothing more', async () => {
    const be = await createBackend('wasm');
    const work = () => {
      const ts = [be.tensor([1000]), be.tensor([50]), be.tensor([3000])];
      ts[1]!.dispose();
      ts.push(be.tensor([40]));
      for (const t of ts) t.dispose();
    };
    work();
    const after = be.memory();
    for (let i = 0; i < 100; i++) work();
    expect(be.memory()).toEqual(after);
    expect(after.bytesInUse).toBe(0);
  });
});

describe('where tensors are placed with worker threads (src/wasm/arena.ts)', () => {
  /** [byteOffset, byteLength] of each tensor a step makes, read before any is freed. */
  const step = (be: Backend) => be.tidy(() => {
    const blocks: [number, number][] = [];
    const made = (t: { data: ArrayBufferView }) => blocks.push([t.data.byteOffset, t.data.byteLength]);
    const A = be.tensor([4, 16, 16, 3], null);
    A.data.fill(0.5);
    made(A);
    const W = be.tensor([3, 3, 3, 8], null);
    W.data.fill(0.25);
    made(W);
    const b = be.tensor([1, 1, 1, 8], null);
    made(b);
    const { Z, cache } = be.convForward(A, W, b, { stride: 1, pad: 'same', activation: 'relu' });
    made(Z);
    const big = be.tensor([1500], null);
    made(big);
    big.dispose(); // a hole that the smaller request next could take
    const small = be.tensor([1000], null);
    made(small);
    const { dA, dW, db } = be.convBackward(Z, cache);
    for (const t of [dA, dW, db]) made(t);
    return blocks;
  });

  it('a step repeated in tidy() puts each tensor where it was, and only blocks of one size share bytes', async () => {
    const be = await createBackend('wasm', { threads: 2 });
    step(be);
    const first = step(be);
    expect(step(be)).toEqual(first);
    expect(step(be)).toEqual(first);
    for (let i = 0; i < first.length; i++) {
      for (let j = i + 1; j < first.length; j++) {
        const [a, n] = first[i]!, [c, k] = first[j]!;
        const overlap = a < c + k && c < a + n;
        if (overlap) expect([i, j, n]).toEqual([i, j, k]);
      }
    }
    // the 1000-element tensor did not go into the 1500-element hole
    expect(first[5]![0]).not.toBe(first[4]![0]);
    be.dispose();
  });

  it('one thread: a freed block is taken by a smaller request (memory first)', async () => {
    const be = await createBackend('wasm', { threads: 1 });
    const first = step(be);
    expect(first[5]![0]).toBe(first[4]![0]);
  });

  it('holes are kept only while they are fewer bytes than the live blocks: a long scope of varied sizes stays bounded', async () => {
    const be = await createBackend('wasm', { threads: 2 });
    const rand = rng(5);
    const reserved = be.tidy(() => {
      for (let i = 0; i < 300; i++) be.tensor([1000 + Math.floor(rand() * 200_000)], null).dispose();
      return be.memory().bytesReserved;
    });
    // one block of at most 201k floats (804 KB) live at a time: holes may add as much again
    expect(reserved).toBeLessThan(4 * 804_000 + (2 << 20));
    expect(be.memory().bytesInUse).toBe(0);
    be.dispose();
  });
});
