// Softmax and its cross-entropy on the wasm kernels (assembly/loss.ts). A row whose results may not
// be finite (it holds a NaN or an infinity) is done again by the reference's functions, so such
// rows come out exactly as on 'js'.
import { crossEntropyRow, softmaxRow } from '../js/loss.js';
import type { Labels, SoftmaxGeometry } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { WasmRuntime } from './runtime.js';

export function softmax(rt: WasmRuntime, g: SoftmaxGeometry, X: TensorParts, Y: TensorParts): void {
  const flagged = rt.kernels(X.dtype).softmax(X.storage.offset, Y.storage.offset, g.rows, g.n);
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
    const flagged = k.softmax_cross_entropy(logits.storage.offset, labels.indices ? labelsAt : 0, labels.target ? labels.target.storage.offset : 0,
      dLogits.storage.offset, lossAt, g.rows, g.n, 1 / g.rows);
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
