// The module's exports: each generic kernel instantiated for f32 and f64, named dtype_op.
// Every export takes byte offsets into the imported memory and plain sizes; none allocates.
import { zeroPad, packBlocks, gatherPixels, fingerprint } from "./bytes";
import { packFilter, packFilterRows, packedFilterDiffers, packBias, conv2dForward, conv2dForwardDot, conv2dBackwardInput, conv2dBackwardFilter, conv2dBackwardFilterRows, biasGradient, dot } from "./conv";
import { poolForward, poolBackward, maskFromWindow } from "./pool";
import { fill, relu, reluBackward, findNonFinite, sumPieces } from "./elementwise";
import { softmax, softmaxCrossEntropy, expNonPositive } from "./loss";
import { sgd, sgdMomentum, adam } from "./optimizers";
import { gemmSmall, gemmNT, gemmTN } from "./dense";

export { zeroPad, packBlocks, gatherPixels, fingerprint };

/** Where the caller's allocator may start: the end of this module's static data. */
export function heapBase(): usize {
  return __heap_base;
}

export function f32_pack_filter(w: usize, out: usize, tH: i32, tW: i32, C: i32, N: i32, firstTap: isize, rowStride: isize, tapStride: isize, cStride: isize, nStride: isize): void { packFilter<f32>(w, out, tH, tW, C, N, firstTap, rowStride, tapStride, cStride, nStride); }
export function f64_pack_filter(w: usize, out: usize, tH: i32, tW: i32, C: i32, N: i32, firstTap: isize, rowStride: isize, tapStride: isize, cStride: isize, nStride: isize): void { packFilter<f64>(w, out, tH, tW, C, N, firstTap, rowStride, tapStride, cStride, nStride); }
export function f32_pack_filter_rows(w: usize, out: usize, tH: i32, tW: i32, C: i32, N: i32, firstTap: isize, rowStride: isize, tapStride: isize, cStride: isize, nStride: isize): void { packFilterRows<f32>(w, out, tH, tW, C, N, firstTap, rowStride, tapStride, cStride, nStride); }
export function f64_pack_filter_rows(w: usize, out: usize, tH: i32, tW: i32, C: i32, N: i32, firstTap: isize, rowStride: isize, tapStride: isize, cStride: isize, nStride: isize): void { packFilterRows<f64>(w, out, tH, tW, C, N, firstTap, rowStride, tapStride, cStride, nStride); }
export function f32_packed_filter_differs(w: usize, packed: usize, R: i32, N: i32, rows: bool, r0: i32, r1: i32): i32 { return packedFilterDiffers<f32>(w, packed, R, N, rows, r0, r1); }
export function f64_packed_filter_differs(w: usize, packed: usize, R: i32, N: i32, rows: bool, r0: i32, r1: i32): i32 { return packedFilterDiffers<f64>(w, packed, R, N, rows, r0, r1); }
export function f32_pack_bias(b: usize, out: usize, N: i32): void { packBias<f32>(b, out, N); }
export function f64_pack_bias(b: usize, out: usize, N: i32): void { packBias<f64>(b, out, N); }

export function f32_conv2d_forward(x: usize, pw: usize, pb: usize, z: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, relu: bool): i32 { return conv2dForward<f32>(x, pw, pb, z, m, H, W, C, fH, fW, sH, sW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, relu); }
export function f64_conv2d_forward(x: usize, pw: usize, pb: usize, z: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, relu: bool): i32 { return conv2dForward<f64>(x, pw, pb, z, m, H, W, C, fH, fW, sH, sW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, relu); }

export function f32_conv2d_forward_dot(x: usize, pw: usize, pb: usize, z: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, relu: bool): i32 { return conv2dForwardDot<f32>(x, pw, pb, z, m, H, W, C, fH, fW, sH, sW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, relu); }
export function f64_conv2d_forward_dot(x: usize, pw: usize, pb: usize, z: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, relu: bool): i32 { return conv2dForwardDot<f64>(x, pw, pb, z, m, H, W, C, fH, fW, sH, sW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, relu); }

