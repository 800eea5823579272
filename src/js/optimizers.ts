// The reference optimizer steps: each element's update in float64, rounded once when stored; a
// moment is read back from its tensor (rounded) before the parameter's update uses it, as
// TensorFlow.js does with its moment variables.
import type { AdamStep } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import type { TypedArray } from '../types.js';

export function sgd(P: TensorParts, G: TensorParts, lr: number): void {
  const p = P.storage.view(), g = G.storage.view();
  for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * g[i]!;
}

/** Element i of a momentum step (the 'wasm' backend redoes an element this way when its result is not finite). */
export function sgdMomentumAt(p: TypedArray, g: TypedArray, v: TypedArray, lr: number, momentum: number, i: number): void {
  v[i] = momentum * v[i]! + g[i]!;
  p[i] = p[i]! - lr * v[i]!;
}

export function sgdMomentum(P: TensorParts, G: TensorParts, V: TensorParts, lr: number, momentum: number): void {
  const p = P.storage.view(), g = G.storage.view(), v = V.storage.view();
  for (let i = 0; i < p.length; i++) sgdMomentumAt(p, g, v, lr, momentum, i);
}

/** Element i of an Adam step. */
export function adamAt(p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, s: AdamStep, i: number): void {
  m[i] = s.beta1 * m[i]! + (1 - s.beta1) * g[i]!;
  v[i] = s.beta2 * v[i]! + (1 - s.beta2) * (g[i]! * g[i]!);
  const mHat = m[i]! / s.c1, vHat = v[i]! / s.c2;
  p[i] = p[i]! + (mHat / (Math.sqrt(vHat) + s.epsilon)) * -s.lr;
}

export function adam(P: TensorParts, G: TensorParts, M: TensorParts, V: TensorParts, s: AdamStep): void {
  const p = P.storage.view(), g = G.storage.view(), m = M.storage.view(), v = V.storage.view();
  for (let i = 0; i < p.length; i++) adamAt(p, g, m, v, s, i);
}
