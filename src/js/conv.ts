// The reference convolution: the seed's loops, window by window. Sums are accumulated in float64 (JS
// numbers) and rounded to the tensor's dtype once, when stored. The padded input (the seed's
// A_prev_pad) is read through a function that gives 0 outside the input rather than materialised, and
// the padded input gradient's border (which the seed slices off at the end) is never accumulated: the
// numbers are the seed's, and the work and memory are bounded by the tensors whatever the padding.
import type { ConvGeometry, ConvGradients } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { TypedArray } from '../types.js';
import { scratch } from './store.js';

/** Index of (i, h, w, c) in an NHWC array of height H, width W, channels C. */
export function at(H: number, W: number, C: number, i: number, h: number, w: number, c: number): number {
  return ((i * H + h) * W + w) * C + c;
}

/** Index of W[kh, kw, k, c] in a filter of shape (fH, fW, C, N). */
function filterAt(g: ConvGeometry, kh: number, kw: number, k: number, c: number): number {
  return ((kh * g.fW + kw) * g.C + k) * g.N + c;
}

/** Index in A_prev of padded position (i, ph, pw, k), or -1 in the zero border. */
function unpadded(g: ConvGeometry, i: number, ph: number, pw: number, k: number): number {
  const h = ph - g.padTop, w = pw - g.padLeft;
  return h >= 0 && h < g.H && w >= 0 && w < g.W ? at(g.H, g.W, g.C, i, h, w, k) : -1;
}

// conv_single_step: np.sum(a_slice_prev * W) + float(b)
export function dot(a: TensorParts, W: TensorParts, bias: number): number {
  const x = a.storage.view(), w = W.storage.view();
  let s = 0;
  for (let k = 0; k < x.length; k++) s += x[k]! * w[k]!;
  return s + bias;
}

/** conv_single_step over the padded window of output (i, h, w), channel c, plus b[c], then the activation. */
export function convOutput(g: ConvGeometry, a: TypedArray, W: TypedArray, bias: TypedArray, i: number, h: number, w: number, c: number): number {
  const vertStart = h * g.sH, horizStart = w * g.sW;
  let s = 0;
  for (let kh = 0; kh < g.fH; kh++) {
    const y = vertStart + kh - g.padTop;
    for (let kw = 0; kw < g.fW; kw++) {
      const x = horizStart + kw - g.padLeft;
      // the window's pixel in A_prev, or -1 in the zero border (whose zeros still multiply W, as in the seed)
      const p = y >= 0 && y < g.H && x >= 0 && x < g.W ? at(g.H, g.W, g.C, i, y, x, 0) : -1;
      const q = filterAt(g, kh, kw, 0, c);
      for (let k = 0; k < g.C; k++) s += (p < 0 ? 0 : a[p + k]!) * W[q + k * g.N]!;
    }
  }
  const v = s + bias[c]!;
  return g.activation === 'relu' ? Math.max(v, 0) : v;
}

// conv_forward: Z[i, h, w, c] = conv_single_step(a_prev_pad[window], W[..., c], b[..., c])
export function convForward(g: ConvGeometry, A: TensorParts, Wt: TensorParts, b: TensorParts, Z: TensorParts): void {
  const a = A.storage.view(), W = Wt.storage.view(), bias = b.storage.view(), z = Z.storage.view();
  for (let i = 0; i < g.m; i++)
    for (let h = 0; h < g.nH; h++)
      for (let w = 0; w < g.nW; w++)
        for (let c = 0; c < g.N; c++) z[at(g.nH, g.nW, g.N, i, h, w, c)] = convOutput(g, a, W, bias, i, h, w, c);
}

