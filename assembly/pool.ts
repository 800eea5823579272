// Pooling kernels, NHWC, no padding. Vectorised over channels: 4 vectors of channels per pass over
// a window, then single vectors, then a scalar tail. One loop nest serves both modes: the public
// kernels call it with a constant `MAX`, so the choice folds away at compile time. Max pooling over
// 3x3 windows at stride 2, whose windows overlap, has its own kernel that slides along rows and
// reads each column once per output row (max3s2).
//
// The max is the first of the window's largest values in row-major order, as PyTorch and TensorFlow
// compute it (`if (v > max) max = v`; for a window [-0, +0] it is -0), and NaN where the window holds
// a NaN. It is taken with pmax (acc < v ? v : acc: one maxps on x86, where the NaN-propagating
// f32x4.max costs several instructions), which keeps the first of equal values and drops NaNs.
// Beside it runs a plain sum of the window, one add: the sum is NaN only if the window holds a NaN
// (or both infinities), and then that window is done again with the exact, NaN-propagating max.
import { LANES, maxLanes, notFinite, sumLanes } from "./lanes";

// @ts-ignore: decorator
@inline function start<T>(MAX: bool): v128 {
  return MAX ? v128.splat<T>(<T>-Infinity) : v128.splat<T>(<T>0);
}

// @ts-ignore: decorator
@inline function combine<T>(MAX: bool, acc: v128, v: v128): v128 {
  return MAX ? v128.pmax<T>(acc, v) : v128.add<T>(acc, v);
}

/** The window's result: the max, or the sum divided by the count. */
// @ts-ignore: decorator
@inline function finish<T>(MAX: bool, acc: v128, count: v128): v128 {
  return MAX ? acc : v128.div<T>(acc, count);
}

/** Lanes where a window's running sum is NaN: the window may hold a NaN. */
// @ts-ignore: decorator
@inline function unordered<T>(sum: v128): v128 {
  return v128.ne<T>(sum, sum);
}

/** The exact max (NaN-propagating) of one vector's window: the slow path of the rare NaN window,
 * kept out of line so that it costs the hot loop no registers. */
function exactMax<T>(p: usize, xRow: usize, pix: usize, fH: i32, fW: i32): v128 {
  let a = v128.splat<T>(<T>-Infinity);
  for (let kh = 0; kh < fH; kh++) {
    let q = p + <usize>kh * xRow;
    for (let kw = 0; kw < fW; kw++) {
      a = v128.max<T>(a, v128.load(q));
      q += pix;
    }
  }
  return a;
}

/** Reduces the fH x fW window at p (rows xRow bytes apart, pixels pix apart) over 4 vectors. */
// @ts-ignore: decorator
@inline function window4<T>(MAX: bool, p: usize, xRow: usize, pix: usize, fH: i32, fW: i32, count: v128, o: usize): v128 {
  let a0 = start<T>(MAX), a1 = a0, a2 = a0, a3 = a0;
  let s0 = v128.splat<T>(<T>0), s1 = s0, s2 = s0, s3 = s0;
  for (let kh = 0; kh < fH; kh++) {
    let q = p + <usize>kh * xRow;
    for (let kw = 0; kw < fW; kw++) {
      const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32), v3 = v128.load(q, 48);
      a0 = combine<T>(MAX, a0, v0); a1 = combine<T>(MAX, a1, v1);
      a2 = combine<T>(MAX, a2, v2); a3 = combine<T>(MAX, a3, v3);
      if (MAX) {
        s0 = v128.add<T>(s0, v0); s1 = v128.add<T>(s1, v1);
        s2 = v128.add<T>(s2, v2); s3 = v128.add<T>(s3, v3);
      }
      q += pix;
    }
  }
  if (MAX && v128.any_true(v128.or(v128.or(unordered<T>(s0), unordered<T>(s1)), v128.or(unordered<T>(s2), unordered<T>(s3))))) {
    a0 = exactMax<T>(p, xRow, pix, fH, fW);
    a1 = exactMax<T>(p + 16, xRow, pix, fH, fW);
    a2 = exactMax<T>(p + 32, xRow, pix, fH, fW);
    a3 = exactMax<T>(p + 48, xRow, pix, fH, fW);
  }
  const r0 = finish<T>(MAX, a0, count), r1 = finish<T>(MAX, a1, count), r2 = finish<T>(MAX, a2, count), r3 = finish<T>(MAX, a3, count);
  v128.store(o, r0);
  v128.store(o, r1, 16);
  v128.store(o, r2, 32);
  v128.store(o, r3, 48);
  // the sum of the averages: not finite if one is not (max pooling is exact and reports nothing)
  return MAX ? v128.splat<T>(<T>0) : v128.add<T>(v128.add<T>(r0, r1), v128.add<T>(r2, r3));
}

