// Threads: the shared-memory module is AssemblyScript's own --sharedMemory build; every op gives the
// same bits on 1, 2, 3 and 8 threads (random geometries large enough to be split, both dtypes,
// special values included); threads options, features and dispose; a lost worker makes the next op
// fall back to one thread within seconds; a script that never disposes its backend exits.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend, type DType, type Tensor } from '../src/index.js';
import { compile, instantiate, sharedMemoryVariant } from '../src/wasm/module.js';
import { TAKE_SLOTS, ThreadPool, takeTasks } from '../src/wasm/threads.js';
import { BUILD, expectExact, rng } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const COUNTS = [1, 2, 3, 8];
let backends: Backend[] = [];

beforeAll(async () => {
  backends = await Promise.all(COUNTS.map((threads) => createBackend('wasm', { simd: BUILD, threads })));
  backends.forEach((be, i) => expect(be.features.threads, `threads: ${COUNTS[i]}`).toBe(COUNTS[i]));
});
afterAll(() => backends.forEach((be) => be.dispose()));

it('the shared-memory module is byte for byte what AssemblyScript compiles with --sharedMemory', () => {
  const plain = readFileSync(`${root}/build/wasm/cnn.simd.wasm`);
  const shared = readFileSync(`${root}/build/wasm/cnn.simd-threads.wasm`);
  expect(Buffer.compare(Buffer.from(sharedMemoryVariant(plain)), shared)).toBe(0);
});

/** Seeded values, with a sprinkle of special values when `special`. */
function values(seed: number, n: number, special = false): Float64Array {
  const rand = rng(seed);
  const out = Float64Array.from({ length: n }, () => 2 * rand() - 1);
  if (special) for (let i = 0; i < 6; i++) out[Math.floor(rand() * n)] = [NaN, Infinity, -Infinity][i % 3]!;
  return out;
}

const kernelCalls = (be: Backend) => (be as unknown as { work(): { kernelCalls: number } }).work().kernelCalls;

/**
 * Runs `ops` on every backend and checks each output is bitwise the one-thread backend's, and that
 * the work was split (more kernel calls on 8 threads than on 1). Kernel calls are those of the
 * whole of `ops`, or, where it wraps some of its calls in `counted`, of those alone.
 */
function sameOnEveryCount(label: string, ops: (be: Backend, counted: <T>(f: () => T) => T) => Record<string, Tensor | number>): void {
  const calls: number[] = [];
  const outputs = backends.map((be) => be.tidy(() => {
    let inCounted = 0, wrapped = false;
    const counted = <T>(f: () => T): T => {
      wrapped = true;
      const before = kernelCalls(be);
      const result = f();
      inCounted += kernelCalls(be) - before;
      return result;
    };
    const before = kernelCalls(be);
    const out = ops(be, counted);
    calls.push(wrapped ? inCounted : kernelCalls(be) - before);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, typeof v === 'number' ? [v] : Array.from(v.data)]));
  }));
  expect(calls[COUNTS.length - 1], `${label}: kernel calls on 8 threads vs 1`).toBeGreaterThan(calls[0]!);
  for (let i = 1; i < backends.length; i++) {
    for (const name of Object.keys(outputs[0]!)) expectExact(outputs[i]![name]!, outputs[0]![name]!, `${label}: ${name} on ${COUNTS[i]} threads`);
  }
}

