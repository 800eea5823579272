// Convolution on the wasm kernels: this file decides the geometry of each kernel call (padding,
// packing, residues) and allocates the scratch they need; assembly/conv.ts does the arithmetic.
// Where a kernel reports a result that is not finite, those elements are recomputed by the 'js'
// reference's own formula (redo.ts), so NaN and infinities come out exactly as the seed's loops give
// them (a zero border times an infinite filter tap is not one of the seed's products, for one).
import { dot as jsDot } from '../js/conv.js';
import type { ConvGeometry, ConvGradients } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { DTypeExports } from './exports.js';
import { nonFinite, redoConvForward, redoFilterGradient, redoInputGradient } from './redo.js';
import type { PackedEntry } from './packed.js';
import type { AddTask, WasmRuntime } from './runtime.js';
import { MAX_TASKS } from './threads.js';
import { COPY_WEIGHT, ELEMENT_BLOCK, ELEMENTWISE_WEIGHT, MIN_CONV_TASK_WORK, MIN_TASK_WORK, TASKS_PER_THREAD, part, splitElements, splitPixels, splitRegions, taskCount } from './split.js';

const off = (t: TensorParts) => t.storage.offset;
const bytesOf = (t: TensorParts) => (t.dtype === 'float32' ? 4 : 8);

/** Output channels per packed block of the conv micro-kernel (two v128). */
const NR = (k: DTypeExports, rt: WasmRuntime) => (k === rt.f32 ? 8 : 4);
/** Elements per v128. */
export const LANES = (k: DTypeExports, rt: WasmRuntime) => (k === rt.f32 ? 4 : 2);
/** Input channels per block of the filter gradient's packed input (CB in assembly/conv.ts). */
const FILTER_CHANNEL_BLOCK = 4;

/**
 * Input channels above which the filter gradient packs its input in blocks of 4 channels: measured
 * on one thread (in-process A/B, reading the input where it lies against packing it): 8 channels
 * (LeNet's second layer) 1.3% faster unpacked, 24 channels 1.4% faster packed, 32 3%, 64 5%.
 */
const PACK_INPUT_ABOVE = 8;

/**
 * The packing and convolution kernels for N output channels over windows of tW taps of C channels.
 * Dot products along the window rows (every lane useful) where the rows are whole vectors and there
 * are few output channels: no more than one vector, or fewer than 4 vectors that would fill no more
 * than 3/4 of the GEMM's blocks of 2 vectors, over rows of at least 16 vectors. Else the
 * register-blocked GEMM micro-kernel. Measured (one thread, dot against GEMM): float32 to 10
 * channels 0.69x the time (32x14x14x32 3x3, rows of 96; 32x5x5x16 5x5, rows of 80), a dense layer
 * (32, 400) x (400, 10) 0.79x, (400, 12) 0.87-0.93x, float64 (400, 6) 0.78x; but float32 to 15
 * (blocks 15/16 full) 1.08x, 12 over rows of 12 (8x28x28x4 3x3) 1.23x, and 8 (blocks full) 1.12x.
 */
function convKernels(k: DTypeExports, lanes: number, tW: number, C: number, N: number) {
  // N rounded up to the GEMM's blocks of 2 vectors
  const rowElems = tW * C, padded = Math.ceil(N / (2 * lanes)) * 2 * lanes;
  const dot = rowElems % lanes === 0 && (N <= lanes || (N < 4 * lanes && 4 * N <= 3 * padded && rowElems >= 16 * lanes));
  return dot ? { pack: k.pack_filter_rows, conv: k.conv2d_forward_dot } : { pack: k.pack_filter, conv: k.conv2d_forward };
}

/**
 * The padded input the forward and filter-gradient kernels read, along one axis. Where windows
 * overlap or touch (stride <= f) it is the padded input cropped to what windows reach; where the
 * stride exceeds the filter, only the windows' own rows are kept, back to back (stride f), so that
 * neither the scratch nor the work grows with the stride or the padding.
 */
interface Axis {
  /** Positions kept, and the stride between windows among them. */
  length: number;
  stride: number;
  /** The input row (or column) at each kept position, -1 in the zero border. */
  source(position: number): number;
}

function axis(n: number, f: number, s: number, before: number, windows: number): Axis {
  if (s <= f) return { length: (windows - 1) * s + f, stride: s, source: (p) => (p >= before && p < before + n ? p - before : -1) };
  return {
    length: windows * f, stride: f,
    source: (p) => {
      const q = Math.floor(p / f) * s + (p % f) - before;
      return q >= 0 && q < n ? q : -1;
    },
  };
}

