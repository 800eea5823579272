// Dense layers on the wasm kernels: Z = X W + b is a 1x1 convolution over m pixels of k channels to
// n channels, and its gradients are that convolution's. The conv kernels (conv.ts) run it; their
// redo of non-finite results computes the same sums, in the same order, as src/js/dense.ts.
import type { ConvGeometry } from '../ops/conv.js';
import type { DenseGeometry } from '../ops/dense.js';
import type { DenseGradients } from '../ops/kernels.js';
import type { TensorParts } from '../tensor.js';
import { convBackward, convForward } from './conv.js';
import type { WasmRuntime } from './runtime.js';

/** The 1x1 convolution over one row of m pixels that a dense layer is. */
function pointwise(g: DenseGeometry): ConvGeometry {
  return {
    dtype: g.dtype, m: 1, H: 1, W: g.m, C: g.k, fH: 1, fW: 1, N: g.n, sH: 1, sW: 1,
    padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, Hp: 1, Wp: g.m, nH: 1, nW: g.m, activation: g.activation,
  };
}

export function denseForward(rt: WasmRuntime, g: DenseGeometry, X: TensorParts, W: TensorParts, b: TensorParts, Z: TensorParts): void {
  convForward(rt, pointwise(g), X, W, b, Z);
}

export function denseBackward(rt: WasmRuntime, g: DenseGeometry, dZ: TensorParts, X: TensorParts, W: TensorParts, grads: DenseGradients): void {
  convBackward(rt, pointwise(g), dZ, X, W, { dA: grads.dX, dW: grads.dW, db: grads.db });
}