/** The same over one vector. */
// @ts-ignore: decorator
@inline function window1<T>(MAX: bool, p: usize, xRow: usize, pix: usize, fH: i32, fW: i32, count: v128): v128 {
  let a = start<T>(MAX);
  let s = v128.splat<T>(<T>0);
  for (let kh = 0; kh < fH; kh++) {
    let q = p + <usize>kh * xRow;
    for (let kw = 0; kw < fW; kw++) {
      const v = v128.load(q);
      a = combine<T>(MAX, a, v);
      if (MAX) s = v128.add<T>(s, v);
      q += pix;
    }
  }
  if (MAX && v128.any_true(unordered<T>(s))) a = exactMax<T>(p, xRow, pix, fH, fW);
  return finish<T>(MAX, a, count);
}

/** The same for one channel (the scalar tail): the first largest value, or NaN. */
// @ts-ignore: decorator
@inline function window0<T>(MAX: bool, p: usize, xRow: usize, pix: usize, fH: i32, fW: i32): T {
  let a: T = MAX ? <T>-Infinity : <T>0;
  for (let kh = 0; kh < fH; kh++) {
    let q = p + <usize>kh * xRow;
    for (let kw = 0; kw < fW; kw++) {
      const v = load<T>(q);
      if (MAX) {
        if (v > a || v != v) a = v;
      } else {
        a += v;
      }
      q += pix;
    }
  }
  return MAX ? a : a / <T>(fH * fW);
}

// @ts-ignore: decorator
@inline function forward<T>(
  MAX: bool, x: usize, out: usize, m: i32, H: i32, W: i32, C: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32,
): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const pix = <usize>C * sz;
  const xRow = <usize>W * pix;
  const count = v128.splat<T>(<T>(fH * fW));
  let o = out;
  let all = v128.splat<T>(<T>0);
  let allScalar = <T>0;
  for (let n = 0; n < m; n++) {
    for (let oh = 0; oh < nH; oh++) {
      for (let ow = 0; ow < nW; ow++) {
        const win = x + (<usize>n * <usize>H + <usize>(oh * sH)) * xRow + <usize>(ow * sW) * pix;
        let c = 0;
        for (; c + 4 * L <= C; c += 4 * L) {
          const r = window4<T>(MAX, win + <usize>c * sz, xRow, pix, fH, fW, count, o + <usize>c * sz);
          if (!MAX) all = v128.add<T>(all, r);
        }
        for (; c + L <= C; c += L) {
          const r = window1<T>(MAX, win + <usize>c * sz, xRow, pix, fH, fW, count);
          v128.store(o + <usize>c * sz, r);
          if (!MAX) all = v128.add<T>(all, r);
        }
        // a tail of channels, where there is a whole vector of them: the last L channels as one
        // vector, which computes the ones before the tail again, to the same bits
        if (c < C && C >= L) {
          const r = window1<T>(MAX, win + <usize>(C - L) * sz, xRow, pix, fH, fW, count);
          v128.store(o + <usize>(C - L) * sz, r);
          if (!MAX) all = v128.add<T>(all, r);
          c = C;
        }
        for (; c < C; c++) {
          const r = window0<T>(MAX, win + <usize>c * sz, xRow, pix, fH, fW);
          store<T>(o + <usize>c * sz, r);
          if (!MAX) allScalar += r;
        }
        o += pix;
      }
    }
  }
  return MAX ? 0 : notFinite<T>(all, allScalar);
}

