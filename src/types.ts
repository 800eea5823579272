// The public types: dtypes, hyperparameters, caches, options and the Backend interface.
import type { BackendName, DType } from './dtype.js';
import type { Tensor } from './tensor.js';

export type { BackendName, DataOf, DType, TypedArray } from './dtype.js';

/** Values a tensor can be filled from: an array of numbers or a typed array of numbers (not BigInt). */
export type TensorData = ArrayLike<number> & (readonly number[] | Float32Array | Float64Array | Int8Array | Uint8Array |
  Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array);
export type PoolMode = 'max' | 'average';
/** An activation fused into an op: 'relu' is max(x, 0); 'linear' (the default) is none. */
export type Activation = 'relu' | 'linear';

/** A number, or a [height, width] pair. */
export type Pair = number | readonly [number, number];

/**
 * Zero padding of a convolution's input: a number or an [h, w] pair (that many rows on top and on the
 * bottom, columns on the left and on the right), explicit `[[top, bottom], [left, right]]`, 'valid'
 * (none) or 'same' (output `ceil(n / stride)`, TensorFlow's split: the odd row or column goes to the
 * bottom or right).
 */
export type Padding = Pair | readonly [readonly [number, number], readonly [number, number]] | 'valid' | 'same';

export interface ConvHyperparameters {
  /** Step between windows: a positive integer or an [h, w] pair. */
  stride: Pair;
  /** Zero padding of the input; see {@link Padding}. */
  pad: Padding;
  /** 'relu' applies max(Z, 0) in the same pass; convBackward* then take dZ as the gradient of that output. */
  activation?: Activation;
}

export interface PoolHyperparameters {
  /** Window size: a positive integer or an [h, w] pair. */
  f: Pair;
  /** Step between windows: a positive integer or an [h, w] pair. */
  stride: Pair;
}

/** How max-pooling backward routes a window's gradient when several positions hold its maximum. */
export interface PoolBackwardOptions {
  /**
   * 'all' (default): every maximum receives the gradient (the seed's mask `x == max(x)`).
   * 'first': only the first maximum in row-major window order, as TensorFlow and PyTorch do.
   */
  ties?: 'all' | 'first';
}

/** What convForward keeps for the backward ops: its inputs and output themselves (not copies) and its hyperparameters. */
export interface ConvCache<D extends DType = DType> {
  readonly kind: 'conv';
  readonly A_prev: Tensor<D>;
  readonly W: Tensor<D>;
  readonly b: Tensor<D>;
  /** The (activated) output: the backward ops read it when `activation` is 'relu'. */
  readonly Z: Tensor<D>;
  readonly hparameters: {
    readonly stride: readonly [number, number];
    /** [[top, bottom], [left, right]] rows and columns of zeros. */
    readonly pad: readonly [readonly [number, number], readonly [number, number]];
    readonly activation: Activation;
  };
}

/** What denseForward keeps for denseBackward: its inputs and output themselves. */
export interface DenseCache<D extends DType = DType> {
  readonly kind: 'dense';
  readonly X: Tensor<D>;
  readonly W: Tensor<D>;
  readonly b: Tensor<D>;
  /** The (activated) output: denseBackward reads it when `activation` is 'relu'. */
  readonly Z: Tensor<D>;
  readonly activation: Activation;
}

/** What momentum SGD keeps between steps: a velocity per parameter (from be.sgdState). */
export interface SgdState<D extends DType = DType> {
  readonly kind: 'sgd';
  readonly velocities: readonly Tensor<D>[];
}

/** What Adam keeps between steps (from be.adamState): the steps taken, and the first and second moments per parameter. */
export interface AdamState<D extends DType = DType> {
  readonly kind: 'adam';
  /** Steps taken so far; each be.adam call adds one. */
  step: number;
  readonly m: readonly Tensor<D>[];
  readonly v: readonly Tensor<D>[];
}

/** Options of be.sgd. */
export interface SgdOptions {
  learningRate: number;
  /** 0 (the default) is plain SGD; above 0, `v = momentum v + g; p -= learningRate v` (TensorFlow.js's momentum optimizer), which needs `state`. */
  momentum?: number;
  /** The velocities, from be.sgdState(params); needed with momentum. */
  state?: SgdState;
}

/** Options of be.adam (TensorFlow.js's defaults). */
export interface AdamOptions {
  learningRate: number;
  /** Decay of the first moment; 0.9. */
  beta1?: number;
  /** Decay of the second moment; 0.999. */
  beta2?: number;
  /** Added to the root of the second moment; 1e-7. */
  epsilon?: number;
}