export function f32_conv2d_backward_input(x: usize, pw: usize, pb: usize, z: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, rowFirst: i32, rowEnd: i32, colFirst: i32, colEnd: i32): i32 { return conv2dBackwardInput<f32>(x, pw, pb, z, m, H, W, C, fH, fW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, rowFirst, rowEnd, colFirst, colEnd); }
export function f64_conv2d_backward_input(x: usize, pw: usize, pb: usize, z: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, nH: i32, nW: i32, N: i32, zPixBytes: usize, zRowBytes: usize, zImageBytes: usize, rowFirst: i32, rowEnd: i32, colFirst: i32, colEnd: i32): i32 { return conv2dBackwardInput<f64>(x, pw, pb, z, m, H, W, C, fH, fW, nH, nW, N, zPixBytes, zRowBytes, zImageBytes, rowFirst, rowEnd, colFirst, colEnd); }

export function f32_conv2d_backward_filter(x: usize, dzb: usize, dw: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, first: i32, last: i32, rowFirst: i32, rowLast: i32, pixBytes: usize, blockBytes: usize): void { conv2dBackwardFilter<f32>(x, dzb, dw, m, H, W, C, fH, fW, sH, sW, nH, nW, N, first, last, rowFirst, rowLast, pixBytes, blockBytes); }
export function f64_conv2d_backward_filter(x: usize, dzb: usize, dw: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, first: i32, last: i32, rowFirst: i32, rowLast: i32, pixBytes: usize, blockBytes: usize): void { conv2dBackwardFilter<f64>(x, dzb, dw, m, H, W, C, fH, fW, sH, sW, nH, nW, N, first, last, rowFirst, rowLast, pixBytes, blockBytes); }
export function f32_conv2d_backward_filter_rows(x: usize, dzb: usize, dw: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, first: i32, last: i32, rowFirst: i32, rowLast: i32): void { conv2dBackwardFilterRows<f32>(x, dzb, dw, m, H, W, C, fH, fW, sH, sW, nH, nW, N, first, last, rowFirst, rowLast); }
export function f64_conv2d_backward_filter_rows(x: usize, dzb: usize, dw: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, N: i32, first: i32, last: i32, rowFirst: i32, rowLast: i32): void { conv2dBackwardFilterRows<f64>(x, dzb, dw, m, H, W, C, fH, fW, sH, sW, nH, nW, N, first, last, rowFirst, rowLast); }

export function f32_bias_gradient(dz: usize, db: usize, P: i32, N: i32): void { biasGradient<f32>(dz, db, P, N); }
export function f64_bias_gradient(dz: usize, db: usize, P: i32, N: i32): void { biasGradient<f64>(dz, db, P, N); }

export function f32_dot(a: usize, b: usize, n: i32, bias: f32): f32 { return dot<f32>(a, b, n, bias); }
export function f64_dot(a: usize, b: usize, n: i32, bias: f64): f64 { return dot<f64>(a, b, n, bias); }

export function f32_pool_forward(x: usize, out: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool): i32 { return poolForward<f32>(x, out, m, H, W, C, fH, fW, sH, sW, nH, nW, isMax); }
export function f64_pool_forward(x: usize, out: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool): i32 { return poolForward<f64>(x, out, m, H, W, C, fH, fW, sH, sW, nH, nW, isMax); }
export function f32_pool_backward(x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool, firstOnly: bool, r0: i32, r1: i32): i32 { return poolBackward<f32>(x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, isMax, firstOnly, r0, r1); }
export function f64_pool_backward(x: usize, dout: usize, dx: usize, m: i32, H: i32, W: i32, C: i32, fH: i32, fW: i32, sH: i32, sW: i32, nH: i32, nW: i32, isMax: bool, firstOnly: bool, r0: i32, r1: i32): i32 { return poolBackward<f64>(x, dout, dx, m, H, W, C, fH, fW, sH, sW, nH, nW, isMax, firstOnly, r0, r1); }

export function f32_mask_from_window(x: usize, out: usize, n: i32): void { maskFromWindow<f32>(x, out, n); }
export function f64_mask_from_window(x: usize, out: usize, n: i32): void { maskFromWindow<f64>(x, out, n); }
export function f32_sum_pieces(p: usize, out: usize, n: i32, pieces: i32, stride: usize): void { sumPieces<f32>(p, out, n, pieces, stride); }
export function f64_sum_pieces(p: usize, out: usize, n: i32, pieces: i32, stride: usize): void { sumPieces<f64>(p, out, n, pieces, stride); }
export function f32_fill(p: usize, n: i32, value: f32): void { fill<f32>(p, n, value); }
export function f64_fill(p: usize, n: i32, value: f64): void { fill<f64>(p, n, value); }

