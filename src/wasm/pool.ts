// Pooling on the wasm kernels (assembly/pool.ts): one call each way. An average that overflows the
// dtype's range in the kernel's sum, or a gradient sum that does, is done again exactly (redo.ts).
import type { PoolGeometry } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import { redoPoolBackward, redoPoolForward } from './redo.js';
import type { WasmRuntime } from './runtime.js';
import { part, POOL_BACKWARD_WEIGHT, POOL_FORWARD_WEIGHT, splitPixels, taskCount } from './split.js';

const off = (t: TensorParts) => t.storage.offset;

/** Work of a pooling pass: every window element of every output, or every input element if more. */
const poolWork = (g: PoolGeometry) => Math.max(g.m * g.nH * g.nW * g.fH * g.fW, g.m * g.H * g.W) * g.C;

/** Threads: over groups of images, or over rows of output of each image (a task reads only its windows' rows). */
export function poolForward(rt: WasmRuntime, g: PoolGeometry, A: TensorParts, out: TensorParts): void {
  const k = rt.kernels(g.dtype);
  const sz = g.dtype === 'float32' ? 4 : 8;
  const parts = taskCount(rt.threads, POOL_FORWARD_WEIGHT * poolWork(g), g.m * g.nH);
  const pix = g.C * sz;
  const steps = { xImage: g.H * g.W * pix, xRow: g.sH * g.W * pix, xPixel: g.sW * pix, zImage: g.nH * g.nW * pix, zRow: g.nW * pix, zPixel: pix };
  const isMax = g.mode === 'max' ? 1 : 0;
  const flagged = parts <= 1
    ? (rt.work.kernelCalls++, k.pool_forward(off(A), off(out), g.m, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, isMax))
    : rt.job('poolForward', parts, (add) => splitPixels(parts, g.m, g.nH, g.nW, steps, (dx, dz, m, nH, nW) =>
      add(k.pool_forward, off(A) + dx, off(out) + dz, m, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, nH, nW, isMax)));
  if (flagged && g.mode === 'average') redoPoolForward(rt, g, A, out);
}

/**
 * Threads: over groups of images, or over bands of rows of each image's dA_prev. A band begins where
 * an output row's windows begin; a task writes just its band (zeroed first, unless the windows tile
 * dA_prev exactly), from every window reaching it, windows that overlap two bands being read by both
 * tasks, so each value receives the same sums in the same order as in one call.
 */
export function poolBackward(rt: WasmRuntime, g: PoolGeometry, A: TensorParts, dA: TensorParts, dAPrev: TensorParts, firstOnly: boolean): void {
  const k = rt.kernels(g.dtype);
  const sz = g.dtype === 'float32' ? 4 : 8;
  const pix = g.C * sz, xImage = g.H * g.W * pix, zImage = g.nH * g.nW * pix;
  const isMax = g.mode === 'max' ? 1 : 0, first = firstOnly ? 1 : 0;
  const parts = taskCount(rt.threads, POOL_BACKWARD_WEIGHT * poolWork(g), g.m * g.nH);
  const flagged = rt.job('poolBackward', parts, (add) => {
    if (parts <= 1 || parts <= g.m) {
      for (let i = 0; i < parts; i++) {
        const [a, b] = part(g.m, parts, i);
        add(k.pool_backward, off(A) + a * xImage, off(dA) + a * zImage, off(dAPrev) + a * xImage, b - a, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, isMax, first, 0, g.H);
      }
      return;
    }
    const pieces = Math.min(Math.ceil(parts / g.m), g.nH);
    for (let n = 0; n < g.m; n++) {
      for (let i = 0; i < pieces; i++) {
        const [a, b] = part(g.nH, pieces, i);
        const r1 = i === pieces - 1 ? g.H : b * g.sH;
        add(k.pool_backward, off(A) + n * xImage, off(dA) + n * zImage, off(dAPrev) + n * xImage, 1, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, isMax, first, a * g.sH, r1);
      }
    }
  });
  if (flagged) redoPoolBackward(rt, g, A, dA, dAPrev, firstOnly);
}

export function mask(rt: WasmRuntime, x: TensorParts, out: TensorParts): void {
  rt.kernels(x.dtype).mask_from_window(off(x), off(out), x.size);
}
