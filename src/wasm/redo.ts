// Results that are not finite, done again exactly. The SIMD kernels sum in the tensor's dtype, in
// their own order, over padded buffers; the 'js' reference sums in float64, in the seed's order, over
// the seed's terms only. For finite results the two differ by rounding alone, within the bound the
// accuracy tests derive. A NaN or an infinity is another matter: a float32 partial sum may overflow
// where the float64 one does not, and a zero border times an infinite filter tap is NaN where the
// seed never forms that product. So wherever a kernel stored a value that is not finite, that element
// is recomputed here with the reference's own functions (src/js/), which makes it equal to the 'js'
// backend's to the last bit. Finding them costs one scan of the output, or nothing where the kernel
// reports that it stored only finite values.
import { biasGradientAt, convOutput, filterGradientAt, inputGradientAt } from '../js/conv.js';
import { poolGradientAt, windowMean } from '../js/pool.js';
import type { ConvGeometry, PoolGeometry } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { WasmRuntime } from './runtime.js';

const NONE: readonly number[] = [];

/** Flat indices of the elements of t that are not finite. */
export function nonFinite(rt: WasmRuntime, t: TensorParts): readonly number[] {
  const k = rt.kernels(t.dtype);
  let i = k.find_nonfinite(t.storage.offset, 0, t.size);
  if (i < 0) return NONE;
  const found: number[] = [];
  for (; i >= 0; i = k.find_nonfinite(t.storage.offset, i + 1, t.size)) found.push(i);
  return found;
}

/**
 * Whether t holds a value that is not finite: one scan, cut over the threads where t is large (the
 * filter gradient of a late layer, 9.4 MB for 3x3, 512 to 512 in float32, scanned after every call).
 */
function anyNonFinite(rt: WasmRuntime, op: string, t: TensorParts): boolean {
  const k = rt.kernels(t.dtype), sz = t.dtype === 'float32' ? 4 : 8;
  return rt.elementwise(op, t.size, (add, i, n) => add(k.any_nonfinite, t.storage.offset + i * sz, n)) !== 0;
}

/** (i, h, w, c) of flat index p in an NHWC array of height H, width W, channels C. */
function nhwc(p: number, H: number, W: number, C: number): [number, number, number, number] {
  const c = p % C, q = (p - c) / C;
  const w = q % W, r = (q - w) / W;
  const h = r % H;
  return [(r - h) / H, h, w, c];
}

/** Z's non-finite elements (or those at `at`, found before an activation hid them) by the reference's formula. */
export function redoConvForward(rt: WasmRuntime, g: ConvGeometry, A: TensorParts, W: TensorParts, b: TensorParts, Z: TensorParts, at: readonly number[] = nonFinite(rt, Z)): void {
  const a = A.storage.view(), w = W.storage.view(), bias = b.storage.view(), z = Z.storage.view();
  for (const p of at) {
    const [i, h, x, c] = nhwc(p, g.nH, g.nW, g.N);
    z[p] = convOutput(g, a, w, bias, i, h, x, c);
  }
}

export function redoInputGradient(rt: WasmRuntime, g: ConvGeometry, dZ: TensorParts, W: TensorParts, dA: TensorParts): void {
  const w = W.storage.view(), dz = dZ.storage.view(), da = dA.storage.view();
  for (const p of nonFinite(rt, dA)) {
    const [i, y, x, k] = nhwc(p, g.H, g.W, g.C);
    da[p] = inputGradientAt(g, w, dz, i, y, x, k);
  }
}

/** dW's and db's non-finite elements by the reference's formulas (`op`: the public op, for an error from a thread). */
export function redoFilterGradient(rt: WasmRuntime, op: string, g: ConvGeometry, dZ: TensorParts, A: TensorParts, dW: TensorParts, db: TensorParts): void {
  const inW = anyNonFinite(rt, op, dW) ? nonFinite(rt, dW) : NONE, inB = nonFinite(rt, db);
  if (inW.length === 0 && inB.length === 0) return;
  const a = A.storage.view(), dz = dZ.storage.view(), dw = dW.storage.view(), dbv = db.storage.view();
  for (const p of inW) {
    const [kh, kw, k, c] = nhwc(p, g.fW, g.C, g.N);
    dw[p] = filterGradientAt(g, a, dz, kh, kw, k, c);
  }
  for (const c of inB) dbv[c] = biasGradientAt(g, dz, c);
}

export function redoPoolForward(rt: WasmRuntime, g: PoolGeometry, A: TensorParts, out: TensorParts): void {
  const x = A.storage.view(), y = out.storage.view();
  for (const p of nonFinite(rt, out)) {
    const [i, h, w, c] = nhwc(p, g.nH, g.nW, g.C);
    y[p] = windowMean(g, x, i, h, w, c);
  }
}

export function redoPoolBackward(rt: WasmRuntime, g: PoolGeometry, A: TensorParts, dA: TensorParts, dAPrev: TensorParts, firstOnly: boolean): void {
  const x = A.storage.view(), da = dA.storage.view(), dx = dAPrev.storage.view();
  for (const p of nonFinite(rt, dAPrev)) {
    const [i, y, xx, c] = nhwc(p, g.H, g.W, g.C);
    dx[p] = poolGradientAt(g, x, da, firstOnly, i, y, xx, c);
  }
}