/** True when x[0 .. n) holds a NaN (or both infinities): its sum is then unordered. */
function holdsNaN<T>(x: usize, n: i32): bool {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let s0 = v128.splat<T>(<T>0), s1 = s0;
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    s0 = v128.add<T>(s0, v128.load(x + <usize>i * sz));
    s1 = v128.add<T>(s1, v128.load(x + <usize>i * sz, 16));
  }
  let t: T = sumLanes<T>(v128.add<T>(s0, s1));
  for (; i < n; i++) t += load<T>(x + <usize>i * sz);
  return t != t;
}

/** Exact (NaN-propagating) 3x3 stride-2 max of one output row, channels [c0, C): the scalar tail,
 * and the slow path of a row that may hold a NaN (c0 = 0). */
function exactRow3s2<T>(r0: usize, xRow: usize, pix: usize, c0: i32, C: i32, nW: i32, o: usize): void {
  const sz = <usize>sizeof<T>();
  for (let ow = 0; ow < nW; ow++) {
    const win = r0 + <usize>(2 * ow) * pix;
    for (let c = c0; c < C; c++) store<T>(o + <usize>c * sz, window0<T>(true, win + <usize>c * sz, xRow, pix, 3, 3));
    o += pix;
  }
}

/** The max of x0, x1, x2 as pmax takes it: the first of the largest (NaNs dropped). */
// @ts-ignore: decorator
@inline function max3<T>(x0: v128, x1: v128, x2: v128): v128 {
  return v128.pmax<T>(v128.pmax<T>(x0, x1), x2);
}

/**
 * One output row of 3x3 stride-2 max pooling over one vector of channels at r0 (the window's top
 * row), in row-major order (so pmax keeps the first of equal values, as the other kernels do):
 * each row's max over its three pixels, then the max of the three rows. Sliding along the row, a
 * window's first column is its left neighbour's last, kept in registers: each output loads 6
 * vectors, not 9. Returns the sum of the lower two rows' values it read (unordered if they hold a NaN).
 */
// @ts-ignore: decorator
@inline function slide3s2<T>(r0: usize, xRow: usize, pix: usize, nW: i32, o: usize): v128 {
  const r1 = r0 + xRow, r2 = r1 + xRow;
  let a = v128.load(r0), b = v128.load(r1), c = v128.load(r2);
  let s = v128.add<T>(b, c);
  let q: usize = pix;
  for (let ow = 0; ow < nW; ow++) {
    const a1 = v128.load(r0 + q), a2 = v128.load(r0 + q + pix);
    const b1 = v128.load(r1 + q), b2 = v128.load(r1 + q + pix);
    const c1 = v128.load(r2 + q), c2 = v128.load(r2 + q + pix);
    v128.store(o, max3<T>(max3<T>(a, a1, a2), max3<T>(b, b1, b2), max3<T>(c, c1, c2)));
    s = v128.add<T>(s, v128.add<T>(v128.add<T>(b1, b2), v128.add<T>(c1, c2)));
    a = a2;
    b = b2;
    c = c2;
    q += 2 * pix;
    o += pix;
  }
  return s;
}