/**
 * Writes the input of g as its kernels read it into scratch, runs body with its address and
 * geometry. The usual case is one zeroPad (or none, without padding); a stride larger than the
 * filter gathers the windows' rows and columns instead.
 */
function withPaddedInput(rt: WasmRuntime, op: string, g: ConvGeometry, A: TensorParts, blocked: boolean,
  body: (x: number, H: number, W: number, sH: number, sW: number, pixelBytes: number) => void): void {
  const sz = bytesOf(A);
  const gather = g.sH > g.fH || g.sW > g.fW;
  const plain = g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0;
  const Cpad = Math.ceil(g.C / FILTER_CHANNEL_BLOCK) * FILTER_CHANNEL_BLOCK;
  const pixel = g.C * sz;
  if (!gather) {
    if (blocked) {
      // channel blocks of the padded input, for the filter gradient
      rt.scratch(op, [g.m * g.Hp * g.Wp * Cpad * sz], (xb) => {
        packImages(rt, op, off(A), xb, g.m, g.H, g.W, pixel, FILTER_CHANNEL_BLOCK * sz, g.Hp, g.Wp, g.padTop, g.padLeft);
        body(xb, g.Hp, g.Wp, g.sH, g.sW, pixel);
      });
    } else if (plain) {
      body(off(A), g.H, g.W, g.sH, g.sW, pixel);
    } else {
      rt.scratch(op, [g.m * g.Hp * g.Wp * pixel], (xp) => {
        padImages(rt, op, off(A), xp, g.m, g.H, g.W, pixel, g.Hp, g.Wp, g.padTop, g.padLeft);
        body(xp, g.Hp, g.Wp, g.sH, g.sW, pixel);
      });
    }
    return;
  }
  const rows = axis(g.H, g.fH, g.sH, g.padTop, g.nH), cols = axis(g.W, g.fW, g.sW, g.padLeft, g.nW);
  const compact = g.m * rows.length * cols.length * pixel;
  rt.scratch(op, [4 * rows.length, 4 * cols.length, compact, blocked ? (compact / pixel) * Cpad * sz : 0], (rowMap, colMap, xc, xb) => {
    const r = rt.int32(rowMap, rows.length), c = rt.int32(colMap, cols.length);
    for (let p = 0; p < rows.length; p++) r[p] = rows.source(p);
    for (let p = 0; p < cols.length; p++) c[p] = cols.source(p);
    rt.k.gatherPixels(off(A), xc, g.m, g.H, g.W, pixel, rowMap, rows.length, colMap, cols.length);
    if (blocked) {
      packImages(rt, op, xc, xb, g.m, rows.length, cols.length, pixel, FILTER_CHANNEL_BLOCK * sz, rows.length, cols.length, 0, 0);
      body(xb, rows.length, cols.length, rows.stride, cols.stride, pixel);
    } else {
      body(xc, rows.length, cols.length, rows.stride, cols.stride, pixel);
    }
  });
}

/**
 * The pieces of a copy of m images of H rows into a layout of outH rows an image, the image at row
 * `top` (zero rows above and below it): splitRegions' groups of whole images, or bands [h0, h1) of
 * one image's rows. `each` gets a piece's first image and image count, its source rows, the first
 * output row it writes in its first image and how many rows an image, and the zero rows above its
 * rows that it writes (the first band writes those above the image, the last those below).
 */
function copyPieces(parts: number, m: number, H: number, outH: number, top: number,
  each: (n: number, count: number, h0: number, h1: number, outRow0: number, outRows: number, above: number) => void): void {
  splitRegions(parts, m, H, 1, (n, count, h0, h1) => {
    const above = h0 === 0 ? top : 0, below = h1 === H ? outH - top - H : 0;
    each(n, count, h0, h1, h0 === 0 ? 0 : top + h0, above + h1 - h0 + below, above);
  });
}

/**
 * zeroPad over images: (m, H, W) pixels of `pixelBytes` into (m, outH, outW) with the image at
 * (top, left) and zeros around it; split when large, into copyPieces.
 */
function padImages(rt: WasmRuntime, op: string, x: number, out: number, m: number, H: number, W: number, pixelBytes: number,
  outH: number, outW: number, top: number, left: number, minTask = MIN_TASK_WORK): void {
  const parts = taskCount(rt.threads, COPY_WEIGHT * (m * outH * outW * pixelBytes) / 4, m * H, TASKS_PER_THREAD, minTask);
  if (parts <= 1) return rt.k.zeroPad(x, out, m, H, W, pixelBytes, outH, outW, top, left);
  const image = H * W * pixelBytes, outImage = outH * outW * pixelBytes, row = W * pixelBytes, outRow = outW * pixelBytes;
  rt.job(op, parts, (add) => copyPieces(parts, m, H, outH, top, (n, count, h0, h1, outRow0, outRows, above) =>
    add(rt.k.zeroPad, x + n * image + h0 * row, out + n * outImage + outRow0 * outRow, count, h1 - h0, W, pixelBytes, outRows, outW, above, left)));
}

