// Element-wise kernels over n contiguous elements of T: fill, ReLU and its gradient, and the scan for
// values that are not finite. Whole vectors first, then a scalar tail.
import { LANES } from "./lanes";

/** p[0 .. n) = value. */
export function fill<T>(p: usize, n: i32, value: T): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const v = v128.splat<T>(value);
  let i = 0;
  for (; i + L <= n; i += L) v128.store(p + <usize>i * sz, v);
  for (; i < n; i++) store<T>(p + <usize>i * sz, value);
}

/**
 * out[i] = ((p[0][i] + p[1][i]) + p[2][i]) + ... over `pieces` arrays of n values lying `stride`
 * bytes apart from p: the pieces' partial sums of a reduction (the filter gradient's), added in one
 * fixed order whatever range of i a call is given.
 */
export function sumPieces<T>(p: usize, out: usize, n: i32, pieces: i32, stride: usize): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let i = 0;
  for (; i + L <= n; i += L) {
    const o = <usize>i * sz;
    let s = v128.load(p + o);
    for (let k = 1; k < pieces; k++) s = v128.add<T>(s, v128.load(p + <usize>k * stride + o));
    v128.store(out + o, s);
  }
  for (; i < n; i++) {
    const o = <usize>i * sz;
    let s = load<T>(p + o);
    for (let k = 1; k < pieces; k++) s += load<T>(p + <usize>k * stride + o);
    store<T>(out + o, s);
  }
}

/**
 * y[i] = max(x[i], 0) as Math.max gives it: NaN stays NaN, -0 becomes +0. Taken as pmax(x, 0) + 0
 * (two instructions on x86; f32x4.max, NaN-propagating, costs several): pmax(x, 0) is 0 for x < 0
 * and x otherwise (NaN, -0 included), and adding +0 turns -0 into +0 and leaves every other value
 * as it is. y may be x.
 */
export function relu<T>(x: usize, y: usize, n: i32): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const zero = v128.splat<T>(<T>0);
  let i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    const o = <usize>i * sz;
    const a = v128.load(x + o), b = v128.load(x + o, 16), c = v128.load(x + o, 32), d = v128.load(x + o, 48);
    v128.store(y + o, v128.add<T>(v128.pmax<T>(a, zero), zero)); v128.store(y + o, v128.add<T>(v128.pmax<T>(b, zero), zero), 16);
    v128.store(y + o, v128.add<T>(v128.pmax<T>(c, zero), zero), 32); v128.store(y + o, v128.add<T>(v128.pmax<T>(d, zero), zero), 48);
  }
  for (; i + L <= n; i += L) v128.store(y + <usize>i * sz, v128.add<T>(v128.pmax<T>(v128.load(x + <usize>i * sz), zero), zero));
  for (; i < n; i++) store<T>(y + <usize>i * sz, max<T>(load<T>(x + <usize>i * sz), <T>0));
}

/** dx[i] = x[i] > 0 ? dy[i] : 0 (0 for NaN). dx may be dy. */
export function reluBackward<T>(dy: usize, x: usize, dx: usize, n: i32): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const zero = v128.splat<T>(<T>0);
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const o = <usize>i * sz;
    v128.store(dx + o, v128.and(v128.load(dy + o), v128.gt<T>(v128.load(x + o), zero)));
    v128.store(dx + o, v128.and(v128.load(dy + o, 16), v128.gt<T>(v128.load(x + o, 16), zero)), 16);
  }
  for (; i + L <= n; i += L) {
    const o = <usize>i * sz;
    v128.store(dx + o, v128.and(v128.load(dy + o), v128.gt<T>(v128.load(x + o), zero)));
  }
  for (; i < n; i++) {
    const o = <usize>i * sz;
    store<T>(dx + o, load<T>(x + o) > <T>0 ? load<T>(dy + o) : <T>0);
  }
}

/** The index of the first element of p[from .. n) that is NaN or infinite, or -1. */
export function findNonFinite<T>(p: usize, from: i32, n: i32): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let i = from;
  for (; i + 2 * L <= n; i += 2 * L) {
    const a = v128.load(p + <usize>i * sz), b = v128.load(p + <usize>i * sz, 16);
    // x - x is 0 for a finite x and NaN otherwise
    const s = v128.add<T>(v128.sub<T>(a, a), v128.sub<T>(b, b));
    if (v128.any_true(v128.ne<T>(s, s))) break;
  }
  for (; i < n; i++) {
    const v = load<T>(p + <usize>i * sz);
    if (v - v != 0) return i;
  }
  return -1;
}
