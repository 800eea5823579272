// What a backend supplies: storage for tensors, and one kernel per op over already-validated
// arguments (tensor parts read once, geometry computed). Both backends implement this interface:
// 'js' (src/js/) as a transcription of the seed's loops, 'wasm' (src/wasm/) over SIMD kernels.
import type { Storage, StorageOwner, TensorParts } from '../tensor.js';
import type { Activation, DType, PoolMode } from '../types.js';

// The geometries the op files compute and the kernels take: plain numbers, read and checked once.

/** A convolution's sizes, strides and four-sided padding. */
export interface ConvGeometry {
  dtype: DType;
  /** Input: m images of H x W pixels, C channels. */
  m: number; H: number; W: number; C: number;
  /** Filter: fH x fW taps, C in and N out channels. */
  fH: number; fW: number; N: number;
  sH: number; sW: number;
  /** Rows of zeros above and below the input, columns left and right. */
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  /** Padded input size. */
  Hp: number; Wp: number;
  /** Output size. */
  nH: number; nW: number;
  activation: Activation;
}

/** A pooling's sizes and window. */
export interface PoolGeometry {
  dtype: DType;
  m: number; H: number; W: number; C: number;
  fH: number; fW: number; sH: number; sW: number;
  nH: number; nW: number;
  mode: PoolMode;
}

/** A dense layer's sizes. */
export interface DenseGeometry {
  dtype: DType;
  /** Rows of X and Z. */
  m: number;
  /** Columns of X, rows of W. */
  k: number;
  /** Columns of W and Z. */
  n: number;
  activation: Activation;
}

/** Softmax cross-entropy's labels, read once: class indices, or a tensor of target distributions. */
export type Labels = { indices: Int32Array; target: null } | { indices: null; target: TensorParts };

export interface SoftmaxGeometry {
  /** Rows (every dimension but the last) and classes (the last). */
  rows: number;
  n: number;
}

/** The gradients one conv backward call writes: dA_prev, or dW with db, or all three. */
export interface ConvGradients {
  readonly dA?: TensorParts;
  readonly dW?: TensorParts;
  readonly db?: TensorParts;
}

/** The gradients of a dense layer. */
export interface DenseGradients {
  readonly dX: TensorParts;
  readonly dW: TensorParts;
  readonly db: TensorParts;
}

/** One Adam step's constants; c1 and c2 are the bias corrections 1 - beta^t. */
export interface AdamStep {
  lr: number; beta1: number; beta2: number; epsilon: number; c1: number; c2: number;
}

/** Where a backend keeps tensor elements. */
export interface Store {
  /** New storage of `size` elements (uninitialised) for `owner`; throws CnnAllocationError when it cannot be had. */
  allocate(owner: StorageOwner, op: string, dtype: DType, size: number): Storage;
  /** Gives the elements back. */
  free(storage: Storage): void;
  /** Bytes reserved (the wasm memory size) given the bytes in use. */
  reserved(bytesInUse: number): number;
  /** How many times the memory grew. */
  grows(): number;
  /** The buffer tensors view now (null for 'js', whose tensors each own a typed array). */
  buffer(): ArrayBufferLike | null;
  /** What the kernels have done so far: scratch bytes taken and kernel calls made (the tests bound an op's work with it). */
  work(): Work;
  /** Threads that run the kernels (1 for 'js'). */
  threads(): number;
  /** Why fewer threads run than were asked for, or null. */
  threadsNote(): string | null;
  /** Ends what the store runs besides the calling thread (worker threads). */
  dispose(): void;
  /** A tidy() scope opens, and after its tensors are freed, ends (where the store places blocks by scope: wasm/arena.ts). */
  enterScope?(): void;
  exitScope?(): void;
  /** @internal For the tests: stops a worker thread as if it died. */
  terminateWorkerForTest?(): Promise<void>;
}

export interface Work {
  scratchBytes: number;
  kernelCalls: number;
}

export interface Kernels {
  /** out[:] = value. */
  fill(out: TensorParts, value: number): void;
  /** out (m, H + top + bottom, W + left + right, C) = X (m, H, W, C) at (top, left), zeros elsewhere. */
  zeroPad(X: TensorParts, out: TensorParts, top: number, left: number): void;
  /** sum(a * W) + bias. */
  dot(a: TensorParts, W: TensorParts, bias: number): number;
  /** Z = activation(conv(A, W) + b). */
  convForward(g: ConvGeometry, A: TensorParts, W: TensorParts, b: TensorParts, Z: TensorParts): void;
  /** The gradients asked for, of the convolution before its activation (dZ already masked). */
  convBackward(g: ConvGeometry, dZ: TensorParts, A: TensorParts, W: TensorParts, grads: ConvGradients): void;
  /** Max or average over each window. */
  poolForward(g: PoolGeometry, A: TensorParts, out: TensorParts): void;
  /** dA_prev (zeroed first) += each window's gradient, routed to its maxima (every one, or the first) or spread evenly. */
  poolBackward(g: PoolGeometry, A: TensorParts, dA: TensorParts, dAPrev: TensorParts, firstOnly: boolean): void;
  /** out = (x == max(x)). */
  mask(x: TensorParts, out: TensorParts): void;
  /** Z = activation(X W + b), X read as (m, k). */
  denseForward(g: DenseGeometry, X: TensorParts, W: TensorParts, b: TensorParts, Z: TensorParts): void;
  /** dX, dW and db of the product before its activation (dZ already masked). */
  denseBackward(g: DenseGeometry, dZ: TensorParts, X: TensorParts, W: TensorParts, grads: DenseGradients): void;
  /** Y = softmax of each row of X (its last axis). */
  softmax(g: SoftmaxGeometry, X: TensorParts, Y: TensorParts): void;
  /** dLogits = (softmax(logits) - target) / rows; returns the mean over rows of -sum(target log softmax). */
  softmaxCrossEntropy(g: SoftmaxGeometry, logits: TensorParts, labels: Labels, dLogits: TensorParts): number;
  /** p -= lr g, in place. */
  sgd(p: TensorParts, g: TensorParts, lr: number): void;
  /** v = momentum v + g; p -= lr v, in place. */
  sgdMomentum(p: TensorParts, g: TensorParts, v: TensorParts, lr: number, momentum: number): void;
  /** One Adam step of p, with its moments m and v, in place. */
  adam(p: TensorParts, g: TensorParts, m: TensorParts, v: TensorParts, step: AdamStep): void;
  /** Y = max(X, 0) (NaN stays NaN). */
  relu(X: TensorParts, Y: TensorParts): void;
  /** dX = X > 0 ? dY : 0. */
  reluBackward(dY: TensorParts, X: TensorParts, dX: TensorParts): void;
}