/**
 * An image a browser can draw: ImageData, an HTMLCanvasElement or OffscreenCanvas, an ImageBitmap,
 * or a loaded HTMLImageElement (typed structurally, so that the package's types need no DOM lib).
 */
export type PixelSource = object;

/** The browser's ImageData, as toPixels returns it. */
export interface ImageDataLike {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/** Options of fromPixels. */
export interface FromPixelsOptions<D extends DType = 'float32'> {
  /** The first 1, 3 (the default) or 4 of the image's RGBA channels, as tf.browser.fromPixels takes them. */
  channels?: 1 | 3 | 4;
  /** Each byte (0 to 255) is multiplied by it: 1 / 255 (the default) gives values in [0, 1]. */
  scale?: number;
  dtype?: D;
}

/** Options of toPixels. */
export interface ToPixelsOptions {
  /** The values drawn as 0 and 255; by default the tensor's least and greatest (min-max scaling). NaN is drawn as 0. */
  range?: readonly [number, number];
}

/** What relu keeps for reluBackward: its input itself. */
export interface ReluCache<D extends DType = DType> {
  readonly kind: 'relu';
  readonly X: Tensor<D>;
}

/** What poolForward keeps for poolBackward: its input itself and its hyperparameters. */
export interface PoolCache<D extends DType = DType> {
  readonly kind: 'pool';
  readonly A_prev: Tensor<D>;
  readonly hparameters: { readonly f: readonly [number, number]; readonly stride: readonly [number, number] };
  readonly mode: PoolMode;
}

export interface MemoryInfo {
  /** Live (not disposed) tensors of this backend. */
  tensors: number;
  /** Bytes held by live tensors (storage shared by reshaped tensors counts once). */
  bytesInUse: number;
  /** Bytes the backend has reserved: the wasm linear memory size, or bytesInUse for 'js'. */
  bytesReserved: number;
  /** How many times the wasm linear memory grew (each growth replaces the buffer that `data` views see); 0 for 'js'. */
  grows: number;
}

export interface BackendOptions {
  /** Which wasm build to run: 'auto' (default) takes relaxed SIMD where the engine validates it. */
  simd?: 'auto' | 'relaxed' | 'plain';
  /**
   * The wasm linear memory, in bytes ('wasm' only): `initial` is reserved up front (default 1 MiB),
   * so no growth happens, and no `data` view goes stale, until tensors need more; `maximum` caps it
   * (an allocation beyond is a CnnAllocationError), and with it the backend keeps no packed copy
   * of a forward filter between calls (see the README's How it works). Both are rounded to 64 KiB
   * pages.
   */
  memory?: { initial?: number; maximum?: number };
  /**
   * Threads that run the ops ('wasm' only): a count (the calling thread and count - 1 workers) or
   * 'auto' (default): the machine's available parallelism, at most 8. Threads need shared memory:
   * SharedArrayBuffer, which browsers give only to cross-origin isolated pages (COOP same-origin and
   * COEP require-corp). Where it or workers are missing the backend runs on one thread, without an
   * error; `features.threads` says how many run.
   */
  threads?: number | 'auto';
}

/**
 * A set of ops over tensors that live in one place: 'wasm' (the module's linear memory, SIMD kernels)
 * or 'js' (typed arrays, the plain reference). Every op validates its arguments before it allocates
 * anything, returns new tensors that the caller owns, and throws CnnArgumentError for bad input.
 */
export interface Backend {
  /** 'wasm' or 'js'. */
  readonly name: BackendName;
  /**
   * What runs: for 'wasm' the build ('simd' or 'relaxed-simd'), for 'js' 'scalar'; how many threads
   * run the ops (1 for 'js'; it drops to 1 if a worker thread is lost); and, where fewer threads run
   * than were asked for, why (else null).
   */
  readonly features: { readonly build: 'simd' | 'relaxed-simd' | 'scalar'; readonly threads: number; readonly threadsNote: string | null };

  /**
   * Ends the backend's worker threads. Every op and tensor() after it throws; tensors made before
   * stay readable. A Node process exits without it (the workers do not keep it alive). Also
   * `using be = await createBackend(...)` (Symbol.dispose).
   */
  dispose(): void;
  [Symbol.dispose](): void;