describe.each(['float32', 'float64'] as DType[])('every op gives the same bits on 1, 2, 3 and 8 threads (%s)', (dtype) => {
  it('convolution forward and backward, random geometries, padding modes, strides and a fused ReLU', () => {
    const rand = rng(dtype === 'float32' ? 11 : 12);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    for (let c = 0; c < 8; c++) {
      const f = int(1, 5), s = int(1, 3);
      const H = int(f + 8, 36), W = int(f + 8, 36), C = int(3, 19), N = int(5, 21);
      const pad = (['same', 'valid', int(0, 2)] as const)[int(0, 2)]!;
      // enough images that the work is split (every gradient's multiply-adds, about those of the forward pass)
      const out = (n: number) => (pad === 'same' ? Math.ceil(n / s) : Math.floor((n + 2 * (pad === 'valid' ? 0 : pad) - f) / s) + 1);
      let m = [1, 2, 3, 5][int(0, 3)]!;
      while (m * out(H) * out(W) * f * f * C * N < 1 << 21) m++;
      const activation = c % 2 ? 'relu' : 'linear';
      const seed = 100 * c;
      sameOnEveryCount(`conv ${m}x${H}x${W}x${C} f${f} s${s} pad ${pad} -> ${N} ${activation}`, (be) => {
        const A = be.tensor([m, H, W, C], values(seed, m * H * W * C, c === 3), dtype);
        const Wt = be.tensor([f, f, C, N], values(seed + 1, f * f * C * N), dtype);
        const b = be.tensor([1, 1, 1, N], values(seed + 2, N), dtype);
        const { Z, cache } = be.convForward(A, Wt, b, { stride: s, pad, activation });
        const dZ = be.tensor(Z.shape, values(seed + 3, Z.size, c === 5), dtype);
        const g = be.convBackward(dZ, cache);
        return { Z, dA: g.dA, dW: g.dW, db: g.db, dAonly: be.convBackwardInput(dZ, cache), dWonly: be.convBackwardFilter(dZ, cache).dW };
      });
    }
  });

  it('images of one row, cut by columns: every stride class of the input gradient in each piece', () => {
    // one image of one row: forward and both gradients are cut by columns; strides 2 and 3 give the
    // input gradient 2 and 3 classes of columns, interleaved in every piece
    for (const s of [1, 2, 3]) {
      sameOnEveryCount(`row conv 1x1x700x16 f3 s${s} -> 24`, (be) => {
        const A = be.tensor([1, 1, 700, 16], values(s, 700 * 16), dtype);
        const Wt = be.tensor([3, 3, 16, 24], values(s + 1, 9 * 16 * 24), dtype);
        const b = be.tensor([1, 1, 1, 24], values(s + 2, 24), dtype);
        const { Z, cache } = be.convForward(A, Wt, b, { stride: s, pad: 1 });
        const g = be.convBackward(be.tensor(Z.shape, values(s + 3, Z.size), dtype), cache);
        return { Z, dA: g.dA, dW: g.dW, db: g.db };
      });
    }
  });

  it('16x16 patches at stride 16: 256 stride classes in the input gradient, a job longer than the pool holds', () => {
    // a patch embedding's input gradient is 256 stride-1 convolutions: cut by regions of dA (3
    // channels), or by blocks of dA's channels (64 channels: 256 classes x the blocks, more calls
    // than one run of the pool takes)
    for (const [m, C, N] of [[2, 3, 64], [1, 64, 32]] as const) {
      sameOnEveryCount(`patch conv ${m}x64x64x${C} f16 s16 -> ${N}`, (be) => {
        const A = be.tensor([m, 64, 64, C], values(C, m * 64 * 64 * C), dtype);
        const Wt = be.tensor([16, 16, C, N], values(C + 1, 256 * C * N), dtype);
        const b = be.tensor([1, 1, 1, N], values(C + 2, N), dtype);
        const { Z, cache } = be.convForward(A, Wt, b, { stride: 16, pad: 0 });
        const g = be.convBackward(be.tensor(Z.shape, values(C + 3, Z.size), dtype), cache);
        return { Z, dA: g.dA, dW: g.dW, db: g.db };
      });
    }
  });

  it('a late layer, its filter far larger than its input: cut by blocks of output channels', () => {
    // 100 output channels: whole blocks and a tail block in either dtype (8 or 4 channels a block);
    // the packed filters (the forward's, the input gradient's) are packed by the same blocks over the
    // threads; the filter gradient, scanned over the threads for values that are not finite, holds
    // some to redo (special values in dZ: a zero border times an infinity is NaN in the kernel's sum,
    // not in the seed's)
    // 62 input channels: the input gradient's packed filter (whose output channels they are) has a
    // tail block too; one case without special values, whose results all come from the packed filters
    for (const [m, H, C, N, activation, special] of [[1, 7, 62, 100, 'relu', true], [2, 4, 48, 100, 'linear', true], [1, 7, 62, 100, 'linear', false]] as const) {
      sameOnEveryCount(`late conv ${m}x${H}x${H}x${C} f3 -> ${N}${special ? ', special values' : ''}`, (be) => {
        const A = be.tensor([m, H, H, C], values(m, m * H * H * C, special), dtype);
        const Wt = be.tensor([3, 3, C, N], values(m + 1, 9 * C * N), dtype);
        const b = be.tensor([1, 1, 1, N], values(m + 2, N), dtype);
        const { Z, cache } = be.convForward(A, Wt, b, { stride: 1, pad: 1, activation });
        const g = be.convBackward(be.tensor(Z.shape, values(m + 3, Z.size, special), dtype), cache);
        return { Z, dA: g.dA, dW: g.dW, db: g.db };
      });
    }
  });

  it('pooling forward and backward: images, rows of one image, overlapping windows, special values', () => {
    const cases = [
      { shape: [4, 64, 64, 64], f: 2, s: 2 },
      { shape: [3, 48, 50, 72], f: 3, s: 2 },
      { shape: [1, 134, 126, 64], f: 2, s: 2 },
      { shape: [1, 129, 131, 64], f: 3, s: 2 },
      { shape: [1, 100, 90, 120], f: 3, s: 3 },
    ];
    cases.forEach(({ shape, f, s }, c) => {
      const n = shape.reduce((a, b) => a * b, 1);
      sameOnEveryCount(`pool ${shape.join('x')} f${f} s${s}`, (be) => {
        const A = be.tensor(shape, values(c, n, c === 1), dtype);
        const out: Record<string, Tensor> = {};
        for (const mode of ['max', 'average'] as const) {
          const { A: P, cache } = be.poolForward(A, { f, stride: s }, mode);
          const dP = be.tensor(P.shape, values(c + 50, P.size), dtype);
          out[`${mode} A`] = P;
          out[`${mode} dA_prev`] = be.poolBackward(dP, cache, mode);
          if (mode === 'max') out['max dA_prev first'] = be.poolBackward(dP, cache, mode, { ties: 'first' });
        }
        return out;
      });
    });
  });

  it('pooling backward over one image, windows overlapping down the rows: bands of rows, ties across a band\'s edge', () => {
    // three levels of values: most windows hold several maxima, many of them one in the row two
    // bands share and another below it; C = 67: 16 vectors and a scalar tail of 3 (float32)
    const cases = [
      { shape: [1, 97, 61, 67], f: 3, s: 2 },
      { shape: [1, 90, 40, 33], f: 4, s: 1 },
      { shape: [1, 101, 50, 40], f: 5, s: 3 },
    ];
    cases.forEach(({ shape, f, s }, c) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const levels = values(c + 7, n).map((v) => Math.round(v));
      // kernel calls of the backward passes alone (the forward pass is split either way)
      sameOnEveryCount(`pool backward ${shape.join('x')} f${f} s${s}`, (be, counted) => {
        const A = be.tensor(shape, levels, dtype);
        const out: Record<string, Tensor> = {};
        for (const mode of ['max', 'average'] as const) {
          const { A: P, cache } = be.poolForward(A, { f, stride: s }, mode);
          const dP = be.tensor(P.shape, values(c + 60, P.size), dtype);
          out[`${mode} dA_prev`] = counted(() => be.poolBackward(dP, cache, mode));
          if (mode === 'max') out['max dA_prev first'] = counted(() => be.poolBackward(dP, cache, mode, { ties: 'first' }));
        }
        return out;
      });
    });
  });

  it('dense layers of few rows: strips of columns, with a tail strip and a tail of columns', () => {
    // 1 row (a product of a row and W) and 7 (a tile of 4 rows and 3 left over); 1003 columns: 62
    // strips of 16 and one of 11, whose last 3 are not a whole tile (the kernel's scalar tail).
    // Backward, strips of W's 603 rows: 37 of 16 and one of 11 (two tiles of 4 and a tail of 3 in dX)
    for (const m of [1, 7]) {
      sameOnEveryCount(`dense (${m}, 603) x (603, 1003)`, (be) => {
        const X = be.tensor([m, 603], values(m, m * 603, true), dtype);
        const W = be.tensor([603, 1003], values(m + 1, 603 * 1003), dtype);
        const b = be.tensor([1, 1003], values(m + 2, 1003), dtype);
        const { Z, cache } = be.denseForward(X, W, b);
        const g = be.denseBackward(be.tensor(Z.shape, values(m + 3, Z.size), dtype), cache);
        return { Z, Zrelu: be.denseForward(X, W, b, { activation: 'relu' }).Z, dX: g.dX, dW: g.dW, db: g.db };
      });
    }
  });

  it('dense, relu, softmax cross-entropy, the optimizers, zero padding and filling', () => {
    sameOnEveryCount('dense and the rest', (be) => {
      const X = be.tensor([96, 600], values(1, 96 * 600, true), dtype);
      const W = be.tensor([600, 70], values(2, 600 * 70), dtype);
      const b = be.tensor([1, 70], values(3, 70), dtype);
      const { Z, cache } = be.denseForward(X, W, b, { activation: 'relu' });
      const g = be.denseBackward(be.tensor(Z.shape, values(4, Z.size), dtype), cache);
      // few output columns: dot products forward, the filter gradient along X's rows
      const Wn = be.tensor([600, 10], values(21, 600 * 10), dtype), bn = be.tensor([1, 10], values(22, 10), dtype);
      const narrow = be.denseForward(X, Wn, bn);
      const gn = be.denseBackward(be.tensor(narrow.Z.shape, values(23, narrow.Z.size), dtype), narrow.cache);
      const big = be.tensor([1 << 20], values(5, 1 << 20, true), dtype);
      const { Y, cache: rc } = be.relu(big);
      const dX = be.reluBackward(be.tensor(Y.shape, values(6, Y.size), dtype), rc);
      const { loss, dLogits } = be.softmaxCrossEntropy(be.tensor([256, 1000], values(7, 256000), dtype), Array.from({ length: 256 }, (_, i) => i % 1000));
      const p = be.tensor([1 << 20], values(8, 1 << 20), dtype), q = be.tensor([1 << 20], values(8, 1 << 20), dtype);
      const grad = be.tensor([1 << 20], values(9, 1 << 20), dtype);
      const state = be.adamState([p]);
      be.adam([p], [grad], state, { learningRate: 0.01 });
      be.adam([p], [grad], state, { learningRate: 0.01 });
      const velocity = be.sgdState([q]);
      be.sgd([q], [grad], { learningRate: 0.1, momentum: 0.9, state: velocity });
      const padded = be.zeroPad(be.tensor([6, 40, 40, 64], values(10, 6 * 40 * 40 * 64), dtype), [3, 2]);
      const zeros = be.tensor([1 << 20], null, dtype);
      return { Z, dX: g.dX, dW: g.dW, db: g.db, Zn: narrow.Z, dXn: gn.dX, dWn: gn.dW, dbn: gn.db, Y, dRelu: dX, loss, dLogits, p, m: state.m[0]!, v: state.v[0]!, q, velocity: velocity.velocities[0]!, padded, zeros };
    });
  });

  it('each split on its own: softmax and its cross-entropy by rows, zero padding by bands of one image, a small Adam', () => {
    // softmax, and its cross-entropy against a target (labels are above): rows cut, a row with an infinity redone
    const logitsOf = (be: Backend) => {
      const logits = be.tensor([301, 999], values(14, 301 * 999), dtype);
      logits.data[5 * 999 + 7] = Infinity;
      return logits;
    };
    sameOnEveryCount('softmax by rows', (be) => ({ probs: be.softmax(logitsOf(be)) }));
    sameOnEveryCount('cross-entropy against a target by rows', (be) => {
      const target = be.tensor([301, 999], values(15, 301 * 999), dtype);
      const { loss, dLogits } = be.softmaxCrossEntropy(logitsOf(be), be.softmax(target));
      return { loss, dLogits };
    });
    // one image cut into bands of rows, the first and the last also writing the zero rows above and
    // below (uneven); its block last held junk, so a zero row a band misses shows
    sameOnEveryCount('zero padding of one image', (be, counted) => {
      const X = be.tensor([1, 57, 41, 96], values(13, 57 * 41 * 96), dtype);
      be.tensor([1, 62, 44, 96], new Float64Array(62 * 44 * 96).fill(NaN), dtype).dispose();
      const padded = counted(() => be.zeroPad(X, [[1, 4], [3, 0]]));
      return { padded };
    });
    // one padded image through a convolution and its gradients: the paddings inside (of A_prev, and
    // of dZ for the input gradient) and the filter gradient's packing of A_prev in blocks of 4
    // channels (16 channels) are cut into bands too
    sameOnEveryCount('conv of one padded image', (be) => {
      const A = be.tensor([1, 46, 46, 16], values(16, 46 * 46 * 16), dtype);
      const { Z, cache } = be.convForward(A, be.tensor([3, 3, 16, 16], values(17, 9 * 256), dtype), be.tensor([1, 1, 1, 16], values(18, 16), dtype), { stride: 1, pad: 1 });
      const g = be.convBackward(be.tensor(Z.shape, values(19, Z.size), dtype), cache);
      return { Z, dA: g.dA, dW: g.dW, db: g.db };
    });
    // Adam weighs far more an element than the other elementwise kernels: under ten thousand are split (with a tail)
    sameOnEveryCount('a small Adam', (be, counted) => {
      const p = be.tensor([8003], values(11, 8003), dtype), grad = be.tensor([8003], values(12, 8003), dtype);
      const state = be.adamState([p]);
      counted(() => {
        be.adam([p], [grad], state, { learningRate: 0.01 });
        be.adam([p], [grad], state, { learningRate: 0.01 });
      });
      return { p, m: state.m[0]!, v: state.v[0]! };
    });
  });
});

