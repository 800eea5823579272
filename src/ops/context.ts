// What an op gets from its backend: its kernels, the reading of tensor arguments, and allocation
// of outputs that are disposed again if the op fails.
import type { StorageOwner, TensorParts } from '../tensor.js';
import type { DType } from '../types.js';
import type { Kernels } from './kernels.js';

/** Allocates a tensor of `shape` and `dtype` (uninitialised). */
export type Allocate = <D extends DType>(shape: readonly number[], dtype: D) => TensorParts<D>;

export interface OpContext {
  readonly owner: StorageOwner;
  readonly kernels: Kernels;
  /** A tensor argument read once into its parts: a live tensor of this backend, else CnnArgumentError. */
  tensor(op: string, argument: string, value: unknown): TensorParts;
  /**
   * Runs `body` with `out`, which allocates the op's outputs (disposed if `body` throws), and `temp`,
   * which allocates temporaries (disposed when `body` ends, whatever happens).
   */
  run<R>(op: string, body: (out: Allocate, temp: Allocate) => R): R;
}
