// Shapes at the edges of the kernels' register tiles: the conv micro-kernel covers 4 output pixels x
// 2 vectors of output channels (8 float32 or 4 float64), the filter-gradient tile 4 input channels.
// Sizes tile-1, tile, tile+1, 2*tile-1, 2*tile and 2*tile+1 exercise every full tile and every tail.
import { beforeAll, describe, it } from 'vitest';
import type { Backend, DType } from '../../src/index.js';
import { expectExact, kernelExports, makeBackends, rng } from '../helpers.js';
import { compareConv } from './compare.js';

let wasm: Backend, js: Backend;
beforeAll(async () => ({ wasm, js } = await makeBackends()));

const around = (tile: number) => [tile - 1, tile, tile + 1, 2 * tile - 1, 2 * tile, 2 * tile + 1];
const PIXEL_TILE = 4;
const CHANNEL_TILE: Record<DType, number> = { float32: 8, float64: 4 };
const FILTER_CHANNEL_TILE = 4;

describe.each<DType>(['float32', 'float64'])('tile edges, %s', (dtype) => {
  it.each(around(PIXEL_TILE))('%i output pixels per row, every output-channel tail', (nW) => {
    around(CHANNEL_TILE[dtype]).forEach((N, i) => {
      const C = around(FILTER_CHANNEL_TILE)[i]!;
      // stride 1, pad 1, 3x3: the output width equals the input width
      compareConv(wasm, js, { m: 2, H: 3, W: nW, C, N, fH: 3, fW: 3, sH: 1, sW: 1, padH: 1, padW: 1, dtype, seed: nW * 100 + N });
      // stride 2: output width nW from input width 2*nW - 1
      compareConv(wasm, js, { m: 1, H: 5, W: 2 * nW - 1, C, N, fH: 3, fW: 3, sH: 2, sW: 2, padH: 1, padW: 1, dtype, seed: nW * 1000 + N });
    });
  });
});

// conv2dForward takes output-channel blocks in chunks of 512 KiB of packed filter (FILTER_CHUNK_BYTES
// in assembly/conv.ts): a filter of 3x3x64x256 float32 (576 KiB) spans two chunks, float64 several
describe.each<DType>(['float32', 'float64'])('a filter larger than one chunk, %s', (dtype) => {
  it('3x3x64 to 256 and to 250 channels, forward and backward', () => {
    for (const N of [256, 250]) {
      compareConv(wasm, js, { m: 1, H: 3, W: 4, C: 64, N, fH: 3, fW: 3, sH: 1, sW: 1, padH: 1, padW: 1, dtype, seed: N });
    }
  });
});

// Few output channels (no more than one vector) with window rows of whole vectors take the
// dot-product kernel (conv2dForwardDot): 2 channels per pass and a 1-channel pass for an odd count,
// 4 pixels per step with the last group repeating its final pixel. The input gradient of a layer
// with few input channels takes it as well (its output channels are the layer's input channels).
describe.each<DType>(['float32', 'float64'])('few output channels, %s', (dtype) => {
  const lanes = dtype === 'float32' ? 4 : 2;
  it.each(around(PIXEL_TILE))('%i output pixels per row, 1 to one vector of channels', (nW) => {
    for (let N = 1; N <= lanes; N++) {
      // 3x3 windows of C = 4 channels: rows of 12 values, whole vectors of either dtype
      compareConv(wasm, js, { m: 2, H: 3, W: nW, C: 4, N, fH: 3, fW: 3, sH: 1, sW: 1, padH: 1, padW: 1, dtype, seed: nW * 10 + N });
      // 1x1 windows
      compareConv(wasm, js, { m: 1, H: 2, W: nW, C: 2 * lanes, N, fH: 1, fW: 1, sH: 1, sW: 1, padH: 0, padW: 0, dtype, seed: nW * 20 + N });
      // a layer with N input channels, 2x2 windows at stride 2: each residue of its input gradient
      // is a 1x1 convolution to N channels
      compareConv(wasm, js, { m: 1, H: 4, W: 2 * nW, C: N, N: 2 * lanes, fH: 2, fW: 2, sH: 2, sW: 2, padH: 0, padW: 0, dtype, seed: nW * 30 + N });
    }
  });
});

