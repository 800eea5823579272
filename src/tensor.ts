/// <reference lib="esnext.disposable" preserve="true" />
// Tensors are immutable handles on storage that a backend owns. Their shape, dtype, size and
// storage are private fields, read by the ops through `tensorParts` (never through getters a caller
// could replace), and a tensor is recognised by that private brand, not by `instanceof`: a subclass,
// a Proxy or an object made with Tensor.prototype is not a tensor.
import { CnnArgumentError } from './errors.js';
import type { BackendName, DataOf, DType, TypedArray } from './dtype.js';

/**
 * @internal Elements of one dtype that one or more tensors view (reshape shares them). The owner
 * frees them when the last tensor over them is disposed.
 */
export interface Storage {
  readonly owner: StorageOwner;
  readonly dtype: DType;
  /** Elements. */
  readonly size: number;
  /** Byte offset in the wasm linear memory ('wasm'), or -1 ('js'). */
  readonly offset: number;
  /** A view of every element; for 'wasm' re-made when the memory has grown. */
  view(): TypedArray;
  /** Live tensors over these elements (counted by the owner). */
  tensors: number;
}

/** @internal The backend side of a tensor. */
export interface StorageOwner {
  readonly name: BackendName;
  /** Called once per tensor, by dispose(): one tensor less over `storage`. */
  release(storage: Storage): void;
}

/** @internal What an op reads of a tensor argument (made once per tensor; `tensor.disposed` tells whether it is live). */
export interface TensorParts<D extends DType = DType> {
  readonly tensor: Tensor<D>;
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly dtype: D;
  readonly size: number;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
/** As tfjs's print(): an axis longer than LONG_AXIS shows its first and last EDGE_ITEMS values. */
const EDGE_ITEMS = 3;
const LONG_AXIS = 20;

let create: <D extends DType>(storage: Storage, shape: readonly number[]) => Tensor<D>;
let parts: (value: unknown) => TensorParts | undefined;

/**
 * An n-dimensional array of float32 or float64 numbers, row-major (the last dimension varies
 * fastest), made by a backend (`be.tensor(...)` or an op). `data` is a live view of its storage;
 * `toArray()` returns a copy. Shape, dtype and size never change; dispose() frees the storage.
 */
export class Tensor<D extends DType = DType> {
  readonly #storage: Storage;
  readonly #shape: readonly number[];
  readonly #size: number;
  readonly #parts: TensorParts<D>;
  #disposed = false;

  /** Tensors are made by a backend: `be.tensor(shape, data, dtype)` or an op. */
  private constructor(token: unknown, storage: Storage, shape: readonly number[]) {
    if (token !== TOKEN) {
      throw new CnnArgumentError('Tensor', 'constructor', 'a tensor made by a backend (be.tensor(...) or an op)', 'a direct construction or a subclass');
    }
    this.#storage = storage;
    this.#shape = Object.freeze(shape.slice());
    this.#size = storage.size;
    this.#parts = { tensor: this, storage, shape: this.#shape, dtype: storage.dtype as D, size: storage.size };
    // no property can be added (or redefined over the prototype's getters)
    Object.preventExtensions(this);
  }

