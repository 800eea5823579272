// Optimizer steps on the wasm kernels (assembly/optimizers.ts), one call per parameter tensor.
import type { AdamStep } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { WasmRuntime } from './runtime.js';
import { ADAM_MIN_TASK_WORK, ADAM_WEIGHT } from './split.js';

const off = (t: TensorParts) => t.storage.offset;

const bytes = (t: TensorParts) => (t.dtype === 'float32' ? 4 : 8);

// elementwise: large parameters are split over the threads in ranges of whole blocks
export function sgd(rt: WasmRuntime, p: TensorParts, g: TensorParts, lr: number): void {
  const k = rt.kernels(p.dtype), sz = bytes(p);
  rt.elementwise('sgd', p.size, (add, i, n) => add(k.sgd, off(p) + i * sz, off(g) + i * sz, n, lr));
}

export function sgdMomentum(rt: WasmRuntime, p: TensorParts, g: TensorParts, v: TensorParts, lr: number, momentum: number): void {
  const k = rt.kernels(p.dtype), sz = bytes(p);
  rt.elementwise('sgd', p.size, (add, i, n) => add(k.sgd_momentum, off(p) + i * sz, off(g) + i * sz, off(v) + i * sz, n, lr, momentum));
}

export function adam(rt: WasmRuntime, p: TensorParts, g: TensorParts, m: TensorParts, v: TensorParts, s: AdamStep): void {
  const k = rt.kernels(p.dtype), sz = bytes(p);
  rt.elementwise('adam', p.size, (add, i, n) =>
    add(k.adam, off(p) + i * sz, off(g) + i * sz, off(m) + i * sz, off(v) + i * sz, n, s.lr, s.beta1, s.beta2, s.epsilon, s.c1, s.c2), ADAM_WEIGHT, ADAM_MIN_TASK_WORK);
}
