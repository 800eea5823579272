// Convolution kernels, NHWC. Geometry is decided by the caller (src/): these loops only walk memory.
// Register tile: MR = 4 output pixels x NR = 2 vectors of output channels (8 f32 or 4 f64),
// in the manner of XNNPACK's wasmsimd "4x8 splat" GEMM micro-kernels.
import { LANES, madd, notFinite, storeLanes, sumLanes } from "./lanes";

/** Output channels per packed block: two vectors. */
// @ts-ignore: decorator
@inline function NR<T>(): i32 {
  return 2 * LANES<T>();
}

/**
 * Packs a filter into the order the conv micro-kernel reads: [block][th][tw][c][NR], NR output
 * channels per block, zero-filled past N. The tH x tW taps are a grid over the source filter:
 * element (th, tw, c, n) is read at w + firstTap + th*rowStride + tw*tapStride + c*cStride + n*nStride
 * (bytes; strides may be negative: the input gradient reads every stride-th tap of the filter
 * rotated by 180 degrees, with its channels swapped).
 * REQUIRES: out holds ceil(N/NR) * tH * tW * C * NR elements.
 */
export function packFilter<T>(
  w: usize, out: usize, tH: i32, tW: i32, C: i32, N: i32,
  firstTap: isize, rowStride: isize, tapStride: isize, cStride: isize, nStride: isize,
): void {
  const nr = NR<T>();
  const L = LANES<T>();
  const sz = <usize>sizeof<T>();
  const blockBytes = <usize>tH * <usize>tW * <usize>C * <usize>nr * sz;
  const cBytes = <usize>nr * sz; // one (tap, c) row of a block
  // the forward filter: output channels contiguous, so a full block row is two vector copies; the
  // input gradient's rotated filter: input channels contiguous, so L of them are transposed at once
  const contiguous = nStride == <isize>sz;
  const transposing = !contiguous && cStride == <isize>sz;
  const fullBlocks = N / nr;
  for (let th = 0; th < tH; th++) {
    for (let tw = 0; tw < tW; tw++) {
      const tap = <isize>w + firstTap + <isize>th * rowStride + <isize>tw * tapStride;
      const tapOut = out + <usize>((th * tW + tw) * C) * cBytes;
      let c = 0;
      if (transposing) {
        for (; c + L <= C; c += L) {
          for (let blk = 0; blk < fullBlocks; blk++) {
            transposeRows<T>(<usize>(tap + <isize>c * cStride + <isize>(blk * nr) * nStride), <usize>nStride,
                             tapOut + <usize>blk * blockBytes + <usize>c * cBytes, cBytes);
          }
          for (let cc = c; cc < c + L; cc++) {
            for (let blk = fullBlocks, n0 = fullBlocks * nr; n0 < N; n0 += nr, blk++) {
              copyRow<T>(tap + <isize>cc * cStride + <isize>n0 * nStride, nStride, min(nr, N - n0), false,
                         tapOut + <usize>blk * blockBytes + <usize>cc * cBytes);
            }
          }
        }
      }
      for (; c < C; c++) {
        for (let blk = 0, n0 = 0; n0 < N; n0 += nr, blk++) {
          copyRow<T>(tap + <isize>c * cStride + <isize>n0 * nStride, nStride, min(nr, N - n0), contiguous,
                     tapOut + <usize>blk * blockBytes + <usize>c * cBytes);
        }
      }
    }
  }
}

/** One packed row: NR values read nStride bytes apart from `from` (valid of them, zeros after). */
// @ts-ignore: decorator
@inline function copyRow<T>(from: isize, nStride: isize, valid: i32, contiguous: bool, dst: usize): void {
  const nr = NR<T>();
  const sz = <usize>sizeof<T>();
  if (contiguous && valid == nr) {
    v128.store(dst, v128.load(<usize>from));
    v128.store(dst, v128.load(<usize>from, 16), 16);
  } else {
    let j = 0;
    for (; j < valid; j++) store<T>(dst + <usize>j * sz, load<T>(<usize>(from + <isize>j * nStride)));
    for (; j < nr; j++) store<T>(dst + <usize>j * sz, <T>0);
  }
}

/**
 * NR source rows (rowStride bytes apart), each holding one vector of L consecutive input channels,
 * written as L packed rows of NR values (dstStride bytes apart): an NR x L transpose in registers.
 */
