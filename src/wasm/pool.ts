// Pooling on the wasm kernels (assembly/pool.ts): one call each way. An average that overflows the
// dtype's range in the kernel's sum, or a gradient sum that does, is done again exactly (redo.ts).
import type { PoolGeometry } from '../ops/pool.js';
import type { TensorParts } from '../tensor.js';
import { redoPoolBackward, redoPoolForward } from './redo.js';
import type { WasmRuntime } from './runtime.js';

const off = (t: TensorParts) => t.storage.offset;

export function poolForward(rt: WasmRuntime, g: PoolGeometry, A: TensorParts, out: TensorParts): void {
  const flagged = rt.kernels(g.dtype).pool_forward(off(A), off(out), g.m, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, g.mode === 'max' ? 1 : 0);
  if (flagged && g.mode === 'average') redoPoolForward(rt, g, A, out);
}

export function poolBackward(rt: WasmRuntime, g: PoolGeometry, A: TensorParts, dA: TensorParts, dAPrev: TensorParts, firstOnly: boolean): void {
  const flagged = rt.kernels(g.dtype).pool_backward(off(A), off(dA), off(dAPrev), g.m, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW,
    g.mode === 'max' ? 1 : 0, firstOnly ? 1 : 0);
  if (flagged) redoPoolBackward(rt, g, A, dA, dAPrev, firstOnly);
}

export function mask(rt: WasmRuntime, x: TensorParts, out: TensorParts): void {
  rt.kernels(x.dtype).mask_from_window(off(x), off(out), x.size);
}