// Between one and 4 vectors of output channels, where the GEMM's blocks of 2 vectors would run
// part empty (not a multiple of 2 vectors), window rows of 16 vectors or more take the dot-product
// kernel too; shorter rows, and channel counts that fill the blocks, stay on the GEMM.
describe.each<DType>(['float32', 'float64'])('up to 4 vectors of output channels, %s', (dtype) => {
  const lanes = dtype === 'float32' ? 4 : 2;
  it.each(around(PIXEL_TILE))('%i output pixels per row, long and short window rows', (nW) => {
    for (let N = lanes + 1; N < 4 * lanes; N++) {
      // 3x3 windows of 16 / 3 vectors of channels, rounded up: rows of at least 16 vectors
      const C = Math.ceil((16 * lanes) / 3);
      compareConv(wasm, js, { m: 2, H: 3, W: nW, C, N, fH: 3, fW: 3, sH: 1, sW: 1, padH: 1, padW: 1, dtype, seed: nW * 40 + N });
      // 1x1 windows of 16 vectors, and of one vector (GEMM)
      compareConv(wasm, js, { m: 1, H: 2, W: nW, C: 16 * lanes, N, fH: 1, fW: 1, sH: 1, sW: 1, padH: 0, padW: 0, dtype, seed: nW * 50 + N });
      compareConv(wasm, js, { m: 1, H: 2, W: nW, C: lanes, N, fH: 1, fW: 1, sH: 1, sW: 1, padH: 0, padW: 0, dtype, seed: nW * 60 + N });
    }
  });
});

// A layer of fewer input channels than a filter-gradient block (C = 1, 2, 3: grey and RGB inputs)
// takes its filter gradient from the unpacked input (conv2dBackwardFilterRows): a tile is 4 of a
// window row's fW x C values, so window rows of 3 to 10 values meet every tail a tile of C can have.
// Strides, four-sided 'same' padding and a stride larger than the window (the gathered input) too.
describe.each<DType>(['float32', 'float64'])('filter gradient of few input channels, %s', (dtype) => {
  it.each([1, 2, 3])('C = %i, window rows at the edges of a 4-value tile, every output-channel tail', (C) => {
    const fWs = [...new Set(around(FILTER_CHANNEL_TILE).map((values) => Math.max(1, Math.round(values / C))))];
    around(CHANNEL_TILE[dtype]).forEach((N, i) => {
      for (const fW of fWs) {
        const seed = C * 1000 + fW * 100 + N;
        compareConv(wasm, js, { m: 2, H: 5, W: fW + 3, C, N, fH: 2, fW, sH: 1, sW: 1, padH: 0, padW: 0, dtype, seed });
        compareConv(wasm, js, { m: 1, H: 6, W: fW + 5, C, N, fH: 3, fW, sH: 2, sW: 1 + (i % 3), padH: 0, padW: 0, padding: 'same', dtype, seed: seed + 1 });
        compareConv(wasm, js, { m: 2, H: 7, W: 3 * fW + 4, C, N, fH: 2, fW, sH: 3, sW: fW + 2, padH: 1, padW: 1, dtype, seed: seed + 2 });
      }
    });
  });
});

// Where dW and db are small beside the tensors summed over, the filter gradient sums pieces of the
// output rows apart and adds them in order (filterPieces in src/wasm/conv.ts: 2 to 16 pieces by the
// shapes): 41-row images of 37 pixels put the pieces' edges inside images and inside the kernels'
// chunks of rows, for both kernels (C < 4 from the unpacked input, and blocks of 4 channels with a
// tail, read where they lie or, above 8 channels, from a packed copy) and output-channel tails.
describe.each<DType>(['float32', 'float64'])('filter gradient in pieces of the output rows, %s', (dtype) => {
  it.each([1, 3, 5, 12])('C = %i', (C) => {
    for (const N of [CHANNEL_TILE[dtype] + 1, 2 * CHANNEL_TILE[dtype] - 1]) {
      compareConv(wasm, js, { m: 3, H: 41, W: 37, C, N, fH: 3, fW: 3, sH: 1, sW: 1, padH: 1, padW: 1, dtype, seed: C * 100 + N });
    }
  });
});