/**
 * packBlocks over images (or, for a single row of pixels without a border, over pixels): split
 * when the copy is large, into copyPieces, every piece writing its part of the one blocked layout.
 */
function packImages(rt: WasmRuntime, op: string, x: number, out: number, m: number, H: number, W: number, pixelBytes: number, blockBytes: number,
  outH: number, outW: number, top: number, left: number): void {
  const blocks = Math.ceil(pixelBytes / blockBytes);
  const stride = m * outH * outW * blockBytes;
  const row = m === 1 && H === 1 && outH === 1 && top === 0 && left === 0 && outW === W;
  const parts = taskCount(rt.threads, COPY_WEIGHT * (blocks * stride) / 4, row ? Math.ceil(W / 64) : m * H);
  if (parts <= 1) return rt.k.packBlocks(x, out, m, H, W, pixelBytes, blockBytes, outH, outW, top, left, 0);
  const image = H * W * pixelBytes, outImage = outH * outW * blockBytes, srcRow = W * pixelBytes, outRow = outW * blockBytes;
  rt.job(op, parts, (add) => {
    if (row) {
      splitElements(parts, W, 64, (p, count) => add(rt.k.packBlocks, x + p * pixelBytes, out + p * blockBytes, 1, 1, count, pixelBytes, blockBytes, 1, count, 0, 0, stride));
      return;
    }
    copyPieces(parts, m, H, outH, top, (n, count, h0, h1, outRow0, outRows, above) =>
      add(rt.k.packBlocks, x + n * image + h0 * srcRow, out + n * outImage + outRow0 * outRow, count, h1 - h0, W, pixelBytes, blockBytes,
        outRows, outW, above, left, stride));
  });
}

/**
 * Whether a convolution on the GEMM kernel is cut over the threads by blocks of output channels
 * (`blocks` of them) rather than by output pixels: where its packed filter is far larger than the
 * input it reads (a late layer: few pixels, many channels), so that each thread streams its share
 * of the filter rather than all of it.
 */
function cutByChannels(packedFilterBytes: number, inputBytes: number, blocks: number): boolean {
  return packedFilterBytes > 4 * inputBytes && blocks > 1;
}

/** Byte sizes of a packed filter of tH x tW taps, C in and N out channels, and of its packed bias. */
function packedBytes(nr: number, tH: number, tW: number, C: number, N: number, sz: number): [number, number] {
  const Npad = Math.ceil(N / nr) * nr;
  return [Npad * tH * tW * C * sz, Npad * sz];
}

/**
 * Packs a filter (packFilter's arguments: tH x tW taps, C in and N out channels, source offsets and
 * strides) for a convolution that `byChannels` is cut by blocks of output channels or not. Cut that
 * way, a large filter (a late layer's: 9.4 MB for 3x3, 512 to 512 in float32, 1.7 ms to pack on one
 * core) is packed over the threads by blocks too, each thread packing about the blocks it convolves
 * next; otherwise every task reads the whole packed filter, which is packed here.
 */
function packFilterFor(rt: WasmRuntime, op: string, k: DTypeExports, pack: DTypeExports['pack_filter'], byChannels: boolean,
  w: number, out: number, tH: number, tW: number, C: number, N: number, firstTap: number, rowStride: number, tapStride: number, cStride: number, nStride: number): void {
  const nr = NR(k, rt), blocks = Math.ceil(N / nr);
  const blockBytes = tH * tW * C * nr * (k === rt.f32 ? 4 : 8);
  const parts = byChannels && pack === k.pack_filter ? taskCount(rt.threads, COPY_WEIGHT * (blocks * blockBytes) / 4, blocks) : 1;
  // one call straight to the kernel when it is not split (every small layer: no job to gather)
  if (parts <= 1) return (rt.work.kernelCalls++, pack(w, out, tH, tW, C, N, firstTap, rowStride, tapStride, cStride, nStride));
  rt.job(op, parts, (add) => splitElements(parts, blocks, 1, (b0, count) =>
    add(pack, w, out + b0 * blockBytes, tH, tW, C, Math.min(N - b0 * nr, count * nr), firstTap + b0 * nr * nStride, rowStride, tapStride, cStride, nStride)));
}

/** Bytes of a packed filter from which it is kept on one thread too (packed.ts). */
const KEEP_FROM = 1 << 20;

