// Matrix products for dense layers with few rows, reading the weights where they lie (no packing):
// with m rows of X, a packed copy of W would be used m / 4 times, less than the cost of making it,
// and a layer of one row (a GEMV) is bound by reading W once. Larger m runs the conv micro-kernel
// over packed weights (src/wasm/dense.ts decides).
import { LANES, madd, notFinite, sumLanes } from "./lanes";

/**
 * Rows of B per block: a block's rows are a few hundred kilobytes at most, and a tile walking down a
 * column strip of B stays within as many pages (a strip of a wide B, read to the end, would touch a
 * new page on every row).
 */
// @ts-ignore: decorator
@inline const K_BLOCK = 64;

/**
 * C (M, N) = A (M, K) B (K, N) + bias (N), then max(., 0) if relu; all row-major, B read in place.
 * Rows of B and C are ldn elements apart (ldn >= N): a call can take a strip of the columns of a
 * wider product (b, bias and c pointing at its first column), computing each value as the whole
 * call would when the strip starts at a multiple of 2 vectors of columns.
 * Rows are taken 4 at a time in tiles of 4 rows x 2 vectors of columns (a broadcast value of each
 * row of A and 2 vectors of a row of B per step of K), K in blocks of K_BLOCK rows of B: the first
 * block starts from the bias, later ones from the partial sums stored in C, and the last applies the
 * activation; column tails narrower than 2 vectors take scalars. Rows left over (fewer than 4) stream
 * down B (rowTimesMatrix). Returns 1 if a value it computed may not be finite.
 */
export function gemmSmall<T>(a: usize, b: usize, bias: usize, c: usize, M: i32, N: i32, K: i32, relu: bool, ldn: i32): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const aRow = <usize>K * sz, bRow = <usize>ldn * sz;
  let all = v128.splat<T>(<T>0);
  let allScalar = <T>0;
  for (let k0 = 0; k0 < K; k0 += K_BLOCK) {
    const kn = min(K_BLOCK, K - k0);
    const first = k0 == 0, last = k0 + kn == K;
    const ak = a + <usize>k0 * sz, bk = b + <usize>k0 * bRow;
    for (let i = 0; i + 4 <= M; i += 4) {
      const a0 = ak + <usize>i * aRow, a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
      const c0 = c + <usize>i * bRow, c1 = c0 + bRow, c2 = c1 + bRow, c3 = c2 + bRow;
      let j = 0;
      for (; j + 2 * L <= N; j += 2 * L) {
        const o = <usize>j * sz;
        const sum = tile4x2<T>(a0, a1, a2, a3, bk + o, bRow, bias + o, c0 + o, c1 + o, c2 + o, c3 + o, kn, first, last, relu);
        if (last) all = v128.add<T>(all, sum);
      }
      if (last) for (; j < N; j++) for (let r = 0; r < 4; r++) allScalar += scalarAt<T>(a + <usize>(i + r) * aRow, b, bias, c + <usize>(i + r) * bRow, j, bRow, K, relu);
    }
  }
  // rows left over (fewer than 4): each streams down B, 8 rows of B at a time
  for (let i = M - M % 4; i < M; i++) all = v128.add<T>(all, rowTimesMatrix<T>(a + <usize>i * aRow, b, bias, c + <usize>i * bRow, N, K, relu, bRow));
  return notFinite<T>(all, allScalar);
}

// one value, whole: row a of A by column j of B, plus bias[j]; returns it before the activation
// @ts-ignore: decorator
@inline function scalarAt<T>(a: usize, b: usize, bias: usize, c: usize, j: i32, bRow: usize, K: i32, relu: bool): T {
  const sz = <usize>sizeof<T>();
  const o = <usize>j * sz;
  let s = <T>0;
  for (let k = 0; k < K; k++) s += load<T>(a + <usize>k * sz) * load<T>(b + <usize>k * bRow + o);
  s += load<T>(bias + o);
  store<T>(c + o, relu ? max<T>(s, <T>0) : s);
  return s;
}

/** A tile's start: the bias (first block of K) or the partial sums stored by the blocks before. */
// @ts-ignore: decorator
@inline function start(first: bool, bias: usize, c: usize, off: usize): v128 {
  return first ? v128.load(bias + off) : v128.load(c + off);
}

