// Register-only throughput probes for the benchmark's "% of SIMD peak" column: no memory traffic,
// only f32x4 multiply-adds on registers. Built twice, like the kernels: plain SIMD (mul then add)
// and relaxed SIMD (relaxed_madd). Which form reaches the top rate depends on the build and the CPU
// (the fused form is latency-bound differently from the split one), so the harness runs both and
// takes the better as the peak:
//   chain: 12 accumulators, acc = acc * a + b (the whole multiply-add on the dependency chain)
//   gemm:  8 accumulators, acc += x * b_j and y * b_j, x and y swapping every step (only the add or
//          FMA on the accumulator's chain, as in a GEMM micro-kernel)
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) { return f32x4.relaxed_madd(a, b, c); } else { return f32x4.add(f32x4.mul(a, b), c); }
}
export function chain(steps: i32, seed: f32): f32 {
  const a = f32x4.splat(0.999999); const b = f32x4.splat(seed);
  let c0 = b, c1 = b, c2 = b, c3 = b, c4 = b, c5 = b, c6 = b, c7 = b, c8 = b, c9 = b, c10 = b, c11 = b;
  for (let i = 0; i < steps; i++) {
    c0 = madd(c0, a, b); c1 = madd(c1, a, b); c2 = madd(c2, a, b); c3 = madd(c3, a, b);
    c4 = madd(c4, a, b); c5 = madd(c5, a, b); c6 = madd(c6, a, b); c7 = madd(c7, a, b);
    c8 = madd(c8, a, b); c9 = madd(c9, a, b); c10 = madd(c10, a, b); c11 = madd(c11, a, b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))), 0);
}
export function gemm(steps: i32, seed: f32): f32 {
  // x and y swap every step: the products are not loop-invariant, so no compiler can hoist them
  // out of the loop (with invariant factors V8 does, and the loop then holds only the adds)
  let x = f32x4.splat(seed), y = f32x4.splat(seed * 0.5);
  const b0 = f32x4.splat(1.0e-3), b1 = f32x4.splat(1.1e-3), b2 = f32x4.splat(1.2e-3), b3 = f32x4.splat(1.3e-3);
  let c0 = b0, c1 = b1, c2 = b2, c3 = b3, c4 = b0, c5 = b1, c6 = b2, c7 = b3;
  for (let i = 0; i < steps; i++) {
    c0 = madd(x, b0, c0); c1 = madd(x, b1, c1); c2 = madd(x, b2, c2); c3 = madd(x, b3, c3);
    c4 = madd(y, b0, c4); c5 = madd(y, b1, c5); c6 = madd(y, b2, c6); c7 = madd(y, b3, c7);
    const t = x;
    x = y;
    y = t;
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0);
}

/** Flops per step of each probe. */
export const CHAIN_FLOPS_PER_STEP: i32 = 12 * 4 * 2;
export const GEMM_FLOPS_PER_STEP: i32 = 8 * 4 * 2;
