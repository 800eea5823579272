// Softmax and softmax cross-entropy, row by row over rows of n elements of T. Each row: its max
// (exact, NaN-propagating), then exp(x - max) and their sum, then the quotients. float32 takes exp
// four lanes at a time (expf4, a range reduction and a degree-5 polynomial in the manner of
// XNNPACK's f32 "rr2-p5" kernels); a vector holding a value below the range where that is exact
// (e^x would be a subnormal) or a NaN takes the scalar Mathf.exp instead. float64 takes Math.exp.
import { LANES, madd, maxLanes, sumLanes } from "./lanes";

/** e^x for x in [-87.33654, 0] (a few units in the last place); other lanes are the caller's. */
// @ts-ignore: decorator
@inline function expf4(x: v128): v128 {
  const magic = f32x4.splat(reinterpret<f32>(0x4B40007F)); // 1.5 * 2^23 + 127
  const log2e = f32x4.splat(reinterpret<f32>(0x3FB8AA3B));
  const minusLn2Hi = f32x4.splat(reinterpret<f32>(0xBF317200));
  const minusLn2Lo = f32x4.splat(reinterpret<f32>(0xB5BFBE8E));
  // n = round(x / ln 2) + 127 sits in the mantissa of n + magic; shifted, its bits are 2^n
  let n = madd<f32>(x, log2e, magic);
  const s = i32x4.shl(n, 23);
  n = f32x4.sub(n, magic);
  // t = x - n ln 2, in two steps (ln 2 split in a high and a low part)
  let t = madd<f32>(n, minusLn2Hi, x);
  t = madd<f32>(n, minusLn2Lo, t);
  let p = madd<f32>(f32x4.splat(reinterpret<f32>(0x3C07CFCE)), t, f32x4.splat(reinterpret<f32>(0x3D2B9D0D)));
  p = madd<f32>(p, t, f32x4.splat(reinterpret<f32>(0x3E2AAD40)));
  p = madd<f32>(p, t, f32x4.splat(reinterpret<f32>(0x3EFFFEE3)));
  p = madd<f32>(p, t, f32x4.splat(reinterpret<f32>(0x3F7FFFFB)));
  // e^x = 2^n (1 + t p)
  t = f32x4.mul(t, s);
  return madd<f32>(t, p, s);
}

/** Lower bound of expf4's range (below it e^x is a subnormal float32). */
// @ts-ignore: decorator
@inline const EXP_CUTOFF: f32 = reinterpret<f32>(0xC2AEAC4F);

/** e^(x - mx) of the LANES<T>() values at p. */
// @ts-ignore: decorator
@inline function expShifted<T>(p: usize, mx: T): v128 {
  const x = v128.sub<T>(v128.load(p), v128.splat<T>(mx));
  if (sizeof<T>() == 4) {
    const outside = v128.or(f32x4.lt(x, f32x4.splat(EXP_CUTOFF)), f32x4.ne(x, x));
    if (!v128.any_true(outside)) return expf4(x);
    let r = f32x4.splat(Mathf.exp(f32x4.extract_lane(x, 0)));
    r = f32x4.replace_lane(r, 1, Mathf.exp(f32x4.extract_lane(x, 1)));
    r = f32x4.replace_lane(r, 2, Mathf.exp(f32x4.extract_lane(x, 2)));
    return f32x4.replace_lane(r, 3, Mathf.exp(f32x4.extract_lane(x, 3)));
  } else {
    return f64x2.replace_lane(f64x2.splat(Math.exp(f64x2.extract_lane(x, 0))), 1, Math.exp(f64x2.extract_lane(x, 1)));
  }
}

/** e^x of one value. */
// @ts-ignore: decorator
@inline function exp1<T>(x: T): T {
  return sizeof<T>() == 4 ? <T>Mathf.exp(<f32>x) : <T>Math.exp(<f64>x);
}

/** The max of x[0 .. n) (NaN if one is NaN). */
// @ts-ignore: decorator
@inline function rowMax<T>(x: usize, n: i32): T {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let mv = v128.splat<T>(<T>-Infinity);
  let i = 0;
  for (; i + L <= n; i += L) mv = v128.max<T>(mv, v128.load(x + <usize>i * sz));
  let mx = maxLanes<T>(mv);
  for (; i < n; i++) mx = max<T>(mx, load<T>(x + <usize>i * sz));
  return mx;
}