describe('options and features', () => {
  it("threads: 'auto' takes the machine's parallelism (at most 8); 'js' runs one; bad counts are refused", async () => {
    const { availableParallelism } = await import('node:os');
    const auto = await createBackend('wasm');
    expect(auto.features.threads).toBe(Math.min(8, availableParallelism()));
    expect(auto.features.threadsNote).toBeNull();
    auto.dispose();
    expect((await createBackend('js')).features.threads).toBe(1);
    await expect(createBackend('js', { threads: 2 })).rejects.toThrow(/createBackend: options\.threads/);
    for (const bad of [0, 1.5, 65, '2', -1]) {
      await expect(createBackend('wasm', { threads: bad as never })).rejects.toThrow(/createBackend: options\.threads/);
    }
  });

  it('dispose ends the workers: later ops throw, earlier tensors stay readable; Symbol.dispose does the same', async () => {
    const be = await createBackend('wasm', { threads: 2 });
    const t = be.tensor([3], [1, 2, 3]);
    be.dispose();
    expect(Array.from(t.data)).toEqual([1, 2, 3]);
    expect(() => be.relu(t)).toThrow(/relu: backend: expected a live backend/);
    expect(() => be.tensor([1])).toThrow(/tensor: backend/);
    be.dispose(); // twice is fine
    const other = await createBackend('wasm', { threads: 2 });
    other[Symbol.dispose]();
    expect(() => other.tensor([1])).toThrow(/backend/);
  });

  it('a memory maximum is kept with threads too', async () => {
    const be = await createBackend('wasm', { threads: 2, memory: { initial: 1 << 20, maximum: 8 << 20 } });
    expect(be.features.threads).toBe(2);
    expect(() => be.tensor([4 << 20])).toThrow(/8388608 bytes/);
    expect(be.tensor([1 << 20]).size).toBe(1 << 20);
    be.dispose();
  });
});