/** The same over 4 vectors of channels at once (their first columns carried in registers too). */
// @ts-ignore: decorator
@inline function slide3s2x4<T>(r0: usize, xRow: usize, pix: usize, nW: i32, o: usize): v128 {
  const r1 = r0 + xRow, r2 = r1 + xRow;
  let a0 = v128.load(r0), b0 = v128.load(r1), c0 = v128.load(r2);
  let a1 = v128.load(r0, 16), b1 = v128.load(r1, 16), c1 = v128.load(r2, 16);
  let a2 = v128.load(r0, 32), b2 = v128.load(r1, 32), c2 = v128.load(r2, 32);
  let a3 = v128.load(r0, 48), b3 = v128.load(r1, 48), c3 = v128.load(r2, 48);
  let s = v128.add<T>(v128.add<T>(v128.add<T>(b0, c0), v128.add<T>(b1, c1)), v128.add<T>(v128.add<T>(b2, c2), v128.add<T>(b3, c3)));
  let q: usize = pix;
  for (let ow = 0; ow < nW; ow++) {
    const q2 = q + pix;
    {
      const x1 = v128.load(r0 + q), x2 = v128.load(r0 + q2), y1 = v128.load(r1 + q), y2 = v128.load(r1 + q2), z1 = v128.load(r2 + q), z2 = v128.load(r2 + q2);
      v128.store(o, max3<T>(max3<T>(a0, x1, x2), max3<T>(b0, y1, y2), max3<T>(c0, z1, z2)));
      s = v128.add<T>(s, v128.add<T>(v128.add<T>(y1, y2), v128.add<T>(z1, z2)));
      a0 = x2; b0 = y2; c0 = z2;
    }
    {
      const x1 = v128.load(r0 + q, 16), x2 = v128.load(r0 + q2, 16), y1 = v128.load(r1 + q, 16), y2 = v128.load(r1 + q2, 16), z1 = v128.load(r2 + q, 16), z2 = v128.load(r2 + q2, 16);
      v128.store(o, max3<T>(max3<T>(a1, x1, x2), max3<T>(b1, y1, y2), max3<T>(c1, z1, z2)), 16);
      s = v128.add<T>(s, v128.add<T>(v128.add<T>(y1, y2), v128.add<T>(z1, z2)));
      a1 = x2; b1 = y2; c1 = z2;
    }
    {
      const x1 = v128.load(r0 + q, 32), x2 = v128.load(r0 + q2, 32), y1 = v128.load(r1 + q, 32), y2 = v128.load(r1 + q2, 32), z1 = v128.load(r2 + q, 32), z2 = v128.load(r2 + q2, 32);
      v128.store(o, max3<T>(max3<T>(a2, x1, x2), max3<T>(b2, y1, y2), max3<T>(c2, z1, z2)), 32);
      s = v128.add<T>(s, v128.add<T>(v128.add<T>(y1, y2), v128.add<T>(z1, z2)));
      a2 = x2; b2 = y2; c2 = z2;
    }
    {
      const x1 = v128.load(r0 + q, 48), x2 = v128.load(r0 + q2, 48), y1 = v128.load(r1 + q, 48), y2 = v128.load(r1 + q2, 48), z1 = v128.load(r2 + q, 48), z2 = v128.load(r2 + q2, 48);
      v128.store(o, max3<T>(max3<T>(a3, x1, x2), max3<T>(b3, y1, y2), max3<T>(c3, z1, z2)), 48);
      s = v128.add<T>(s, v128.add<T>(v128.add<T>(y1, y2), v128.add<T>(z1, z2)));
      a3 = x2; b3 = y2; c3 = z2;
    }
    q += 2 * pix;
    o += pix;
  }
  return s;
}

/**
 * Max pooling over 3x3 windows at stride 2 (the common overlapping pool), sliding along rows.
 * NaN: each output row checks the sum of the two input rows it brings in (the top one was checked
 * as the row above's bottom row, or up front for row 0); a row whose check, or whose predecessor's,
 * is unordered is done again exactly.
 */
function max3s2<T>(x: usize, out: usize, m: i32, H: i32, W: i32, C: i32, nH: i32, nW: i32): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const pix = <usize>C * sz;
  const xRow = <usize>W * pix;
  const span = (2 * nW + 1) * C; // elements of an input row that windows read
  let o = out;
  for (let n = 0; n < m; n++) {
    const img = x + <usize>n * <usize>H * xRow;
    let carried = holdsNaN<T>(img, span);
    for (let oh = 0; oh < nH; oh++) {
      const r0 = img + <usize>(2 * oh) * xRow;
      let s = v128.splat<T>(<T>0);
      let c = 0;
      for (; c + 4 * L <= C; c += 4 * L) s = v128.add<T>(s, slide3s2x4<T>(r0 + <usize>c * sz, xRow, pix, nW, o + <usize>c * sz));
      for (; c + L <= C; c += L) s = v128.add<T>(s, slide3s2<T>(r0 + <usize>c * sz, xRow, pix, nW, o + <usize>c * sz));
      // a tail of channels: the last L as one vector (the ones before it again, to the same bits);
      // fewer channels than a vector, one by one (exact already: max<T> propagates NaN)
      if (c < C && C >= L) s = v128.add<T>(s, slide3s2<T>(r0 + <usize>(C - L) * sz, xRow, pix, nW, o + <usize>(C - L) * sz));
      else if (c < C) exactRow3s2<T>(r0, xRow, pix, c, C, nW, o);
      const unordered = v128.any_true(v128.ne<T>(s, s));
      if (unordered || carried) exactRow3s2<T>(r0, xRow, pix, 0, C, nW, o);
      carried = unordered;
      o += <usize>nW * pix;
    }
  }
}