/**
 * The block kept for the packed copy of the forward filter W of g (packed.ts), pinned, or null
 * where none is kept (W is then packed into scratch). `pack`: pack_filter or pack_filter_rows;
 * `work`: the convolution's multiply-adds.
 * Kept where the convolution is cut over threads, which read the copy the caller packs, or where
 * the copy is large (KEEP_FROM bytes); smaller ones on one thread cost no more to pack than to
 * compare (the seed's layers: 2.7 us a call packed, 2.9 kept).
 */
function keptForwardFilter(rt: WasmRuntime, k: DTypeExports, pack: DTypeExports['pack_filter'], g: ConvGeometry, W: TensorParts, wBytes: number, work: number): PackedEntry | null {
  if (wBytes < KEEP_FROM && (rt.threads <= 1 || work < 2 * MIN_CONV_TASK_WORK)) return null;
  const layout = [bytesOf(W), pack === k.pack_filter_rows ? 1 : 0, g.fH, g.fW, g.C, g.N];
  return rt.packed.pin(off(W), layout, wBytes, () => rt.k.fingerprint(off(W), W.size * bytesOf(W)));
}

/**
 * Whether the kept block no longer holds W packed (for pack), comparing by ranges of W's rows (taps
 * x input channels), over the threads where W is large; a block not packed yet differs.
 */
function keptDiffers(rt: WasmRuntime, op: string, k: DTypeExports, pack: DTypeExports['pack_filter'], kept: PackedEntry, g: ConvGeometry, W: TensorParts): boolean {
  if (!kept.packed) return true;
  const R = g.fH * g.fW * g.C, rows = pack === k.pack_filter_rows ? 1 : 0;
  const parts = taskCount(rt.threads, COPY_WEIGHT * (kept.bytes / 4), R);
  if (parts <= 1) return (rt.work.kernelCalls++, k.packed_filter_differs(off(W), kept.offset, R, g.N, rows, 0, R) !== 0);
  return rt.job(op, parts, (add) => splitElements(parts, R, 1, (r0, count) =>
    add(k.packed_filter_differs, off(W), kept.offset, R, g.N, rows, r0, r0 + count))) !== 0;
}

/** `op`: the public op, for an allocation error (a dense layer runs here as a 1x1 convolution). */
export function convForward(rt: WasmRuntime, g: ConvGeometry, A: TensorParts, W: TensorParts, b: TensorParts, Z: TensorParts, op = 'convForward'): void {
  const k = rt.kernels(g.dtype);
  const sz = bytesOf(A);
  const [wBytes, bBytes] = packedBytes(NR(k, rt), g.fH, g.fW, g.C, g.N, sz);
  let flagged = 0;
  let at: readonly number[] | undefined;
  const work = g.m * g.nH * g.nW * g.fH * g.fW * g.C * g.N;
  const { pack, conv } = convKernels(k, LANES(k, rt), g.fW, g.C, g.N);
  const kept = keptForwardFilter(rt, k, pack, g, W, wBytes, work);
  try {
    rt.scratch(op, [kept ? 0 : wBytes, bBytes], (scratchW, pb) => {
      const tap = g.C * g.N * sz;
      k.pack_bias(off(b), pb, g.N);
      withPaddedInput(rt, op, g, A, false, (x, H, Wd, sH, sW) => {
        const pix = g.N * sz;
        const nr = NR(k, rt), blocks = Math.ceil(g.N / nr);
        const byChannels = conv === k.conv2d_forward && cutByChannels(wBytes, g.m * H * Wd * g.C * sz, blocks);
        const pw = kept ? kept.offset : scratchW;
        if (!kept || keptDiffers(rt, op, k, pack, kept, g, W)) {
          if (kept) kept.packed = false;
          packFilterFor(rt, op, k, pack, byChannels, off(W), pw, g.fH, g.fW, g.C, g.N, 0, g.fW * tap, tap, g.N * sz, sz);
          if (kept) kept.packed = true;
        }
        const parts = taskCount(rt.threads, work, byChannels ? blocks : g.m * g.nH * g.nW, TASKS_PER_THREAD, MIN_CONV_TASK_WORK);
        const steps = { xImage: H * Wd * g.C * sz, xRow: sH * Wd * g.C * sz, xPixel: sW * g.C * sz, zImage: g.nH * g.nW * pix, zRow: g.nW * pix, zPixel: pix };
        const blockBytes = wBytes / blocks;
        // one call straight to the kernel when the op is not split (the seed's small layers: no job to gather)
        const run = (relu: number) => (parts <= 1
          ? (rt.work.kernelCalls++, conv(x, pw, pb, off(Z), g.m, H, Wd, g.C, g.fH, g.fW, sH, sW, g.nH, g.nW, g.N, pix, g.nW * pix, g.nH * g.nW * pix, relu))
          : rt.job(op, parts, (add) => (byChannels
            ? splitElements(parts, blocks, 1, (b0, count) =>
              add(conv, x, pw + b0 * blockBytes, pb + b0 * nr * sz, off(Z) + b0 * nr * sz, g.m, H, Wd, g.C, g.fH, g.fW, sH, sW, g.nH, g.nW,
                Math.min(g.N - b0 * nr, count * nr), pix, g.nW * pix, g.nH * g.nW * pix, relu))
            : splitPixels(parts, g.m, g.nH, g.nW, steps, (dx, dz, m, nH, nW) =>
              add(conv, x + dx, pw, pb, off(Z) + dz, m, H, Wd, g.C, g.fH, g.fW, sH, sW, nH, nW, g.N, pix, g.nW * pix, g.nH * g.nW * pix, relu)))));
        flagged = run(g.activation === 'relu' ? 1 : 0);
        if (flagged && g.activation === 'relu') {
          // the ReLU may have hidden a -Infinity: find them in the values before it, then apply it
          run(0);
          at = nonFinite(rt, Z);
          k.relu(off(Z), off(Z), Z.size);
        }
      });
    });
  } finally {
    if (kept) rt.packed.unpin(kept);
  }
  if (flagged) redoConvForward(rt, g, A, W, b, Z, at);
}

