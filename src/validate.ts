// Argument checks and output geometry, shared by both backends: every public op goes through here
// before anything is allocated, so a rejected call changes nothing.
import { CnnArgumentError } from './errors.js';
import { Tensor, type TensorOwner } from './tensor.js';
import type { ConvCache, DType, PoolCache, PoolMode } from './types.js';

export const DTYPES: readonly DType[] = ['float32', 'float64'];
export const POOL_MODES: readonly PoolMode[] = ['max', 'average'];

/** A short, readable description of any value, for error messages. */
export function describe(value: unknown): string {
  if (value instanceof Tensor) {
    return `${value.disposed ? 'a disposed' : 'a'} ${value.dtype} tensor of shape [${value.shape.join(', ')}]`;
  }
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map(describe).join(', ');
    return `[${items}${value.length > 8 ? ', ...' : ''}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === 'object') return `an object with keys {${Object.keys(value as object).join(', ')}}`;
  return typeof value;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function checkDType(op: string, argument: string, dtype: unknown): DType {
  if (dtype === undefined) return 'float32';
  if (!DTYPES.includes(dtype as DType)) throw new CnnArgumentError(op, argument, `'float32' or 'float64'`, describe(dtype));
  return dtype as DType;
}

export function checkMode(op: string, argument: string, mode: unknown, fallback: PoolMode): PoolMode {
  if (mode === undefined) return fallback;
  if (!POOL_MODES.includes(mode as PoolMode)) throw new CnnArgumentError(op, argument, `'max' or 'average'`, describe(mode));
  return mode as PoolMode;
}

/** Shape of a new tensor: a non-empty array of positive integers whose product is addressable. */
export function checkShape(op: string, argument: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new CnnArgumentError(op, argument, 'a non-empty array of positive integers', describe(shape));
  }
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d <= 0) {
      throw new CnnArgumentError(op, `${argument}[${i}]`, 'a positive integer dimension', describe(d));
    }
  });
  return shape.slice() as number[];
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A tensor argument: a live tensor of this backend. */
export function checkTensor(op: string, argument: string, t: unknown, owner: TensorOwner): Tensor {
  if (!(t instanceof Tensor)) throw new CnnArgumentError(op, argument, 'a tensor', describe(t));
  if (t.disposed) throw new CnnArgumentError(op, argument, 'a live tensor', 'a tensor that was disposed');
  if (t.owner !== owner) {
    throw new CnnArgumentError(op, argument, `a tensor of this '${owner.name}' backend`, `a tensor of another backend ('${t.owner.name}')`);
  }
  return t;
}

export function checkRank(op: string, argument: string, t: Tensor, rank: number, dims: string): void {
  if (t.shape.length !== rank) {
    throw new CnnArgumentError(op, argument, `rank ${rank} ${dims}`, `rank ${t.shape.length} with shape ${shapeText(t.shape)}`);
  }
}

/** All tensors of one call share a dtype; returns it. */
export function checkSameDType(op: string, tensors: ReadonlyArray<readonly [string, Tensor]>): DType {
  const [firstName, first] = tensors[0]!;
  for (const [name, t] of tensors.slice(1)) {
    if (t.dtype !== first.dtype) {
      throw new CnnArgumentError(op, name, `dtype ${first.dtype} (the dtype of ${firstName})`, `dtype ${t.dtype}`);
    }
  }
  return first.dtype;
}

/** A number or an [h, w] pair of integers >= min. */
export function checkPair(op: string, argument: string, value: unknown, min: 0 | 1): [number, number] {
  const what = min === 1 ? 'a positive integer' : 'a non-negative integer';
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (typeof value === 'number') {
    if (!ok(value)) throw new CnnArgumentError(op, argument, `${what} or an [h, w] pair of them`, describe(value));
    return [value, value];
  }
  if (Array.isArray(value) && value.length === 2) {
    if (!ok(value[0])) throw new CnnArgumentError(op, `${argument}[0]`, what, describe(value[0]));
    if (!ok(value[1])) throw new CnnArgumentError(op, `${argument}[1]`, what, describe(value[1]));
    return [value[0], value[1]];
  }
  throw new CnnArgumentError(op, argument, `${what} or an [h, w] pair of them`, describe(value));
}

function checkObject(op: string, argument: string, value: unknown, keys: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CnnArgumentError(op, argument, `an object { ${keys} }`, describe(value));
  }
  return value as Record<string, unknown>;
}

export interface ConvGeometry {
  dtype: DType;
  m: number; H: number; W: number; C: number;
  fH: number; fW: number; N: number;
  sH: number; sW: number; padH: number; padW: number;
  /** Padded input size. */
  Hp: number; Wp: number;
  /** Output size. */
  nH: number; nW: number;
}

/** Checks convForward's arguments and returns the geometry of the call. */
export function convGeometry(op: string, owner: TensorOwner, A: unknown, W: unknown, b: unknown, hparameters: unknown): ConvGeometry {
  const a = checkTensor(op, 'A', A, owner);
  const w = checkTensor(op, 'W', W, owner);
  const bias = checkTensor(op, 'b', b, owner);
  checkRank(op, 'A', a, 4, '(m, nH_prev, nW_prev, nC_prev)');
  checkRank(op, 'W', w, 4, '(f, f, nC_prev, nC)');
  const dtype = checkSameDType(op, [['A', a], ['W', w], ['b', bias]]);
  const [m, H, Wd, C] = a.shape as [number, number, number, number];
  const [fH, fW, Cw, N] = w.shape as [number, number, number, number];
  if (Cw !== C) {
    throw new CnnArgumentError(op, 'W', `W.shape[2] equal to A's channel count ${C}`, `W of shape ${shapeText(w.shape)}`);
  }
  if (bias.shape.length !== 4 || bias.shape[0] !== 1 || bias.shape[1] !== 1 || bias.shape[2] !== 1 || bias.shape[3] !== N) {
    throw new CnnArgumentError(op, 'b', `shape [1, 1, 1, ${N}] (one bias per filter)`, `shape ${shapeText(bias.shape)}`);
  }
  const hp = checkObject(op, 'hparameters', hparameters, 'stride, pad');
  const [sH, sW] = checkPair(op, 'hparameters.stride', hp['stride'], 1);
  const [padH, padW] = checkPair(op, 'hparameters.pad', hp['pad'], 0);
  const Hp = H + 2 * padH;
  const Wp = Wd + 2 * padW;
  if (fH > Hp || fW > Wp) {
    throw new CnnArgumentError(op, 'W', `a kernel no larger than the padded input ${Hp}x${Wp}`, `a ${fH}x${fW} kernel`);
  }
  const nH = Math.floor((Hp - fH) / sH) + 1;
  const nW = Math.floor((Wp - fW) / sW) + 1;
  return { dtype, m, H, W: Wd, C, fH, fW, N, sH, sW, padH, padW, Hp, Wp, nH, nW };
}