/**
 * out[n, oh, ow, c] = max (or mean) of x over the fH x fW window at (oh*sH, ow*sW).
 * REQUIRES: (nH-1)*sH + fH <= H, (nW-1)*sW + fW <= W.
 */
export function poolForward<T>(
  x: usize, out: usize, m: i32, H: i32, W: i32, C: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool,
): i32 {
  // the common 2x2 and 3x3 windows get loops of constant length, which the engine unrolls
  if (isMax) {
    if (fH == 3 && fW == 3 && sH == 2 && sW == 2) max3s2<T>(x, out, m, H, W, C, nH, nW);
    else if (fH == 2 && fW == 2) forward<T>(true, x, out, m, H, W, C, 2, 2, sH, sW, nH, nW);
    else if (fH == 3 && fW == 3) forward<T>(true, x, out, m, H, W, C, 3, 3, sH, sW, nH, nW);
    else forward<T>(true, x, out, m, H, W, C, fH, fW, sH, sW, nH, nW);
    return 0;
  }
  if (fH == 2 && fW == 2) return forward<T>(false, x, out, m, H, W, C, 2, 2, sH, sW, nH, nW);
  if (fH == 3 && fW == 3) return forward<T>(false, x, out, m, H, W, C, 3, 3, sH, sW, nH, nW);
  return forward<T>(false, x, out, m, H, W, C, fH, fW, sH, sW, nH, nW);
}

/**
 * dx[window] += g routed to the window's maxima (MAX: every one, or the first in row-major order with
 * FIRST) or spread evenly, over one vector at p. Returns the sum of the values it stored: not finite
 * if one of them is not.
 */
// @ts-ignore: decorator
@inline function route1<T>(MAX: bool, FIRST: bool, EXACT: bool, x: usize, dx: usize, p: usize, xRow: usize, pix: usize, fH: i32, fW: i32, kLo: i32, kHi: i32, g: v128, count: v128): v128 {
  let stored = v128.splat<T>(<T>0);
  if (MAX) {
    const mx = window1<T>(true, x + p, xRow, pix, fH, fW, count);
    let routed = v128.splat<i32>(0);
    // the window's rows above this call's: where the first max lies there, it is routed there
    if (FIRST) {
      for (let kh = 0; kh < kLo; kh++) {
        let q = p + <usize>kh * xRow;
        for (let kw = 0; kw < fW; kw++) {
          routed = v128.or(routed, v128.eq<T>(v128.load(x + q), mx));
          q += pix;
        }
      }
    }
    for (let kh = kLo; kh < kHi; kh++) {
      let q = p + <usize>kh * xRow;
      for (let kw = 0; kw < fW; kw++) {
        let hit = v128.eq<T>(v128.load(x + q), mx);
        if (FIRST) {
          hit = v128.andnot(hit, routed);
          routed = v128.or(routed, hit);
        }
        const v = v128.add<T>(EXACT ? v128.splat<T>(<T>0) : v128.load(dx + q), v128.and(g, hit));
        v128.store(dx + q, v);
        stored = v128.add<T>(stored, v);
        q += pix;
      }
    }
  } else {
    const share = v128.div<T>(g, count);
    for (let kh = kLo; kh < kHi; kh++) {
      let q = dx + p + <usize>kh * xRow;
      for (let kw = 0; kw < fW; kw++) {
        const v = v128.add<T>(EXACT ? v128.splat<T>(<T>0) : v128.load(q), share);
        v128.store(q, v);
        stored = v128.add<T>(stored, v);
        q += pix;
      }
    }
  }
  return stored;
}

/** All ones in the lanes from `k` on, zeros below (lanes of T's width). */
// @ts-ignore: decorator
@inline function lanesFrom<T>(k: i32): v128 {
  if (sizeof<T>() == 4) return v128.ge<i32>(i32x4(0, 1, 2, 3), i32x4.splat(k));
  return v128.ge<i64>(i64x2(0, 1), i64x2.splat(<i64>k));
}

