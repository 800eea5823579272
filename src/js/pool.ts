// The reference pooling: the seed's loops, window by window, sums in float64.
import type { PoolGeometry } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { TypedArray } from '../types.js';
import { at } from './conv.js';
import { scratch } from './store.js';

/**
 * np.max of channel c's window at output (i, h, w), as PyTorch and TensorFlow take it: the first of
 * its largest values in row-major order (`if (v > max) max = v`, so [-0, +0] gives -0), NaN if the
 * window holds a NaN.
 */
export function windowMax(g: PoolGeometry, x: TypedArray, i: number, h: number, w: number, c: number): number {
  let mx = -Infinity;
  for (let kh = 0; kh < g.fH; kh++)
    for (let kw = 0; kw < g.fW; kw++) {
      const v = x[at(g.H, g.W, g.C, i, h * g.sH + kh, w * g.sW + kw, c)]!;
      if (v > mx || v !== v) mx = v;
    }
  return mx;
}

/** np.mean of the same window: its sum in row-major order over its size. */
export function windowMean(g: PoolGeometry, x: TypedArray, i: number, h: number, w: number, c: number): number {
  let s = 0;
  for (let kh = 0; kh < g.fH; kh++)
    for (let kw = 0; kw < g.fW; kw++) s += x[at(g.H, g.W, g.C, i, h * g.sH + kh, w * g.sW + kw, c)]!;
  return s / (g.fH * g.fW);
}

// pool_forward: np.max or np.mean of each window
export function poolForward(g: PoolGeometry, A: TensorParts, out: TensorParts): void {
  const x = A.storage.view(), y = out.storage.view();
  for (let i = 0; i < g.m; i++)
    for (let h = 0; h < g.nH; h++)
      for (let w = 0; w < g.nW; w++)
        for (let c = 0; c < g.C; c++) {
          y[at(g.nH, g.nW, g.C, i, h, w, c)] = g.mode === 'max' ? windowMax(g, x, i, h, w, c) : windowMean(g, x, i, h, w, c);
        }
}

// pool_backward: dA_prev[window] += mask * dA (max) or distribute_value(dA, shape) (average). With
// firstOnly, the mask holds only the first maximum in row-major window order.
export function poolBackward(g: PoolGeometry, A: TensorParts, dAt: TensorParts, dAPrev: TensorParts, firstOnly: boolean): void {
  const x = A.storage.view(), dA = dAt.storage.view();
  const acc = scratch('poolBackward', dAPrev.size);
  for (let i = 0; i < g.m; i++)
    for (let h = 0; h < g.nH; h++)
      for (let w = 0; w < g.nW; w++)
        for (let c = 0; c < g.C; c++) {
          const da = dA[at(g.nH, g.nW, g.C, i, h, w, c)]!;
          const mx = g.mode === 'max' ? windowMax(g, x, i, h, w, c) : 0;
          let routed = false;
          for (let kh = 0; kh < g.fH; kh++)
            for (let kw = 0; kw < g.fW; kw++) {
              const p = at(g.H, g.W, g.C, i, h * g.sH + kh, w * g.sW + kw, c);
              let share: number;
              if (g.mode === 'average') share = da / (g.fH * g.fW);
              else if (x[p] === mx && !routed) {
                share = da;
                routed = firstOnly;
              } else share = 0;
              acc[p] = acc[p]! + share;
            }
        }
  dAPrev.storage.view().set(acc);
}

/** The first position (row-major) of the window at output (i, h, w), channel c, holding mx; -1 if none. */
function firstMax(g: PoolGeometry, x: TypedArray, i: number, h: number, w: number, c: number, mx: number): number {
  for (let kh = 0; kh < g.fH; kh++)
    for (let kw = 0; kw < g.fW; kw++) {
      const p = at(g.H, g.W, g.C, i, h * g.sH + kh, w * g.sW + kw, c);
      if (x[p] === mx) return p;
    }
  return -1;
}

/**
 * dA_prev[i, y, x, c] in gather form: the shares of the windows that hold it, in the order the loop
 * above adds them, so the result is equal to the last bit (the 'wasm' backend recomputes with it the
 * elements whose SIMD result is not finite).
 */
export function poolGradientAt(g: PoolGeometry, x: TypedArray, dA: TypedArray, firstOnly: boolean, i: number, y: number, xx: number, c: number): number {
  const p = at(g.H, g.W, g.C, i, y, xx, c);
  const h0 = Math.max(0, Math.ceil((y - g.fH + 1) / g.sH)), h1 = Math.min(g.nH - 1, Math.floor(y / g.sH));
  const w0 = Math.max(0, Math.ceil((xx - g.fW + 1) / g.sW)), w1 = Math.min(g.nW - 1, Math.floor(xx / g.sW));
  let s = 0;
  for (let h = h0; h <= h1; h++)
    for (let w = w0; w <= w1; w++) {
      const da = dA[at(g.nH, g.nW, g.C, i, h, w, c)]!;
      if (g.mode === 'average') s += da / (g.fH * g.fW);
      else {
        const mx = windowMax(g, x, i, h, w, c);
        if (x[p] === mx && (!firstOnly || firstMax(g, x, i, h, w, c, mx) === p)) s += da;
      }
    }
  return s;
}

// create_mask_from_window: x == np.max(x)
export function mask(x: TensorParts, out: TensorParts): void {
  const v = x.storage.view(), o = out.storage.view();
  let mx = -Infinity;
  for (let k = 0; k < v.length; k++) mx = Math.max(mx, v[k]!);
  for (let k = 0; k < v.length; k++) o[k] = v[k] === mx ? 1 : 0;
}
