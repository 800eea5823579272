// Optimizer steps over n contiguous elements of T, in place, vectorised. Each vector's results are
// checked: where one is not finite (an overflow in T that the reference's float64 arithmetic may not
// have), that vector's elements are computed again one by one in float64 from the values still in
// memory, in the reference's order (src/js/optimizers.ts), and rounded to T once when stored. The
// arithmetic is plain multiplies and adds (never fused), so float64 results equal the reference's.
import { LANES } from "./lanes";

/** 1 where a lane of v is NaN or infinite. */
// @ts-ignore: decorator
@inline function notFinite<T>(v: v128): v128 {
  const d = v128.sub<T>(v, v);
  return v128.ne<T>(d, d);
}

/** p -= lr * g. */
export function sgd<T>(p: usize, g: usize, n: i32, lr: f64): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const lrv = v128.splat<T>(<T>lr);
  let i = 0;
  for (; i + L <= n; i += L) {
    const o = <usize>i * sz;
    const r = v128.sub<T>(v128.load(p + o), v128.mul<T>(lrv, v128.load(g + o)));
    if (v128.any_true(notFinite<T>(r))) {
      for (let j = 0; j < L; j++) sgdAt<T>(p, g, lr, i + j);
    } else {
      v128.store(p + o, r);
    }
  }
  for (; i < n; i++) sgdAt<T>(p, g, lr, i);
}

// @ts-ignore: decorator
@inline function sgdAt<T>(p: usize, g: usize, lr: f64, i: i32): void {
  const o = <usize>i * sizeof<T>();
  store<T>(p + o, <T>(<f64>load<T>(p + o) - lr * <f64>load<T>(g + o)));
}

/** v = momentum v + g; p -= lr v. */
export function sgdMomentum<T>(p: usize, g: usize, v: usize, n: i32, lr: f64, momentum: f64): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const lrv = v128.splat<T>(<T>lr), mv = v128.splat<T>(<T>momentum);
  let i = 0;
  for (; i + L <= n; i += L) {
    const o = <usize>i * sz;
    const nv = v128.add<T>(v128.mul<T>(mv, v128.load(v + o)), v128.load(g + o));
    const np = v128.sub<T>(v128.load(p + o), v128.mul<T>(lrv, nv));
    if (v128.any_true(v128.or(notFinite<T>(nv), notFinite<T>(np)))) {
      for (let j = 0; j < L; j++) momentumAt<T>(p, g, v, lr, momentum, i + j);
    } else {
      v128.store(v + o, nv);
      v128.store(p + o, np);
    }
  }
  for (; i < n; i++) momentumAt<T>(p, g, v, lr, momentum, i);
}

// @ts-ignore: decorator
@inline function momentumAt<T>(p: usize, g: usize, v: usize, lr: f64, momentum: f64, i: i32): void {
  const o = <usize>i * sizeof<T>();
  const nv = <T>(momentum * <f64>load<T>(v + o) + <f64>load<T>(g + o));
  store<T>(v + o, nv);
  store<T>(p + o, <T>(<f64>load<T>(p + o) - lr * <f64>nv));
}

/**
 * Adam, as TensorFlow.js: m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
 * p += (m / c1) / (sqrt(v / c2) + epsilon) * -lr, with c1, c2 the bias corrections 1 - beta^t.
 */
export function adam<T>(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, beta1: f64, beta2: f64, epsilon: f64, c1: f64, c2: f64): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const b1 = v128.splat<T>(<T>beta1), b2 = v128.splat<T>(<T>beta2);
  const a1 = v128.splat<T>(<T>(1 - beta1)), a2 = v128.splat<T>(<T>(1 - beta2));
  const k1 = v128.splat<T>(<T>c1), k2 = v128.splat<T>(<T>c2);
  const eps = v128.splat<T>(<T>epsilon), step = v128.splat<T>(<T>-lr);
  let i = 0;
  for (; i + L <= n; i += L) {
    const o = <usize>i * sz;
    const gv = v128.load(g + o);
    const nm = v128.add<T>(v128.mul<T>(b1, v128.load(m + o)), v128.mul<T>(a1, gv));
    const nv = v128.add<T>(v128.mul<T>(b2, v128.load(v + o)), v128.mul<T>(a2, v128.mul<T>(gv, gv)));
    const mHat = v128.div<T>(nm, k1), vHat = v128.div<T>(nv, k2);
    const np = v128.add<T>(v128.load(p + o), v128.mul<T>(v128.div<T>(mHat, v128.add<T>(v128.sqrt<T>(vHat), eps)), step));
    if (v128.any_true(v128.or(v128.or(notFinite<T>(nm), notFinite<T>(nv)), notFinite<T>(np)))) {
      for (let j = 0; j < L; j++) adamAt<T>(p, g, m, v, lr, beta1, beta2, epsilon, c1, c2, i + j);
    } else {
      v128.store(m + o, nm);
      v128.store(v + o, nv);
      v128.store(p + o, np);
    }
  }
  for (; i < n; i++) adamAt<T>(p, g, m, v, lr, beta1, beta2, epsilon, c1, c2, i);
}

// @ts-ignore: decorator
@inline function adamAt<T>(p: usize, g: usize, m: usize, v: usize, lr: f64, beta1: f64, beta2: f64, epsilon: f64, c1: f64, c2: f64, i: i32): void {
  const o = <usize>i * sizeof<T>();
  const gi = <f64>load<T>(g + o);
  const nm = <T>(beta1 * <f64>load<T>(m + o) + (1 - beta1) * gi);
  const nv = <T>(beta2 * <f64>load<T>(v + o) + (1 - beta2) * (gi * gi));
  store<T>(m + o, nm);
  store<T>(v + o, nv);
  const mHat = <f64>nm / c1, vHat = <f64>nv / c2;
  store<T>(p + o, <T>(<f64>load<T>(p + o) + (mHat / (Math.sqrt(vHat) + epsilon)) * -lr));
}