/** `op`: the public op, for an allocation error; by default the convolution op that asks for these gradients. */
export function convBackward(rt: WasmRuntime, g: ConvGeometry, dZ: TensorParts, A: TensorParts, W: TensorParts, grads: ConvGradients,
  op = grads.dA ? (grads.dW ? 'convBackward' : 'convBackwardInput') : 'convBackwardFilter'): void {
  if (grads.dW && grads.db) filterGradient(rt, op, g, dZ, A, grads.dW, grads.db);
  if (grads.dA) inputGradient(rt, op, g, dZ, W, grads.dA);
}

// Filter gradient: a blocked reduction over output pixels of (padded input) x dZ, dZ first packed
// into blocks of NR output channels so that its tiles read it contiguously. A tile takes 4 channels
// of each pixel of the input: where pixels are wide (more than PACK_INPUT_ABOVE channels) from a
// copy packed in blocks of 4 channels, whose reads are contiguous, else from the input where it
// lies (padded where the layer pads), which saves the copy. A layer of fewer than 4 input
// channels (grey or RGB images) takes its tiles along window rows instead: 4 of a window row's
// fW x C values, which lie side by side in the input, rather than one tap's C channels and a
// quarter-empty vector (for C = 1, 2.5 times fewer passes over dZ). Bias gradient: a sum over dZ's
// pixels. Both outputs are small: they are scanned for values that are not finite afterwards.
//
// Where the gradients are small beside the tensors they sum over (many pixels, few channels: a
// LeNet's layers), the pixels are cut into pieces, each summed on its own into a partial dW and db,
// and the pieces added in order at the end: a thread then reads only its own images, which it has
// usually just written itself (the pooling backward and ReLU mask before are cut by images too).
// How many pieces depends on the shapes alone, so any number of threads gives the same bits. Where
// the gradients are large (a late layer's filter), there is one piece, whose tiles are cut over the
// threads instead, each reading all of the input.
function filterGradient(rt: WasmRuntime, op: string, g: ConvGeometry, dZ: TensorParts, A: TensorParts, dW: TensorParts, db: TensorParts): void {
  const k = rt.kernels(g.dtype);
  const sz = bytesOf(A);
  const nr = NR(k, rt);
  const P = g.m * g.nH * g.nW;
  const Npad = Math.ceil(g.N / nr) * nr;
  // dZ in blocks of nr channels: dZ itself when it has exactly nr channels
  const packed = g.N !== nr;
  const work = P * g.fH * g.fW * g.C * g.N;
  const pieces = filterPieces(g.m * g.nH, work, (g.m * g.Hp * g.Wp * g.C + P * g.N) * sz, (dW.size + db.size) * sz);
  rt.scratch(op, [packed ? P * Npad * sz : 0, pieces > 1 ? pieces * (dW.size + db.size) * sz : 0], (scratch, partials) => {
    const dzb = packed ? scratch : off(dZ);
    if (packed) packImages(rt, op, off(dZ), dzb, 1, 1, P, g.N * sz, nr * sz, 1, P, 0, 0);
    // fewer input channels than a block: tiles of a window row's values, from the input as it is;
    // wide pixels: the input packed in blocks of 4 channels
    const rows = g.C < FILTER_CHANNEL_BLOCK;
    const blocked = g.C > PACK_INPUT_ABOVE;
    withPaddedInput(rt, op, g, A, blocked, (x, H, Wd, sH, sW) => {
      // tiles: blocks of 4 input channels (or of 4 of a window row's fW x C values) x blocks of nr
      // output channels x taps (or filter rows), each summed over every pixel
      const tiles = rows
        ? (Npad / nr) * g.fH * Math.ceil((g.fW * g.C) / FILTER_CHANNEL_BLOCK)
        : Math.ceil(g.C / FILTER_CHANNEL_BLOCK) * (Npad / nr) * g.fH * g.fW;
      const blockBytes = FILTER_CHANNEL_BLOCK * sz;
      const [pixBytes, xBlockBytes] = blocked ? [blockBytes, g.m * H * Wd * blockBytes] : [g.C * sz, blockBytes];
      const filter = (add: AddTask, dw: number, first: number, last: number, r0: number, r1: number) => (rows
        ? add(k.conv2d_backward_filter_rows, x, dzb, dw, g.m, H, Wd, g.C, g.fH, g.fW, sH, sW, g.nH, g.nW, g.N, first, last, r0, r1)
        : add(k.conv2d_backward_filter, x, dzb, dw, g.m, H, Wd, g.C, g.fH, g.fW, sH, sW, g.nH, g.nW, g.N, first, last, r0, r1, pixBytes, xBlockBytes));
      if (pieces === 1) {
        // every task reads all of x and dzb (for its tiles): one task a thread
        const parts = taskCount(rt.threads, work, tiles, 1, MIN_CONV_TASK_WORK);
        rt.job(op, parts, (add) => {
          for (let i = 0; i < parts; i++) filter(add, off(dW), ...part(tiles, parts, i), 0, g.m * g.nH);
          add(k.bias_gradient, off(dZ), off(db), P, g.N);
        });
        return;
      }
      const dWBytes = dW.size * sz, dbBytes = db.size * sz, partialdb = partials + pieces * dWBytes;
      rt.job(op, pieces, (add) => {
        for (let i = 0; i < pieces; i++) {
          const [r0, r1] = part(g.m * g.nH, pieces, i);
          filter(add, partials + i * dWBytes, 0, tiles, r0, r1);
          add(k.bias_gradient, off(dZ) + r0 * g.nW * g.N * sz, partialdb + i * dbBytes, (r1 - r0) * g.nW, g.N);
        }
      });
      // dW and db: the pieces added in order, by ranges of elements
      const parts = taskCount(rt.threads, ELEMENTWISE_WEIGHT * pieces * dW.size, Math.ceil(dW.size / ELEMENT_BLOCK));
      rt.job(op, parts, (add) => {
        splitElements(parts, dW.size, ELEMENT_BLOCK, (first, count) => add(k.sum_pieces, partials + first * sz, off(dW) + first * sz, count, pieces, dWBytes));
        add(k.sum_pieces, partialdb, off(db), db.size, pieces, dbBytes);
      });
    });
  });
  redoFilterGradient(rt, op, g, dZ, A, dW, db);
}

