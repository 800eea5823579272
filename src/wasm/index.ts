// The 'wasm' backend's kernels: each op family's file turns the geometry into kernel calls with byte
// offsets into the runtime's memory.
import type { Kernels } from '../ops/kernels.js';
import { convBackward, convForward, dot, zeroPad } from './conv.js';
import { denseBackward, denseForward } from './dense.js';
import { softmax, softmaxCrossEntropy } from './loss.js';
import { adam, sgd, sgdMomentum } from './optimizers.js';
import { mask, poolBackward, poolForward } from './pool.js';
import type { TensorParts } from '../tensor.js';
import type { WasmRuntime } from './runtime.js';

const bytes = (t: TensorParts) => (t.dtype === 'float32' ? 4 : 8);

export function wasmKernels(rt: WasmRuntime): Kernels {
  return {
    fill: (out, value) => {
      const k = rt.kernels(out.dtype), sz = bytes(out);
      rt.elementwise('tensor', out.size, (add, i, n) => add(k.fill, out.storage.offset + i * sz, n, value));
    },
    zeroPad: (X, out, top, left) => zeroPad(rt, X, out, top, left),
    dot: (a, W, bias) => dot(rt, a, W, bias),
    convForward: (g, A, W, b, Z) => convForward(rt, g, A, W, b, Z),
    convBackward: (g, dZ, A, W, grads) => convBackward(rt, g, dZ, A, W, grads),
    poolForward: (g, A, out) => poolForward(rt, g, A, out),
    poolBackward: (g, A, dA, dAPrev, firstOnly) => poolBackward(rt, g, A, dA, dAPrev, firstOnly),
    mask: (x, out) => mask(rt, x, out),
    denseForward: (g, X, W, b, Z) => denseForward(rt, g, X, W, b, Z),
    denseBackward: (g, dZ, X, W, grads) => denseBackward(rt, g, dZ, X, W, grads),
    softmax: (g, X, Y) => softmax(rt, g, X, Y),
    softmaxCrossEntropy: (g, logits, labels, dLogits) => softmaxCrossEntropy(rt, g, logits, labels, dLogits),
    sgd: (p, g, lr) => sgd(rt, p, g, lr),
    sgdMomentum: (p, g, v, lr, momentum) => sgdMomentum(rt, p, g, v, lr, momentum),
    adam: (p, g, m, v, step) => adam(rt, p, g, m, v, step),
    relu: (X, Y) => {
      const k = rt.kernels(X.dtype), sz = bytes(X);
      rt.elementwise('relu', X.size, (add, i, n) => add(k.relu, X.storage.offset + i * sz, Y.storage.offset + i * sz, n));
    },
    reluBackward: (dY, X, dX) => {
      const k = rt.kernels(X.dtype), sz = bytes(X);
      rt.elementwise('reluBackward', X.size, (add, i, n) => add(k.relu_backward, dY.storage.offset + i * sz, X.storage.offset + i * sz, dX.storage.offset + i * sz, n));
    },
  };
}
