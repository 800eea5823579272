// One class serves both backends: it owns the tensors' bookkeeping (counts, bytes, tidy scopes) and
// hands every op to its family in src/ops/ with an OpContext; what differs between 'wasm' and 'js' is
// the Store that holds the elements and the Kernels that compute.
import { CnnArgumentError } from './errors.js';
import * as activation from './ops/activation.js';
import type { Allocate, OpContext } from './ops/context.js';
import * as conv from './ops/conv.js';
import * as dense from './ops/dense.js';
import * as loss from './ops/loss.js';
import * as optimizers from './ops/optimizers.js';
import type { Kernels, Store, Work } from './ops/kernels.js';
import * as pad from './ops/pad.js';
import * as pixels from './ops/pixels.js';
import * as pool from './ops/pool.js';
import { makeTensor, tensorParts, viewOf, writeValues, type Storage, type StorageOwner, type TensorParts } from './tensor.js';
import type { Tensor } from './tensor.js';
import type { Backend, BackendName, DType, MemoryInfo } from './types.js';
import { describe, readDType, readShape, readTensor, shapeText, sizeOf } from './validate.js';

export class CnnBackend implements StorageOwner {
  readonly name: BackendName;
  readonly #build: Backend['features']['build'];
  readonly #store: Store;
  readonly #ctx: OpContext;
  #tensors = 0;
  #bytesInUse = 0;
  /** Tensors made inside each open tidy(), innermost last. */
  readonly #scopes: Set<Tensor>[] = [];
  /** The outputs and temporaries of the ops running (nested ops: one frame a level). */
  readonly #frames: Frame[] = [];
  #depth = 0;
  #disposed = false;