// conv_backward: for every output (i, h, w, c):
//   dA_prev_pad[window] += W[..., c] * dZ[i, h, w, c];  dW[..., c] += a_slice * dZ;  db[c] += dZ
// then dA_prev = dA_prev_pad without its border. Only the gradients asked for are accumulated.
export function convBackward(g: ConvGeometry, dZt: TensorParts, A: TensorParts, Wt: TensorParts, grads: ConvGradients): void {
  const op = 'convBackward';
  const a = A.storage.view(), W = Wt.storage.view(), dZ = dZt.storage.view();
  const dA = grads.dA ? scratch(op, grads.dA.size) : null;
  const dW = grads.dW ? scratch(op, grads.dW.size) : null;
  const db = grads.db ? scratch(op, grads.db.size) : null;
  for (let i = 0; i < g.m; i++)
    for (let h = 0; h < g.nH; h++)
      for (let w = 0; w < g.nW; w++)
        for (let c = 0; c < g.N; c++) {
          const vertStart = h * g.sH, horizStart = w * g.sW;
          const dz = dZ[at(g.nH, g.nW, g.N, i, h, w, c)]!;
          for (let kh = 0; kh < g.fH; kh++) {
            const y = vertStart + kh - g.padTop;
            for (let kw = 0; kw < g.fW; kw++) {
              const x = horizStart + kw - g.padLeft;
              // A_prev's pixel, or -1 in the border of A_prev_pad (slice off by the seed in the end)
              const p = y >= 0 && y < g.H && x >= 0 && x < g.W ? at(g.H, g.W, g.C, i, y, x, 0) : -1;
              const q = filterAt(g, kh, kw, 0, c);
              for (let k = 0; k < g.C; k++) {
                if (dA && p >= 0) dA[p + k] = dA[p + k]! + W[q + k * g.N]! * dz;
                if (dW) dW[q + k * g.N] = dW[q + k * g.N]! + (p < 0 ? 0 : a[p + k]!) * dz;
              }
            }
          }
          if (db) db[c] = db[c]! + dz;
        }
  if (dA) grads.dA!.storage.view().set(dA);
  if (dW) grads.dW!.storage.view().set(dW);
  if (db) grads.db!.storage.view().set(db);
}

// The same sums one element at a time (gather form), adding the same terms in the same order as the
// loops above do for that element, so the results are equal to the last bit. The 'wasm' backend
// recomputes with these the elements whose SIMD result is not finite (see src/wasm/exact.ts).

/** Output positions along an axis whose window covers padded position p: o with 0 <= p - o*s < f, 0 <= o < n. */
function covering(p: number, f: number, s: number, n: number): [first: number, last: number] {
  return [Math.max(0, Math.ceil((p - f + 1) / s)), Math.min(n - 1, Math.floor(p / s))];
}

/** dA_prev[i, y, x, k]: sum over the outputs whose window covers it, in (h, w, c) order, of W * dZ. */
export function inputGradientAt(g: ConvGeometry, W: TypedArray, dZ: TypedArray, i: number, y: number, x: number, k: number): number {
  const ph = y + g.padTop, pw = x + g.padLeft;
  const [h0, h1] = covering(ph, g.fH, g.sH, g.nH);
  const [w0, w1] = covering(pw, g.fW, g.sW, g.nW);
  let s = 0;
  for (let h = h0; h <= h1; h++)
    for (let w = w0; w <= w1; w++)
      for (let c = 0; c < g.N; c++) s += W[filterAt(g, ph - h * g.sH, pw - w * g.sW, k, c)]! * dZ[at(g.nH, g.nW, g.N, i, h, w, c)]!;
  return s;
}

/** dW[kh, kw, k, c]: sum over every output (i, h, w), in order, of a_slice * dZ (0 in the padding). */
export function filterGradientAt(g: ConvGeometry, a: TypedArray, dZ: TypedArray, kh: number, kw: number, k: number, c: number): number {
  let s = 0;
  for (let i = 0; i < g.m; i++)
    for (let h = 0; h < g.nH; h++)
      for (let w = 0; w < g.nW; w++) {
        const p = unpadded(g, i, h * g.sH + kh, w * g.sW + kw, k);
        s += (p < 0 ? 0 : a[p]!) * dZ[at(g.nH, g.nW, g.N, i, h, w, c)]!;
      }
  return s;
}

/** db[c]: the sum of dZ[..., c] in order. */
export function biasGradientAt(g: ConvGeometry, dZ: TypedArray, c: number): number {
  let s = 0;
  for (let p = c; p < dZ.length; p += g.N) s += dZ[p]!;
  return s;
}

// np.pad(X, ((0,0), (top,bottom), (left,right), (0,0)), 'constant')
export function zeroPad(X: TensorParts, out: TensorParts, top: number, left: number): void {
  const [m, H, W, C] = X.shape as [number, number, number, number];
  const [, Hp, Wp] = out.shape as [number, number, number, number];
  const x = X.storage.view(), y = out.storage.view();
  y.fill(0);
  for (let i = 0; i < m; i++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) y[at(Hp, Wp, C, i, h + top, w + left, c)] = x[at(H, W, C, i, h, w, c)]!;
}
