// Dense (fully connected) layers: Z = X W + b, X read as (m, k) whatever its rank (an NHWC
// activation flattens with no copy), and the gradients of it.
import { CnnArgumentError } from '../errors.js';
import type { Tensor, TensorParts } from '../tensor.js';
import type { Activation, DenseCache } from '../types.js';
import { checkGradient, checkSameDType, readActivation, readCache, readOptions, shapeText } from '../validate.js';
import type { OpContext } from './context.js';
import type { DenseGeometry, DenseGradients } from './kernels.js';

function denseGeometry(op: string, names: { X: string; W: string; b: string }, x: TensorParts, w: TensorParts, bias: TensorParts, activation: Activation): DenseGeometry {
  if (x.shape.length < 2) {
    throw new CnnArgumentError(op, names.X, 'rank 2 or more (m, ...), read as (m, k) with k the product of the other dimensions', `rank ${x.shape.length} with shape ${shapeText(x.shape)}`);
  }
  const m = x.shape[0]!;
  const k = x.size / m;
  if (w.shape.length !== 2 || w.shape[0] !== k) {
    throw new CnnArgumentError(op, names.W, `shape [${k}, n] (k = ${k}, the size of one row of X)`, `shape ${shapeText(w.shape)}`);
  }
  const n = w.shape[1]!;
  if (bias.shape.length !== 2 || bias.shape[0] !== 1 || bias.shape[1] !== n) {
    throw new CnnArgumentError(op, names.b, `shape [1, ${n}] (one bias per column of W)`, `shape ${shapeText(bias.shape)}`);
  }
  const dtype = checkSameDType(op, [[names.X, x], [names.W, w], [names.b, bias]]);
  return { dtype, m, k, n, activation };
}

export function denseForward(ctx: OpContext, X: unknown, W: unknown, b: unknown, options: unknown): { Z: Tensor; cache: DenseCache } {
  const op = 'denseForward';
  const o = readOptions(op, 'options', options, ['activation'] as const, false);
  const activation = readActivation(op, 'options.activation', o.activation);
  const x = ctx.tensor(op, 'X', X);
  const w = ctx.tensor(op, 'W', W);
  const bias = ctx.tensor(op, 'b', b);
  const g = denseGeometry(op, { X: 'X', W: 'W', b: 'b' }, x, w, bias, activation);
  return ctx.run(op, (out) => {
    const Z = out([g.m, g.n], g.dtype);
    ctx.kernels.denseForward(g, x, w, bias, Z);
    const cache: DenseCache = { kind: 'dense', X: x.tensor, W: w.tensor, b: bias.tensor, Z: Z.tensor, activation: g.activation };
    return { Z: Z.tensor, cache };
  });
}

export function denseBackward(ctx: OpContext, dZ: unknown, cache: unknown): { dX: Tensor; dW: Tensor; db: Tensor } {
  const op = 'denseBackward';
  const c = readCache(op, cache, 'dense', ['X', 'W', 'b', 'Z', 'activation'], 'denseForward');
  const activation = readActivation(op, 'cache.activation', c.activation);
  const x = ctx.tensor(op, 'cache.X', c.X);
  const w = ctx.tensor(op, 'cache.W', c.W);
  const bias = ctx.tensor(op, 'cache.b', c.b);
  const z = activation === 'relu' ? ctx.tensor(op, 'cache.Z', c.Z) : null;
  const dz = ctx.tensor(op, 'dZ', dZ);
  const g = denseGeometry(op, { X: 'cache.X', W: 'cache.W', b: 'cache.b' }, x, w, bias, activation);
  if (z) checkGradient(op, 'cache.Z', z, [g.m, g.n], g.dtype, 'the output of denseForward');
  checkGradient(op, 'dZ', dz, [g.m, g.n], g.dtype, 'the forward output of its cache');
  return ctx.run(op, (out, temp) => {
    const grads: DenseGradients = { dX: out(x.shape, g.dtype), dW: out([g.k, g.n], g.dtype), db: out([1, g.n], g.dtype) };
    // with a fused ReLU, dZ is the gradient of the activated output: the product's own is dZ where Z > 0
    let source = dz;
    if (z) {
      source = temp(dz.shape, g.dtype);
      ctx.kernels.reluBackward(dz, z, source);
    }
    ctx.kernels.denseBackward(g, source, x, w, grads);
    return { dX: grads.dX.tensor, dW: grads.dW.tensor, db: grads.db.tensor };
  });
}
