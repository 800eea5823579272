// The 'wasm' backend's kernels: each op family's file turns the geometry into kernel calls with byte
// offsets into the runtime's memory.
import type { Kernels } from '../ops/kernels.js';
import { convBackward, convForward, dot, zeroPad } from './conv.js';
import { denseBackward, denseForward } from './dense.js';
import { softmax, softmaxCrossEntropy } from './loss.js';
import { adam, sgd, sgdMomentum } from './optimizers.js';
import { mask, poolBackward, poolForward } from './pool.js';
import type { WasmRuntime } from './runtime.js';

export function wasmKernels(rt: WasmRuntime): Kernels {
  return {
    fill: (out, value) => rt.kernels(out.dtype).fill(out.storage.offset, out.size, value),
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
    relu: (X, Y) => rt.kernels(X.dtype).relu(X.storage.offset, Y.storage.offset, X.size),
    reluBackward: (dY, X, dX) => rt.kernels(X.dtype).relu_backward(dY.storage.offset, X.storage.offset, dX.storage.offset, X.size),
  };
}