export interface PoolGeometry {
  dtype: DType;
  m: number; H: number; W: number; C: number;
  fH: number; fW: number; sH: number; sW: number;
  nH: number; nW: number;
}

export function poolGeometry(op: string, owner: TensorOwner, A: unknown, hparameters: unknown): PoolGeometry {
  const a = checkTensor(op, 'A', A, owner);
  checkRank(op, 'A', a, 4, '(m, nH_prev, nW_prev, nC_prev)');
  const hp = checkObject(op, 'hparameters', hparameters, 'f, stride');
  const [fH, fW] = checkPair(op, 'hparameters.f', hp['f'], 1);
  const [sH, sW] = checkPair(op, 'hparameters.stride', hp['stride'], 1);
  const [m, H, W, C] = a.shape as [number, number, number, number];
  if (fH > H || fW > W) {
    throw new CnnArgumentError(op, 'hparameters.f', `a window no larger than the input ${H}x${W}`, `a ${fH}x${fW} window`);
  }
  return { dtype: a.dtype, m, H, W, C, fH, fW, sH, sW, nH: Math.floor((H - fH) / sH) + 1, nW: Math.floor((W - fW) / sW) + 1 };
}

function checkGradient(op: string, argument: string, grad: unknown, owner: TensorOwner, expected: readonly number[], dtype: DType): Tensor {
  const g = checkTensor(op, argument, grad, owner);
  if (g.shape.length !== expected.length || g.shape.some((d, i) => d !== expected[i])) {
    throw new CnnArgumentError(op, argument, `shape ${shapeText(expected)} (the forward output of its cache)`, `shape ${shapeText(g.shape)}`);
  }
  if (g.dtype !== dtype) throw new CnnArgumentError(op, argument, `dtype ${dtype} (the dtype of its cache)`, `dtype ${g.dtype}`);
  return g;
}

/** Checks convBackward's arguments: the cache must be a conv cache whose tensors are alive. */
export function convBackwardGeometry(op: string, owner: TensorOwner, dZ: unknown, cache: unknown): ConvGeometry {
  const c = checkObject(op, 'cache', cache, `kind: 'conv', A, W, b, hparameters`);
  if (c['kind'] !== 'conv') throw new CnnArgumentError(op, 'cache', 'the cache returned by convForward', describe(cache));
  const g = convGeometry(op, owner, c['A'], c['W'], c['b'], c['hparameters']);
  checkGradient(op, 'dZ', dZ, owner, [g.m, g.nH, g.nW, g.N], g.dtype);
  return g;
}

/** Checks poolBackward's arguments; returns the geometry and the mode to use. */
export function poolBackwardGeometry(op: string, owner: TensorOwner, dA: unknown, cache: unknown, mode: unknown): PoolGeometry & { mode: PoolMode } {
  const c = checkObject(op, 'cache', cache, `kind: 'pool', A, hparameters, mode`);
  if (c['kind'] !== 'pool') throw new CnnArgumentError(op, 'cache', 'the cache returned by poolForward', describe(cache));
  const g = poolGeometry(op, owner, c['A'], c['hparameters']);
  const cacheMode = checkMode(op, 'cache.mode', c['mode'], 'max');
  checkGradient(op, 'dA', dA, owner, [g.m, g.nH, g.nW, g.C], g.dtype);
  return { ...g, mode: checkMode(op, 'mode', mode, cacheMode) };
}

export function convCache(A: Tensor, W: Tensor, b: Tensor, g: ConvGeometry): ConvCache {
  return { kind: 'conv', A, W, b, hparameters: { stride: [g.sH, g.sW], pad: [g.padH, g.padW] } };
}

export function poolCache(A: Tensor, g: PoolGeometry, mode: PoolMode): PoolCache {
  return { kind: 'pool', A, hparameters: { f: [g.fH, g.fW], stride: [g.sH, g.sW] }, mode };
}

