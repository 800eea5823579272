// Pooling kernels, NHWC, no padding. Vectorised over channels with a scalar tail.
// One loop nest serves both modes; `isMax` picks the per-window strategy.
import { LANES, maxLanes } from "./lanes";

/**
 * out[n, oh, ow, c] = max (or mean) of x over the fH x fW window at (oh*sH, ow*sW).
 * REQUIRES: (nH-1)*sH + fH <= H, (nW-1)*sW + fW <= W.
 */
export function poolForward<T>(
  x: usize, out: usize, m: i32, H: i32, W: i32, C: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool,
): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const pix = <usize>C * sz;
  const xRow = <usize>W * pix;
  const count = <T>(fH * fW);
  const countV = v128.splat<T>(count);
  let o = out;
  for (let n = 0; n < m; n++) {
    for (let oh = 0; oh < nH; oh++) {
      for (let ow = 0; ow < nW; ow++) {
        const win = x + (<usize>n * <usize>H + <usize>(oh * sH)) * xRow + <usize>(ow * sW) * pix;
        let c = 0;
        for (; c + L <= C; c += L) {
          const base = win + <usize>c * sz;
          let acc = isMax ? v128.splat<T>(<T>-Infinity) : v128.splat<T>(<T>0);
          for (let kh = 0; kh < fH; kh++) {
            let p = base + <usize>kh * xRow;
            for (let kw = 0; kw < fW; kw++) {
              const v = v128.load(p);
              acc = isMax ? v128.max<T>(acc, v) : v128.add<T>(acc, v);
              p += pix;
            }
          }
          if (!isMax) acc = v128.div<T>(acc, countV);
          v128.store(o + <usize>c * sz, acc);
        }
        for (; c < C; c++) {
          const base = win + <usize>c * sz;
          let acc: T = isMax ? <T>-Infinity : <T>0;
          for (let kh = 0; kh < fH; kh++) {
            let p = base + <usize>kh * xRow;
            for (let kw = 0; kw < fW; kw++) {
              const v = load<T>(p);
              acc = isMax ? max<T>(acc, v) : acc + v;
              p += pix;
            }
          }
          if (!isMax) acc = acc / count;
          store<T>(o + <usize>c * sz, acc);
        }
        o += pix;
      }
    }
  }
}

/**
 * Pooling backward in one pass: dx (m, H, W, C) is zeroed, then each output gradient
 * dout[n, oh, ow, c] is added to its window: to every position equal to the window's max
 * (max mode: the seed's mask, ties all receive it), or as dout / (fH*fW) to every position
 * (average mode). Overlapping windows accumulate, in window order.
 */
export function poolBackward<T>(
  x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool,
): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const pix = <usize>C * sz;
  const xRow = <usize>W * pix;
  const count = <T>(fH * fW);
  const countV = v128.splat<T>(count);
  memory.fill(dx, 0, <usize>m * <usize>H * xRow);
  let g = dout;
  for (let n = 0; n < m; n++) {
    for (let oh = 0; oh < nH; oh++) {
      for (let ow = 0; ow < nW; ow++) {
        const offset = (<usize>n * <usize>H + <usize>(oh * sH)) * xRow + <usize>(ow * sW) * pix;
        let c = 0;
        for (; c + L <= C; c += L) {
          const cOff = offset + <usize>c * sz;
          const gv = v128.load(g + <usize>c * sz);
          if (isMax) {
            let mx = v128.splat<T>(<T>-Infinity);
            for (let kh = 0; kh < fH; kh++) {
              let p = x + cOff + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                mx = v128.max<T>(mx, v128.load(p));
                p += pix;
              }
            }
            for (let kh = 0; kh < fH; kh++) {
              let p = cOff + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                const hit = v128.eq<T>(v128.load(x + p), mx);
                v128.store(dx + p, v128.add<T>(v128.load(dx + p), v128.and(gv, hit)));
                p += pix;
              }
            }
          } else {
            const share = v128.div<T>(gv, countV);
            for (let kh = 0; kh < fH; kh++) {
              let p = dx + cOff + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                v128.store(p, v128.add<T>(v128.load(p), share));
                p += pix;
              }
            }
          }
        }
        for (; c < C; c++) {
          const cOff = offset + <usize>c * sz;
          const gs = load<T>(g + <usize>c * sz);
          if (isMax) {
            let mx: T = <T>-Infinity;
            for (let kh = 0; kh < fH; kh++) {
              let p = x + cOff + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                mx = max<T>(mx, load<T>(p));
                p += pix;
              }
            }
            for (let kh = 0; kh < fH; kh++) {
              let p = cOff + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                if (load<T>(x + p) == mx) store<T>(dx + p, load<T>(dx + p) + gs);
                p += pix;
              }
            }
          } else {
            const share = gs / count;
            for (let kh = 0; kh < fH; kh++) {
              let p = dx + cOff + <usize>kh * xRow;
              for (let kw = 0; kw < fW; kw++) {
                store<T>(p, load<T>(p) + share);
                p += pix;
              }
            }
          }
        }
        g += pix;
      }
    }
  }
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

/** p[0 .. n) = value. */
export function fill<T>(p: usize, n: i32, value: T): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const v = v128.splat<T>(value);
  let i = 0;
  for (; i + L <= n; i += L) v128.store(p + <usize>i * sz, v);
  for (; i < n; i++) store<T>(p + <usize>i * sz, value);
}
