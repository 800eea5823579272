// Reading arguments, once. Every op first copies what the caller gave into plain values (numbers,
// strings, tensor parts): each property, array element and getter is read exactly once, here, and
// nothing the caller wrote runs after that. Then it validates those values and computes its
// geometry, and only then allocates. A rejected call changes nothing.
import { CnnArgumentError } from './errors.js';
import { Tensor, tensorParts, type StorageOwner, type TensorParts } from './tensor.js';
import type { Activation, DType, PoolMode } from './types.js';

export const DTYPES: readonly DType[] = ['float32', 'float64'];

/** A short, readable description of any value, for error messages. Reads nothing a caller defined but keys. */
export function describe(value: unknown): string {
  const t = tensorParts(value);
  if (t) return `${t.tensor.disposed ? 'a disposed' : 'a'} ${t.dtype} tensor of shape ${shapeText(t.shape)}`;
  if (value instanceof Tensor) return 'an object that only looks like a tensor (a subclass, a Proxy or Object.create(Tensor.prototype))';
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `an object with keys {${Object.keys(value).join(', ')}}`;
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A snapshot of an options object: each accepted key read once; unknown keys are errors. */
export type Snapshot<K extends string> = { readonly [P in K]: unknown };

/**
 * Reads an options object once: it must be an object (or undefined when not `required`), its own
 * keys must be among `keys`, and each of `keys` is read exactly once.
 */
export function readOptions<K extends string>(op: string, argument: string, value: unknown, keys: readonly K[], required: boolean): Snapshot<K> {
  const snapshot: Record<string, unknown> = {};
  if (value === undefined && !required) {
    for (const key of keys) snapshot[key] = undefined;
    return snapshot as Snapshot<K>;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || tensorParts(value)) {
    throw new CnnArgumentError(op, argument, `an object { ${keys.join(', ')} }`, describe(value));
  }
  for (const key of Object.keys(value)) {
    if (!(keys as readonly string[]).includes(key)) {
      throw new CnnArgumentError(op, `${argument}.${key}`, `no other keys than ${keys.join(', ')}`, `an unknown key "${key}"`);
    }
  }
  for (const key of keys) snapshot[key] = (value as Record<string, unknown>)[key];
  return snapshot as Snapshot<K>;
}

/** An array read once: its length, then each element. */
function readArray(value: unknown[]): unknown[] {
  const n = value.length;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(value[i]);
  return out;
}

const isInteger = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** A number or an [h, w] pair of integers >= min. */
export function readPair(op: string, argument: string, value: unknown, min: 0 | 1): [number, number] {
  const what = min === 1 ? 'a positive integer' : 'a non-negative integer';
  if (typeof value === 'number') {
    if (!isInteger(value, min)) throw new CnnArgumentError(op, argument, `${what} or an [h, w] pair of them`, describe(value));
    return [value, value];
  }
  if (Array.isArray(value) && value.length === 2) {
    // each element read once
    const h: unknown = value[0], w: unknown = value[1];
    if (!isInteger(h, min)) throw new CnnArgumentError(op, `${argument}[0]`, what, describe(h));
    if (!isInteger(w, min)) throw new CnnArgumentError(op, `${argument}[1]`, what, describe(w));
    return [h, w];
  }
  throw new CnnArgumentError(op, argument, `${what} or an [h, w] pair of them`, describe(value));
}

/** Resolved or deferred ('same' needs the input size and stride) zero padding of a convolution. */
export type PaddingSpec = { same: true } | { same: false; top: number; bottom: number; left: number; right: number };

/** A number, [h, w], [[top, bottom], [left, right]], 'valid' or 'same'. */
export function readPadding(op: string, argument: string, value: unknown): PaddingSpec {
  const expected = `a non-negative integer, an [h, w] pair, [[top, bottom], [left, right]], 'valid' or 'same'`;
  if (value === 'same') return { same: true };
  if (value === 'valid') return { same: false, top: 0, bottom: 0, left: 0, right: 0 };
  if (typeof value === 'number') {
    const [h, w] = readPair(op, argument, value, 0);
    return { same: false, top: h, bottom: h, left: w, right: w };
  }
  if (Array.isArray(value) && value.length === 2) {
    // each element read once
    const rows: unknown = value[0], cols: unknown = value[1];
    if (Array.isArray(rows) && Array.isArray(cols)) {
      const [top, bottom] = readPair(op, `${argument}[0]`, rows, 0);
      const [left, right] = readPair(op, `${argument}[1]`, cols, 0);
      return { same: false, top, bottom, left, right };
    }
    const [h, w] = readPair(op, argument, [rows, cols], 0);
    return { same: false, top: h, bottom: h, left: w, right: w };
  }
  throw new CnnArgumentError(op, argument, expected, describe(value));
}

export function readDType(op: string, argument: string, dtype: unknown): DType {
  if (dtype === undefined) return 'float32';
  if (!DTYPES.includes(dtype as DType)) throw new CnnArgumentError(op, argument, `'float32' or 'float64'`, describe(dtype));
  return dtype as DType;
}

export function readMode(op: string, argument: string, mode: unknown, fallback: PoolMode): PoolMode {
  if (mode === undefined) return fallback;
  if (mode !== 'max' && mode !== 'average') throw new CnnArgumentError(op, argument, `'max' or 'average'`, describe(mode));
  return mode;
}

export function readActivation(op: string, argument: string, value: unknown): Activation {
  if (value === undefined) return 'linear';
  if (value !== 'relu' && value !== 'linear') throw new CnnArgumentError(op, argument, `'relu' or 'linear'`, describe(value));
  return value;
}

export function readNumber(op: string, argument: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw new CnnArgumentError(op, argument, 'a number', describe(value));
  return value;
}

/** Shape of a new tensor: a non-empty array of positive integers, read once. */
export function readShape(op: string, argument: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new CnnArgumentError(op, argument, 'a non-empty array of positive integers', describe(shape));
  const dims = readArray(shape);
  if (dims.length === 0) throw new CnnArgumentError(op, argument, 'a non-empty array of positive integers', 'an empty array');
  dims.forEach((d, i) => {
    if (!isInteger(d, 1)) throw new CnnArgumentError(op, `${argument}[${i}]`, 'a positive integer dimension', describe(d));
  });
  return dims as number[];
}

/** A tensor argument: a live tensor of this backend, read once into its parts. */
export function readTensor(op: string, argument: string, value: unknown, owner: StorageOwner): TensorParts {
  const t = tensorParts(value);
  if (!t) throw new CnnArgumentError(op, argument, 'a tensor', describe(value));
  if (t.tensor.disposed) throw new CnnArgumentError(op, argument, 'a live tensor', `a tensor of shape ${shapeText(t.shape)} that was disposed`);
  if (t.storage.owner !== owner) {
    throw new CnnArgumentError(op, argument, `a tensor of this '${owner.name}' backend`, `a tensor of another backend ('${t.storage.owner.name}')`);
  }
  return t;
}

export function checkRank(op: string, argument: string, t: TensorParts, rank: number, dims: string): void {
  if (t.shape.length !== rank) {
    throw new CnnArgumentError(op, argument, `rank ${rank} ${dims}`, `rank ${t.shape.length} with shape ${shapeText(t.shape)}`);
  }
}

/** All tensors of one call share a dtype; returns it. */
export function checkSameDType(op: string, tensors: ReadonlyArray<readonly [string, TensorParts]>): DType {
  const [firstName, first] = tensors[0]!;
  for (const [name, t] of tensors.slice(1)) {
    if (t.dtype !== first.dtype) {
      throw new CnnArgumentError(op, name, `dtype ${first.dtype} (the dtype of ${firstName})`, `dtype ${t.dtype}`);
    }
  }
  return first.dtype;
}

/** A gradient argument shaped as the forward output its cache describes, of the cache's dtype. */
export function checkGradient(op: string, argument: string, g: TensorParts, expected: readonly number[], dtype: DType, what: string): void {
  const shape = g.shape;
  let same = shape.length === expected.length;
  for (let i = 0; same && i < shape.length; i++) same = shape[i] === expected[i];
  if (!same) throw new CnnArgumentError(op, argument, `shape ${shapeText(expected)} (${what})`, `shape ${shapeText(shape)}`);
  if (g.dtype !== dtype) throw new CnnArgumentError(op, argument, `dtype ${dtype} (the dtype of its cache)`, `dtype ${g.dtype}`);
}

/** A cache (or state) object read once: it must be an object whose `kind` is `kind`; each of `keys` is read once. */
export function readCache<K extends string>(op: string, value: unknown, kind: string, keys: readonly K[], from: string, argument = 'cache'): Snapshot<K | 'kind'> {
  const list = ['kind', ...keys].join(', ');
  if (typeof value !== 'object' || value === null || Array.isArray(value) || tensorParts(value)) {
    throw new CnnArgumentError(op, argument, `the ${argument === 'cache' ? 'cache returned by' : 'state from'} ${from} { ${list} }`, describe(value));
  }
  const snapshot: Record<string, unknown> = {};
  snapshot['kind'] = (value as Record<string, unknown>)['kind'];
  if (snapshot['kind'] !== kind) {
    throw new CnnArgumentError(op, argument, `the ${argument === 'cache' ? 'cache returned by' : 'state from'} ${from} (kind '${kind}')`, describe(value));
  }
  for (const key of keys) snapshot[key] = (value as Record<string, unknown>)[key];
  return snapshot as Snapshot<K | 'kind'>;
}
