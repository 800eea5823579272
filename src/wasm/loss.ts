// Softmax and its cross-entropy on the wasm kernels (assembly/loss.ts), cut over the threads by rows
// (each row is computed on its own, and the rows' losses are added here in order, so any number of
// threads gives the same bits). A row whose results may not be finite (it holds a NaN or an
// infinity) is done again by the reference's functions, so such rows come out exactly as on 'js'.
import { crossEntropyRow, softmaxRow } from '../js/loss.js';
import type { Labels, SoftmaxGeometry } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { AddTask, WasmRuntime } from './runtime.js';
import { SOFTMAX_WEIGHT, splitElements, taskCount } from './split.js';

/** Runs `call` over ranges of rows [first, first + count), as one job cut over the threads when the rows are many. */
function byRows(rt: WasmRuntime, op: string, g: SoftmaxGeometry, call: (add: AddTask, first: number, count: number) => void): number {
  const parts = taskCount(rt.threads, SOFTMAX_WEIGHT * g.rows * g.n, g.rows);
  return rt.job(op, parts, (add) => splitElements(parts, g.rows, 1, (first, count) => call(add, first, count)));
}

export function softmax(rt: WasmRuntime, g: SoftmaxGeometry, X: TensorParts, Y: TensorParts): void {
  const k = rt.kernels(X.dtype), row = g.n * (X.dtype === 'float32' ? 4 : 8);
  const flagged = byRows(rt, 'softmax', g, (add, r, count) => add(k.softmax, X.storage.offset + r * row, Y.storage.offset + r * row, count, g.n));
  if (!flagged) return;
  const x = X.storage.view(), y = Y.storage.view();
  for (let r = 0; r < g.rows; r++) {
    for (let j = 0; j < g.n; j++) {
      if (!Number.isFinite(y[r * g.n + j]!)) {
        softmaxRow(x, y, g.n, r);
        break;
      }
    }
  }
}

export function softmaxCrossEntropy(rt: WasmRuntime, g: SoftmaxGeometry, logits: TensorParts, labels: Labels, dLogits: TensorParts): number {
  const op = 'softmaxCrossEntropy';
  const sz = logits.dtype === 'float32' ? 4 : 8;
  const k = rt.kernels(logits.dtype);
  return rt.scratch(op, [labels.indices ? 4 * g.rows : 0, sz * g.rows], (labelsAt, lossAt) => {
    if (labels.indices) rt.int32(labelsAt, g.rows).set(labels.indices);
    const row = g.n * sz;
    const flagged = byRows(rt, op, g, (add, r, count) =>
      add(k.softmax_cross_entropy, logits.storage.offset + r * row, labels.indices ? labelsAt + 4 * r : 0, labels.target ? labels.target.storage.offset + r * row : 0,
        dLogits.storage.offset + r * row, lossAt + r * sz, count, g.n, 1 / g.rows));
    const buffer = rt.memory.buffer;
    const rowLoss = sz === 4 ? new Float32Array(buffer, lossAt, g.rows) : new Float64Array(buffer, lossAt, g.rows);
    if (flagged) {
      const x = logits.storage.view(), d = dLogits.storage.view();
      const target = labels.target ? labels.target.storage.view() : null;
      for (let r = 0; r < g.rows; r++) {
        let redo = !Number.isFinite(rowLoss[r]!);
        for (let j = 0; !redo && j < g.n; j++) redo = !Number.isFinite(d[r * g.n + j]!);
        if (redo) rowLoss[r] = crossEntropyRow(x, labels, target, d, g.n, r, 1 / g.rows);
      }
    }
    let total = 0;
    for (let r = 0; r < g.rows; r++) total += rowLoss[r]!;
    return total / g.rows;
  });
}