// 4 rows x 2 vectors of columns over kn rows of B; returns the sum of what it computed (before the activation)
// @ts-ignore: decorator
@inline function tile4x2<T>(a0: usize, a1: usize, a2: usize, a3: usize, b: usize, bRow: usize, bias: usize,
  c0: usize, c1: usize, c2: usize, c3: usize, kn: i32, first: bool, last: bool, relu: bool): v128 {
  const sz = <usize>sizeof<T>();
  let s00 = start(first, bias, c0, 0), s01 = start(first, bias, c0, 16), s10 = start(first, bias, c1, 0), s11 = start(first, bias, c1, 16);
  let s20 = start(first, bias, c2, 0), s21 = start(first, bias, c2, 16), s30 = start(first, bias, c3, 0), s31 = start(first, bias, c3, 16);
  let p = b;
  for (let k = 0; k < kn; k++) {
    const o = <usize>k * sz;
    const w0 = v128.load(p), w1 = v128.load(p, 16);
    const x0 = v128.load_splat<T>(a0 + o), x1 = v128.load_splat<T>(a1 + o);
    const x2 = v128.load_splat<T>(a2 + o), x3 = v128.load_splat<T>(a3 + o);
    s00 = madd<T>(x0, w0, s00); s01 = madd<T>(x0, w1, s01);
    s10 = madd<T>(x1, w0, s10); s11 = madd<T>(x1, w1, s11);
    s20 = madd<T>(x2, w0, s20); s21 = madd<T>(x2, w1, s21);
    s30 = madd<T>(x3, w0, s30); s31 = madd<T>(x3, w1, s31);
    p += bRow;
  }
  let sum = v128.splat<T>(<T>0);
  if (last) {
    sum = v128.add<T>(v128.add<T>(v128.add<T>(s00, s01), v128.add<T>(s10, s11)), v128.add<T>(v128.add<T>(s20, s21), v128.add<T>(s30, s31)));
    if (relu) {
      const z = v128.splat<T>(<T>0);
      s00 = v128.max<T>(s00, z); s01 = v128.max<T>(s01, z); s10 = v128.max<T>(s10, z); s11 = v128.max<T>(s11, z);
      s20 = v128.max<T>(s20, z); s21 = v128.max<T>(s21, z); s30 = v128.max<T>(s30, z); s31 = v128.max<T>(s31, z);
    }
  }
  v128.store(c0, s00); v128.store(c0, s01, 16); v128.store(c1, s10); v128.store(c1, s11, 16);
  v128.store(c2, s20); v128.store(c2, s21, 16); v128.store(c3, s30); v128.store(c3, s31, 16);
  return sum;
}

/**
 * c (N) = a (K) B (K, N) + bias, then the activation: one row of A, streaming down B eight rows at a
 * time (eight sequential streams, each row of B read once, in order), the partial sums kept in c.
 * Returns the sum of the values before the activation.
 */
function rowTimesMatrix<T>(a: usize, b: usize, bias: usize, c: usize, N: i32, K: i32, relu: bool, bRow: usize): v128 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const Nv = N - N % L;
  memory.copy(c, bias, <usize>N * sz);
  let k = 0;
  for (; k + 8 <= K; k += 8) {
    const ak = a + <usize>k * sz;
    const x0 = v128.load_splat<T>(ak), x1 = v128.load_splat<T>(ak + sz), x2 = v128.load_splat<T>(ak + 2 * sz), x3 = v128.load_splat<T>(ak + 3 * sz);
    const x4 = v128.load_splat<T>(ak + 4 * sz), x5 = v128.load_splat<T>(ak + 5 * sz), x6 = v128.load_splat<T>(ak + 6 * sz), x7 = v128.load_splat<T>(ak + 7 * sz);
    const r0 = b + <usize>k * bRow;
    for (let j = 0; j < Nv; j += L) {
      const o = r0 + <usize>j * sz;
      let s = v128.load(c + <usize>j * sz);
      s = madd<T>(x0, v128.load(o), s);
      s = madd<T>(x1, v128.load(o + bRow), s);
      s = madd<T>(x2, v128.load(o + 2 * bRow), s);
      s = madd<T>(x3, v128.load(o + 3 * bRow), s);
      s = madd<T>(x4, v128.load(o + 4 * bRow), s);
      s = madd<T>(x5, v128.load(o + 5 * bRow), s);
      s = madd<T>(x6, v128.load(o + 6 * bRow), s);
      s = madd<T>(x7, v128.load(o + 7 * bRow), s);
      v128.store(c + <usize>j * sz, s);
    }
    for (let j = Nv; j < N; j++) {
      const o = <usize>j * sz;
      let s = load<T>(c + o);
      for (let r = 0; r < 8; r++) s += load<T>(ak + <usize>r * sz) * load<T>(r0 + <usize>r * bRow + o);
      store<T>(c + o, s);
    }
  }
  for (; k < K; k++) {
    const xs = load<T>(a + <usize>k * sz);
    const x = v128.splat<T>(xs);
    const r = b + <usize>k * bRow;
    for (let j = 0; j < Nv; j += L) {
      const o = <usize>j * sz;
      v128.store(c + o, madd<T>(x, v128.load(r + o), v128.load(c + o)));
    }
    for (let j = Nv; j < N; j++) store<T>(c + <usize>j * sz, load<T>(c + <usize>j * sz) + xs * load<T>(r + <usize>j * sz));
  }
  let sum = v128.splat<T>(<T>0);
  let tail = <T>0;
  const zero = v128.splat<T>(<T>0);
  for (let j = 0; j < Nv; j += L) {
    const o = <usize>j * sz;
    const v = v128.load(c + o);
    sum = v128.add<T>(sum, v);
    if (relu) v128.store(c + o, v128.max<T>(v, zero));
  }
  for (let j = Nv; j < N; j++) {
    const v = load<T>(c + <usize>j * sz);
    tail += v;
    if (relu) store<T>(c + <usize>j * sz, max<T>(v, <T>0));
  }
  return v128.add<T>(sum, v128.splat<T>(tail - tail));
}

