// The reference dense layer: each output a float64 sum in order, rounded once when stored. Every
// function computes one element (the 'wasm' backend recomputes with them the elements whose SIMD
// result is not finite).
import type { DenseGeometry, DenseGradients } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { TypedArray } from '../types.js';

/** Z[i, j] = sum over c of X[i, c] W[c, j], plus b[j], then the activation. */
export function denseOutputAt(g: DenseGeometry, x: TypedArray, w: TypedArray, b: TypedArray, i: number, j: number): number {
  let s = 0;
  for (let c = 0; c < g.k; c++) s += x[i * g.k + c]! * w[c * g.n + j]!;
  const v = s + b[j]!;
  return g.activation === 'relu' ? Math.max(v, 0) : v;
}

/** dX[i, c] = sum over j of dZ[i, j] W[c, j]. */
export function denseInputGradientAt(g: DenseGeometry, dz: TypedArray, w: TypedArray, i: number, c: number): number {
  let s = 0;
  for (let j = 0; j < g.n; j++) s += dz[i * g.n + j]! * w[c * g.n + j]!;
  return s;
}

/** dW[c, j] = sum over i of X[i, c] dZ[i, j]. */
export function denseFilterGradientAt(g: DenseGeometry, x: TypedArray, dz: TypedArray, c: number, j: number): number {
  let s = 0;
  for (let i = 0; i < g.m; i++) s += x[i * g.k + c]! * dz[i * g.n + j]!;
  return s;
}

/** db[j] = sum over i of dZ[i, j]. */
export function denseBiasGradientAt(g: DenseGeometry, dz: TypedArray, j: number): number {
  let s = 0;
  for (let i = 0; i < g.m; i++) s += dz[i * g.n + j]!;
  return s;
}

export function denseForward(g: DenseGeometry, X: TensorParts, W: TensorParts, b: TensorParts, Z: TensorParts): void {
  const x = X.storage.view(), w = W.storage.view(), bias = b.storage.view(), z = Z.storage.view();
  for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) z[i * g.n + j] = denseOutputAt(g, x, w, bias, i, j);
}

export function denseBackward(g: DenseGeometry, dZ: TensorParts, X: TensorParts, W: TensorParts, grads: DenseGradients): void {
  const dz = dZ.storage.view(), x = X.storage.view(), w = W.storage.view();
  const dX = grads.dX.storage.view(), dW = grads.dW.storage.view(), db = grads.db.storage.view();
  for (let i = 0; i < g.m; i++) for (let c = 0; c < g.k; c++) dX[i * g.k + c] = denseInputGradientAt(g, dz, w, i, c);
  for (let c = 0; c < g.k; c++) for (let j = 0; j < g.n; j++) dW[c * g.n + j] = denseFilterGradientAt(g, x, dz, c, j);
  for (let j = 0; j < g.n; j++) db[j] = denseBiasGradientAt(g, dz, j);
}
