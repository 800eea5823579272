// The output of a classifier: softmax over the last axis, and softmax cross-entropy with its
// gradient, for labels given as class indices or as a one-hot (or any probability) tensor.
import { CnnArgumentError } from '../errors.js';
import { numberArrayLength, type Tensor } from '../tensor.js';
import { checkRank, describe, shapeText } from '../validate.js';
import type { OpContext } from './context.js';
import type { Labels } from './kernels.js';

export function softmax(ctx: OpContext, X: unknown): Tensor {
  const op = 'softmax';
  const x = ctx.tensor(op, 'X', X);
  const n = x.shape[x.shape.length - 1]!;
  return ctx.run(op, (out) => {
    const Y = out(x.shape, x.dtype);
    ctx.kernels.softmax({ rows: x.size / n, n }, x, Y);
    return Y.tensor;
  });
}

/** Class indices as given (an Int32Array or any array), read once: its length, then each value. */
function readValues(op: string, labels: unknown): unknown[] {
  const typed = numberArrayLength(labels);
  const length = typed >= 0 ? typed : Array.isArray(labels) ? labels.length : -1;
  if (length < 0) {
    throw new CnnArgumentError(op, 'labels', 'class indices (an Int32Array or an array of integers) or a one-hot tensor', describe(labels));
  }
  const values: unknown[] = [];
  for (let i = 0; i < length; i++) values.push((labels as ArrayLike<unknown>)[i]);
  return values;
}

/** Class indices: integers in [0, n), one per row. */
function checkIndices(op: string, values: unknown[], m: number, n: number): Int32Array {
  if (values.length !== m) throw new CnnArgumentError(op, 'labels', `${m} class indices (one per row of logits)`, `${values.length} values`);
  const out = new Int32Array(m);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
      throw new CnnArgumentError(op, `labels[${i}]`, `a class index, an integer in [0, ${n})`, describe(v));
    }
    out[i] = v;
  });
  return out;
}

export function softmaxCrossEntropy(ctx: OpContext, logits: unknown, labels: unknown): { loss: number; dLogits: Tensor } {
  const op = 'softmaxCrossEntropy';
  // class indices are read (once) before any tensor is checked: reading them runs no code after that
  const isIndices = Array.isArray(labels) || numberArrayLength(labels) >= 0;
  const values = isIndices ? readValues(op, labels) : null;
  const z = ctx.tensor(op, 'logits', logits);
  checkRank(op, 'logits', z, 2, '(m, n): a row of class scores per example');
  const [m, n] = z.shape as [number, number];
  let read: Labels;
  if (values) {
    read = { indices: checkIndices(op, values, m, n), target: null };
  } else {
    const t = ctx.tensor(op, 'labels', labels);
    if (t.shape.length !== 2 || t.shape[0] !== m || t.shape[1] !== n) {
      throw new CnnArgumentError(op, 'labels', `a one-hot tensor of shape [${m}, ${n}] (the shape of logits) or ${m} class indices`, `shape ${shapeText(t.shape)}`);
    }
    if (t.dtype !== z.dtype) throw new CnnArgumentError(op, 'labels', `dtype ${z.dtype} (the dtype of logits)`, `dtype ${t.dtype}`);
    read = { indices: null, target: t };
  }
  return ctx.run(op, (out) => {
    const dLogits = out([m, n], z.dtype);
    const loss = ctx.kernels.softmaxCrossEntropy({ rows: m, n }, z, read, dLogits);
    return { loss, dLogits: dLogits.tensor };
  });
}
