// The reference softmax and softmax cross-entropy: each row's max subtracted before exp (so any
// magnitude is safe), sums in float64 in order, rounded once when stored.
import type { Labels, SoftmaxGeometry } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { TypedArray } from '../types.js';

/** Row r's max and the sum of exp(x - max) over it. */
export function rowStats(x: TypedArray, n: number, r: number): [max: number, sum: number] {
  let mx = -Infinity;
  for (let j = 0; j < n; j++) mx = Math.max(mx, x[r * n + j]!);
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(x[r * n + j]! - mx);
  return [mx, s];
}

/** Row r of softmax(x) into y. */
export function softmaxRow(x: TypedArray, y: TypedArray, n: number, r: number): void {
  const [mx, s] = rowStats(x, n, r);
  for (let j = 0; j < n; j++) y[r * n + j] = Math.exp(x[r * n + j]! - mx) / s;
}

/**
 * Row r of the cross-entropy: writes (softmax - target) * scale into d and returns the row's loss,
 * -sum(target log softmax) = sum(target (logsumexp - x)); with class indices, logsumexp - x[label].
 */
export function crossEntropyRow(x: TypedArray, labels: Labels, target: TypedArray | null, d: TypedArray, n: number, r: number, scale: number): number {
  const [mx, s] = rowStats(x, n, r);
  const lse = mx + Math.log(s);
  let loss = 0;
  for (let j = 0; j < n; j++) {
    const t = target ? target[r * n + j]! : labels.indices![r] === j ? 1 : 0;
    d[r * n + j] = (Math.exp(x[r * n + j]! - mx) / s - t) * scale;
    if (target) loss += t * (lse - x[r * n + j]!);
  }
  return target ? loss : lse - x[r * n + labels.indices![r]!]!;
}

export function softmax(g: SoftmaxGeometry, X: TensorParts, Y: TensorParts): void {
  const x = X.storage.view(), y = Y.storage.view();
  for (let r = 0; r < g.rows; r++) softmaxRow(x, y, g.n, r);
}

export function softmaxCrossEntropy(g: SoftmaxGeometry, logits: TensorParts, labels: Labels, dLogits: TensorParts): number {
  const x = logits.storage.view(), d = dLogits.storage.view();
  const target = labels.target ? labels.target.storage.view() : null;
  let total = 0;
  for (let r = 0; r < g.rows; r++) total += crossEntropyRow(x, labels, target, d, g.n, r, 1 / g.rows);
  return total / g.rows;
}
