// Helpers shared by every kernel: lane counts and the multiply-add that the two builds differ in.
// T is the element type (f32 or f64); a v128 holds LANES<T>() of them.

/** Elements of T in one v128 (4 for f32, 2 for f64). */
// @ts-ignore: decorator
@inline export function LANES<T>(): i32 {
  return 16 / sizeof<T>();
}

/** a * b + c, lane-wise. The relaxed build fuses it (one rounding); the plain build rounds twice. */
// @ts-ignore: decorator
@inline export function madd<T>(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return v128.relaxed_madd<T>(a, b, c);
  } else {
    return v128.add<T>(v128.mul<T>(a, b), c);
  }
}

/** Stores the first n lanes of v at p (n in [0, LANES]). */
// @ts-ignore: decorator
@inline export function storeLanes<T>(p: usize, v: v128, n: i32): void {
  if (n >= LANES<T>()) {
    v128.store(p, v);
  } else if (sizeof<T>() == 4) {
    if (n > 0) v128.store_lane<T>(p, v, 0);
    if (n > 1) v128.store_lane<T>(p, v, 1, sizeof<T>());
    if (n > 2) v128.store_lane<T>(p, v, 2, 2 * sizeof<T>());
  } else {
    if (n > 0) v128.store_lane<T>(p, v, 0);
  }
}

/** Sum of the lanes of v. */
// @ts-ignore: decorator
@inline export function sumLanes<T>(v: v128): T {
  if (sizeof<T>() == 4) {
    return (v128.extract_lane<T>(v, 0) + v128.extract_lane<T>(v, 1)) +
           (v128.extract_lane<T>(v, 2) + v128.extract_lane<T>(v, 3));
  } else {
    return v128.extract_lane<T>(v, 0) + v128.extract_lane<T>(v, 1);
  }
}

/** Largest lane of v (NaN if any lane is NaN). */
// @ts-ignore: decorator
@inline export function maxLanes<T>(v: v128): T {
  if (sizeof<T>() == 4) {
    return max<T>(max<T>(v128.extract_lane<T>(v, 0), v128.extract_lane<T>(v, 1)),
                  max<T>(v128.extract_lane<T>(v, 2), v128.extract_lane<T>(v, 3)));
  } else {
    return max<T>(v128.extract_lane<T>(v, 0), v128.extract_lane<T>(v, 1));
  }
}

/** 1 when a lane of v, or s, is not finite: its difference with itself is then NaN. */
// @ts-ignore: decorator
@inline export function notFinite<T>(v: v128, s: T): i32 {
  const t = v128.add<T>(v, v128.splat<T>(s - s));
  const d = v128.sub<T>(t, t);
  return v128.any_true(v128.ne<T>(d, d)) ? 1 : 0;
}
