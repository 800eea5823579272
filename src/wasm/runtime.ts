// One instance of the kernels over one linear memory: the typed exports, the allocator, scratch
// blocks for the duration of a kernel call, and the Store that keeps tensors in that memory.
import type { Store } from '../ops/kernels.js';
import type { Storage, StorageOwner } from '../tensor.js';
import type { DType, TypedArray } from '../types.js';
import { Arena } from './arena.js';
import { dtypeExports, type DTypeExports, type KernelExports } from './exports.js';

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
  /** Scratch bytes taken and kernel calls made since the runtime was made (the tests bound an op's work with it). */
  readonly work = { scratchBytes: 0, kernelCalls: 0 };

  /** `limit`: the bytes the memory may grow to (its maximum, or what wasm32 addresses). */
  constructor(exports: WebAssembly.Exports, memory: WebAssembly.Memory, limit: number) {
    this.memory = memory;
    this.k = exports as unknown as KernelExports;
    this.arena = new Arena(memory, this.k.heapBase(), limit);
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
    };
  }

  kernels(dtype: DType): DTypeExports {
    return dtype === 'float32' ? this.f32 : this.f64;
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
