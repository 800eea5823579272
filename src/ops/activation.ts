// Activations: ReLU and its gradient.
import type { Tensor } from '../tensor.js';
import type { ReluCache } from '../types.js';
import { checkGradient, readCache } from '../validate.js';
import type { OpContext } from './context.js';

export function relu(ctx: OpContext, X: unknown): { Y: Tensor; cache: ReluCache } {
  const op = 'relu';
  const x = ctx.tensor(op, 'X', X);
  return ctx.run(op, (out) => {
    const Y = out(x.shape, x.dtype);
    ctx.kernels.relu(x, Y);
    return { Y: Y.tensor, cache: { kind: 'relu', X: x.tensor } as ReluCache };
  });
}

export function reluBackward(ctx: OpContext, dY: unknown, cache: unknown): Tensor {
  const op = 'reluBackward';
  const c = readCache(op, cache, 'relu', ['X'], 'relu');
  const x = ctx.tensor(op, 'cache.X', c.X);
  const dy = ctx.tensor(op, 'dY', dY);
  checkGradient(op, 'dY', dy, x.shape, x.dtype, 'the shape of its cache\'s X');
  return ctx.run(op, (out) => {
    const dX = out(x.shape, x.dtype);
    ctx.kernels.reluBackward(dy, x, dX);
    return dX.tensor;
  });
}
