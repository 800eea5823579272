// One instance of the kernels over one linear memory: the typed exports, the allocator, scratch
// blocks for the duration of a kernel call, and the Store that keeps tensors in that memory.
import type { Store } from '../ops/kernels.js';
import type { Storage, StorageOwner } from '../tensor.js';
import type { DType, TypedArray } from '../types.js';
import { Arena } from './arena.js';
import { PackedFilters } from './packed.js';
import { dtypeExports, type DTypeExports, type KernelExports } from './exports.js';
import { ELEMENT_BLOCK, ELEMENTWISE_WEIGHT, MIN_TASK_WORK, splitElements, taskCount, TASKS_PER_THREAD } from './split.js';
import { MAX_TASKS, type ThreadPool } from './threads.js';

/** A kernel export: numbers in, a flag (or nothing) out. */
type Kernel = (...args: never[]) => number | void;
/** Adds one task to a job: a kernel and its arguments. */
export type AddTask = <F extends Kernel>(fn: F, ...args: Parameters<F>) => void;

class WasmStorage implements Storage {
  tensors = 0;
  #view: TypedArray | null = null;
  constructor(readonly owner: StorageOwner, readonly dtype: DType, readonly size: number, readonly offset: number, private readonly memory: WebAssembly.Memory) {}
  view(): TypedArray {
    const buffer = this.memory.buffer;
    if (this.#view === null || this.#view.buffer !== buffer) {
      this.#view = this.dtype === 'float32' ? new Float32Array(buffer, this.offset, this.size) : new Float64Array(buffer, this.offset, this.size);
    }
    return this.#view;
  }
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly arena: Arena;
  readonly k: KernelExports;
  readonly f32: DTypeExports;
  readonly f64: DTypeExports;
  readonly store: Store;
  /** Packed forward filters kept between calls (packed.ts). */
  readonly packed: PackedFilters;
  /** Scratch bytes taken and kernel calls made since the runtime was made (the tests bound an op's work with it). */
  readonly work = { scratchBytes: 0, kernelCalls: 0 };

  readonly #pool: ThreadPool | null;
  /** The job being gathered: kernel, arguments, kernel, arguments, ... */
  readonly #calls: (Kernel | number[])[] = [];

  /**
   * `limit`: the bytes the memory may grow to (its maximum, or what wasm32 addresses); `pool`: the
   * worker threads over the same (shared) memory, or null; `threadsNote`: why there are none where
   * more than one thread was asked for; `keepPacked`: whether forward filters' packed copies are
   * kept between calls (packed.ts; not under a memory maximum the caller set).
   */
  constructor(exports: WebAssembly.Exports, memory: WebAssembly.Memory, limit: number, pool: ThreadPool | null, threadsNote: string | null, keepPacked = true) {
    this.memory = memory;
    this.#pool = pool;
    this.k = exports as unknown as KernelExports;
    this.arena = new Arena(memory, this.k.heapBase(), limit, pool !== null && pool.size > 1);
    this.packed = new PackedFilters(this.arena, keepPacked);
    this.f32 = dtypeExports(exports, 'f32');
    this.f64 = dtypeExports(exports, 'f64');
    const arena = this.arena;
    this.store = {
      allocate: (owner, op, dtype, size) => new WasmStorage(owner, dtype, size, arena.alloc(op, size * (dtype === 'float32' ? 4 : 8)), memory),
      free: (storage) => arena.free(storage.offset),
      reserved: () => arena.reserved,
      grows: () => arena.grows,
      buffer: () => memory.buffer,
      work: () => ({ ...this.work }),
      threads: () => this.threads,
      threadsNote: () => (this.threads > 1 ? null : (pool?.lost ?? threadsNote)),
      dispose: () => pool?.dispose(),
      enterScope: () => arena.enterScope(),
      exitScope: () => arena.exitScope(),
      terminateWorkerForTest: () => pool?.terminateWorkerForTest() ?? Promise.resolve(),
    };
  }

  /** Threads an op may split its work over (1 without workers). */
  get threads(): number {
    return this.#pool ? this.#pool.size : 1;
  }

  /**
   * Runs the kernel calls that `tasks` adds as one job: on every thread when the op cut its work in
   * `parts` > 1 (the caller takes tasks too and returns when all are done), else one after another
   * here. Returns 1 if a kernel returned 1 (a value it stored was not finite). The calls must not
   * depend on one another: they run in any order, at once.
   */
  job(op: string, parts: number, tasks: (add: AddTask) => void): number {
    const pool = this.#pool;
    const calls = this.#calls;
    calls.length = 0;
    tasks((fn, ...args) => void calls.push(fn as unknown as Kernel, args as unknown as number[]));
    const n = calls.length / 2;
    this.work.kernelCalls += n;
    if (pool && pool.size > 1 && parts > 1 && n > 1) {
      // in runs of at most MAX_TASKS calls (the calls of a job do not depend on one another)
      let flags = 0;
      try {
        for (let first = 0; first < n; first += MAX_TASKS) {
          pool.begin();
          for (let i = first; i < Math.min(n, first + MAX_TASKS); i++) pool.add(calls[2 * i] as never, calls[2 * i + 1] as number[]);
          flags |= pool.run(op);
        }
      } finally {
        calls.length = 0;
      }
      return flags;
    }
    // one call, or one thread: here, one after another
    let flags = 0;
    for (let i = 0; i < calls.length; i += 2) {
      if ((calls[i] as unknown as (...a: number[]) => unknown)(...(calls[i + 1] as number[]))) flags = 1;
    }
    calls.length = 0;
    return flags;
  }

  kernels(dtype: DType): DTypeExports {
    return dtype === 'float32' ? this.f32 : this.f64;
  }

  /**
   * An elementwise kernel over n elements: `call(add, first, count)` adds the call
   * for elements [first, first + count); split over the threads when n is large (an element's work
   * is `weight` multiply-adds, a task's at least `minTask`: split.ts). Returns the OR of the calls' results.
   */
  elementwise(op: string, n: number, call: (add: AddTask, first: number, count: number) => void, weight = ELEMENTWISE_WEIGHT, minTask = MIN_TASK_WORK): number {
    const parts = taskCount(this.threads, weight * n, Math.ceil(n / ELEMENT_BLOCK), TASKS_PER_THREAD, minTask);
    if (parts <= 1) return this.job(op, 1, (add) => call(add, 0, n));
    return this.job(op, parts, (add) => splitElements(parts, n, ELEMENT_BLOCK, (first, count) => call(add, first, count)));
  }

  /** Runs body with scratch blocks of the given byte sizes (at most 4), freed afterwards whatever happens. */
  scratch<R>(op: string, sizes: readonly number[], body: (a: number, b: number, c: number, d: number) => R): R {
    const taken = [0, 0, 0, 0];
    let n = 0;
    try {
      for (; n < sizes.length; n++) {
        taken[n] = this.arena.alloc(op, sizes[n]!);
        this.work.scratchBytes += sizes[n]!;
      }
      return body(taken[0]!, taken[1]!, taken[2]!, taken[3]!);
    } finally {
      while (n > 0) this.arena.free(taken[--n]!);
    }
  }

  /** An Int32Array view of n values at a byte offset (for the index maps some kernels read). */
  int32(offset: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, n);
  }
}