  static {
    create = <T extends DType>(storage: Storage, shape: readonly number[]) => new Tensor(TOKEN, storage, shape) as unknown as Tensor<T>;
    parts = (value) => (typeof value === 'object' && value !== null && #parts in value ? (value as Tensor).#parts : undefined);
  }

  /** The dimensions, outermost first (a frozen array). */
  get shape(): readonly number[] {
    return Tensor.#own(this, 'shape').#shape;
  }

  /** 'float32' or 'float64'. */
  get dtype(): D {
    return Tensor.#own(this, 'dtype').#storage.dtype as D;
  }

  /** Number of elements: the product of the shape. */
  get size(): number {
    return Tensor.#own(this, 'size').#size;
  }

  /** Bytes per element: 4 or 8. */
  get itemBytes(): 4 | 8 {
    return Tensor.#own(this, 'itemBytes').#storage.dtype === 'float32' ? 4 : 8;
  }

  /** True once dispose() was called. */
  get disposed(): boolean {
    return Tensor.#own(this, 'disposed').#disposed;
  }

  /**
   * A typed-array view of the elements (`Float32Array` or `Float64Array` by dtype). For 'wasm' it is
   * a view of linear memory that growth of the memory replaces: read `data` again after other calls
   * rather than keeping an old view. Writes through it change the tensor.
   * @throws CnnArgumentError once the tensor is disposed.
   */
  get data(): DataOf<D> {
    return Tensor.#live(this, 'data').#storage.view() as DataOf<D>;
  }

  /** A copy of the elements as a new typed array of the tensor's dtype. */
  toArray(): DataOf<D> {
    const view = Tensor.#live(this, 'toArray').#storage.view();
    // a new array filled with set(): several times faster in V8 than slice() for large arrays
    const copy = view instanceof Float32Array ? new Float32Array(view.length) : new Float64Array(view.length);
    copy.set(view);
    return copy as DataOf<D>;
  }

  /**
   * Writes `values` (`size` numbers: an array or a typed array, converted to the dtype) into the
   * tensor, in place: the way to feed each batch of a training loop into one input tensor.
   * @returns this tensor.
   * @throws CnnArgumentError when the tensor is disposed or `values` is not `size` numbers (the tensor is then unchanged).
   */
  set(values: ArrayLike<number>): this {
    const op = 'Tensor.set';
    const storage = Tensor.#live(this, 'set').#storage;
    writeValues(op, 'values', values, storage.size, storage.view(), false);
    return this;
  }

  /** Frees the tensor's storage (once no reshaped tensor shares it). Calling it again does nothing. */
  dispose(): void {
    const self = Tensor.#own(this, 'dispose');
    if (self.#disposed) return;
    self.#disposed = true;
    self.#storage.owner.release(self.#storage);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** dtype, shape, backend and the leading values, e.g. `Tensor float32 [2, 3] (wasm)` then the rows. */
  toString(): string {
    const self = Tensor.#own(this, 'toString');
    const head = `Tensor ${self.#storage.dtype} [${self.#shape.join(', ')}] (${self.#storage.owner.name})`;
    if (self.#disposed) return `${head} disposed`;
    return `${head}\n${formatValues(self.#storage.view(), self.#shape)}`;
  }

  /** Node's util.inspect and console.log show toString(). */
  [INSPECT](): string {
    return this.toString();
  }

  /**
   * `self` as a tensor, or a CnnArgumentError when a method is called on something that is not one (a
   * Proxy, an object made from a tensor). Static: a private method would throw a bare TypeError first.
   */
  static #own<T extends DType>(self: Tensor<T>, op: string): Tensor<T> {
    if (typeof self !== 'object' || self === null || !(#storage in self)) {
      throw new CnnArgumentError(`Tensor.${op}`, 'this', 'a tensor made by a backend', 'an object that is not one (a Proxy, or an object made from a tensor)');
    }
    return self;
  }

  static #live<T extends DType>(self: Tensor<T>, op: string): Tensor<T> {
    const t = Tensor.#own(self, op);
    if (t.#disposed) throw new CnnArgumentError(`Tensor.${op}`, 'this', 'a live tensor', `a tensor of shape [${t.#shape.join(', ')}] that was disposed`);
    return t;
  }
}

const TOKEN = Symbol('tensor');

/** @internal A new tensor over `storage` (one more tensor holding it). */
export function makeTensor<D extends DType>(storage: Storage, shape: readonly number[]): Tensor<D> {
  return create<D>(storage, shape);
}

/** @internal The private parts of a tensor, or undefined for anything that is not a tensor. */
export function tensorParts(value: unknown): TensorParts | undefined {
  return parts(value);
}

const typedArrayLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), 'length')!.get!;
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), Symbol.toStringTag)!.get!;
const typedArrayOffset = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), 'byteOffset')!.get!;
const typedArrayBuffer = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), 'buffer')!.get!;
const NUMBER_ARRAYS = {
  Float32Array, Float64Array, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
} as const;

/**
 * @internal Where a number typed array views `buffer`: a function that makes the same view over
 * another buffer (the one that replaced `buffer` when a wasm memory grew), or null when it views
 * some other buffer.
 */