/**
 * C (K, N) = A (M, K)^T B (M, N): a dense layer's filter gradient X^T dZ, for few rows M, or a B
 * narrower than 4 vectors (narrowTN). Each row k of C is the sum over the M rows of a[i, k] times
 * row i of B: for 4 vectors of columns at a time, M broadcast products added up in registers, then
 * stored once. Only rows [kFirst, kLast) of C are
 * computed, each as in a call over all of them (threads share the rows). C is written in order,
 * each value once. Returns 1 if a value it computed may not be finite.
 */
export function gemmTN<T>(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, kFirst: i32, kLast: i32): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const aRow = <usize>K * sz, bRow = <usize>N * sz;
  if (N < 4 * L) return notFinite<T>(narrowTN<T>(a, b, c, M, K, N, kFirst, kLast), <T>0);
  let all = v128.splat<T>(<T>0);
  let allScalar = <T>0;
  for (let k = kFirst; k < kLast; k++) {
    const ak = a + <usize>k * sz, ck = c + <usize>k * bRow;
    let j = 0;
    for (; j + 4 * L <= N; j += 4 * L) {
      const o = <usize>j * sz;
      let s0 = v128.splat<T>(<T>0), s1 = s0, s2 = s0, s3 = s0;
      for (let i = 0; i < M; i++) {
        const x = v128.load_splat<T>(ak + <usize>i * aRow);
        const bi = b + <usize>i * bRow + o;
        s0 = madd<T>(x, v128.load(bi), s0); s1 = madd<T>(x, v128.load(bi, 16), s1);
        s2 = madd<T>(x, v128.load(bi, 32), s2); s3 = madd<T>(x, v128.load(bi, 48), s3);
      }
      v128.store(ck + o, s0); v128.store(ck + o, s1, 16); v128.store(ck + o, s2, 32); v128.store(ck + o, s3, 48);
      all = v128.add<T>(all, v128.add<T>(v128.add<T>(s0, s1), v128.add<T>(s2, s3)));
    }
    for (; j < N; j++) {
      let s = <T>0;
      for (let i = 0; i < M; i++) s += load<T>(ak + <usize>i * aRow) * load<T>(b + <usize>i * bRow + <usize>j * sz);
      store<T>(ck + <usize>j * sz, s);
      allScalar += s;
    }
  }
  return notFinite<T>(all, allScalar);
}

/**
 * gemmTN's rows [kFirst, kLast) of C for a B narrower than 4 vectors (a dense layer's filter gradient
 * into a few classes), along K instead of N: a vector of row i of A (L consecutive k) times b[i, j]
 * broadcast goes into one accumulator per column j, walking down the M rows of A, then stored lane by
 * lane down column j. A pass takes 2 vectors of k (then 1) and 4 columns (then 2, then 1): 8
 * independent sums, so the multiply-adds do not wait on one another. Rows of C past the last whole
 * vector take lane 0 of the same multiply-adds: every value is the chain over i from zero that a
 * lane computes, so any range gives it the same bits. Returns the sum of the values it computed.
 */
