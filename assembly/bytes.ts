// Dtype-agnostic data movement: zero padding (with optional dilation).
// Sizes are in bytes per pixel, so one kernel serves f32 and f64.

/**
 * Writes x (m, H, W, pixel) into out (m, outH, outW, pixel) at row padTop + h*dilH, column
 * padLeft + w*dilW; every other byte of out becomes 0.
 * REQUIRES: padTop + (H-1)*dilH < outH, padLeft + (W-1)*dilW < outW; x and out do not overlap.
 */
export function padDilate(
  x: usize, out: usize, m: i32, H: i32, W: i32, pixelBytes: i32,
  outH: i32, outW: i32, padTop: i32, padLeft: i32, dilH: i32, dilW: i32,
): void {
  const outBytes = <usize>m * <usize>outH * <usize>outW * <usize>pixelBytes;
  memory.fill(out, 0, outBytes);
  const rowBytes = <usize>W * <usize>pixelBytes;
  const outRowBytes = <usize>outW * <usize>pixelBytes;
  const pix = <usize>pixelBytes;
  for (let n = 0; n < m; n++) {
    const outImage = out + <usize>n * <usize>outH * outRowBytes;
    for (let h = 0; h < H; h++) {
      const src = x + (<usize>n * <usize>H + <usize>h) * rowBytes;
      const dst = outImage + <usize>(padTop + h * dilH) * outRowBytes + <usize>padLeft * pix;
      if (dilW == 1) {
        memory.copy(dst, src, rowBytes);
      } else {
        const step = <usize>dilW * pix;
        for (let w = 0; w < W; w++) {
          memory.copy(dst + <usize>w * step, src + <usize>w * pix, pix);
        }
      }
    }
  }
}
