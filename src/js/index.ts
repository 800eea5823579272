// The 'js' backend's kernels: plain TypeScript, the oracle of the accuracy tests, so they favour
// being obviously correct over being fast.
import type { Kernels } from '../ops/kernels.js';
import { convBackward, convForward, dot, zeroPad } from './conv.js';
import { denseBackward, denseForward } from './dense.js';
import { softmax, softmaxCrossEntropy } from './loss.js';
import { adam, sgd, sgdMomentum } from './optimizers.js';
import { mask, poolBackward, poolForward } from './pool.js';

export { jsStore } from './store.js';

export const jsKernels: Kernels = {
  fill: (out, value) => void out.storage.view().fill(value),
  zeroPad,
  dot,
  convForward,
  convBackward,
  poolForward,
  poolBackward,
  mask,
  denseForward,
  denseBackward,
  softmax,
  softmaxCrossEntropy,
  sgd,
  sgdMomentum,
  adam,
  // max(x, 0): NaN stays NaN, -0 becomes +0
  relu(X, Y) {
    const x = X.storage.view(), y = Y.storage.view();
    for (let i = 0; i < x.length; i++) y[i] = Math.max(x[i]!, 0);
  },
  // the gradient is dY where X > 0, else 0 (at 0, and for NaN)
  reluBackward(dY, X, dX) {
    const g = dY.storage.view(), x = X.storage.view(), d = dX.storage.view();
    for (let i = 0; i < x.length; i++) d[i] = x[i]! > 0 ? g[i]! : 0;
  },
};
