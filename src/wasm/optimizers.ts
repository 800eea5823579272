// Optimizer steps on the wasm kernels (assembly/optimizers.ts), one call per parameter tensor.
import type { AdamStep } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { WasmRuntime } from './runtime.js';

const off = (t: TensorParts) => t.storage.offset;

export function sgd(rt: WasmRuntime, p: TensorParts, g: TensorParts, lr: number): void {
  rt.kernels(p.dtype).sgd(off(p), off(g), p.size, lr);
}

export function sgdMomentum(rt: WasmRuntime, p: TensorParts, g: TensorParts, v: TensorParts, lr: number, momentum: number): void {
  rt.kernels(p.dtype).sgd_momentum(off(p), off(g), off(v), p.size, lr, momentum);
}

export function adam(rt: WasmRuntime, p: TensorParts, g: TensorParts, m: TensorParts, v: TensorParts, s: AdamStep): void {
  rt.kernels(p.dtype).adam(off(p), off(g), off(m), off(v), p.size, s.lr, s.beta1, s.beta2, s.epsilon, s.c1, s.c2);
}