// @ts-ignore: decorator
@inline function transposeRows<T>(src: usize, rowStride: usize, dst: usize, dstStride: usize): void {
  if (sizeof<T>() == 4) {
    // two 4x4 transposes: rows 0-3 give each channel's first vector, rows 4-7 its second
    for (let half: usize = 0; half < 2; half++) {
      const p = src + half * 4 * rowStride;
      const r0 = v128.load(p), r1 = v128.load(p + rowStride), r2 = v128.load(p + 2 * rowStride), r3 = v128.load(p + 3 * rowStride);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const q = dst + half * 16;
      v128.store(q, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(q + dstStride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      v128.store(q + 2 * dstStride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
      v128.store(q + 3 * dstStride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
    }
  } else {
    // two 2x2 transposes
    for (let half: usize = 0; half < 2; half++) {
      const p = src + half * 2 * rowStride;
      const r0 = v128.load(p), r1 = v128.load(p + rowStride);
      const q = dst + half * 16;
      v128.store(q, v128.shuffle<f64>(r0, r1, 0, 2));
      v128.store(q + dstStride, v128.shuffle<f64>(r0, r1, 1, 3));
    }
  }
}

/** Copies N bias values into a zero-filled row of ceil(N/NR)*NR (b == 0: all zeros). */
export function packBias<T>(b: usize, out: usize, N: i32): void {
  const nr = NR<T>();
  const padded = ((N + nr - 1) / nr) * nr;
  const sz = <usize>sizeof<T>();
  for (let j = 0; j < padded; j++) {
    store<T>(out + <usize>j * sz, b != 0 && j < N ? load<T>(b + <usize>j * sz) : <T>0);
  }
}

// 4 output pixels x NR channels (WIDE) or x one vector of channels (a block whose valid channels
// fit one vector: small channel counts, or the last block of a count that is not a multiple of
// NR, which would otherwise multiply a vector of zeros). xi points at pixel i's window, whose
// kernel rows are xRowBytes apart, each rowElems contiguous elements; zi at pixel i's output.
// Only kernel rows [khFirst, khEnd) and elements [eFirst, eEnd) of each are summed: the rest of
// every window of the tile reads zeros (the input gradient's zero border), whose products add
// nothing (below).
// @ts-ignore: decorator
@inline function convTile4<T>(
  WIDE: bool, x0: usize, x1: usize, x2: usize, x3: usize, xRowBytes: usize, khFirst: i32, khEnd: i32, rowElems: i32, eFirst: i32, eEnd: i32,
  wBlock: usize, bias: usize, z0: usize, z1: usize, z2: usize, z3: usize, valid: i32, relu: bool,
): v128 {
  const sz = <usize>sizeof<T>();
  let c00 = v128.load(bias), c01 = v128.load(bias, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  for (let kh = khFirst; kh < khEnd; kh++) {
    const row = <usize>kh * xRowBytes;
    const end = row + <usize>eEnd * sz;
    // the packed taps of this row from element eFirst on, 32 bytes each
    let w = wBlock + (<usize>kh * <usize>rowElems + <usize>eFirst) * 32;
    for (let o = row + <usize>eFirst * sz; o < end; o += sz) {
      const w0 = v128.load(w);
      const a0 = v128.load_splat<T>(x0 + o);
      const a1 = v128.load_splat<T>(x1 + o);
      const a2 = v128.load_splat<T>(x2 + o);
      const a3 = v128.load_splat<T>(x3 + o);
      c00 = madd<T>(a0, w0, c00); c10 = madd<T>(a1, w0, c10);
      c20 = madd<T>(a2, w0, c20); c30 = madd<T>(a3, w0, c30);
      if (WIDE) {
        const w1 = v128.load(w, 16);
        c01 = madd<T>(a0, w1, c01); c11 = madd<T>(a1, w1, c11);
        c21 = madd<T>(a2, w1, c21); c31 = madd<T>(a3, w1, c31);
      }
      w += 32;
    }
  }
  const L = LANES<T>();
  // the sum of what this tile computed, before the activation: not finite if any value is not
  const sum = WIDE
    ? v128.add<T>(v128.add<T>(v128.add<T>(c00, c01), v128.add<T>(c10, c11)), v128.add<T>(v128.add<T>(c20, c21), v128.add<T>(c30, c31)))
    : v128.add<T>(v128.add<T>(c00, c10), v128.add<T>(c20, c30));
  if (relu) {
    const zero = v128.splat<T>(<T>0);
    c00 = v128.max<T>(c00, zero); c10 = v128.max<T>(c10, zero); c20 = v128.max<T>(c20, zero); c30 = v128.max<T>(c30, zero);
    if (WIDE) { c01 = v128.max<T>(c01, zero); c11 = v128.max<T>(c11, zero); c21 = v128.max<T>(c21, zero); c31 = v128.max<T>(c31, zero); }
  }
  if (valid == 2 * L) {
    v128.store(z0, c00); v128.store(z0, c01, 16);
    v128.store(z1, c10); v128.store(z1, c11, 16);
    v128.store(z2, c20); v128.store(z2, c21, 16);
    v128.store(z3, c30); v128.store(z3, c31, 16);
  } else {
    storeLanes<T>(z0, c00, valid); storeLanes<T>(z1, c10, valid);
    storeLanes<T>(z2, c20, valid); storeLanes<T>(z3, c30, valid);
    if (WIDE) {
      storeLanes<T>(z0 + 16, c01, valid - L); storeLanes<T>(z1 + 16, c11, valid - L);
      storeLanes<T>(z2 + 16, c21, valid - L); storeLanes<T>(z3 + 16, c31, valid - L);
    }
  }
  return sum;
}

/**
 * Valid (unpadded) strided convolution: z[n, oh, ow, :] = b + sum over the fH x fW x C window
 * of x at (oh*sH, ow*sW). x is (m, H, W, C); the filter and bias come packed by packFilter/packBias.
 * Output pixel (n, oh, ow) is written at z + n*zImageBytes + oh*zRowBytes + ow*zPixBytes (the input
 * gradient writes every stride-th pixel of its output this way).
 * Output pixels are taken 4 at a time in (n, oh, ow) order, across row ends, so no row leaves a
 * narrow remainder; the last tile repeats its final pixel where fewer than 4 are left (the repeat
 * computes and stores the same values again).
 * REQUIRES: (nH-1)*sH + fH <= H, (nW-1)*sW + fW <= W; z does not overlap x or the packed buffers.
 */
export function conv2dForward<T>(
  x: usize, packedW: usize, packedB: usize, z: usize,
  m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32,
  nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, relu: bool,
): i32 {
  return convolve<T>(false, false, x, packedW, packedB, z, m, H, W, C, fH, fW, sH, sW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, relu, 0, H, 0, W);
}

/**
 * conv2dForward at stride 1 with no activation, for one stride class of the input gradient (x is dZ
 * in a zero border, the filter its class's taps rotated, the bias packed zeros): only rows
 * [rowFirst, rowEnd) and columns [colFirst, colEnd) of each image of x (counted from x) hold dZ, the
 * rest is zero border, and a tile of 4 pixels skips the kernel rows and window columns where all
 * four read border. For a 'valid' layer's small maps that is much of the work (5x5 filter, 10x10
 * dZ: 49% of the taps read border). Skipping them leaves every value's bits as they were: a sum
 * that starts at +0 (the bias) is never -0 in round-to-nearest, and adding +0 or -0 (a zero
 * times a finite tap) leaves any other value as it is; a tap that is not finite makes some value of
 * the output not finite either way, which the caller then recomputes.
 * REQUIRES: as conv2dForward, with sH = sW = 1.
 */
export function conv2dBackwardInput<T>(
  x: usize, packedW: usize, packedB: usize, z: usize,
  m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, nH: i32, nW: i32, N: i32,
  zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, rowFirst: i32, rowEnd: i32, colFirst: i32, colEnd: i32,
): i32 {
  return convolve<T>(false, true, x, packedW, packedB, z, m, H, W, C, fH, fW, 1, 1, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, false, rowFirst, rowEnd, colFirst, colEnd);
}

/** Bytes of packed filter that conv2dForward keeps in cache while all pixels pass (half of a 1 MiB L2). */
// @ts-ignore: decorator
@inline const FILTER_CHUNK_BYTES: usize = 512 * 1024;

/**
 * Packs a filter for conv2dForwardDot: [n][th][tw][c], each output channel's taps as rows of
 * tW*C contiguous values. Source addressing as packFilter's.
 * REQUIRES: out holds N * tH * tW * C elements.
 */
export function packFilterRows<T>(
  w: usize, out: usize, tH: i32, tW: i32, C: i32, N: i32,
  firstTap: isize, rowStride: isize, tapStride: isize, cStride: isize, nStride: isize,
): void {
  const sz = <usize>sizeof<T>();
  let dst = out;
  for (let n = 0; n < N; n++) {
    for (let th = 0; th < tH; th++) {
      for (let tw = 0; tw < tW; tw++) {
        const src = <isize>w + firstTap + <isize>th * rowStride + <isize>tw * tapStride + <isize>n * nStride;
        for (let c = 0; c < C; c++) {
          store<T>(dst, load<T>(<usize>(src + <isize>c * cStride)));
          dst += sz;
        }
      }
    }
  }
}

/** Whether the elements of T at a and b differ in any bit. */
// @ts-ignore: decorator
@inline function bitsDiffer<T>(a: usize, b: usize): bool {
  return sizeof<T>() == 4 ? load<u32>(a) != load<u32>(b) : load<u64>(a) != load<u64>(b);
}

/**
 * 1 if the packed forward filter at `packed` no longer holds the bits of the filter w, else 0: w is
 * R rows (taps x input channels) of N contiguous output channels, packed by packFilter (`rows` 0:
 * blocks of NR channels, each of R rows of NR) or by packFilterRows (`rows` 1: N rows of R).
 * Only rows [r0, r1) are compared. Bits, not values: -0 against 0 differs, as does one NaN against
 * another with a different payload. The zeros packFilter writes past N are not read.
 */
export function packedFilterDiffers<T>(w: usize, packed: usize, R: i32, N: i32, rows: bool, r0: i32, r1: i32): i32 {
  const sz = <usize>sizeof<T>();
  if (rows) {
    for (let n = 0; n < N; n++) {
      for (let r = r0; r < r1; r++) {
        const a = w + (<usize>r * <usize>N + <usize>n) * sz, b = packed + (<usize>n * <usize>R + <usize>r) * sz;
        if (bitsDiffer<T>(a, b)) return 1;
      }
    }
    return 0;
  }
  const nr = NR<T>();
  const blockBytes = <usize>R * <usize>nr * sz;
  const full = N / nr;
  for (let r = r0; r < r1; r++) {
    const src = w + <usize>r * <usize>N * sz;
    const dst = packed + <usize>r * <usize>nr * sz;
    // a full block's row: NR channels, two vectors
    for (let blk = 0; blk < full; blk++) {
      const a = src + <usize>(blk * nr) * sz, b = dst + <usize>blk * blockBytes;
      if (v128.any_true(v128.or(v128.xor(v128.load(a), v128.load(b)), v128.xor(v128.load(a, 16), v128.load(b, 16))))) return 1;
    }
    for (let n = full * nr; n < N; n++) {
      const a = src + <usize>n * sz, b = dst + <usize>full * blockBytes + <usize>(n - full * nr) * sz;
      if (bitsDiffer<T>(a, b)) return 1;
    }
  }
  return 0;
}

// 4 output pixels x 2 output channels (ONE: 1) as dot products along each window row: the window
// row's fW*C values are contiguous in x and in the packed filter row, so both are read as vectors
// and every lane does useful work however few the output channels are. Sums are reduced across
// lanes at the end.
// @ts-ignore: decorator
@inline function dotTile<T>(
  ONE: bool, x0: usize, x1: usize, x2: usize, x3: usize, xRowBytes: usize, fH: i32, rowBytes: usize,
  w0: usize, w1: usize, b0: T, b1: T, z0: usize, z1: usize, z2: usize, z3: usize, relu: bool,
): T {
  const sz = <usize>sizeof<T>();
  let c00 = v128.splat<T>(<T>0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let kh = 0; kh < fH; kh++) {
    const row = <usize>kh * xRowBytes;
    const end = row + rowBytes;
    for (let o = row; o < end; o += 16) {
      const a0 = v128.load(x0 + o), a1 = v128.load(x1 + o), a2 = v128.load(x2 + o), a3 = v128.load(x3 + o);
      const v0 = v128.load(w0);
      c00 = madd<T>(a0, v0, c00); c10 = madd<T>(a1, v0, c10);
      c20 = madd<T>(a2, v0, c20); c30 = madd<T>(a3, v0, c30);
      if (!ONE) {
        const v1 = v128.load(w1);
        c01 = madd<T>(a0, v1, c01); c11 = madd<T>(a1, v1, c11);
        c21 = madd<T>(a2, v1, c21); c31 = madd<T>(a3, v1, c31);
      }
      w0 += 16;
      w1 += 16;
    }
  }
  // returns the sum of what this tile computed, before the activation: not finite if any value is not
  if (sizeof<T>() == 4) {
    // the 4 pixels' sums of a channel, reduced together: lane i of the result is pixel i's
    let s0 = v128.add<T>(sums4(c00, c10, c20, c30), v128.splat<T>(b0));
    let sum = s0;
    if (relu) s0 = v128.max<T>(s0, v128.splat<T>(<T>0));
    v128.store_lane<T>(z0, s0, 0); v128.store_lane<T>(z1, s0, 1);
    v128.store_lane<T>(z2, s0, 2); v128.store_lane<T>(z3, s0, 3);
    if (!ONE) {
      let s1 = v128.add<T>(sums4(c01, c11, c21, c31), v128.splat<T>(b1));
      sum = v128.add<T>(sum, s1);
      if (relu) s1 = v128.max<T>(s1, v128.splat<T>(<T>0));
      v128.store_lane<T>(z0, s1, 0, sz); v128.store_lane<T>(z1, s1, 1, sz);
      v128.store_lane<T>(z2, s1, 2, sz); v128.store_lane<T>(z3, s1, 3, sz);
    }
    return sumLanes<T>(sum);
  } else {
    const r00 = sumLanes<T>(c00) + b0, r10 = sumLanes<T>(c10) + b0, r20 = sumLanes<T>(c20) + b0, r30 = sumLanes<T>(c30) + b0;
    store<T>(z0, activate<T>(r00, relu)); store<T>(z1, activate<T>(r10, relu));
    store<T>(z2, activate<T>(r20, relu)); store<T>(z3, activate<T>(r30, relu));
    let sum = (r00 + r10) + (r20 + r30);
    if (!ONE) {
      const r01 = sumLanes<T>(c01) + b1, r11 = sumLanes<T>(c11) + b1, r21 = sumLanes<T>(c21) + b1, r31 = sumLanes<T>(c31) + b1;
      store<T>(z0 + sz, activate<T>(r01, relu)); store<T>(z1 + sz, activate<T>(r11, relu));
      store<T>(z2 + sz, activate<T>(r21, relu)); store<T>(z3 + sz, activate<T>(r31, relu));
      sum += (r01 + r11) + (r21 + r31);
    }
    return sum;
  }
}

/** max(v, 0) when relu (NaN stays NaN, -0 becomes +0, as Math.max), else v. */
// @ts-ignore: decorator
@inline function activate<T>(v: T, relu: bool): T {
  return relu ? max<T>(v, <T>0) : v;
}

/** [sum of a's lanes, of b's, of c's, of d's] for four f32x4 vectors: a 4x4 transpose-and-add. */
// @ts-ignore: decorator
@inline function sums4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = v128.add<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = v128.add<f32>(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return v128.add<f32>(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * conv2dForward for few output channels: the same convolution, the same arguments and pixel order,
 * with the filter packed by packFilterRows and the bias by packBias; each output channel's value is
 * a dot product along the window rows (dotTile).
 * REQUIRES: fW*C a multiple of LANES<T>() (window rows are whole vectors); as conv2dForward.
 */
export function conv2dForwardDot<T>(
  x: usize, packedW: usize, packedB: usize, z: usize,
  m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32,
  nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, relu: bool,
): i32 {
  return convolve<T>(true, false, x, packedW, packedB, z, m, H, W, C, fH, fW, sH, sW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, relu, 0, H, 0, W);
}

/**
 * The loop nest of conv2dForward (DOT false: NR-channel blocks of the GEMM micro-kernel, taken in
 * chunks of FILTER_CHUNK_BYTES of packed filter) and conv2dForwardDot (DOT true: dot products, two
 * channels per tile). Both hand out output pixels 4 at a time in (n, oh, ow) order. SKIP (the
 * input gradient's conv2dBackwardInput, GEMM only): a tile sums only the taps that read inside rows
 * [rowFirst, rowEnd) and columns [colFirst, colEnd) of x's images for one of its pixels.
 */
// @ts-ignore: decorator
@inline function convolve<T>(
  DOT: bool, SKIP: bool, x: usize, packedW: usize, packedB: usize, z: usize,
  m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32,
  nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, relu: bool,
  rowFirst: i32, rowEnd: i32, colFirst: i32, colEnd: i32,
): i32 {
  const sz = <usize>sizeof<T>();
  const nr = NR<T>();
  const rowElems = fW * C;
  const xRowBytes = <usize>W * <usize>C * sz;
  const xImageBytes = <usize>H * xRowBytes;
  const xPixStep = <usize>sW * <usize>C * sz;
  const xRowStep = <usize>sH * xRowBytes;
  const rowBytes = <usize>rowElems * sz; // one window row (DOT)
  const filterBytes = <usize>fH * rowBytes; // one output channel's packed taps (DOT)
  const blockBytes = <usize>fH * <usize>rowElems * <usize>nr * sz; // one packed block (GEMM)
  // Blocks of output channels are taken in chunks whose packed filter stays in cache while every
  // pixel passes through it: a large filter (many channels) is then read from memory once, not
  // once per 4 pixels. The dot-product path has at most one vector of channels: one chunk.
  const chunkN = DOT ? N : max(1, <i32>(FILTER_CHUNK_BYTES / blockBytes)) * nr;
  // the sum of every value computed (before the activation), to tell whether all were finite
  let all = v128.splat<T>(<T>0);
  let allScalar = <T>0;
  for (let firstN = 0; firstN < N; firstN += chunkN) {
    const lastN = min(N, firstN + chunkN);
    // the next pixel to hand out: its counters (oh, ow), its image's, its row's and its own addresses
    let oh = 0, ow = 0;
    let xImage = x, zImage = z, xRow = x, zRow = z, xi = x, zi = z;
    let left = m * nH * nW;
    while (left > 0) {
      // 4 pixels' window and output addresses; past the last pixel, repeat it
      const x0 = xi, z0 = zi, oh0 = oh, ow0 = ow;
      if (left > 1) { left--; if (++ow < nW) { xi += xPixStep; zi += zPixBytes; } else { ow = 0; if (++oh < nH) { xRow += xRowStep; zRow += zRowBytes; } else { oh = 0; xImage += xImageBytes; zImage += zImageBytes; xRow = xImage; zRow = zImage; } xi = xRow; zi = zRow; } }
      const x1 = xi, z1 = zi, oh1 = oh, ow1 = ow;
      if (left > 1) { left--; if (++ow < nW) { xi += xPixStep; zi += zPixBytes; } else { ow = 0; if (++oh < nH) { xRow += xRowStep; zRow += zRowBytes; } else { oh = 0; xImage += xImageBytes; zImage += zImageBytes; xRow = xImage; zRow = zImage; } xi = xRow; zi = zRow; } }
      const x2 = xi, z2 = zi, oh2 = oh, ow2 = ow;
      if (left > 1) { left--; if (++ow < nW) { xi += xPixStep; zi += zPixBytes; } else { ow = 0; if (++oh < nH) { xRow += xRowStep; zRow += zRowBytes; } else { oh = 0; xImage += xImageBytes; zImage += zImageBytes; xRow = xImage; zRow = zImage; } xi = xRow; zi = zRow; } }
      const x3 = xi, z3 = zi, oh3 = oh, ow3 = ow;
      if (left > 1) { left--; if (++ow < nW) { xi += xPixStep; zi += zPixBytes; } else { ow = 0; if (++oh < nH) { xRow += xRowStep; zRow += zRowBytes; } else { oh = 0; xImage += xImageBytes; zImage += zImageBytes; xRow = xImage; zRow = zImage; } xi = xRow; zi = zRow; } } else { left = 0; }
      // SKIP: only the kernel rows and window-row elements that read input inside [rowFirst, rowEnd)
      // x [colFirst, colEnd) for some pixel of the tile (the rest is zero border); else all of them
      let khFirst = 0, khEnd = fH, eFirst = 0, eEnd = rowElems;
      if (SKIP) {
        const ohMin = min(min(oh0, oh1), min(oh2, oh3)), ohMax = max(max(oh0, oh1), max(oh2, oh3));
        const owMin = min(min(ow0, ow1), min(ow2, ow3)), owMax = max(max(ow0, ow1), max(ow2, ow3));
        khFirst = max(0, rowFirst - ohMax * sH); khEnd = min(fH, rowEnd - ohMin * sH);
        // an empty column range stays empty: eEnd below 0 would wrap in the tile's unsigned bounds
        eFirst = max(0, colFirst - owMax * sW) * C; eEnd = max(0, min(fW, colEnd - owMin * sW)) * C;
      }
      if (DOT) {
        let n = 0;
        for (; n + 2 <= N; n += 2) {
          const off = <usize>n * sz;
          allScalar += dotTile<T>(false, x0, x1, x2, x3, xRowBytes, fH, rowBytes,
                     packedW + <usize>n * filterBytes, packedW + <usize>(n + 1) * filterBytes,
                     load<T>(packedB + off), load<T>(packedB + off + sz), z0 + off, z1 + off, z2 + off, z3 + off, relu);
        }
        if (n < N) {
          const off = <usize>n * sz;
          allScalar += dotTile<T>(true, x0, x1, x2, x3, xRowBytes, fH, rowBytes, packedW + <usize>n * filterBytes, 0,
                     load<T>(packedB + off), <T>0, z0 + off, z1 + off, z2 + off, z3 + off, relu);
        }
      } else {
        for (let n0 = firstN, blk = firstN / nr; n0 < lastN; n0 += nr, blk++) {
          const off = <usize>n0 * sz;
          const valid = min(nr, N - n0);
          if (valid > LANES<T>()) {
            all = v128.add<T>(all, convTile4<T>(true, x0, x1, x2, x3, xRowBytes, khFirst, khEnd, rowElems, eFirst, eEnd, packedW + <usize>blk * blockBytes, packedB + off,
                         z0 + off, z1 + off, z2 + off, z3 + off, valid, relu));
          } else {
            all = v128.add<T>(all, convTile4<T>(false, x0, x1, x2, x3, xRowBytes, khFirst, khEnd, rowElems, eFirst, eEnd, packedW + <usize>blk * blockBytes, packedB + off,
                         z0 + off, z1 + off, z2 + off, z3 + off, valid, relu));
          }
        }
      }
    }
  }
  return notFinite<T>(all, allScalar);
}

/** Input channels (or window-row values) of a filter-gradient tile. */
// @ts-ignore: decorator
@inline export const CB = 4;

// Filter-gradient tile: ROWS (up to CB) input channels x NR output channels, summed over output
// rows [r0, r1) of the flattened (m*nH) row index, stored into dw (first) or added to it: ROWS rows
// of validN values. x points at the tile's first input channel of a pixel, consecutive pixels
// xPixStep apart; dz is one block of the packed output gradient, read contiguously.
// @ts-ignore: decorator
@inline function filterTile<T>(
  ROWS: i32, x: usize, xImageBytes: usize, xRowStep: usize, xPixStep: usize,
  dz: usize, nH: i32, nW: i32, r0: i32, r1: i32,
  dw: usize, dwRowBytes: usize, validN: i32, first: bool,
): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const dzPix = <usize>NR<T>() * sz;
  let c00 = v128.splat<T>(<T>0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const n0 = r0 / nH;
  let oh = r0 - n0 * nH;
  let xRow = x + <usize>n0 * xImageBytes + <usize>oh * xRowStep;
  let d = dz + <usize>r0 * <usize>nW * dzPix;
  for (let r = r0; r < r1; r++) {
    let p = xRow;
    if (++oh < nH) { xRow += xRowStep; } else { oh = 0; xRow += xImageBytes - <usize>(nH - 1) * xRowStep; }
    for (let ow = 0; ow < nW; ow++) {
      const g0 = v128.load(d), g1 = v128.load(d, 16);
      const a0 = v128.load_splat<T>(p);
      c00 = madd<T>(a0, g0, c00); c01 = madd<T>(a0, g1, c01);
      if (ROWS > 1) {
        const a1 = v128.load_splat<T>(p + sz);
        c10 = madd<T>(a1, g0, c10); c11 = madd<T>(a1, g1, c11);
      }
      if (ROWS > 2) {
        const a2 = v128.load_splat<T>(p + 2 * sz);
        c20 = madd<T>(a2, g0, c20); c21 = madd<T>(a2, g1, c21);
      }
      if (ROWS > 3) {
        const a3 = v128.load_splat<T>(p + 3 * sz);
        c30 = madd<T>(a3, g0, c30); c31 = madd<T>(a3, g1, c31);
      }
      p += xPixStep;
      d += dzPix;
    }
  }
  if (first) {
    // the first chunk of rows writes dw; later chunks add to it
    storeTileRow<T>(dw, c00, c01, validN, L);
    if (ROWS > 1) storeTileRow<T>(dw + dwRowBytes, c10, c11, validN, L);
    if (ROWS > 2) storeTileRow<T>(dw + 2 * dwRowBytes, c20, c21, validN, L);
    if (ROWS > 3) storeTileRow<T>(dw + 3 * dwRowBytes, c30, c31, validN, L);
  } else {
    addTileRow<T>(dw, c00, c01, validN, L);
    if (ROWS > 1) addTileRow<T>(dw + dwRowBytes, c10, c11, validN, L);
    if (ROWS > 2) addTileRow<T>(dw + 2 * dwRowBytes, c20, c21, validN, L);
    if (ROWS > 3) addTileRow<T>(dw + 3 * dwRowBytes, c30, c31, validN, L);
  }
}

// A filter-gradient tile of `rows` (1 to CB) rows, each count its own inlined tile; the first chunk
// of output rows (r0 == start) stores its sums, later chunks add theirs
// @ts-ignore: decorator
@inline function filterTileOf<T>(
  rows: i32, x: usize, xImageBytes: usize, xRowStep: usize, xPixStep: usize,
  dz: usize, nH: i32, nW: i32, start: i32, r0: i32, r1: i32, dw: usize, dwRowBytes: usize, validN: i32,
): void {
  if (rows == 4) filterTile<T>(4, x, xImageBytes, xRowStep, xPixStep, dz, nH, nW, r0, r1, dw, dwRowBytes, validN, r0 == start);
  else if (rows == 3) filterTile<T>(3, x, xImageBytes, xRowStep, xPixStep, dz, nH, nW, r0, r1, dw, dwRowBytes, validN, r0 == start);
  else if (rows == 2) filterTile<T>(2, x, xImageBytes, xRowStep, xPixStep, dz, nH, nW, r0, r1, dw, dwRowBytes, validN, r0 == start);
  else filterTile<T>(1, x, xImageBytes, xRowStep, xPixStep, dz, nH, nW, r0, r1, dw, dwRowBytes, validN, r0 == start);
}

// dw[0 .. valid) = (v0, v1)
// @ts-ignore: decorator
@inline function storeTileRow<T>(dw: usize, v0: v128, v1: v128, valid: i32, L: i32): void {
  storeLanes<T>(dw, v0, valid);
  storeLanes<T>(dw + 16, v1, valid - L);
}

// dw[0 .. valid) += (v0, v1)
// @ts-ignore: decorator
@inline function addTileRow<T>(dw: usize, v0: v128, v1: v128, valid: i32, L: i32): void {
  if (valid == 2 * L) {
    v128.store(dw, v128.add<T>(v128.load(dw), v0));
    v128.store(dw, v128.add<T>(v128.load(dw, 16), v1), 16);
  } else {
    const sz = <usize>sizeof<T>();
    for (let j = 0; j < valid; j++) {
      const v = j < L ? v0 : v1;
      const lane = j < L ? j : j - L;
      let s: T;
      if (sizeof<T>() == 4) {
        s = lane == 0 ? v128.extract_lane<T>(v, 0) : lane == 1 ? v128.extract_lane<T>(v, 1)
          : lane == 2 ? v128.extract_lane<T>(v, 2) : v128.extract_lane<T>(v, 3);
      } else {
        s = lane == 0 ? v128.extract_lane<T>(v, 0) : v128.extract_lane<T>(v, 1);
      }
      store<T>(dw + <usize>j * sz, load<T>(dw + <usize>j * sz) + s);
    }
  }
}

/**
 * Filter gradient: dw[kh, kw, c, co] = sum over (n, oh, ow) of x[n, oh*sH+kh, ow*sW+kw, c] *
 * dz[n, oh, ow, co]. x is the padded input (m, H, W, C), either as it lies (pixBytes = C * size,
 * blockBytes = CB * size: a tile reads CB channels of each pixel) or packed by packBlocks into
 * blocks of CB channels, [cb][n][h][w][CB] (pixBytes = CB * size, blockBytes = the bytes of a block),
 * which keeps a tile's reads contiguous where pixels are wide; dz is (m, nH, nW, N) packed into blocks of NR channels:
 * [nb][n*nH*nW][NR] (zero past N). Output rows are taken in chunks so that a chunk's pixels stay in
 * cache while every tap's tile consumes them. dw (fH, fW, C, N) is overwritten: the first chunk
 * stores its sums, later chunks add theirs.
 * Only tiles [first, last) are computed, numbered ((cb * NB + nb) * fH + kh) * fW + kw over the
 * blocks cb of CB input channels, nb of dz and the taps: each dw element belongs to one tile, whose
 * sum runs over the pixels in the same order whatever the range, so threads can share the tiles.
 * Only output rows [rowFirst, rowLast) of the flattened (m * nH) rows are summed: a piece of the
 * pixels, whose sums the caller adds to the other pieces' (sumPieces) in a fixed order.
 */
export function conv2dBackwardFilter<T>(
  x: usize, dzb: usize, dw: usize,
  m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32,
  nH: i32, nW: i32, N: i32, first: i32, last: i32, rowFirst: i32, rowLast: i32, pixBytes: usize, blockBytes: usize,
): void {
  const sz = <usize>sizeof<T>();
  const nr = NR<T>();
  const pix = pixBytes;
  const xRowBytes = <usize>W * pix;
  const xImageBytes = <usize>H * xRowBytes;
  const xRowStep = <usize>sH * xRowBytes;
  const xPixStep = <usize>sW * pix;
  const rows = m * nH;
  const dzBlockBytes = <usize>rows * <usize>nW * <usize>nr * sz;
  const dwRowBytes = <usize>N * sz;
  const chunk = max(1, CHUNK_PIXELS / max(1, nW));
  const taps = fH * fW;
  const NB = (N + nr - 1) / nr;
  for (let r0 = rowFirst; r0 < rowLast; r0 += chunk) {
    const r1 = min(rowLast, r0 + chunk);
    // the first tile's counters, then stepped: tap fastest, then nb, then cb
    let kh = (first % taps) / fW, kw = first % fW, nb = (first / taps) % NB, cb = first / (taps * NB);
    for (let tile = first; tile < last; tile++) {
      const c0 = cb * CB, n0 = nb * nr;
      const validC = min(CB, C - c0);
      const validN = min(nr, N - n0);
      const xTap = x + <usize>cb * blockBytes + <usize>kh * xRowBytes + <usize>kw * pix;
      const dzBlock = dzb + <usize>nb * dzBlockBytes;
      const dwTap = dw + (<usize>(kh * fW + kw) * <usize>C + <usize>c0) * dwRowBytes + <usize>n0 * sz;
      // a block of fewer than CB channels (the last) runs a tile of that many rows
      filterTileOf<T>(validC, xTap, xImageBytes, xRowStep, xPixStep, dzBlock, nH, nW, rowFirst, r0, r1, dwTap, dwRowBytes, validN);
      if (++kw == fW) {
        kw = 0;
        if (++kh == fH) {
          kh = 0;
          if (++nb == NB) { nb = 0; cb++; }
        }
      }
    }
  }
}

/**
 * Filter gradient of a layer with few input channels (C < CB), from the input as it is: x is the
 * padded (or gathered) input (m, H, W, C), unpacked. A window row's fW x C values lie side by side
 * in x, and so do their rows of dw (fH, fW, C, N): a tile takes CB of them (taps and channels
 * alike) where conv2dBackwardFilter would take one tap's C < CB channels, leaving lanes of every
 * vector empty. dz is packed as for conv2dBackwardFilter.
 * Only tiles [first, last) are computed, numbered (nb * fH + kh) * JB + jb over the output channel
 * blocks nb, the filter rows kh and the blocks jb of CB values of a window row (JB of them); each
 * dw element belongs to one tile, summed over every pixel in the same order whatever the range.
 * Output rows [rowFirst, rowLast) only, as in conv2dBackwardFilter.
 */
export function conv2dBackwardFilterRows<T>(
  x: usize, dzb: usize, dw: usize,
  m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32,
  nH: i32, nW: i32, N: i32, first: i32, last: i32, rowFirst: i32, rowLast: i32,
): void {
  const sz = <usize>sizeof<T>();
  const nr = NR<T>();
  const pix = <usize>C * sz;
  const xRowBytes = <usize>W * pix;
  const xImageBytes = <usize>H * xRowBytes;
  const xRowStep = <usize>sH * xRowBytes;
  const xPixStep = <usize>sW * pix;
  const rows = m * nH;
  const dzBlockBytes = <usize>rows * <usize>nW * <usize>nr * sz;
  const dwRowBytes = <usize>N * sz;
  const chunk = max(1, CHUNK_PIXELS / max(1, nW));
  const J = fW * C; // values in a window row
  const JB = (J + CB - 1) / CB;
  for (let r0 = rowFirst; r0 < rowLast; r0 += chunk) {
    const r1 = min(rowLast, r0 + chunk);
    for (let tile = first; tile < last; tile++) {
      const jb = tile % JB, kh = (tile / JB) % fH, nb = tile / (JB * fH);
      const j0 = jb * CB, n0 = nb * nr;
      const valid = min(CB, J - j0);
      const validN = min(nr, N - n0);
      const xTap = x + <usize>kh * xRowBytes + <usize>j0 * sz;
      const dzBlock = dzb + <usize>nb * dzBlockBytes;
      const dwTap = dw + (<usize>kh * <usize>J + <usize>j0) * dwRowBytes + <usize>n0 * sz;
      filterTileOf<T>(valid, xTap, xImageBytes, xRowStep, xPixStep, dzBlock, nH, nW, rowFirst, r0, r1, dwTap, dwRowBytes, validN);
    }
  }
}

// @ts-ignore: decorator
@inline const CHUNK_PIXELS = 256;

/** Pixels per block of the bias gradient's sums: a block is summed on its own, then added to the total. */
// @ts-ignore: decorator
@inline const BIAS_BLOCK = 256;

/**
 * Bias gradient: db[co] = sum over the P pixels of dz (P, N). Walks the pixels once per block of 4
 * vectors of channels, in blocks of BIAS_BLOCK pixels, two pixels at a time into separate sums (so no
 * add waits on the previous); each block's sum is added to the total. A sum's rounding error is then
 * within (BIAS_BLOCK / 2 + P / BIAS_BLOCK + 2) eps of the sum of |dz|, not P eps.
 */
export function biasGradient<T>(dz: usize, db: usize, P: i32, N: i32): void {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  const pix = <usize>N * sz;
  let c = 0;
  for (; c + 4 * L <= N; c += 4 * L) {
    let t0 = v128.splat<T>(<T>0), t1 = t0, t2 = t0, t3 = t0;
    let p = dz + <usize>c * sz;
    for (let first = 0; first < P; first += BIAS_BLOCK) {
      const last = min(P, first + BIAS_BLOCK);
      let a0 = v128.splat<T>(<T>0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      let i = first;
      for (; i + 2 <= last; i += 2) {
        a0 = v128.add<T>(a0, v128.load(p)); a1 = v128.add<T>(a1, v128.load(p, 16));
        a2 = v128.add<T>(a2, v128.load(p, 32)); a3 = v128.add<T>(a3, v128.load(p, 48));
        const q = p + pix;
        b0 = v128.add<T>(b0, v128.load(q)); b1 = v128.add<T>(b1, v128.load(q, 16));
        b2 = v128.add<T>(b2, v128.load(q, 32)); b3 = v128.add<T>(b3, v128.load(q, 48));
        p += 2 * pix;
      }
      if (i < last) {
        a0 = v128.add<T>(a0, v128.load(p)); a1 = v128.add<T>(a1, v128.load(p, 16));
        a2 = v128.add<T>(a2, v128.load(p, 32)); a3 = v128.add<T>(a3, v128.load(p, 48));
        p += pix;
      }
      t0 = v128.add<T>(t0, v128.add<T>(a0, b0)); t1 = v128.add<T>(t1, v128.add<T>(a1, b1));
      t2 = v128.add<T>(t2, v128.add<T>(a2, b2)); t3 = v128.add<T>(t3, v128.add<T>(a3, b3));
    }
    const o = db + <usize>c * sz;
    v128.store(o, t0); v128.store(o, t1, 16); v128.store(o, t2, 32); v128.store(o, t3, 48);
  }
  for (; c + L <= N; c += L) {
    let t = v128.splat<T>(<T>0);
    let p = dz + <usize>c * sz;
    for (let first = 0; first < P; first += BIAS_BLOCK) {
      const last = min(P, first + BIAS_BLOCK);
      let a = v128.splat<T>(<T>0), b = a;
      let i = first;
      for (; i + 2 <= last; i += 2) {
        a = v128.add<T>(a, v128.load(p));
        b = v128.add<T>(b, v128.load(p + pix));
        p += 2 * pix;
      }
      if (i < last) {
        a = v128.add<T>(a, v128.load(p));
        p += pix;
      }
      t = v128.add<T>(t, v128.add<T>(a, b));
    }
    v128.store(db + <usize>c * sz, t);
  }
  for (; c < N; c++) {
    let total = <T>0;
    let p = dz + <usize>c * sz;
    for (let first = 0; first < P; first += BIAS_BLOCK) {
      const last = min(P, first + BIAS_BLOCK);
      let acc = <T>0;
      for (let i = first; i < last; i++) {
        acc += load<T>(p);
        p += pix;
      }
      total += acc;
    }
    store<T>(db + <usize>c * sz, total);
  }
}

/** sum(a[i] * b[i]) + bias over n elements: the seed's conv_single_step. */
export function dot<T>(a: usize, b: usize, n: i32, bias: T): T {
  const sz = <usize>sizeof<T>();
  const L = LANES<T>();
  let acc = v128.splat<T>(<T>0);
  let i = 0;
  for (; i + L <= n; i += L) {
    const off = <usize>i * sz;
    acc = madd<T>(v128.load(a + off), v128.load(b + off), acc);
  }
  let s = sumLanes<T>(acc);
  for (; i < n; i++) {
    const off = <usize>i * sz;
    s += load<T>(a + off) * load<T>(b + off);
  }
  return s + bias;
}
