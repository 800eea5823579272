// The kernel exports of assembly/index.ts, typed in one place. Pointers are byte offsets into the
// module's memory; sizes are element or pixel counts unless a name says bytes. Kernels that return a
// number return 1 when a value they stored is not finite (NaN or an infinity), else 0.

/** The kernels of one element type; the module exports each as `f32_<name>` and `f64_<name>`. */
export interface DTypeExports {
  pack_filter(w: number, out: number, tH: number, tW: number, C: number, N: number, firstTap: number, rowStride: number, tapStride: number, cStride: number, nStride: number): void;
  pack_filter_rows(w: number, out: number, tH: number, tW: number, C: number, N: number, firstTap: number, rowStride: number, tapStride: number, cStride: number, nStride: number): void;
  /** 1 if rows [r0, r1) of the packed forward filter no longer hold w's bits (w: R rows of N output channels; rows: 1 for pack_filter_rows' layout, 0 for pack_filter's), else 0. */
  packed_filter_differs(w: number, packed: number, R: number, N: number, rows: number, r0: number, r1: number): number;
  pack_bias(b: number, out: number, N: number): void;
  conv2d_forward(x: number, pw: number, pb: number, z: number, m: number, H: number, W: number, C: number, fH: number, fW: number, sH: number, sW: number, nH: number, nW: number, N: number, zPixBytes: number, zRowBytes: number, zImageBytes: number, relu: number): number;
  conv2d_forward_dot(x: number, pw: number, pb: number, z: number, m: number, H: number, W: number, C: number, fH: number, fW: number, sH: number, sW: number, nH: number, nW: number, N: number, zPixBytes: number, zRowBytes: number, zImageBytes: number, relu: number): number;
  /** conv2d_forward at stride 1, no activation, where only rows [rowFirst, rowEnd) and columns [colFirst, colEnd) of each image of x (counted from x) may be other than zero: tiles skip the taps that read only zeros there (the input gradient's classes). */
  conv2d_backward_input(x: number, pw: number, pb: number, z: number, m: number, H: number, W: number, C: number, fH: number, fW: number, nH: number, nW: number, N: number, zPixBytes: number, zRowBytes: number, zImageBytes: number, rowFirst: number, rowEnd: number, colFirst: number, colEnd: number): number;
  /** Tiles [first, last) of the filter gradient, numbered ((cb * NB + nb) * fH + kh) * fW + kw (blocks of 4 input channels, output channel blocks of NR, taps), summed over output rows [rowFirst, rowLast) of the m * nH; x's pixels pixBytes apart and its channel blocks blockBytes apart (the input as it lies, or packed in channel blocks). */
  conv2d_backward_filter(x: number, dzb: number, dw: number, m: number, H: number, W: number, C: number, fH: number, fW: number, sH: number, sW: number, nH: number, nW: number, N: number, first: number, last: number, rowFirst: number, rowLast: number, pixBytes: number, blockBytes: number): void;
  /** Tiles [first, last) of the filter gradient of a layer of C < 4 input channels from its unpacked input, numbered (nb * fH + kh) * JB + jb (output channel blocks, filter rows, blocks of 4 of a window row's fW * C values), summed over output rows [rowFirst, rowLast). */
  conv2d_backward_filter_rows(x: number, dzb: number, dw: number, m: number, H: number, W: number, C: number, fH: number, fW: number, sH: number, sW: number, nH: number, nW: number, N: number, first: number, last: number, rowFirst: number, rowLast: number): void;
  bias_gradient(dz: number, db: number, P: number, N: number): void;
  dot(a: number, b: number, n: number, bias: number): number;
  pool_forward(x: number, out: number, m: number, H: number, W: number, C: number, fH: number, fW: number, sH: number, sW: number, nH: number, nW: number, isMax: number): number;
  /** Writes rows [r0, r1) of each image of dx (0 and H: all), the same bits as a call over all rows. */
  pool_backward(x: number, dout: number, dx: number, m: number, H: number, W: number, C: number, fH: number, fW: number, sH: number, sW: number, nH: number, nW: number, isMax: number, firstOnly: number, r0: number, r1: number): number;
  mask_from_window(x: number, out: number, n: number): void;
  fill(p: number, n: number, value: number): void;
  /** out[i] = ((p[0][i] + p[1][i]) + ...) over `pieces` arrays of n values, `stride` bytes apart. */
  sum_pieces(p: number, out: number, n: number, pieces: number, stride: number): void;
  /** Index of the first element of p[from .. n) that is not finite, or -1. */
  find_nonfinite(p: number, from: number, n: number): number;
  /** 1 if an element of p[0 .. n) is not finite, else 0. */
  any_nonfinite(p: number, n: number): number;
  relu(x: number, y: number, n: number): void;
  relu_backward(dy: number, x: number, dx: number, n: number): void;
  softmax(x: number, y: number, rows: number, n: number): number;
  /** labels: i32 class indices, or 0 with target: rows x n values; rowLoss: rows values. */
  softmax_cross_entropy(x: number, labels: number, target: number, d: number, rowLoss: number, rows: number, n: number, scale: number): number;
  /** C (M, N) = A (M, K) B (K, N) + bias, B read in place (dense layers of few rows); relu: 1 applies max(., 0); rows of B and C ldn elements apart (a strip of columns). */
  gemm_small(a: number, b: number, bias: number, c: number, M: number, N: number, K: number, relu: number, ldn: number): number;
  /** C (M, N) = A (M, K) B (N, K)^T, B read in place (a dense layer's input gradient for few rows); columns [jFirst, jLast) of C only. */
  gemm_nt(a: number, b: number, c: number, M: number, N: number, K: number, jFirst: number, jLast: number): number;
  /** C (K, N) = A (M, K)^T B (M, N), for few rows M (a dense layer's filter gradient X^T dZ); rows [kFirst, kLast) of C only. */
  gemm_tn(a: number, b: number, c: number, M: number, K: number, N: number, kFirst: number, kLast: number): number;
  /** y = e^x for x <= 0 (softmax's exp; only its accuracy test calls it). */
  exp(x: number, y: number, n: number): void;
  sgd(p: number, g: number, n: number, lr: number): void;
  sgd_momentum(p: number, g: number, v: number, n: number, lr: number, momentum: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, lr: number, beta1: number, beta2: number, epsilon: number, c1: number, c2: number): void;
}

