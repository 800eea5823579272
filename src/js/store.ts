// The 'js' backend's storage: one typed array per tensor (shared by reshaped tensors).
import { CnnAllocationError } from '../errors.js';
import type { Store } from '../ops/kernels.js';
import type { Storage, StorageOwner } from '../tensor.js';
import type { DType, TypedArray } from '../types.js';

class JsStorage implements Storage {
  readonly offset = -1;
  tensors = 0;
  constructor(readonly owner: StorageOwner, readonly dtype: DType, readonly size: number, readonly array: TypedArray) {}
  view(): TypedArray {
    return this.array;
  }
}

const work = { scratchBytes: 0, kernelCalls: 0 };

/** A Float64Array scratch of n elements, or CnnAllocationError (never an engine error) when the engine refuses it. */
export function scratch(op: string, n: number): Float64Array {
  work.scratchBytes += 8 * n;
  try {
    return new Float64Array(n);
  } catch (e) {
    throw new CnnAllocationError(op, n * 8, `the engine refused a scratch Float64Array of ${n} elements (${(e as Error).message})`);
  }
}

export const jsStore: Store = {
  allocate(owner, op, dtype, size) {
    let array: TypedArray;
    try {
      array = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
    } catch (e) {
      throw new CnnAllocationError(op, size * (dtype === 'float32' ? 4 : 8), `the engine refused a typed array of ${size} elements (${(e as Error).message})`);
    }
    return new JsStorage(owner, dtype, size, array);
  },
  free() {},
  reserved: (bytesInUse) => bytesInUse,
  grows: () => 0,
  buffer: () => null,
  work: () => ({ ...work }),
  threads: () => 1,
  threadsNote: () => null,
  dispose() {},
};