/**
 * Pieces of the output rows (`rows` of them) whose filter-gradient sums are kept apart: a power of
 * two up to 16, each of at least MIN_CONV_TASK_WORK, whose partial sums (`gradBytes` each) come to
 * at most an eighth of the bytes the sum reads (`dataBytes`); 1 where that leaves fewer than 2.
 */
function filterPieces(rows: number, work: number, dataBytes: number, gradBytes: number): number {
  const most = Math.min(16, rows, Math.floor(work / MIN_CONV_TASK_WORK), Math.floor(dataBytes / (8 * gradBytes)));
  return most < 2 ? 1 : 2 ** Math.floor(Math.log2(most));
}

/**
 * Along one axis of the input gradient (filter size f, stride s, top padding pad, input size n): for
 * each residue class of the padded coordinate that filter taps reach and that holds input positions,
 * the first tap of its sub-grid and how many taps it has, the first input position (in dA's
 * coordinates) and how many, and the row of dZ its first position's first tap reads. Only classes
 * with taps are visited: at most min(s, f), however large the stride.
 */
function residues(f: number, s: number, pad: number, n: number) {
  const mod = (a: number, b: number) => ((a % b) + b) % b;
  const out: { firstTap: number; taps: number; outStart: number; count: number; dzStart: number }[] = [];
  for (let firstTap = 0; firstTap < Math.min(s, f); firstTap++) {
    const r = mod(f - 1 - firstTap, s);
    const taps = Math.ceil((f - firstTap) / s);
    const first = pad + mod(r - pad, s); // first padded coordinate >= pad in this class
    const count = first < pad + n ? Math.ceil((pad + n - first) / s) : 0;
    if (count > 0) out.push({ firstTap, taps, outStart: first - pad, count, dzStart: (first + firstTap - f + 1) / s });
  }
  return out;
}

