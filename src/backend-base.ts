// The public ops, shared by both backends: validate (validate.ts), allocate the outputs, then hand
// the geometry to the backend's kernels. A backend only supplies storage and the k* kernels.
import { CnnArgumentError } from './errors.js';
import { Tensor, type TensorOwner } from './tensor.js';
import type {
  Backend, BackendName, ConvCache, ConvHyperparameters, DType, MemoryInfo, Pair, PoolCache,
  PoolHyperparameters, PoolMode,
} from './types.js';
import {
  checkDType, checkMode, checkPair, checkRank, checkSameDType, checkShape, checkTensor, convBackwardGeometry,
  convCache, convGeometry, describe, poolBackwardGeometry, poolCache, poolGeometry, sizeOf,
  type ConvGeometry, type PoolGeometry,
} from './validate.js';

/** The gradients one backward call writes: dA, or dW with db, or all three. */
export interface ConvGradients {
  readonly dA?: Tensor;
  readonly dW?: Tensor;
  readonly db?: Tensor;
}

export abstract class BackendBase implements Backend, TensorOwner {
  abstract readonly name: BackendName;
  abstract readonly features: Backend['features'];
  #tensors = 0;
  #bytesInUse = 0;

  // ---- storage, supplied by the backend ----
  /** A tensor with uninitialised storage; throws CnnAllocationError when it cannot be had. */
  protected abstract allocateStorage(op: string, shape: readonly number[], dtype: DType, size: number): Tensor;
  protected abstract releaseStorage(tensor: Tensor): void;
  protected abstract reservedBytes(bytesInUse: number): number;
  /** True when `data` is a view of this backend's own storage (it may move while allocating). */
  protected isOwnStorage(_data: ArrayBufferView): boolean {
    return false;
  }

  // ---- kernels, supplied by the backend; arguments are already checked ----
  protected abstract kZeroPad(X: Tensor, out: Tensor, padH: number, padW: number): void;
  protected abstract kDot(a: Tensor, W: Tensor, bias: number): number;
  protected abstract kConvForward(g: ConvGeometry, A: Tensor, W: Tensor, b: Tensor, Z: Tensor): void;
  /** Writes the gradients asked for: dA, or dW with db, or all three. */
  protected abstract kConvBackward(g: ConvGeometry, dZ: Tensor, A: Tensor, W: Tensor, grads: ConvGradients): void;
  protected abstract kPoolForward(g: PoolGeometry, A: Tensor, out: Tensor, mode: PoolMode): void;
  protected abstract kPoolBackward(g: PoolGeometry, A: Tensor, dA: Tensor, dAPrev: Tensor, mode: PoolMode): void;
  protected abstract kMask(x: Tensor, out: Tensor): void;
  protected abstract kFill(out: Tensor, value: number): void;

  /** @internal */
  release(tensor: Tensor): void {
    this.#tensors--;
    this.#bytesInUse -= tensor.size * tensor.itemBytes;
    this.releaseStorage(tensor);
  }

