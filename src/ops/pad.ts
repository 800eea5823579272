// The seed's zero_pad: rows and columns of zeros around each image.
import { CnnArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { checkRank, readPadding } from '../validate.js';
import type { OpContext } from './context.js';

export function zeroPad(ctx: OpContext, X: unknown, pad: unknown): Tensor {
  const op = 'zeroPad';
  if (pad === 'same') throw new CnnArgumentError(op, 'pad', `a non-negative integer, an [h, w] pair or [[top, bottom], [left, right]]`, `"same" (which needs a filter size and stride)`);
  const p = readPadding(op, 'pad', pad);
  const x = ctx.tensor(op, 'X', X);
  checkRank(op, 'X', x, 4, '(m, n_H, n_W, n_C)');
  if (p.same) throw new Error('unreachable');
  const [m, H, W, C] = x.shape as [number, number, number, number];
  return ctx.run(op, (out) => {
    const y = out([m, H + p.top + p.bottom, W + p.left + p.right, C], x.dtype);
    ctx.kernels.zeroPad(x, y, p.top, p.left);
    return y.tensor;
  });
}
