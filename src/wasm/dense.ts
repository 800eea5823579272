// Dense layers on the wasm kernels: Z = X W + b is a 1x1 convolution over m pixels of k channels to
// n channels, and its gradients are that convolution's. The conv kernels (conv.ts) run it; their
// redo of non-finite results computes the same sums, in the same order, as src/js/dense.ts.
import type { ConvGeometry, DenseGeometry, DenseGradients } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import { convBackward, convForward, LANES } from './conv.js';
import { nonFinite, redoConvForward, redoFilterGradient, redoInputGradient } from './redo.js';
import type { WasmRuntime } from './runtime.js';
import { MIN_CONV_TASK_WORK, splitElements, taskCount, TASKS_PER_THREAD } from './split.js';

/** The 1x1 convolution over one row of m pixels that a dense layer is. */
function pointwise(g: DenseGeometry): ConvGeometry {
  return {
    dtype: g.dtype, m: 1, H: 1, W: g.m, C: g.k, fH: 1, fW: 1, N: g.n, sH: 1, sW: 1,
    padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, Hp: 1, Wp: g.m, nH: 1, nW: g.m, activation: g.activation,
  };
}

/**
 * Rows below which W is read where it lies rather than packed: a packed copy serves m / 4 row tiles,
 * and costs about as much as two of them (measured on (m, 4096) x (4096, 1000) and (m, 1024) x (1024, 512)).
 */
const FEW_ROWS = 16;

/**
 * Output channels, in vectors, up to which a dense layer's filter gradient runs along X's rows
 * (gemm_tn's narrow path) rather than as a 1x1 convolution's, whose tiles are 2 vectors of channels
 * wide. The narrow path reads X once per pass of 4 columns (then 2, then 1), the convolution's once
 * per block. One thread, against the convolution's: float32 (32, 400) to 8 channels 0.75x the time,
 * to 10 0.67x, (256, 1024) to 8 0.45x, to 15 0.99x; float64 (256, 1024) to 4 0.69x, to 7 1.06x.
 */
const NARROW_UP_TO = 3;

const off = (t: TensorParts) => t.storage.offset;

/**
 * Columns per strip when a product of few rows is cut over the threads: a whole number of the
 * kernel's 2-vector tiles in either dtype (so each value is computed as in the uncut call) and of
 * 64-byte lines of a float32 row of W.
 */
const COLUMN_STRIP = 16;

export function denseForward(rt: WasmRuntime, g: DenseGeometry, X: TensorParts, W: TensorParts, b: TensorParts, Z: TensorParts): void {
  const conv = pointwise(g);
  if (g.m >= FEW_ROWS) return convForward(rt, conv, X, W, b, Z, 'denseForward');
  const k = rt.kernels(g.dtype);
  const sz = g.dtype === 'float32' ? 4 : 8;
  const relu = g.activation === 'relu' ? 1 : 0;
  // few rows: bound by reading W, so the threads take strips of its columns (each reads its share)
  const parts = taskCount(rt.threads, g.m * g.k * g.n, Math.ceil(g.n / COLUMN_STRIP));
  const flagged = parts <= 1
    ? k.gemm_small(off(X), off(W), off(b), off(Z), g.m, g.n, g.k, relu, g.n)
    : rt.job('denseForward', parts, (add) => splitElements(parts, g.n, COLUMN_STRIP, (j, count) =>
      add(k.gemm_small, off(X), off(W) + j * sz, off(b) + j * sz, off(Z) + j * sz, g.m, count, g.k, relu, g.n)));
  if (!flagged) return;
  // not finite somewhere: the values before the ReLU tell where, then the reference's formula
  let at: readonly number[] | undefined;
  if (relu) {
    k.gemm_small(off(X), off(W), off(b), off(Z), g.m, g.n, g.k, 0, g.n);
    at = nonFinite(rt, Z);
    k.relu(off(Z), off(Z), Z.size);
  }
  redoConvForward(rt, conv, X, W, b, Z, at);
}

export function denseBackward(rt: WasmRuntime, g: DenseGeometry, dZ: TensorParts, X: TensorParts, W: TensorParts, grads: DenseGradients): void {
  const conv = pointwise(g);
  const k = rt.kernels(g.dtype);
  if (g.m >= FEW_ROWS && g.n > NARROW_UP_TO * LANES(k, rt)) return convBackward(rt, conv, dZ, X, W, { dA: grads.dX, dW: grads.dW, db: grads.db }, 'denseBackward');
  if (g.m >= FEW_ROWS) {
    // few output channels: dW = X^T dZ along X's rows (gemm_tn), by strips of dW's rows over the threads
    k.bias_gradient(off(dZ), off(grads.db), g.m, g.n);
    const parts = taskCount(rt.threads, g.m * g.k * g.n, Math.ceil(g.k / COLUMN_STRIP), TASKS_PER_THREAD, MIN_CONV_TASK_WORK);
    rt.job('denseBackward', parts, (add) => splitElements(parts, g.k, COLUMN_STRIP, (j, count) =>
      add(k.gemm_tn, off(X), off(dZ), off(grads.dW), g.m, g.k, g.n, j, j + count)));
    redoFilterGradient(rt, 'denseBackward', conv, dZ, X, grads.dW, grads.db);
    return convBackward(rt, conv, dZ, X, W, { dA: grads.dX }, 'denseBackward');
  }
  // db as the conv's bias gradient; dW = X^T dZ, written row by row; dX = dZ W^T, dot products of
  // rows of dZ and of W, W read in place. Both are bound by W's size, so the threads take strips of
  // its rows: row j of W gives column j of dX, and dW's row j is X's column j times dZ
  k.bias_gradient(off(dZ), off(grads.db), g.m, g.n);
  const parts = taskCount(rt.threads, 2 * g.m * g.k * g.n, Math.ceil(g.k / COLUMN_STRIP));
  const flagged = parts <= 1
    ? (k.gemm_tn(off(X), off(dZ), off(grads.dW), g.m, g.k, g.n, 0, g.k), k.gemm_nt(off(dZ), off(W), off(grads.dX), g.m, g.k, g.n, 0, g.k))
    : rt.job('denseBackward', parts, (add) => splitElements(parts, g.k, COLUMN_STRIP, (j, count) => {
      add(k.gemm_tn, off(X), off(dZ), off(grads.dW), g.m, g.k, g.n, j, j + count);
      add(k.gemm_nt, off(dZ), off(W), off(grads.dX), g.m, g.k, g.n, j, j + count);
    }));
  redoFilterGradient(rt, 'denseBackward', conv, dZ, X, grads.dW, grads.db);
  // a flag from either kernel: dX is scanned (the scan finds nothing where dW raised it)
  if (flagged) redoInputGradient(rt, conv, dZ, W, grads.dX);
}