  memory(): MemoryInfo {
    return { tensors: this.#tensors, bytesInUse: this.#bytesInUse, bytesReserved: this.reservedBytes(this.#bytesInUse) };
  }

  protected allocate(op: string, shape: readonly number[], dtype: DType): Tensor {
    const size = sizeOf(shape);
    const t = this.allocateStorage(op, shape, dtype, size);
    this.#tensors++;
    this.#bytesInUse += size * t.itemBytes;
    return t;
  }

  /** Runs `body` with a list for the outputs it allocates; if it throws, they are disposed. */
  protected withOutputs<R>(body: (out: (shape: readonly number[], dtype: DType) => Tensor) => R, op: string): R {
    const made: Tensor[] = [];
    try {
      return body((shape, dtype) => {
        const t = this.allocate(op, shape, dtype);
        made.push(t);
        return t;
      });
    } catch (e) {
      for (const t of made) t.dispose();
      throw e;
    }
  }

  tensor(shape: readonly number[], data?: ArrayLike<number> | null, dtype?: DType): Tensor {
    const op = 'tensor';
    const s = checkShape(op, 'shape', shape);
    const dt = checkDType(op, 'dtype', dtype);
    const size = sizeOf(s);
    let source: ArrayLike<number> | null = null;
    if (data !== undefined && data !== null) {
      if (typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
        throw new CnnArgumentError(op, 'data', 'an array or typed array of numbers', describe(data));
      }
      if (data.length !== size) {
        throw new CnnArgumentError(op, 'data', `${size} values (the size of shape [${s.join(', ')}])`, `${data.length} values`);
      }
      // A view of our own storage is copied first: allocating may move (grow) that storage.
      source = ArrayBuffer.isView(data) && this.isOwnStorage(data) ? Array.from(data) : data;
    }
    return this.withOutputs((out) => {
      const t = out(s, dt);
      if (source) t.data.set(source);
      else this.kFill(t, 0);
      return t;
    }, op);
  }

  zeroPad(X: Tensor, pad: Pair): Tensor {
    const op = 'zeroPad';
    const x = checkTensor(op, 'X', X, this);
    checkRank(op, 'X', x, 4, '(m, n_H, n_W, n_C)');
    const [padH, padW] = checkPair(op, 'pad', pad, 0);
    const [m, H, W, C] = x.shape as [number, number, number, number];
    return this.withOutputs((out) => {
      const y = out([m, H + 2 * padH, W + 2 * padW, C], x.dtype);
      this.kZeroPad(x, y, padH, padW);
      return y;
    }, op);
  }

  convSingleStep(aSlice: Tensor, W: Tensor, b: Tensor): number {
    const op = 'convSingleStep';
    const a = checkTensor(op, 'aSlice', aSlice, this);
    const w = checkTensor(op, 'W', W, this);
    const bias = checkTensor(op, 'b', b, this);
    checkRank(op, 'aSlice', a, 3, '(f, f, n_C_prev)');
    if (w.shape.length !== 3 || w.shape.some((d, i) => d !== a.shape[i])) {
      throw new CnnArgumentError(op, 'W', `shape [${a.shape.join(', ')}] (the shape of aSlice)`, `shape [${w.shape.join(', ')}]`);
    }
    if (bias.size !== 1) throw new CnnArgumentError(op, 'b', 'a tensor of one element, e.g. shape [1, 1, 1]', describe(bias));
    checkSameDType(op, [['aSlice', a], ['W', w], ['b', bias]]);
    return this.kDot(a, w, bias.data[0]!);
  }

  convForward(A: Tensor, W: Tensor, b: Tensor, hparameters: ConvHyperparameters): { Z: Tensor; cache: ConvCache } {
    const op = 'convForward';
    const g = convGeometry(op, this, A, W, b, hparameters);
    return this.withOutputs((out) => {
      const Z = out([g.m, g.nH, g.nW, g.N], g.dtype);
      this.kConvForward(g, A, W, b, Z);
      return { Z, cache: convCache(A, W, b, g) };
    }, op);
  }

  convBackward(dZ: Tensor, cache: ConvCache): { dA: Tensor; dW: Tensor; db: Tensor } {
    const op = 'convBackward';
    const g = convBackwardGeometry(op, this, dZ, cache);
    return this.withOutputs((out) => {
      const grads = { dA: out([g.m, g.H, g.W, g.C], g.dtype), dW: out([g.fH, g.fW, g.C, g.N], g.dtype), db: out([1, 1, 1, g.N], g.dtype) };
      this.kConvBackward(g, dZ, cache.A, cache.W, grads);
      return grads;
    }, op);
  }

  convBackwardInput(dZ: Tensor, cache: ConvCache): Tensor {
    const op = 'convBackwardInput';
    const g = convBackwardGeometry(op, this, dZ, cache);
    return this.withOutputs((out) => {
      const dA = out([g.m, g.H, g.W, g.C], g.dtype);
      this.kConvBackward(g, dZ, cache.A, cache.W, { dA });
      return dA;
    }, op);
  }

  convBackwardFilter(dZ: Tensor, cache: ConvCache): { dW: Tensor; db: Tensor } {
    const op = 'convBackwardFilter';
    const g = convBackwardGeometry(op, this, dZ, cache);
    return this.withOutputs((out) => {
      const grads = { dW: out([g.fH, g.fW, g.C, g.N], g.dtype), db: out([1, 1, 1, g.N], g.dtype) };
      this.kConvBackward(g, dZ, cache.A, cache.W, grads);
      return grads;
    }, op);
  }

  poolForward(A: Tensor, hparameters: PoolHyperparameters, mode?: PoolMode): { A: Tensor; cache: PoolCache } {
    const op = 'poolForward';
    const g = poolGeometry(op, this, A, hparameters);
    const md = checkMode(op, 'mode', mode, 'max');
    return this.withOutputs((out) => {
      const y = out([g.m, g.nH, g.nW, g.C], g.dtype);
      this.kPoolForward(g, A, y, md);
      return { A: y, cache: poolCache(A, g, md) };
    }, op);
  }

  poolBackward(dA: Tensor, cache: PoolCache, mode?: PoolMode): Tensor {
    const op = 'poolBackward';
    const g = poolBackwardGeometry(op, this, dA, cache, mode);
    return this.withOutputs((out) => {
      const dAPrev = out([g.m, g.H, g.W, g.C], g.dtype);
      this.kPoolBackward(g, cache.A, dA, dAPrev, g.mode);
      return dAPrev;
    }, op);
  }

  createMaskFromWindow(x: Tensor): Tensor {
    const op = 'createMaskFromWindow';
    const t = checkTensor(op, 'x', x, this);
    checkRank(op, 'x', t, 2, '(f, f)');
    return this.withOutputs((out) => {
      const mask = out(t.shape, t.dtype);
      this.kMask(t, mask);
      return mask;
    }, op);
  }

  distributeValue(dz: number, shape: readonly [number, number], dtype?: DType): Tensor {
    const op = 'distributeValue';
    if (typeof dz !== 'number') throw new CnnArgumentError(op, 'dz', 'a number', describe(dz));
    if (!Array.isArray(shape) || shape.length !== 2) throw new CnnArgumentError(op, 'shape', 'an [n_H, n_W] pair', describe(shape));
    const s = checkShape(op, 'shape', shape);
    const dt = checkDType(op, 'dtype', dtype);
    return this.withOutputs((out) => {
      const t = out(s, dt);
      this.kFill(t, dz / (s[0]! * s[1]!));
      return t;
    }, op);
  }
}
