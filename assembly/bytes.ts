// Dtype-agnostic data movement. Sizes are in bytes per pixel, so one kernel serves f32 and f64.

/**
 * Writes x (m, H, W, pixel) into out (m, outH, outW, pixel) at row top, column left, and zeros
 * everywhere else: each byte of out is written once (the border zeroed, the interior copied).
 * REQUIRES: top + H <= outH, left + W <= outW; x and out do not overlap.
 */
export function zeroPad(
  x: usize, out: usize, m: i32, H: i32, W: i32, pixelBytes: i32,
  outH: i32, outW: i32, top: i32, left: i32,
): void {
  const pix = <usize>pixelBytes;
  const rowBytes = <usize>W * pix;
  const outRowBytes = <usize>outW * pix;
  const leftBytes = <usize>left * pix;
  const rightBytes = outRowBytes - leftBytes - rowBytes;
  const bottom = outH - top - H;
  let src = x, dst = out;
  for (let n = 0; n < m; n++) {
    memory.fill(dst, 0, <usize>top * outRowBytes);
    dst += <usize>top * outRowBytes;
    for (let h = 0; h < H; h++) {
      memory.fill(dst, 0, leftBytes);
      memory.copy(dst + leftBytes, src, rowBytes);
      memory.fill(dst + leftBytes + rowBytes, 0, rightBytes);
      src += rowBytes;
      dst += outRowBytes;
    }
    memory.fill(dst, 0, <usize>bottom * outRowBytes);
    dst += <usize>bottom * outRowBytes;
  }
}

/**
 * Writes x (m, H, W, pixelBytes) in channel blocks: out[b][n][oh][ow][blockBytes], where block b
 * holds bytes [b*blockBytes, (b+1)*blockBytes) of a pixel (zeros past pixelBytes), and each image
 * sits at row top, column left of an outH x outW grid with a zero border. A kernel that reads a
 * few channels of many pixels then reads contiguous memory. Reads x once, in order; writes each
 * byte of out once.
 * Blocks lie `stride` bytes apart (0: m * outH * outW * blockBytes, these images alone), so that
 * threads can each write some of the images, a band of an image's rows (the first band with the
 * zero rows above, the last with those below), or some of the pixels of a single row, of one layout.
 * REQUIRES: blockBytes a multiple of 16, pixelBytes a multiple of 4; top + H <= outH,
 * left + W <= outW; out holds ceil(pixelBytes / blockBytes) blocks of stride bytes.
 */
export function packBlocks(
  x: usize, out: usize, m: i32, H: i32, W: i32, pixelBytes: i32, blockBytes: i32,
  outH: i32, outW: i32, top: i32, left: i32, stride: usize,
): void {
  const blk = <usize>blockBytes;
  const full = pixelBytes / blockBytes; // blocks whose bytes all come from x
  const tailBytes = <usize>(pixelBytes - full * blockBytes);
  const blocks = full + (tailBytes > 0 ? 1 : 0);
  const blockStride = stride != 0 ? stride : <usize>m * <usize>outH * <usize>outW * blk;
  const zero = v128.splat<i32>(0);
  let src = x, dst = out;
  for (let n = 0; n < m; n++) {
    for (let oh = 0; oh < outH; oh++) {
      if (oh < top || oh >= top + H) {
        zeroPixels(dst, outW, blk, blocks, blockStride, zero);
        dst += <usize>outW * blk;
        continue;
      }
      zeroPixels(dst, left, blk, blocks, blockStride, zero);
      dst += <usize>left * blk;
      for (let ow = 0; ow < W; ow++) {
        let d = dst;
        for (let b = 0; b < full; b++) {
          if (blk == 16) {
            v128.store(d, v128.load(src));
          } else {
            for (let k: usize = 0; k < blk; k += 16) v128.store(d + k, v128.load(src + k));
          }
          src += blk;
          d += blockStride;
        }
        if (tailBytes > 0) {
          for (let k: usize = 0; k < blk; k += 16) v128.store(d + k, zero);
          for (let k: usize = 0; k < tailBytes; k += 4) store<u32>(d + k, load<u32>(src + k));
          src += tailBytes;
        }
        dst += blk;
      }
      const right = outW - left - W;
      zeroPixels(dst, right, blk, blocks, blockStride, zero);
      dst += <usize>right * blk;
    }
  }
}

/** Zeros `count` pixels of every block from dst on. */
// @ts-ignore: decorator
@inline function zeroPixels(dst: usize, count: i32, blk: usize, blocks: i32, blockStride: usize, zero: v128): void {
  const bytes = <usize>count * blk;
  for (let b = 0; b < blocks; b++) {
    const d = dst + <usize>b * blockStride;
    for (let k: usize = 0; k < bytes; k += 16) v128.store(d + k, zero);
  }
}

/**
 * out[n][r][c] = x[n][rows[r]][cols[c]], whole pixels of pixelBytes; zeros where rows[r] or cols[c]
 * is -1. rows (outH values) and cols (outW values) are i32 arrays. The padded input of a convolution
 * whose stride exceeds its filter is gathered this way: only the rows and columns windows read.
 * REQUIRES: every index in rows is -1 or in [0, H), in cols -1 or in [0, W); pixelBytes a multiple of 4.
 */
export function gatherPixels(
  x: usize, out: usize, m: i32, H: i32, W: i32, pixelBytes: i32,
  rows: usize, outH: i32, cols: usize, outW: i32,
): void {
  const pix = <usize>pixelBytes;
  const rowBytes = <usize>W * pix;
  let dst = out;
  for (let n = 0; n < m; n++) {
    const image = x + <usize>n * <usize>H * rowBytes;
    for (let r = 0; r < outH; r++) {
      const h = load<i32>(rows + (<usize>r << 2));
      if (h < 0) {
        memory.fill(dst, 0, <usize>outW * pix);
        dst += <usize>outW * pix;
        continue;
      }
      const row = image + <usize>h * rowBytes;
      for (let c = 0; c < outW; c++) {
        const w = load<i32>(cols + (<usize>c << 2));
        if (w < 0) memory.fill(dst, 0, pix);
        else memory.copy(dst, row + <usize>w * pix, pix);
        dst += pix;
      }
    }
  }
}

/**
 * A 32-bit fingerprint of a sample of the bits of `bytes` bytes at p (a multiple of 4): at most 64
 * vectors of 16 bytes spread evenly over them, and the last words, through a polynomial hash. It
 * tells only that the bytes have most likely not changed since an earlier call, where every value
 * changes or none does (a filter a training step updates, or one left alone): two different inputs
 * may well share one.
 */
export function fingerprint(p: usize, bytes: usize): i32 {
  const K = i32x4.splat(0x01000193);
  let h = i32x4(-2128831035, 0x2545f491, -1640531527, 0x7f4a7c15);
  const vectors = bytes >> 4;
  const step = vectors > 64 ? (vectors >> 6) << 4 : 16;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += step) h = i32x4.add(i32x4.mul(h, K), v128.load(p + i));
  let out = <i32>bytes;
  out = out * 0x01000193 ^ i32x4.extract_lane(h, 0);
  out = out * 0x01000193 ^ i32x4.extract_lane(h, 1);
  out = out * 0x01000193 ^ i32x4.extract_lane(h, 2);
  out = out * 0x01000193 ^ i32x4.extract_lane(h, 3);
  for (let j = vectors << 4; j < bytes; j += 4) out = out * 0x01000193 ^ load<i32>(p + j);
  return out;
}