export function viewOf(value: unknown, buffer: ArrayBufferLike): ((now: ArrayBufferLike) => ArrayLike<number>) | null {
  if (numberArrayLength(value) < 0 || typedArrayBuffer.call(value) !== buffer) return null;
  const Type = NUMBER_ARRAYS[typedArrayTag.call(value) as keyof typeof NUMBER_ARRAYS];
  const offset = typedArrayOffset.call(value) as number;
  const length = typedArrayLength.call(value) as number;
  return (now) => new Type(now as ArrayBuffer, offset, length);
}

/** @internal A number typed array's element count, or -1 for anything else (BigInt arrays and DataView included). */
export function numberArrayLength(value: unknown): number {
  if (!ArrayBuffer.isView(value)) return -1;
  const tag = typedArrayTag.call(value) as string | undefined;
  if (tag === undefined || tag === 'BigInt64Array' || tag === 'BigUint64Array') return -1;
  return typedArrayLength.call(value) as number;
}

/**
 * @internal Copies `size` numbers from `values` into `out`. A number typed array is copied with
 * `set` (converted where the element type differs); an array is read once per element and must hold
 * numbers only. With `direct` false the values are checked before any is written, so a rejected
 * call leaves `out` as it was. `out` may be a view of the same buffer (set copies as if through a
 * temporary).
 */
export function writeValues(op: string, argument: string, values: unknown, size: number, out: TypedArray, direct: boolean): void {
  const typed = numberArrayLength(values);
  if (typed >= 0) {
    if (typed !== size) throw new CnnArgumentError(op, argument, `${size} values`, `${typed} values`);
    out.set(values as ArrayLike<number>);
    return;
  }
  if (!Array.isArray(values)) {
    throw new CnnArgumentError(op, argument, 'an array of numbers or a typed array of numbers (Float32Array, Int32Array, ...)', describeData(values));
  }
  const length = values.length;
  if (length !== size) throw new CnnArgumentError(op, argument, `${size} values`, `${length} values`);
  const target = direct ? out : new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const v: unknown = values[i];
    if (typeof v !== 'number') throw new CnnArgumentError(op, `${argument}[${i}]`, 'a number', describeData(v));
    target[i] = v;
  }
  if (!direct) out.set(target);
}

function describeData(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `a ${typedArrayTag.call(value) ?? 'DataView'}`;
  if (typeof value === 'object') return `an object that is not an array (${Object.prototype.toString.call(value)})`;
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'bigint' ? `${value}n (a BigInt)` : String(value);
}

/** Nested rows of values as numpy prints them, the middle of long axes elided. */
function formatValues(values: TypedArray, shape: readonly number[]): string {
  const text = (v: number) => (Number.isInteger(v) && Math.abs(v) < 1e15 ? String(v) : Math.abs(v) >= 1e-4 && Math.abs(v) < 1e6 ? v.toPrecision(6).replace(/0+$/, '').replace(/\.$/, '.0') : v.toExponential(4));
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const indices = (n: number) => (n <= LONG_AXIS ? [...Array(n).keys()] : [...Array(EDGE_ITEMS).keys(), -1, ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)]);
  const cells: string[] = [];
  const walk = (axis: number, base: number): unknown => indices(shape[axis]!).map((i) => {
    if (i < 0) return '...';
    const at = base + i * strides[axis]!;
    if (axis === shape.length - 1) {
      const cell = text(values[at]!);
      cells.push(cell);
      return cell;
    }
    return walk(axis + 1, at);
  });
  const tree = walk(0, 0);
  const width = Math.max(...cells.map((c) => c.length));
  const render = (node: unknown, depth: number): string => {
    const items = node as unknown[];
    if (depth === shape.length - 1) return `[${items.map((c) => (c as string).padStart(c === '...' ? 3 : width)).join(', ')}]`;
    const inner = items.map((c) => (c === '...' ? '...' : render(c, depth + 1)));
    const gap = ',' + '\n'.repeat(shape.length - 1 - depth) + ' '.repeat(depth + 1);
    return `[${inner.join(gap)}]`;
  };
  return render(tree, 0);
}