  constructor(name: BackendName, build: Backend['features']['build'], store: Store, kernels: Kernels) {
    this.name = name;
    this.#build = build;
    this.#store = store;
    this.#ctx = {
      owner: this,
      kernels,
      tensor: (op, argument, value) => readTensor(op, argument, value, this),
      run: (op, body) => this.#run(op, body),
    };
    Object.freeze(this);
  }

  /** @internal One tensor less over `storage`; its elements go back when none is left. */
  release(storage: Storage): void {
    this.#tensors--;
    if (--storage.tensors === 0) {
      this.#bytesInUse -= storage.size * itemBytes(storage.dtype);
      this.#store.free(storage);
    }
  }

  #wrap<D extends DType>(storage: Storage, shape: readonly number[]): TensorParts<D> {
    const tensor = makeTensor<D>(storage, shape);
    storage.tensors++;
    this.#tensors++;
    this.#scopes[this.#scopes.length - 1]?.add(tensor);
    return tensorParts(tensor) as TensorParts<D>;
  }

  #allocate<D extends DType>(op: string, shape: readonly number[], dtype: D): TensorParts<D> {
    const size = sizeOf(shape);
    const storage = this.#store.allocate(this, op, dtype, size);
    this.#bytesInUse += size * itemBytes(dtype);
    return this.#wrap<D>(storage, shape);
  }

  #run<R>(op: string, body: (out: Allocate, temp: Allocate) => R): R {
    if (this.#disposed) throw new CnnArgumentError(op, 'backend', 'a live backend', 'a backend that was disposed');
    // one frame per nesting depth, made once and reused: an op allocates nothing of its own to run
    const frame = this.#frames[this.#depth] ?? this.#newFrame();
    frame.op = op;
    this.#depth++;
    try {
      return body(frame.out, frame.temp);
    } catch (e) {
      for (const t of frame.outputs) t.dispose();
      throw e;
    } finally {
      for (const t of frame.temps) t.dispose();
      frame.outputs.length = 0;
      frame.temps.length = 0;
      this.#depth--;
    }
  }

  #newFrame(): Frame {
    const frame: Frame = {
      op: '', outputs: [], temps: [],
      out: (shape, dtype) => {
        const t = this.#allocate(frame.op, shape, dtype);
        frame.outputs.push(t.tensor);
        return t;
      },
      temp: (shape, dtype) => {
        const t = this.#allocate(frame.op, shape, dtype);
        frame.temps.push(t.tensor);
        return t;
      },
    };
    this.#frames.push(frame);
    return frame;
  }

  get features(): Backend['features'] {
    return Object.freeze({ build: this.#build, threads: this.#store.threads(), threadsNote: this.#store.threadsNote() });
  }

  dispose(): void {
    this.#disposed = true;
    this.#store.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal For the tests: stops a worker thread as if it died. */
  terminateWorkerForTest(): Promise<void> {
    return this.#store.terminateWorkerForTest?.() ?? Promise.resolve();
  }

  /** @internal What the kernels have done so far (not part of the Backend interface; the tests read it). */
  work(): Work {
    return this.#store.work();
  }

  memory(): MemoryInfo {
    return { tensors: this.#tensors, bytesInUse: this.#bytesInUse, bytesReserved: this.#store.reserved(this.#bytesInUse), grows: this.#store.grows() };
  }

  tensor(shape: unknown, data?: unknown, dtype?: unknown): Tensor {
    const op = 'tensor';
    const s = readShape(op, 'shape', shape);
    const dt = readDType(op, 'dtype', dtype);
    const size = sizeOf(s);
    // a view of this backend's own memory stays readable when allocating grows (replaces) the buffer
    const buffer = this.#store.buffer();
    const own = buffer && data !== undefined && data !== null ? viewOf(data, buffer) : null;
    return this.#run(op, (out) => {
      const t = out(s, dt);
      if (data === undefined || data === null) this.#ctx.kernels.fill(t, 0);
      else writeValues(op, 'data', own ? own(this.#store.buffer()!) : data, size, t.storage.view(), true);
      return t.tensor;
    });
  }

  reshape(X: unknown, shape: unknown): Tensor {
    const op = 'reshape';
    if (!Array.isArray(shape)) throw new CnnArgumentError(op, 'shape', 'an array of positive integers (one may be -1)', describe(shape));
    const dims: unknown[] = Array.from({ length: shape.length }, (_, i) => shape[i] as unknown);
    const given = dims.map((d) => describe(d)).join(', ');
    const x = readTensor(op, 'X', X, this);
    const inferred = dims.indexOf(-1);
    if (inferred >= 0) {
      const known = dims.reduce<number>((p, d, i) => (i === inferred || typeof d !== 'number' ? p : p * d), 1);
      dims[inferred] = known > 0 && x.size % known === 0 ? x.size / known : NaN;
      if (Number.isNaN(dims[inferred])) {
        throw new CnnArgumentError(op, 'shape', `a shape whose known dimensions divide X's size ${x.size}`, `[${given}]`);
      }
    }
    const s = readShape(op, 'shape', dims);
    if (sizeOf(s) !== x.size) {
      throw new CnnArgumentError(op, 'shape', `a shape of ${x.size} elements (the size of X ${shapeText(x.shape)})`, `${shapeText(s)} (${sizeOf(s)} elements)`);
    }
    return this.#wrap(x.storage, s).tensor;
  }

  tidy<T>(fn: () => T): T {
    const op = 'tidy';
    if (typeof fn !== 'function') throw new CnnArgumentError(op, 'fn', 'a function', describe(fn));
    const scope = new Set<Tensor>();
    this.#scopes.push(scope);
    this.#store.enterScope?.();
    try {
      let result: T;
      try {
        result = fn();
      } catch (e) {
        this.#scopes.pop();
        for (const t of scope) t.dispose();
        throw e;
      }
      this.#scopes.pop();
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        for (const t of scope) t.dispose();
        throw new CnnArgumentError(op, 'fn', 'a synchronous function', 'a function that returned a Promise (tidy cannot follow asynchronous work)');
      }
      const kept = new Set<Tensor>();
      collectTensors(result, kept, new Set());
      const parent = this.#scopes[this.#scopes.length - 1];
      for (const t of scope) {
        if (!kept.has(t)) t.dispose();
        else parent?.add(t);
      }
      return result;
    } finally {
      this.#store.exitScope?.();
    }
  }

  keep<T>(t: T): T {
    const x = readTensor('keep', 't', t, this);
    for (const scope of this.#scopes) scope.delete(x.tensor);
    return t;
  }

  // the ops, typed for callers by the Backend interface (createBackend returns this as a Backend)
  zeroPad(X: unknown, p: unknown) { return pad.zeroPad(this.#ctx, X, p); }
  convSingleStep(a: unknown, W: unknown, b: unknown) { return conv.convSingleStep(this.#ctx, a, W, b); }
  convForward(A: unknown, W: unknown, b: unknown, hp: unknown) { return conv.convForward(this.#ctx, A, W, b, hp); }
  convBackward(dZ: unknown, cache: unknown) { return conv.convBackward(this.#ctx, dZ, cache); }
  convBackwardInput(dZ: unknown, cache: unknown) { return conv.convBackwardInput(this.#ctx, dZ, cache); }
  convBackwardFilter(dZ: unknown, cache: unknown) { return conv.convBackwardFilter(this.#ctx, dZ, cache); }
  poolForward(A: unknown, hp: unknown, mode?: unknown) { return pool.poolForward(this.#ctx, A, hp, mode); }
  poolBackward(dA: unknown, cache: unknown, mode?: unknown, options?: unknown) { return pool.poolBackward(this.#ctx, dA, cache, mode, options); }
  createMaskFromWindow(x: unknown) { return pool.createMaskFromWindow(this.#ctx, x); }
  distributeValue(dz: unknown, shape: unknown, dtype?: unknown) { return pool.distributeValue(this.#ctx, dz, shape, dtype); }
  denseForward(X: unknown, W: unknown, b: unknown, options?: unknown) { return dense.denseForward(this.#ctx, X, W, b, options); }
  denseBackward(dZ: unknown, cache: unknown) { return dense.denseBackward(this.#ctx, dZ, cache); }
  softmax(X: unknown) { return loss.softmax(this.#ctx, X); }
  softmaxCrossEntropy(logits: unknown, labels: unknown) { return loss.softmaxCrossEntropy(this.#ctx, logits, labels); }
  sgdState(params: unknown) { return optimizers.sgdState(this.#ctx, params); }
  sgd(params: unknown, grads: unknown, options: unknown) { return optimizers.sgd(this.#ctx, params, grads, options); }
  adamState(params: unknown) { return optimizers.adamState(this.#ctx, params); }
  adam(params: unknown, grads: unknown, state: unknown, options: unknown) { return optimizers.adam(this.#ctx, params, grads, state, options); }
  fromPixels(source: unknown, options?: unknown) { return pixels.fromPixels(this.#ctx, source, options); }
  toPixels(t: unknown, canvas?: unknown, options?: unknown) { return pixels.toPixels(this.#ctx, t, canvas, options); }
  relu(X: unknown) { return activation.relu(this.#ctx, X); }
  reluBackward(dY: unknown, cache: unknown) { return activation.reluBackward(this.#ctx, dY, cache); }
}

interface Frame {
  op: string;
  readonly outputs: Tensor[];
  readonly temps: Tensor[];
  readonly out: Allocate;
  readonly temp: Allocate;
}

function itemBytes(dtype: DType): number {
  return dtype === 'float32' ? 4 : 8;
}

/** Tensors inside a value: itself, or in arrays and plain objects, however deep. */
function collectTensors(value: unknown, into: Set<Tensor>, seen: Set<unknown>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  const t = tensorParts(value);
  if (t) {
    into.add(t.tensor);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, into, seen);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) collectTensors(v, into, seen);
}