  /**
   * A new tensor of `shape` (positive integers, any rank), filled from `data` (an array of numbers
   * or a typed array of numbers, `size` values; copied) or with zeros. `dtype` defaults to 'float32'.
   * @throws CnnArgumentError for a bad shape, dtype or data; CnnAllocationError when it cannot be allocated.
   */
  tensor<D extends DType = 'float32'>(shape: readonly number[], data?: TensorData | null, dtype?: D): Tensor<D>;
  /** Counts of live tensors and bytes. */
  memory(): MemoryInfo;
  /**
   * A tensor of another shape over the same elements (no copy): one dimension may be -1 (inferred).
   * Disposing one leaves the other valid; the elements are freed with the last of them.
   */
  reshape<D extends DType>(X: Tensor<D>, shape: readonly number[]): Tensor<D>;
  /**
   * Runs `fn` and disposes every tensor created while it runs except those it returns (itself, or
   * inside arrays and plain objects), as TensorFlow.js's tf.tidy does. Nested tidies work; if `fn`
   * throws, its tensors are disposed and the error is rethrown. `fn` must be synchronous.
   */
  tidy<T>(fn: () => T): T;
  /** Exempts a tensor from disposal by the tidy() calls it was created in; returns it. */
  keep<T extends Tensor>(t: T): T;

  /**
   * `X (m, n_H, n_W, n_C)` with `pad` rows of zeros above and below and `pad` columns left and right
   * (a number or an [h, w] pair): `(m, n_H + 2 pad_h, n_W + 2 pad_w, n_C)`. Allocates the output.
   */
  zeroPad<D extends DType>(X: Tensor<D>, pad: Pair): Tensor<D>;
  /** `sum(a_slice_prev * W) + b` for one window: `a_slice_prev` and `W` of one shape `(f_H, f_W, n_C_prev)`, `b` one element. */
  convSingleStep<D extends DType>(a_slice_prev: Tensor<D>, W: Tensor<D>, b: Tensor<D>): number;
  /**
   * Strided convolution: `A_prev (m, n_H_prev, n_W_prev, n_C_prev)`, `W (f_H, f_W, n_C_prev, n_C)`,
   * `b (1, 1, 1, n_C)` give `Z (m, n_H, n_W, n_C)`, with `n_H = floor((n_H_prev + pad_top + pad_bottom - f_H) / stride) + 1`.
   * The cache holds the inputs and Z themselves: keep them alive until the backward call.
   */
  convForward<D extends DType>(A_prev: Tensor<D>, W: Tensor<D>, b: Tensor<D>, hparameters: ConvHyperparameters): { Z: Tensor<D>; cache: ConvCache<D> };
  /**
   * All three gradients of convForward from `dZ` (shaped as Z): `dA` (the seed's dA_prev) shaped as
   * A_prev, `dW` shaped as W, `db` shaped as b.
   */
  convBackward<D extends DType>(dZ: Tensor<D>, cache: ConvCache<D>): { dA: Tensor<D>; dW: Tensor<D>; db: Tensor<D> };
  /** The input gradient alone (convBackward's dA): what a layer passes back, without dW and db. */
  convBackwardInput<D extends DType>(dZ: Tensor<D>, cache: ConvCache<D>): Tensor<D>;
  /** The filter and bias gradients alone (convBackward's dW and db): a network's first layer needs no dA. */
  convBackwardFilter<D extends DType>(dZ: Tensor<D>, cache: ConvCache<D>): { dW: Tensor<D>; db: Tensor<D> };
  /**
   * Max or average pooling (no padding) of `A_prev (m, n_H_prev, n_W_prev, n_C)` over `f` windows at
   * `stride`: `A (m, n_H, n_W, n_C)`. `mode` defaults to 'max'. The cache holds A_prev itself.
   */
  poolForward<D extends DType>(A_prev: Tensor<D>, hparameters: PoolHyperparameters, mode?: PoolMode): { A: Tensor<D>; cache: PoolCache<D> };
  /** 1 where the 2-D window `x` equals its maximum, else 0 (every tie gets 1). */
  createMaskFromWindow<D extends DType>(x: Tensor<D>): Tensor<D>;
  /** A `(n_H, n_W)` tensor filled with `dz / (n_H * n_W)`. */
  distributeValue<D extends DType = 'float32'>(dz: number, shape: readonly [number, number], dtype?: D): Tensor<D>;
  /**
   * The gradient of poolForward: `dA` shaped as its output gives `dA_prev` shaped as its input.
   * `mode` defaults to the cache's.
   */
  poolBackward<D extends DType>(dA: Tensor<D>, cache: PoolCache<D>, mode?: PoolMode, options?: PoolBackwardOptions): Tensor<D>;