// Input gradient, by stride residue: the padded input's pixel (ih, iw) receives dZ through the
// taps kh = (f-1 - ih) mod s, +s, ... only, so each of the residue classes of (ih, iw) that taps reach
// is a stride-1 convolution of dZ (zero-bordered) with that sub-grid of the 180-degree-rotated
// filter, its channels swapped. Each is written straight into dA at output stride s: no multiply by
// an inserted zero, no cropping.
function inputGradient(rt: WasmRuntime, op: string, g: ConvGeometry, dZ: TensorParts, W: TensorParts, dA: TensorParts): void {
  const k = rt.kernels(g.dtype);
  const sz = bytesOf(dZ);
  // dZ with zero borders wide enough for every tap of every residue
  const topH = Math.ceil((g.fH - 1) / g.sH), topW = Math.ceil((g.fW - 1) / g.sW);
  const Hz = topH + Math.floor((g.Hp - 1) / g.sH) + 1, Wz = topW + Math.floor((g.Wp - 1) / g.sW) + 1;
  const bBytes = packedBytes(NR(k, rt), 1, 1, g.N, g.C, sz)[1];
  let flagged = 0;
  const rows = residues(g.fH, g.sH, g.padTop, g.H), cols = residues(g.fW, g.sW, g.padLeft, g.W);
  // one packed filter per residue class, so the classes' convolutions can run at once
  const classes = rows.flatMap((h) => cols.map((w) => ({ h, w, bytes: packedBytes(NR(k, rt), h.taps, w.taps, g.N, g.C, sz)[0] })));
  const packedTotal = classes.reduce((s, c) => s + c.bytes, 0);
  rt.scratch(op, [g.m * Hz * Wz * g.N * sz, packedTotal, bBytes], (dzp, pw, pb) => {
    padImages(rt, op, off(dZ), dzp, g.m, g.nH, g.nW, g.N * sz, Hz, Wz, topH, topW);
    k.pack_bias(0, pb, g.C);
    // a stride larger than the filter leaves residues that no tap reaches: their gradient is 0
    if (g.sH > g.fH || g.sW > g.fW) k.fill(off(dA), dA.size, 0);
    const tap = g.C * g.N * sz;
    const pix = g.C * sz;
    const lanes = LANES(k, rt);
    let at = pw;
    const calls = classes.map(({ h, w, bytes }) => {
      const call = { h, w, ...convKernels(k, lanes, w.taps, g.N, g.C), packed: at };
      at += bytes;
      return call;
    });
    const work = g.m * g.C * g.N * classes.reduce((sum, { h, w }) => sum + h.count * w.count * h.taps * w.taps, 0);
    // cut by blocks of dA's channels, or else by regions of dA below
    const nr = NR(k, rt), blocks = Math.ceil(g.C / nr);
    const byChannels = calls.every((c) => c.conv === k.conv2d_forward) && cutByChannels(packedTotal, g.m * Hz * Wz * g.N * sz, blocks);
    for (const { h, w, pack, packed } of calls) {
      packFilterFor(rt, op, k, pack, byChannels, off(W), packed, h.taps, w.taps, g.N, g.C,
        ((g.fH - 1 - h.firstTap) * g.fW + (g.fW - 1 - w.firstTap)) * tap, -g.sH * g.fW * tap, -g.sW * tap, sz, g.N * sz);
    }
    const parts = taskCount(rt.threads, work, byChannels ? blocks : g.m * g.H * g.W, TASKS_PER_THREAD, MIN_CONV_TASK_WORK);
    const starts = (c: (typeof calls)[number]) => ({
      x: dzp + ((topH + c.h.dzStart) * Wz + (topW + c.w.dzStart)) * g.N * sz,
      z: off(dA) + (c.h.outStart * g.W + c.w.outStart) * pix,
    });
    // one class's convolution over `rows` x `cols` of its pixels from (r0, c0) on, of `channels`
    // channels. Where its windows reach into dzp's zero border, the GEMM kernel is told which rows
    // and columns hold dZ, and skips the taps that read only border; else (and for the
    // dot-product kernel) the plain convolution, which reads the border's zeros
    const convolveClass = (add: AddTask, c: (typeof calls)[number], x: number, packed: number, bias: number, z: number,
      m: number, r0: number, rows: number, c0: number, cols: number, channels: number) => {
      const { h, w } = c, zPix = g.sW * pix, zRow = g.sH * g.W * pix, zImage = g.H * g.W * pix;
      const rowFirst = -h.dzStart - r0, rowEnd = g.nH - h.dzStart - r0, colFirst = -w.dzStart - c0, colEnd = g.nW - w.dzStart - c0;
      const border = rowFirst > 0 || rowEnd < rows - 1 + h.taps || colFirst > 0 || colEnd < cols - 1 + w.taps;
      if (c.conv === k.conv2d_forward && border) {
        add(k.conv2d_backward_input, x, packed, bias, z, m, Hz, Wz, g.N, h.taps, w.taps, rows, cols, channels, zPix, zRow, zImage,
          rowFirst, rowEnd, colFirst, colEnd);
      } else {
        add(c.conv, x, packed, bias, z, m, Hz, Wz, g.N, h.taps, w.taps, 1, 1, rows, cols, channels, zPix, zRow, zImage, 0);
      }
    };
    flagged = rt.job(op, parts, (add) => {
      if (byChannels) {
        for (const c of calls) {
          const { x, z } = starts(c), { h, w } = c;
          const blockBytes = h.taps * w.taps * g.N * nr * sz;
          splitElements(parts, blocks, 1, (b0, count) => convolveClass(add, c, x, c.packed + b0 * blockBytes, pb + b0 * nr * sz, z + b0 * nr * sz,
            g.m, 0, h.count, 0, w.count, Math.min(g.C - b0 * nr, count * nr)));
        }
        return;
      }
      // regions of dA (images, or rows of an image), each a run of tasks, one per class, over the
      // class's pixels in it: the classes write interleaved pixels of the same rows, and a region's
      // tasks are mostly dealt to one thread (threads.ts), so two threads seldom write one cache
      // line at once. Many classes (a large stride: 256 for a 16x16 patch at stride 16) take fewer
      // regions, so the job stays within what the pool holds.
      const first = (start: number, s: number, at: number) => Math.max(0, Math.ceil((at - start) / s));
      const regions = Math.min(parts, Math.max(1, Math.floor(MAX_TASKS / (2 * calls.length))));
      splitRegions(regions, g.m, g.H, g.W, (n0, count, r0, r1, c0, c1) => {
        for (const c of calls) {
          const { x, z } = starts(c), { h, w } = c;
          const kr0 = first(h.outStart, g.sH, r0), kr1 = Math.min(h.count, first(h.outStart, g.sH, r1));
          const kc0 = first(w.outStart, g.sW, c0), kc1 = Math.min(w.count, first(w.outStart, g.sW, c1));
          if (kr1 <= kr0 || kc1 <= kc0) continue;
          convolveClass(add, c, x + ((n0 * Hz + kr0) * Wz + kc0) * g.N * sz, c.packed, pb, z + ((n0 * g.H + kr0 * g.sH) * g.W + kc0 * g.sW) * pix,
            count, kr0, kr1 - kr0, kc0, kc1 - kc0, g.C);
        }
      });
    });
  });
  if (flagged) redoInputGradient(rt, g, dZ, W, dA);
}