/** The first output row whose windows (fH rows, stride sH) reach input row r0. */
// @ts-ignore: decorator
@inline function firstWindowRow(r0: i32, fH: i32, sH: i32): i32 {
  return r0 < fH ? 0 : (r0 - fH) / sH + 1;
}

/** One past the last of the nH output rows whose windows begin above input row r1. */
// @ts-ignore: decorator
@inline function endWindowRow(r1: i32, sH: i32, nH: i32): i32 {
  return min(nH, (r1 + sH - 1) / sH);
}

// @ts-ignore: decorator
@inline function backward<T>(
  MAX: bool, FIRST: bool, EXACT: bool, CLIP: bool, x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, r0: i32, r1: i32,
): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const pix = <usize>C * sz;
  const xRow = <usize>W * pix;
  const count = v128.splat<T>(<T>(fH * fW));
  // windows that tile dx exactly write each of its values once: no zeroing pass, no reading back
  if (!EXACT) {
    if (r0 == 0 && r1 == H) memory.fill(dx, 0, <usize>m * <usize>H * xRow);
    else for (let n = 0; n < m; n++) memory.fill(dx + (<usize>n * <usize>H + <usize>r0) * xRow, 0, <usize>(r1 - r0) * xRow);
  }
  const ohFirst = firstWindowRow(r0, fH, sH), ohEnd = endWindowRow(r1, sH, nH);
  let all = v128.splat<T>(<T>0);
  let allScalar = <T>0;
  for (let n = 0; n < m; n++) {
    for (let oh = ohFirst; oh < ohEnd; oh++) {
      // the rows of this output row's windows that lie in [r0, r1): all of them unless CLIP
      const kLo = CLIP ? max(0, r0 - oh * sH) : 0;
      const kHi = CLIP ? min(fH, r1 - oh * sH) : fH;
      let g = dout + ((<usize>n * <usize>nH + <usize>oh) * <usize>nW) * pix;
      for (let ow = 0; ow < nW; ow++) {
        const win = (<usize>n * <usize>H + <usize>(oh * sH)) * xRow + <usize>(ow * sW) * pix;
        let c = 0;
        for (; c + L <= C; c += L) {
          const off = <usize>c * sz;
          all = v128.add<T>(all, route1<T>(MAX, FIRST, EXACT, x, dx, win + off, xRow, pix, fH, fW, kLo, kHi, v128.load(g + off), count));
        }
        // a tail of channels: the last L as one vector. Where each value of dx is written once, it
        // writes the channels before the tail again, to the same bits; where windows add to dx, those
        // channels' gradient is taken as +0, and adding +0 leaves what dx holds (never -0: it starts
        // at +0, and +0 + -0 is +0)
        if (c < C && C >= L) {
          const off = <usize>(C - L) * sz;
          const gTail = EXACT ? v128.load(g + off) : v128.and(v128.load(g + off), lanesFrom<T>(c - (C - L)));
          all = v128.add<T>(all, route1<T>(MAX, FIRST, EXACT, x, dx, win + off, xRow, pix, fH, fW, kLo, kHi, gTail, count));
          c = C;
        }
        for (; c < C; c++) {
          const p = win + <usize>c * sz;
          const gs = load<T>(g + <usize>c * sz);
          if (MAX) {
            const mx = window0<T>(true, x + p, xRow, pix, fH, fW);
            let routed = false;
            if (FIRST) {
              for (let kh = 0; kh < kLo; kh++) {
                let q = p + <usize>kh * xRow;
                for (let kw = 0; kw < fW; kw++) {
                  if (load<T>(x + q) == mx) routed = true;
                  q += pix;
                }
              }
            }
            for (let kh = kLo; kh < kHi; kh++) {
              let q = p + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                if (load<T>(x + q) == mx && !routed) {
                  const v = (EXACT ? <T>0 : load<T>(dx + q)) + gs;
                  store<T>(dx + q, v);
                  allScalar += v;
                  routed = FIRST;
                } else if (EXACT) {
                  store<T>(dx + q, <T>0);
                }
                q += pix;
              }
            }
          } else {
            const share = gs / <T>(fH * fW);
            for (let kh = kLo; kh < kHi; kh++) {
              let q = dx + p + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                const v = (EXACT ? <T>0 : load<T>(q)) + share;
                store<T>(q, v);
                allScalar += v;
                q += pix;
              }
            }
          }
        }
        g += pix;
      }
    }
  }
  return notFinite<T>(all, allScalar);
}