  /**
   * A dense (fully connected) layer: `Z = X W + b` with `X (m, ...)` read as `(m, k)`, k the product
   * of its other dimensions (an NHWC activation flattens with no copy), `W (k, n)`, `b (1, n)`:
   * `Z (m, n)`. `options.activation` 'relu' applies max(Z, 0) in the same pass. The cache holds X, W,
   * b and Z themselves.
   */
  denseForward<D extends DType>(X: Tensor<D>, W: Tensor<D>, b: Tensor<D>, options?: { activation?: Activation }): { Z: Tensor<D>; cache: DenseCache<D> };
  /** The gradients of denseForward from `dZ (m, n)` (of its activated output): `dX` shaped as X, `dW (k, n)`, `db (1, n)`. */
  denseBackward<D extends DType>(dZ: Tensor<D>, cache: DenseCache<D>): { dX: Tensor<D>; dW: Tensor<D>; db: Tensor<D> };

  /**
   * Softmax over the last axis: each row's `exp(x - max) / sum(exp(x - max))` (stable for any
   * magnitude). Allocates Y shaped as X.
   */
  softmax<D extends DType>(X: Tensor<D>): Tensor<D>;
  /**
   * Softmax cross-entropy of `logits (m, n)` against `labels`: class indices (an Int32Array or an
   * array of integers in [0, n), one per row) or a tensor `(m, n)` of target distributions (one-hot).
   * Returns `loss`, the mean over rows of `-sum(target * log(softmax(logits)))` (a number), and
   * `dLogits = (softmax(logits) - target) / m`, its gradient.
   */
  softmaxCrossEntropy<D extends DType>(logits: Tensor<D>, labels: Int32Array | readonly number[] | Tensor<D>): { loss: number; dLogits: Tensor<D> };

  /** Zero velocities for momentum SGD, one per parameter (tensors the caller owns). */
  sgdState<D extends DType>(params: readonly Tensor<D>[]): SgdState<D>;
  /**
   * One SGD step, in place: `p -= learningRate * g` for each parameter and its gradient (with
   * momentum: `v = momentum v + g; p -= learningRate v`). Writes into `params` (and the state's
   * velocities): with the other optimizers, the only ops that write into their arguments.
   */
  sgd<D extends DType>(params: readonly Tensor<D>[], grads: readonly Tensor<D>[], options: SgdOptions): void;
  /** Zero moments for Adam, one pair per parameter, and a step count of 0 (tensors the caller owns). */
  adamState<D extends DType>(params: readonly Tensor<D>[]): AdamState<D>;
  /**
   * One Adam step, in place, as TensorFlow.js computes it: `m = beta1 m + (1 - beta1) g`,
   * `v = beta2 v + (1 - beta2) g^2`, `p += -learningRate (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)`,
   * t the state's step count plus one. Writes into `params` and the state (its moments and step).
   */
  adam<D extends DType>(params: readonly Tensor<D>[], grads: readonly Tensor<D>[], state: AdamState<D>, options: AdamOptions): void;

  /**
   * An image as a `(1, h, w, channels)` tensor (browsers: ImageData, a canvas, an ImageBitmap or a
   * loaded <img>), values in [0, 1] unless `options.scale` says otherwise. Allocates the tensor.
   * @throws CnnUnsupportedError where there is no DOM (Node); CnnArgumentError for another source.
   */
  fromPixels<D extends DType = 'float32'>(source: PixelSource, options?: FromPixelsOptions<D>): Tensor<D>;
  /**
   * Draws a `(h, w, 1)` or `(h, w, 3)` tensor (or with a leading 1) as an image: min-max scaled to
   * 0..255 unless `options.range` gives the values for 0 and 255, gray for one channel. Returns the
   * ImageData, and puts it on `canvas` (resized to the image) when one is given.
   * @throws CnnUnsupportedError where there is no DOM (Node).
   */
  toPixels(t: Tensor, canvas?: object | null, options?: ToPixelsOptions): ImageDataLike;

  /** `Y = max(X, 0)` element-wise (NaN stays NaN); the cache holds X itself. */
  relu<D extends DType>(X: Tensor<D>): { Y: Tensor<D>; cache: ReluCache<D> };
  /** The gradient of relu: `dX = dY` where `X > 0`, else 0. */
  reluBackward<D extends DType>(dY: Tensor<D>, cache: ReluCache<D>): Tensor<D>;
}