export function f32_relu(x: usize, y: usize, n: i32): void { relu<f32>(x, y, n); }
export function f64_relu(x: usize, y: usize, n: i32): void { relu<f64>(x, y, n); }
export function f32_relu_backward(dy: usize, x: usize, dx: usize, n: i32): void { reluBackward<f32>(dy, x, dx, n); }
export function f64_relu_backward(dy: usize, x: usize, dx: usize, n: i32): void { reluBackward<f64>(dy, x, dx, n); }
export function f32_find_nonfinite(p: usize, from: i32, n: i32): i32 { return findNonFinite<f32>(p, from, n); }
export function f64_find_nonfinite(p: usize, from: i32, n: i32): i32 { return findNonFinite<f64>(p, from, n); }
/** 1 if an element of p[0 .. n) is not finite, else 0: a scan the threads can share (ranges of p). */
export function f32_any_nonfinite(p: usize, n: i32): i32 { return findNonFinite<f32>(p, 0, n) >= 0 ? 1 : 0; }
export function f64_any_nonfinite(p: usize, n: i32): i32 { return findNonFinite<f64>(p, 0, n) >= 0 ? 1 : 0; }
export function f32_softmax(x: usize, y: usize, rows: i32, n: i32): i32 { return softmax<f32>(x, y, rows, n); }
export function f32_softmax_cross_entropy(x: usize, labels: usize, target: usize, d: usize, rowLoss: usize, rows: i32, n: i32, scale: f32): i32 { return softmaxCrossEntropy<f32>(x, labels, target, d, rowLoss, rows, n, scale); }
export function f32_sgd(p: usize, g: usize, n: i32, lr: f64): void { sgd<f32>(p, g, n, lr); }
export function f32_sgd_momentum(p: usize, g: usize, v: usize, n: i32, lr: f64, momentum: f64): void { sgdMomentum<f32>(p, g, v, n, lr, momentum); }
export function f32_adam(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, beta1: f64, beta2: f64, epsilon: f64, c1: f64, c2: f64): void { adam<f32>(p, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2); }
export function f64_softmax(x: usize, y: usize, rows: i32, n: i32): i32 { return softmax<f64>(x, y, rows, n); }
export function f64_softmax_cross_entropy(x: usize, labels: usize, target: usize, d: usize, rowLoss: usize, rows: i32, n: i32, scale: f64): i32 { return softmaxCrossEntropy<f64>(x, labels, target, d, rowLoss, rows, n, scale); }
export function f64_sgd(p: usize, g: usize, n: i32, lr: f64): void { sgd<f64>(p, g, n, lr); }
export function f64_sgd_momentum(p: usize, g: usize, v: usize, n: i32, lr: f64, momentum: f64): void { sgdMomentum<f64>(p, g, v, n, lr, momentum); }
export function f64_adam(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f64, beta1: f64, beta2: f64, epsilon: f64, c1: f64, c2: f64): void { adam<f64>(p, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2); }
export function f32_exp(x: usize, y: usize, n: i32): void { expNonPositive<f32>(x, y, n); }
export function f64_exp(x: usize, y: usize, n: i32): void { expNonPositive<f64>(x, y, n); }
export function f32_gemm_small(a: usize, b: usize, bias: usize, c: usize, M: i32, N: i32, K: i32, relu: bool, ldn: i32): i32 { return gemmSmall<f32>(a, b, bias, c, M, N, K, relu, ldn); }
export function f32_gemm_nt(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, jFirst: i32, jLast: i32): i32 { return gemmNT<f32>(a, b, c, M, N, K, jFirst, jLast); }
export function f64_gemm_small(a: usize, b: usize, bias: usize, c: usize, M: i32, N: i32, K: i32, relu: bool, ldn: i32): i32 { return gemmSmall<f64>(a, b, bias, c, M, N, K, relu, ldn); }
export function f64_gemm_nt(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, jFirst: i32, jLast: i32): i32 { return gemmNT<f64>(a, b, c, M, N, K, jFirst, jLast); }
export function f32_gemm_tn(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, kFirst: i32, kLast: i32): i32 { return gemmTN<f32>(a, b, c, M, K, N, kFirst, kLast); }
export function f64_gemm_tn(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, kFirst: i32, kLast: i32): i32 { return gemmTN<f64>(a, b, c, M, K, N, kFirst, kLast); }