/** e[j] = e^(x[j] - mx) for the row; returns their sum. */
// @ts-ignore: decorator
@inline function expRow<T>(x: usize, e: usize, n: i32, mx: T): T {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let s0 = v128.splat<T>(<T>0), s1 = s0;
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const o = <usize>i * sz;
    const a = expShifted<T>(x + o, mx), b = expShifted<T>(x + o + 16, mx);
    v128.store(e + o, a);
    v128.store(e + o, b, 16);
    s0 = v128.add<T>(s0, a);
    s1 = v128.add<T>(s1, b);
  }
  let s = sumLanes<T>(v128.add<T>(s0, s1));
  for (; i < n; i++) {
    const v = exp1<T>(load<T>(x + <usize>i * sz) - mx);
    store<T>(e + <usize>i * sz, v);
    s += v;
  }
  return s;
}

/**
 * y = softmax of each of the `rows` rows of n elements of x (y may be x). Returns 1 if a value it
 * stored may not be finite (a row holding a NaN or an infinity), else 0.
 */
export function softmax<T>(x: usize, y: usize, rows: i32, n: i32): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const row = <usize>n * sz;
  let check = <T>0;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * row, yr = y + <usize>r * row;
    const mx = rowMax<T>(xr, n);
    const s = expRow<T>(xr, yr, n, mx);
    const sv = v128.splat<T>(s);
    let i = 0;
    for (; i + L <= n; i += L) v128.store(yr + <usize>i * sz, v128.div<T>(v128.load(yr + <usize>i * sz), sv));
    for (; i < n; i++) store<T>(yr + <usize>i * sz, load<T>(yr + <usize>i * sz) / s);
    // a finite max and sum give finite quotients in [0, 1]
    check += mx - mx + (s - s);
  }
  return check != check ? 1 : 0;
}

/**
 * Softmax cross-entropy of `rows` rows of n logits at x: d = (softmax(x) - target) * scale, and each
 * row's loss, logsumexp(row) - x[label] (labels: i32 class indices) or sum(target (logsumexp - x))
 * (target: rows x n values of T, when labels is 0), into rowLoss (rows values of T). d may not be x.
 * Returns 1 if a value it stored may not be finite, else 0.
 */
export function softmaxCrossEntropy<T>(x: usize, labels: usize, target: usize, d: usize, rowLoss: usize, rows: i32, n: i32, scale: T): i32 {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const row = <usize>n * sz;
  const sc = v128.splat<T>(scale);
  let check = <T>0;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * row, dr = d + <usize>r * row;
    const mx = rowMax<T>(xr, n);
    const s = expRow<T>(xr, dr, n, mx);
    const lse: T = mx + (sizeof<T>() == 4 ? <T>Mathf.log(<f32>s) : <T>Math.log(<f64>s));
    const sv = v128.splat<T>(s), lv = v128.splat<T>(lse);
    let loss = <T>0;
    let i = 0;
    if (labels != 0) {
      const label = load<i32>(labels + (<usize>r << 2));
      const at = dr + <usize>label * sz;
      const eLabel = load<T>(at);
      for (; i + L <= n; i += L) {
        const o = <usize>i * sz;
        v128.store(dr + o, v128.mul<T>(v128.div<T>(v128.load(dr + o), sv), sc));
      }
      for (; i < n; i++) store<T>(dr + <usize>i * sz, load<T>(dr + <usize>i * sz) / s * scale);
      // the label's own: (p - 1) * scale
      store<T>(at, (eLabel / s - <T>1) * scale);
      loss = lse - load<T>(xr + <usize>label * sz);
    } else {
      const tr = target + <usize>r * row;
      let lossV = v128.splat<T>(<T>0);
      for (; i + L <= n; i += L) {
        const o = <usize>i * sz;
        const t = v128.load(tr + o);
        v128.store(dr + o, v128.mul<T>(v128.sub<T>(v128.div<T>(v128.load(dr + o), sv), t), sc));
        lossV = v128.add<T>(lossV, v128.mul<T>(t, v128.sub<T>(lv, v128.load(xr + o))));
      }
      loss = sumLanes<T>(lossV);
      for (; i < n; i++) {
        const o = <usize>i * sz;
        const t = load<T>(tr + o);
        store<T>(dr + o, (load<T>(dr + o) / s - t) * scale);
        loss += t * (lse - load<T>(xr + o));
      }
    }
    store<T>(rowLoss + <usize>r * sz, loss);
    check += mx - mx + (s - s) + (loss - loss);
  }
  return check != check ? 1 : 0;
}

/** y[i] = e^x[i] for n values x[i] <= 0 (the exp that softmax uses, exposed for its accuracy test). */
export function expNonPositive<T>(x: usize, y: usize, n: i32): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let i = 0;
  for (; i + L <= n; i += L) v128.store(y + <usize>i * sz, expShifted<T>(x + <usize>i * sz, <T>0));
  for (; i < n; i++) store<T>(y + <usize>i * sz, exp1<T>(load<T>(x + <usize>i * sz)));
}