function narrowTN<T>(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, kFirst: i32, kLast: i32): v128 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const aRow = <usize>K * sz, bRow = <usize>N * sz;
  let all = v128.splat<T>(<T>0);
  let k = kFirst;
  for (; k + 2 * L <= kLast; k += 2 * L) all = v128.add<T>(all, narrowColumns<T>(a + <usize>k * sz, b, c + <usize>k * bRow, M, N, aRow, bRow, 2));
  if (k + L <= kLast) {
    all = v128.add<T>(all, narrowColumns<T>(a + <usize>k * sz, b, c + <usize>k * bRow, M, N, aRow, bRow, 1));
    k += L;
  }
  for (; k < kLast; k++) {
    const ak = a + <usize>k * sz, ck = c + <usize>k * bRow;
    for (let j = 0; j < N; j++) {
      let s = v128.splat<T>(<T>0);
      let ai = ak, bi = b + <usize>j * sz;
      for (let i = 0; i < M; i++) {
        s = madd<T>(v128.load_splat<T>(ai), v128.load_splat<T>(bi), s);
        ai += aRow;
        bi += bRow;
      }
      v128.store_lane<T>(ck + <usize>j * sz, s, 0);
      all = v128.add<T>(all, s);
    }
  }
  return all;
}

/** narrowTN's `vecs` (1 or 2) vectors of k at ak, every column: 4 at a time, then 2, then 1. */
// @ts-ignore: decorator
@inline function narrowColumns<T>(ak: usize, b: usize, ck: usize, M: i32, N: i32, aRow: usize, bRow: usize, vecs: i32): v128 {
  const sz = <usize>sizeof<T>();
  let all = v128.splat<T>(<T>0);
  let j = 0;
  for (; j + 4 <= N; j += 4) all = v128.add<T>(all, narrowPass<T>(ak, b + <usize>j * sz, ck + <usize>j * sz, M, aRow, bRow, 4, vecs));
  if (j + 2 <= N) {
    all = v128.add<T>(all, narrowPass<T>(ak, b + <usize>j * sz, ck + <usize>j * sz, M, aRow, bRow, 2, vecs));
    j += 2;
  }
  if (j < N) all = v128.add<T>(all, narrowPass<T>(ak, b + <usize>j * sz, ck + <usize>j * sz, M, aRow, bRow, 1, vecs));
  return all;
}

/**
 * One pass of narrowTN: `cols` columns (1, 2 or 4) from bj, `vecs` vectors of k (1 or 2) from ak,
 * down the M rows; stores them at cj (lanes down the columns) and returns their sum. Both counts are
 * constants where it is inlined, so the branches on them fold away.
 */
// @ts-ignore: decorator
@inline function narrowPass<T>(ak: usize, bj: usize, cj: usize, M: i32, aRow: usize, bRow: usize, cols: i32, vecs: i32): v128 {
  const sz = <usize>sizeof<T>();
  const zero = v128.splat<T>(<T>0);
  let s0 = zero, s1 = zero, s2 = zero, s3 = zero, t0 = zero, t1 = zero, t2 = zero, t3 = zero;
  let ai = ak, bi = bj;
  for (let i = 0; i < M; i++) {
    const x = v128.load(ai);
    const y = vecs > 1 ? v128.load(ai, 16) : zero;
    const w0 = v128.load_splat<T>(bi);
    s0 = madd<T>(x, w0, s0);
    if (vecs > 1) t0 = madd<T>(y, w0, t0);
    if (cols > 1) {
      const w1 = v128.load_splat<T>(bi + sz);
      s1 = madd<T>(x, w1, s1);
      if (vecs > 1) t1 = madd<T>(y, w1, t1);
    }
    if (cols > 2) {
      const w2 = v128.load_splat<T>(bi + 2 * sz), w3 = v128.load_splat<T>(bi + 3 * sz);
      s2 = madd<T>(x, w2, s2); s3 = madd<T>(x, w3, s3);
      if (vecs > 1) { t2 = madd<T>(y, w2, t2); t3 = madd<T>(y, w3, t3); }
    }
    ai += aRow;
    bi += bRow;
  }
  const next = <usize>LANES<T>() * bRow;
  storeColumn<T>(cj, s0, bRow);
  if (vecs > 1) storeColumn<T>(cj + next, t0, bRow);
  if (cols > 1) {
    storeColumn<T>(cj + sz, s1, bRow);
    if (vecs > 1) storeColumn<T>(cj + sz + next, t1, bRow);
  }
  if (cols > 2) {
    storeColumn<T>(cj + 2 * sz, s2, bRow); storeColumn<T>(cj + 3 * sz, s3, bRow);
    if (vecs > 1) { storeColumn<T>(cj + 2 * sz + next, t2, bRow); storeColumn<T>(cj + 3 * sz + next, t3, bRow); }
  }
  return v128.add<T>(v128.add<T>(v128.add<T>(s0, s1), v128.add<T>(s2, s3)), v128.add<T>(v128.add<T>(t0, t1), v128.add<T>(t2, t3)));
}