export function dot(rt: WasmRuntime, a: TensorParts, W: TensorParts, bias: number): number {
  const v = rt.kernels(a.dtype).dot(off(a), off(W), a.size, bias);
  return Number.isFinite(v) ? v : jsDot(a, W, bias);
}

/**
 * The zeroPad op: its tasks take at least twice the work of the paddings inside an op (whose shares
 * the same threads read next), so it is cut from 256 kB written. Measured here, 2 threads against 1
 * (float32 unless said, padding 1 unless said, kB written): cut as those paddings are (from 128 kB,
 * up to 6 tasks), 8x32x32x3 float64 (217 kB) took 0.85x, 2x16x16x64 (162 kB) 0.87x, 1x14x14x256
 * (256 kB) 0.95x; cut as here, 1x14x14x256 1.33x, 4x16x16x64 (324 kB) 1.48x, 1x28x28x128 with no
 * padding (392 kB) 1.57x, 4x16x16x64 float64 (648 kB) 1.79x.
 */
export function zeroPad(rt: WasmRuntime, X: TensorParts, out: TensorParts, top: number, left: number): void {
  const [m, H, W, C] = X.shape as [number, number, number, number];
  const [, Hp, Wp] = out.shape as [number, number, number, number];
  padImages(rt, 'zeroPad', off(X), off(out), m, H, W, C * bytesOf(X), Hp, Wp, top, left, 2 * MIN_TASK_WORK);
}
