import type { DType, TypedArray } from './types.js';

/** What a tensor needs from the backend that made it. */
export interface TensorOwner {
  readonly name: string;
  /** Returns the tensor's storage to the backend. Called once, by dispose(). */
  release(tensor: Tensor): void;
}

/**
 * An n-dimensional array of float32 or float64, row-major (the last dimension varies fastest).
 * `data` is a live view of the tensor's storage; `toArray()` returns a copy.
 */
export abstract class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements: the product of the shape. */
  readonly size: number;
  /** @internal */
  readonly owner: TensorOwner;
  #disposed = false;

  protected constructor(owner: TensorOwner, shape: readonly number[], dtype: DType, size: number) {
    this.owner = owner;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = size;
  }

  /** Bytes per element. */
  get itemBytes(): 4 | 8 {
    return this.dtype === 'float32' ? 4 : 8;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * A typed-array view of the elements (Float32Array or Float64Array as dtype). For 'wasm' it is
   * a view of linear memory, re-made when the memory grows, so read `data` again after other calls
   * rather than keeping an old view. Throws once the tensor is disposed.
   */
  get data(): TypedArray {
    if (this.#disposed) throw new Error(`tensor of shape [${this.shape.join(', ')}] was disposed; its data is gone`);
    return this.view();
  }

  /** A copy of the elements as a new typed array of the tensor's dtype. */
  toArray(): TypedArray {
    return this.data.slice();
  }

  /** Frees the tensor's storage. Calling it again does nothing. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.owner.release(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal */
  protected abstract view(): TypedArray;
}