/**
 * Pooling backward in one pass: dx (m, H, W, C) is zeroed, then each output gradient
 * dout[n, oh, ow, c] is added to its window: to every position equal to the window's max (max mode:
 * the seed's mask, ties all receive it; with firstOnly only the first of them in row-major order; a
 * window holding a NaN routes nothing), or as dout / (fH*fW) to every position (average mode).
 * Overlapping windows accumulate, in window order. Where the windows tile dx exactly (stride = window,
 * sizes a multiple of it), each value is written once as 0 + what it receives (0 + -0 is +0, as the
 * zeroed sum gives), with no zeroing pass. Returns 1 if a value it stored may not be finite.
 *
 * It writes rows [r0, r1) of each image of dx (0 and H: all of them), from every window reaching
 * them, in the same order as a call over all rows: calls over disjoint rows give the same bits as one
 * call, whether windows overlap or not (where the first max of a window lies in a row above r0, the
 * window routes nothing to these rows).
 */
export function poolBackward<T>(
  x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool, firstOnly: bool, r0: i32, r1: i32,
): i32 {
  // the windows of the output rows that reach [r0, r1): do some reach beyond it?
  const ohFirst = firstWindowRow(r0, fH, sH), ohEnd = endWindowRow(r1, sH, nH);
  if (ohFirst * sH < r0 || (ohEnd > ohFirst && (ohEnd - 1) * sH + fH > r1)) {
    return backwardClipped<T>(isMax, firstOnly, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
  }
  // windows side by side covering dx exactly (LeNet's 2x2 at stride 2 on even sizes)
  if (sH == fH && sW == fW && nH * fH == H && nW * fW == W) return backwardExact<T>(isMax, firstOnly, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
  return backwardWhole<T>(isMax, firstOnly, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
}

// the three loops, each its own function (one function holding all of them ran 5-20% slower)
function backwardExact<T>(isMax: bool, firstOnly: bool, x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, r0: i32, r1: i32): i32 {
  return backwardOf<T>(true, false, isMax, firstOnly, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
}
function backwardWhole<T>(isMax: bool, firstOnly: bool, x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, r0: i32, r1: i32): i32 {
  return backwardOf<T>(false, false, isMax, firstOnly, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
}
function backwardClipped<T>(isMax: bool, firstOnly: bool, x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, r0: i32, r1: i32): i32 {
  return backwardOf<T>(false, true, isMax, firstOnly, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
}

// backward of the mode given, each mode its own inlined loop
// @ts-ignore: decorator
@inline function backwardOf<T>(
  EXACT: bool, CLIP: bool, isMax: bool, firstOnly: bool, x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, r0: i32, r1: i32,
): i32 {
  if (!isMax) return backward<T>(false, false, EXACT, CLIP, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
  if (firstOnly) return backward<T>(true, true, EXACT, CLIP, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
  return backward<T>(true, false, EXACT, CLIP, x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, r0, r1);
}

/** out[i] = 1 where x[i] equals the max of x[0 .. n), else 0 (every tie gets 1). */
export function maskFromWindow<T>(x: usize, out: usize, n: i32): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let mv = v128.splat<T>(<T>-Infinity);
  let i = 0;
  for (; i + L <= n; i += L) mv = v128.max<T>(mv, v128.load(x + <usize>i * sz));
  let mx = maxLanes<T>(mv);
  for (; i < n; i++) mx = max<T>(mx, load<T>(x + <usize>i * sz));
  const mxV = v128.splat<T>(mx);
  const one = v128.splat<T>(<T>1);
  i = 0;
  for (; i + L <= n; i += L) {
    const off = <usize>i * sz;
    v128.store(out + off, v128.and(v128.eq<T>(v128.load(x + off), mxV), one));
  }
  for (; i < n; i++) {
    const off = <usize>i * sz;
    store<T>(out + off, load<T>(x + off) == mx ? <T>1 : <T>0);
  }
}
