// Convolution ops: the seed's conv_single_step, conv_forward and conv_backward (whole, and split into
// the input gradient and the filter gradient). Arguments are read once, validated, the geometry is
// computed here, and the backend's kernels do the arithmetic.
import { CnnArgumentError } from '../errors.js';
import type { TensorParts } from '../tensor.js';
import type { Tensor } from '../tensor.js';
import type { Activation, ConvCache } from '../types.js';
import {
  checkGradient, checkRank, checkSameDType, readActivation, readCache, readOptions, readPadding, readPair,
  shapeText, type PaddingSpec,
} from '../validate.js';
import type { OpContext } from './context.js';
import type { ConvGeometry, ConvGradients } from './kernels.js';

const HP_KEYS = ['stride', 'pad', 'activation'] as const;

/** The padding along one axis: 'same' gives ceil(n / s) outputs, the odd row or column at the end (TensorFlow's split). */
function sidePadding(pad: PaddingSpec, n: number, f: number, s: number, axis: 0 | 1): [number, number] {
  if (!pad.same) return axis === 0 ? [pad.top, pad.bottom] : [pad.left, pad.right];
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + f - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Checks a convolution's tensors and hyperparameters (already read) and returns its geometry. */
function convGeometry(
  op: string, names: { A: string; W: string; b: string }, a: TensorParts, w: TensorParts, bias: TensorParts,
  stride: [number, number], pad: PaddingSpec, activation: Activation, where: string,
): ConvGeometry {
  checkRank(op, names.A, a, 4, '(m, n_H_prev, n_W_prev, n_C_prev)');
  checkRank(op, names.W, w, 4, '(f, f, n_C_prev, n_C)');
  const dtype = checkSameDType(op, [[names.A, a], [names.W, w], [names.b, bias]]);
  const [m, H, Wd, C] = a.shape as [number, number, number, number];
  const [fH, fW, Cw, N] = w.shape as [number, number, number, number];
  if (Cw !== C) {
    throw new CnnArgumentError(op, names.W, `W.shape[2] equal to A_prev's channel count ${C}`, `W of shape ${shapeText(w.shape)}`);
  }
  const bs = bias.shape;
  if (bs.length !== 4 || bs[0] !== 1 || bs[1] !== 1 || bs[2] !== 1 || bs[3] !== N) {
    throw new CnnArgumentError(op, names.b, `shape [1, 1, 1, ${N}] (one bias per filter)`, `shape ${shapeText(bs)}`);
  }
  const [sH, sW] = stride;
  const [padTop, padBottom] = sidePadding(pad, H, fH, sH, 0);
  const [padLeft, padRight] = sidePadding(pad, Wd, fW, sW, 1);
  const Hp = H + padTop + padBottom;
  const Wp = Wd + padLeft + padRight;
  if (fH > Hp || fW > Wp) {
    throw new CnnArgumentError(op, names.W, `a kernel no larger than the padded input ${Hp}x${Wp}${where}`, `a ${fH}x${fW} kernel`);
  }
  const nH = Math.floor((Hp - fH) / sH) + 1;
  const nW = Math.floor((Wp - fW) / sW) + 1;
  return { dtype, m, H, W: Wd, C, fH, fW, N, sH, sW, padTop, padBottom, padLeft, padRight, Hp, Wp, nH, nW, activation };
}

export function convSingleStep(ctx: OpContext, aSlice: unknown, W: unknown, b: unknown): number {
  const op = 'convSingleStep';
  const a = ctx.tensor(op, 'a_slice_prev', aSlice);
  const w = ctx.tensor(op, 'W', W);
  const bias = ctx.tensor(op, 'b', b);
  checkRank(op, 'a_slice_prev', a, 3, '(f, f, n_C_prev)');
  if (w.shape.length !== 3 || w.shape.some((d, i) => d !== a.shape[i])) {
    throw new CnnArgumentError(op, 'W', `shape ${shapeText(a.shape)} (the shape of a_slice_prev)`, `shape ${shapeText(w.shape)}`);
  }
  if (bias.size !== 1) throw new CnnArgumentError(op, 'b', 'a tensor of one element, e.g. shape [1, 1, 1]', `shape ${shapeText(bias.shape)}`);
  checkSameDType(op, [['a_slice_prev', a], ['W', w], ['b', bias]]);
  return ctx.kernels.dot(a, w, bias.storage.view()[0]!);
}

export function convForward(ctx: OpContext, A_prev: unknown, W: unknown, b: unknown, hparameters: unknown): { Z: Tensor; cache: ConvCache } {
  const op = 'convForward';
  const hp = readOptions(op, 'hparameters', hparameters, HP_KEYS, true);
  const stride = readPair(op, 'hparameters.stride', hp.stride, 1);
  const pad = readPadding(op, 'hparameters.pad', hp.pad);
  const activation = readActivation(op, 'hparameters.activation', hp.activation);
  const a = ctx.tensor(op, 'A_prev', A_prev);
  const w = ctx.tensor(op, 'W', W);
  const bias = ctx.tensor(op, 'b', b);
  const g = convGeometry(op, { A: 'A_prev', W: 'W', b: 'b' }, a, w, bias, stride, pad, activation, '');
  return ctx.run(op, (out) => {
    const Z = out([g.m, g.nH, g.nW, g.N], g.dtype);
    ctx.kernels.convForward(g, a, w, bias, Z);
    const cache: ConvCache = {
      kind: 'conv', A_prev: a.tensor, W: w.tensor, b: bias.tensor, Z: Z.tensor,
      hparameters: { stride: [g.sH, g.sW], pad: [[g.padTop, g.padBottom], [g.padLeft, g.padRight]], activation: g.activation },
    };
    return { Z: Z.tensor, cache };
  });
}

/** The arguments of a backward op, read once: dZ, the cache's tensors and its geometry. */
function backwardArgs(ctx: OpContext, op: string, dZ: unknown, cache: unknown) {
  const c = readCache(op, cache, 'conv', ['A_prev', 'W', 'b', 'Z', 'hparameters'], 'convForward');
  const hp = readOptions(op, 'cache.hparameters', c.hparameters, HP_KEYS, true);
  const stride = readPair(op, 'cache.hparameters.stride', hp.stride, 1);
  const pad = readPadding(op, 'cache.hparameters.pad', hp.pad);
  const activation = readActivation(op, 'cache.hparameters.activation', hp.activation);
  const a = ctx.tensor(op, 'cache.A_prev', c.A_prev);
  const w = ctx.tensor(op, 'cache.W', c.W);
  const bias = ctx.tensor(op, 'cache.b', c.b);
  const z = activation === 'relu' ? ctx.tensor(op, 'cache.Z', c.Z) : null;
  const dz = ctx.tensor(op, 'dZ', dZ);
  const g = convGeometry(op, { A: 'cache.A_prev', W: 'cache.W', b: 'cache.b' }, a, w, bias, stride, pad, activation, ' (of the cache)');
  const zShape = [g.m, g.nH, g.nW, g.N];
  if (z) checkGradient(op, 'cache.Z', z, zShape, g.dtype, 'the output of convForward');
  checkGradient(op, 'dZ', dz, zShape, g.dtype, 'the forward output of its cache');
  return { g, a, w, z, dz };
}

type Want = 'all' | 'input' | 'filter';

function backward(ctx: OpContext, op: string, dZ: unknown, cache: unknown, want: Want): ConvGradients {
  const { g, a, w, z, dz } = backwardArgs(ctx, op, dZ, cache);
  return ctx.run(op, (out, temp) => {
    const grads: ConvGradients = {
      dA: want !== 'filter' ? out([g.m, g.H, g.W, g.C], g.dtype) : undefined,
      dW: want !== 'input' ? out([g.fH, g.fW, g.C, g.N], g.dtype) : undefined,
      db: want !== 'input' ? out([1, 1, 1, g.N], g.dtype) : undefined,
    };
    // with a fused ReLU, dZ is the gradient of the activated output: the convolution's own is dZ where Z > 0
    let source = dz;
    if (z) {
      source = temp(dz.shape, g.dtype);
      ctx.kernels.reluBackward(dz, z, source);
    }
    ctx.kernels.convBackward(g, source, a, w, grads);
    return grads;
  });
}

export function convBackward(ctx: OpContext, dZ: unknown, cache: unknown): { dA: Tensor; dW: Tensor; db: Tensor } {
  const grads = backward(ctx, 'convBackward', dZ, cache, 'all');
  return { dA: grads.dA!.tensor, dW: grads.dW!.tensor, db: grads.db!.tensor };
}

export function convBackwardInput(ctx: OpContext, dZ: unknown, cache: unknown): Tensor {
  return backward(ctx, 'convBackwardInput', dZ, cache, 'input').dA!.tensor;
}

export function convBackwardFilter(ctx: OpContext, dZ: unknown, cache: unknown): { dW: Tensor; db: Tensor } {
  const grads = backward(ctx, 'convBackwardFilter', dZ, cache, 'filter');
  return { dW: grads.dW!.tensor, db: grads.db!.tensor };
}