// The input gradient's kernel (conv2dBackwardInput) is told which rows and columns of its zero-
// bordered dZ hold values, and a tile of 4 pixels skips the taps that read only border there. That
// must give the bits of summing every tap (conv2dForward over the same memory): a zero times a
// finite tap adds +0 or -0 to a sum that starts at +0 and so is never -0. Borders from 0 to 4 wide
// on each side, tiles across rows and images, dZ with zeros and negative zeros inside.
describe.each<DType>(['float32', 'float64'])('the input gradient skips taps that read only the zero border, %s', (dtype) => {
  it('same bits as summing every tap, borders 0 to 4 wide, tiles across rows and images', async () => {
    const memory = new WebAssembly.Memory({ initial: 64 });
    const k = await kernelExports(memory);
    const p = dtype === 'float32' ? 'f32_' : 'f64_', sz = dtype === 'float32' ? 4 : 8;
    const rand = rng(dtype === 'float32' ? 5 : 6);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    for (let c = 0; c < 40; c++) {
      const fH = int(1, 5), fW = int(1, 5), C = int(1, 19), N = int(1, 19), m = int(1, 3);
      // dZ rows [top, top + h) and columns [left, left + w) of an H x W image; the rest zeros
      const h = int(1, 9), w = int(1, 9), top = int(0, fH - 1), left = int(0, fW - 1);
      const H = top + h + int(0, fH - 1), W = left + w + int(0, fW - 1);
      if (H < fH || W < fW) continue;
      const nH = H - fH + 1, nW = W - fW + 1;
      const view = (at: number, n: number) => (dtype === 'float32' ? new Float32Array(memory.buffer, at, n) : new Float64Array(memory.buffer, at, n));
      const x = 1 << 20, wt = x + m * H * W * C * sz + 64, pw = wt + fH * fW * C * N * sz + 64;
      const pb = pw + fH * fW * C * (N + 8) * sz + 64, z1 = pb + (N + 8) * sz + 64, z2 = z1 + m * nH * nW * N * sz + 64;
      const xs = view(x, m * H * W * C);
      xs.fill(0);
      for (let n = 0; n < m; n++)
        for (let r = top; r < top + h; r++)
          for (let col = left; col < left + w; col++)
            for (let ch = 0; ch < C; ch++) {
              const u = rand();
              xs[((n * H + r) * W + col) * C + ch] = u < 0.1 ? 0 : u < 0.2 ? -0 : u - 0.5;
            }
      view(wt, fH * fW * C * N).set(Array.from({ length: fH * fW * C * N }, () => rand() - 0.5));
      const tap = C * N * sz;
      k[`${p}pack_filter`]!(wt, pw, fH, fW, C, N, 0, fW * tap, tap, N * sz, sz);
      k[`${p}pack_bias`]!(0, pb, N);
      const pix = N * sz, label = `${m}x${H}x${W}x${C} f${fH}x${fW} -> ${N}, values in rows [${top}, ${top + h}), columns [${left}, ${left + w})`;
      const every = k[`${p}conv2d_forward`]!(x, pw, pb, z1, m, H, W, C, fH, fW, 1, 1, nH, nW, N, pix, nW * pix, nH * nW * pix, 0);
      const skipping = k[`${p}conv2d_backward_input`]!(x, pw, pb, z2, m, H, W, C, fH, fW, nH, nW, N, pix, nW * pix, nH * nW * pix, top, top + h, left, left + w);
      expectExact(view(z2, m * nH * nW * N), view(z1, m * nH * nW * N), label);
      if (skipping !== every) throw new Error(`${label}: flag ${skipping}, summing every tap ${every}`);
      // all border: dZ's columns (or rows) said to lie wholly before x's, x all zeros; every value is the bias, +0
      xs.fill(0);
      k[`${p}conv2d_backward_input`]!(x, pw, pb, z2, m, H, W, C, fH, fW, nH, nW, N, pix, nW * pix, nH * nW * pix, top, top + h, -3, -1);
      k[`${p}conv2d_backward_input`]!(x, pw, pb, z1, m, H, W, C, fH, fW, nH, nW, N, pix, nW * pix, nH * nW * pix, -3, -1, left, left + w);
      const zeros = new Array<number>(m * nH * nW * N).fill(0);
      expectExact(view(z2, zeros.length), zeros, `${label}, columns before x`);
      expectExact(view(z1, zeros.length), zeros, `${label}, rows before x`);
    }
  });
});
