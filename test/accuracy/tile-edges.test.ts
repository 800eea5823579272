// Shapes at the edges of the kernels' register tiles: the conv micro-kernel covers 4 output pixels x
// 2 vectors of output channels (8 float32 or 4 float64), the filter-gradient tile 4 input channels.
// Sizes tile-1, tile, tile+1, 2*tile-1, 2*tile and 2*tile+1 exercise every full tile and every tail.
import { beforeAll, describe, it } from 'vitest';
import type { Backend, DType } from '../../src/index.js';
import { makeBackends } from '../helpers.js';
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