export interface KernelExports {
  heapBase(): number;
  zeroPad(x: number, out: number, m: number, H: number, W: number, pixelBytes: number, outH: number, outW: number, top: number, left: number): void;
  /** `stride`: bytes between channel blocks of out (0: m * outH * outW * blockBytes). */
  packBlocks(x: number, out: number, m: number, H: number, W: number, pixelBytes: number, blockBytes: number, outH: number, outW: number, top: number, left: number, stride: number): void;
  /** out[n][r][c] = x[n][rows[r]][cols[c]] (whole pixels), zero where rows[r] or cols[c] is -1; rows and cols are i32 arrays. */
  gatherPixels(x: number, out: number, m: number, H: number, W: number, pixelBytes: number, rows: number, outH: number, cols: number, outW: number): void;
  /** A 32-bit fingerprint of a sample of the bits of `bytes` bytes (a multiple of 4) at p: equal fingerprints say the bytes most likely did not change (where all change or none do), never that they did not. */
  fingerprint(p: number, bytes: number): number;
}

/** The typed kernels of one element type, looked up once. */
export function dtypeExports(exports: WebAssembly.Exports, prefix: 'f32' | 'f64'): DTypeExports {
  const names: (keyof DTypeExports)[] = [
    'pack_filter', 'pack_filter_rows', 'packed_filter_differs', 'pack_bias', 'conv2d_forward', 'conv2d_forward_dot', 'conv2d_backward_input', 'conv2d_backward_filter', 'conv2d_backward_filter_rows', 'bias_gradient',
    'dot', 'pool_forward', 'pool_backward', 'mask_from_window', 'fill', 'sum_pieces', 'find_nonfinite', 'any_nonfinite', 'relu', 'relu_backward',
    'softmax', 'softmax_cross_entropy', 'exp', 'gemm_small', 'gemm_nt', 'gemm_tn', 'sgd', 'sgd_momentum', 'adam',
  ];
  const out = {} as Record<string, unknown>;
  for (const name of names) {
    const f = exports[`${prefix}_${name}`];
    if (typeof f !== 'function') throw new Error(`internal: the wasm module has no export ${prefix}_${name}`);
    out[name] = f;
  }
  return out as unknown as DTypeExports;
}