/** Stores the lanes of v down a column: lane l at p + l * rowBytes. */
// @ts-ignore: decorator
@inline function storeColumn<T>(p: usize, v: v128, rowBytes: usize): void {
  v128.store_lane<T>(p, v, 0);
  v128.store_lane<T>(p + rowBytes, v, 1);
  if (sizeof<T>() == 4) {
    v128.store_lane<T>(p + 2 * rowBytes, v, 2);
    v128.store_lane<T>(p + 3 * rowBytes, v, 3);
  }
}

/**
 * C (M, N) = A (M, K) B (N, K)^T: each value a dot product of a row of A and a row of B, both
 * contiguous (the input gradient dZ W^T of a dense layer, W read in place). Tiles of 1 row of A x 4
 * rows of B along K in vectors, reduced at the end; a K not a multiple of a vector ends in scalars.
 * Only columns [jFirst, jLast) of C are computed: a tile's values are summed as a lone column's
 * would be, so any range gives each value the same bits. Returns 1 if a value it computed may not
 * be finite.
 */
export function gemmNT<T>(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, jFirst: i32, jLast: i32): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const row = <usize>K * sz;
  const Kv = K - K % L;
  let check = <T>0;
  for (let i = 0; i < M; i++) {
    const ai = a + <usize>i * row;
    const ci = c + <usize>i * <usize>N * sz;
    let j = jFirst;
    for (; j + 4 <= jLast; j += 4) {
      const b0 = b + <usize>j * row, b1 = b0 + row, b2 = b1 + row, b3 = b2 + row;
      let s0 = v128.splat<T>(<T>0), s1 = s0, s2 = s0, s3 = s0;
      for (let k = 0; k < Kv; k += L) {
        const o = <usize>k * sz;
        const x = v128.load(ai + o);
        s0 = madd<T>(x, v128.load(b0 + o), s0); s1 = madd<T>(x, v128.load(b1 + o), s1);
        s2 = madd<T>(x, v128.load(b2 + o), s2); s3 = madd<T>(x, v128.load(b3 + o), s3);
      }
      let r0 = sumLanes<T>(s0), r1 = sumLanes<T>(s1), r2 = sumLanes<T>(s2), r3 = sumLanes<T>(s3);
      for (let k = Kv; k < K; k++) {
        const o = <usize>k * sz;
        const x = load<T>(ai + o);
        r0 += x * load<T>(b0 + o); r1 += x * load<T>(b1 + o); r2 += x * load<T>(b2 + o); r3 += x * load<T>(b3 + o);
      }
      store<T>(ci + <usize>j * sz, r0); store<T>(ci + <usize>(j + 1) * sz, r1);
      store<T>(ci + <usize>(j + 2) * sz, r2); store<T>(ci + <usize>(j + 3) * sz, r3);
      check += (r0 + r1) + (r2 + r3);
    }
    for (; j < jLast; j++) {
      const bj = b + <usize>j * row;
      let s = v128.splat<T>(<T>0);
      for (let k = 0; k < Kv; k += L) s = madd<T>(v128.load(ai + <usize>k * sz), v128.load(bj + <usize>k * sz), s);
      let r = sumLanes<T>(s);
      for (let k = Kv; k < K; k++) r += load<T>(ai + <usize>k * sz) * load<T>(bj + <usize>k * sz);
      store<T>(ci + <usize>j * sz, r);
      check += r;
    }
  }
  return check - check != 0 ? 1 : 0;
}