describe('the pool', () => {
  type Fill = (p: number, n: number, value: number) => void;
  /** Runs `body` with a pool of `threads` over a shared memory of `pages` pages (its maximum `maximum`), disposed afterwards. */
  async function withPool(threads: number, pages: number, maximum: number, body: (pool: ThreadPool, memory: WebAssembly.Memory, fill: Fill) => void): Promise<void> {
    const memory = new WebAssembly.Memory({ initial: pages, maximum, shared: true });
    const module = await compile('simd', true);
    const exports = await instantiate(module, memory);
    const pool = await ThreadPool.start(module, memory, exports, threads);
    try {
      expect(pool.size).toBe(threads);
      body(pool, memory, exports.f32_fill as Fill);
    } finally {
      pool.dispose();
    }
  }

  it('deals every task of every job exactly once, and a job is done when run returns: thousands of jobs back to back', async () => {
    // each task fills its own 16 floats with the job's number; a task run late, or not at all,
    // leaves another number there when run() returns
    await withPool(3, 1, 2, (pool, memory, fill) => {
      const base = 4096, slots = new Float32Array(memory.buffer, base, 16 * 16);
      for (let job = 1; job <= 5000; job++) {
        const count = 1 + (job % 16);
        pool.begin();
        for (let i = 0; i < count; i++) pool.add(fill, [base + i * 64, 16, job]);
        expect(pool.run('test')).toBe(0);
        for (let i = 0; i < count * 16; i++) {
          if (slots[i] !== job) expect.fail(`job ${job} of ${count} tasks: element ${i} is ${slots[i]}`);
        }
      }
    });
  });

  it('a thread held up by a long task gives up the rest of its group: the caller takes them', async () => {
    // the worker's group starts with a fill of 32 MB (milliseconds), then 3 small fills; the caller's
    // group is 4 small fills. Whoever claims the long fill, the caller ends up running more tasks
    // than its own 4; without taking from a thread that has stopped claiming, it would run 4 in
    // every job (a caller descheduled for the whole long fill may run 4 in one: five jobs, one suffices)
    await withPool(2, 600, 600, (pool, memory, fill) => {
      const base = 4096, small = new Float32Array(memory.buffer, base, 8 * 16), long = base + 8 * 64, longCount = 8 << 20;
      const callerTasks: number[] = [];
      for (let job = 1; job <= 5; job++) {
        pool.begin();
        for (let i = 0; i < 4; i++) pool.add(fill, [base + i * 64, 16, job]);
        pool.add(fill, [long, longCount, job]);
        for (let i = 4; i < 7; i++) pool.add(fill, [base + i * 64, 16, job]);
        expect(pool.run('test')).toBe(0);
        callerTasks.push(pool.callerTasksForTest);
        expect(small.subarray(0, 7 * 16).every((v) => v === job), `job ${job}: the small fills`).toBe(true);
        const tail = new Float32Array(memory.buffer, long + (longCount - 16) * 4, 16);
        expect(tail.every((v) => v === job), `job ${job}: the long fill`).toBe(true);
      }
      expect(Math.max(...callerTasks), `tasks the caller ran in each job: ${callerTasks}`).toBeGreaterThan(4);
    });
  });

  it('a task that throws: on the caller its error, on a worker a CnnThreadError naming the task; the next job runs', async () => {
    await withPool(2, 1, 1, (pool, memory, fill) => {
      const outside = 2 * 65536; // past the one page: the fill traps
      // task 0 is the caller's own (its group is [0, 2)); task 3 the worker's (a caller that found
      // the worker stalled may take it, and then throws the trap itself)
      for (const [bad, message] of [[0, /out of bounds/], [3, /out of bounds|test: a worker thread failed in task 3 \(.*out of bounds/]] as const) {
        pool.begin();
        for (let i = 0; i < 4; i++) pool.add(fill, i === bad ? [outside, 16, 1] : [4096 + i * 64, 16, 1]);
        expect(() => pool.run('test'), `task ${bad}`).toThrow(message);
      }
      pool.begin();
      for (let i = 0; i < 4; i++) pool.add(fill, [4096 + i * 64, 16, 7]);
      expect(pool.run('test')).toBe(0);
      expect(new Float32Array(memory.buffer, 4096, 64).every((v) => v === 7)).toBe(true);
      expect(pool.size).toBe(2);
    });
  });
});

describe('takeTasks: when a thread takes from another\'s group (one thread, claim words set by hand)', () => {
  // TAKE_SLOTS: FLAGS, CLAIMS, LINE, CLAIM_SHIFT, CLAIM_MASK, TASK_SLOTS, PATIENCE_MS, LOOK_MS
  const [, CLAIMS, LINE, CLAIM_SHIFT, , TASK_SLOTS, PATIENCE_MS] = TAKE_SLOTS as number[];
  /** A job of `count` tasks over `threads` groups, thread 0 calling; `claimed[t]`: tasks of group t its owner has claimed. */
  function job(threads: number, count: number, claimed: number[], taskMs: (i: number) => number) {
    const ctl = new Int32Array(new SharedArrayBuffer(8192));
    const tasks = new Float64Array(count * TASK_SLOTS!);
    const ran: { task: number; start: number; end: number }[] = [];
    const busy = (i: number) => {
      const start = performance.now();
      while (performance.now() - start < taskMs(i));
      ran.push({ task: i, start, end: performance.now() });
    };
    for (let i = 0; i < count; i++) [tasks[i * TASK_SLOTS!], tasks[i * TASK_SLOTS! + 1], tasks[i * TASK_SLOTS! + 2]] = [0, 1, i];
    for (let t = 0; t < threads; t++) {
      const [first, end] = [Math.floor((count * t) / threads), Math.floor((count * (t + 1)) / threads)];
      ctl[CLAIMS! + t * LINE!] = (end << CLAIM_SHIFT!) | (first + (claimed[t] ?? 0));
    }
    const done = takeTasks(ctl, tasks, [busy], 0, threads, count, true, TAKE_SLOTS, (_, e) => {
      throw e;
    });
    return { done, ran, order: ran.map((r) => r.task) };
  }
  const at = (ran: { task: number; start: number; end: number }[], task: number) => ran.find((r) => r.task === task)!;

  it('a group whose owner has not started is taken after PATIENCE_MS', () => {
    const { done, ran, order } = job(2, 4, [0, 0], () => 0.05);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(done).toBe(4);
    expect(at(ran, 2).start - at(ran, 1).end).toBeGreaterThanOrEqual(PATIENCE_MS!);
  });

  // the caller's own tasks (0 and 1) take 3 ms each, so it waits at least 6 ms for a running owner;
  // the others 0.1 ms (the orders and bounds below hold unless the test is descheduled for ~6 ms)
  const ownSlow = (i: number) => (i < 2 ? 3 : 0.1);

  it('a group whose owner is running is taken only after twice the taker\'s mean task time, then task after task', () => {
    // the owner has claimed task 2 (and never finishes it here)
    const { done, ran, order } = job(2, 5, [0, 1], ownSlow);
    expect(order).toEqual([0, 1, 3, 4]);
    expect(done).toBe(4);
    expect(at(ran, 3).start - at(ran, 1).end, 'waited for the owner').toBeGreaterThanOrEqual(6);
    expect(at(ran, 4).start - at(ran, 3).end, 'the owner still had not claimed: the next without waiting again').toBeLessThan(6);
  });

  it('on 3 threads, a group not started is taken before a running one ahead of it in the order', () => {
    // group 1 [2, 4): its owner runs task 2; group 2 [4, 6): its owner has not started
    const { order } = job(3, 6, [0, 1, 0], ownSlow);
    expect(order).toEqual([0, 1, 4, 5, 3]);
  });
});

describe('failure', () => {
  it('a worker stopped on purpose: the next op runs on one thread, with the same result, within seconds', async () => {
    const be = await createBackend('wasm', { threads: 2 });
    const A = be.tensor([4, 40, 40, 16], values(1, 4 * 40 * 40 * 16));
    const W = be.tensor([3, 3, 16, 16], values(2, 3 * 3 * 16 * 16));
    const b = be.tensor([1, 1, 1, 16]);
    const before = Array.from(be.convForward(A, W, b, { stride: 1, pad: 1 }).Z.data);
    await (be as unknown as { terminateWorkerForTest(): Promise<void> }).terminateWorkerForTest();
    const started = performance.now();
    const after = Array.from(be.convForward(A, W, b, { stride: 1, pad: 1 }).Z.data);
    expect(performance.now() - started).toBeLessThan(5000);
    expectExact(after, before, 'conv after the worker stopped');
    expect(be.features.threads).toBe(1);
    expect(be.features.threadsNote).toMatch(/worker thread stopped/);
  });

  it('a script that never disposes its backend exits', () => {
    const script = `
      const { createBackend } = await import(${JSON.stringify(`${root}/build/lib/index.js`)});
      const be = await createBackend('wasm', { threads: 2 });
      const A = be.tensor([4, 40, 40, 16]);
      be.convForward(A, be.tensor([3, 3, 16, 16]), be.tensor([1, 1, 1, 16]), { stride: 1, pad: 1 });
      console.log('threads', be.features.threads);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('threads 2');
  });
});
