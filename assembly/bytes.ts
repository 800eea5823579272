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
