// Pooling ops: the seed's pool_forward and pool_backward (max and average, no padding), and its two
// helpers create_mask_from_window and distribute_value.
import { CnnArgumentError } from '../errors.js';
import type { TensorParts } from '../tensor.js';
import type { Tensor } from '../tensor.js';
import type { PoolCache, PoolMode } from '../types.js';
import { checkGradient, checkRank, readCache, readDType, readMode, readOptions, readPair, readShape } from '../validate.js';
import type { OpContext } from './context.js';
import type { PoolGeometry } from './kernels.js';

const HP_KEYS = ['f', 'stride'] as const;

function poolGeometry(op: string, argument: string, a: TensorParts, f: [number, number], stride: [number, number], mode: PoolMode): PoolGeometry {
  checkRank(op, argument, a, 4, '(m, n_H_prev, n_W_prev, n_C_prev)');
  const [m, H, W, C] = a.shape as [number, number, number, number];
  const [fH, fW] = f;
  const [sH, sW] = stride;
  if (fH > H || fW > W) {
    throw new CnnArgumentError(op, argument === 'A_prev' ? 'hparameters.f' : 'cache.hparameters.f', `a window no larger than the input ${H}x${W}`, `a ${fH}x${fW} window`);
  }
  return { dtype: a.dtype, m, H, W, C, fH, fW, sH, sW, nH: Math.floor((H - fH) / sH) + 1, nW: Math.floor((W - fW) / sW) + 1, mode };
}

export function poolForward(ctx: OpContext, A_prev: unknown, hparameters: unknown, mode: unknown): { A: Tensor; cache: PoolCache } {
  const op = 'poolForward';
  const hp = readOptions(op, 'hparameters', hparameters, HP_KEYS, true);
  const f = readPair(op, 'hparameters.f', hp.f, 1);
  const stride = readPair(op, 'hparameters.stride', hp.stride, 1);
  const md = readMode(op, 'mode', mode, 'max');
  const a = ctx.tensor(op, 'A_prev', A_prev);
  const g = poolGeometry(op, 'A_prev', a, f, stride, md);
  return ctx.run(op, (out) => {
    const A = out([g.m, g.nH, g.nW, g.C], g.dtype);
    ctx.kernels.poolForward(g, a, A);
    const cache: PoolCache = { kind: 'pool', A_prev: a.tensor, hparameters: { f: [g.fH, g.fW], stride: [g.sH, g.sW] }, mode: g.mode };
    return { A: A.tensor, cache };
  });
}

export function poolBackward(ctx: OpContext, dA: unknown, cache: unknown, mode: unknown, options: unknown): Tensor {
  const op = 'poolBackward';
  const c = readCache(op, cache, 'pool', ['A_prev', 'hparameters', 'mode'], 'poolForward');
  const hp = readOptions(op, 'cache.hparameters', c.hparameters, HP_KEYS, true);
  const f = readPair(op, 'cache.hparameters.f', hp.f, 1);
  const stride = readPair(op, 'cache.hparameters.stride', hp.stride, 1);
  const cacheMode = readMode(op, 'cache.mode', c.mode, 'max');
  const md = readMode(op, 'mode', mode, cacheMode);
  const opts = readOptions(op, 'options', options, ['ties'] as const, false);
  const ties = opts.ties ?? 'all';
  if (ties !== 'all' && ties !== 'first') throw new CnnArgumentError(op, 'options.ties', `'all' or 'first'`, typeof ties === 'string' ? JSON.stringify(ties) : String(ties));
  const a = ctx.tensor(op, 'cache.A_prev', c.A_prev);
  const da = ctx.tensor(op, 'dA', dA);
  const g = poolGeometry(op, 'cache.A_prev', a, f, stride, md);
  checkGradient(op, 'dA', da, [g.m, g.nH, g.nW, g.C], g.dtype, 'the forward output of its cache');
  return ctx.run(op, (out) => {
    const dAPrev = out([g.m, g.H, g.W, g.C], g.dtype);
    ctx.kernels.poolBackward(g, a, da, dAPrev, ties === 'first');
    return dAPrev.tensor;
  });
}

export function createMaskFromWindow(ctx: OpContext, x: unknown): Tensor {
  const op = 'createMaskFromWindow';
  const t = ctx.tensor(op, 'x', x);
  checkRank(op, 'x', t, 2, '(f, f)');
  return ctx.run(op, (out) => {
    const mask = out(t.shape, t.dtype);
    ctx.kernels.mask(t, mask);
    return mask.tensor;
  });
}

export function distributeValue(ctx: OpContext, dz: unknown, shape: unknown, dtype: unknown): Tensor {
  const op = 'distributeValue';
  if (typeof dz !== 'number') throw new CnnArgumentError(op, 'dz', 'a number', typeof dz === 'string' ? JSON.stringify(dz) : String(dz));
  const s = readShape(op, 'shape', shape);
  if (s.length !== 2) throw new CnnArgumentError(op, 'shape', 'an [n_H, n_W] pair', `an array of length ${s.length}`);
  const dt = readDType(op, 'dtype', dtype);
  return ctx.run(op, (out) => {
    const t = out(s, dt);
    ctx.kernels.fill(t, dz / (s[0]! * s[1]!));
    return t.tensor;
  });
}
