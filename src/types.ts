import type { Tensor } from './tensor.js';

export type DType = 'float32' | 'float64';
export type TypedArray = Float32Array | Float64Array;
export type BackendName = 'wasm' | 'js';
export type PoolMode = 'max' | 'average';

/** A number, or a [height, width] pair. */
export type Pair = number | readonly [number, number];

export interface ConvHyperparameters {
  stride: Pair;
  pad: Pair;
}

export interface PoolHyperparameters {
  f: Pair;
  stride: Pair;
}

/** What convForward keeps for convBackward: its inputs (not copies) and hyperparameters. */
export interface ConvCache {
  readonly kind: 'conv';
  readonly A: Tensor;
  readonly W: Tensor;
  readonly b: Tensor;
  readonly hparameters: { readonly stride: [number, number]; readonly pad: [number, number] };
}

/** What poolForward keeps for poolBackward. */
export interface PoolCache {
  readonly kind: 'pool';
  readonly A: Tensor;
  readonly hparameters: { readonly f: [number, number]; readonly stride: [number, number] };
  readonly mode: PoolMode;
}

export interface MemoryInfo {
  /** Live (not disposed) tensors of this backend. */
  tensors: number;
  /** Bytes held by live tensors. */
  bytesInUse: number;
  /** Bytes the backend has reserved: the wasm linear memory size, or bytesInUse for 'js'. */
  bytesReserved: number;
}

export interface BackendOptions {
  /** Which wasm build to run: 'auto' (default) takes relaxed SIMD where the engine validates it. */
  simd?: 'auto' | 'relaxed' | 'plain';
}

export interface Backend {
  readonly name: BackendName;
  /** What runs: for 'wasm' the build ('simd' or 'relaxed-simd'), for 'js' 'scalar'. */
  readonly features: { readonly build: 'simd' | 'relaxed-simd' | 'scalar' };
  tensor(shape: readonly number[], data?: ArrayLike<number> | null, dtype?: DType): Tensor;
  memory(): MemoryInfo;

  zeroPad(X: Tensor, pad: Pair): Tensor;
  convSingleStep(aSlice: Tensor, W: Tensor, b: Tensor): number;
  convForward(A: Tensor, W: Tensor, b: Tensor, hparameters: ConvHyperparameters): { Z: Tensor; cache: ConvCache };
  convBackward(dZ: Tensor, cache: ConvCache): { dA: Tensor; dW: Tensor; db: Tensor };
  /** The input gradient alone (convBackward's dA): what a layer passes back, without dW and db. */
  convBackwardInput(dZ: Tensor, cache: ConvCache): Tensor;
  /** The filter and bias gradients alone (convBackward's dW and db): a network's first layer needs no dA. */
  convBackwardFilter(dZ: Tensor, cache: ConvCache): { dW: Tensor; db: Tensor };
  poolForward(A: Tensor, hparameters: PoolHyperparameters, mode?: PoolMode): { A: Tensor; cache: PoolCache };
  createMaskFromWindow(x: Tensor): Tensor;
  distributeValue(dz: number, shape: readonly [number, number], dtype?: DType): Tensor;
  poolBackward(dA: Tensor, cache: PoolCache, mode?: PoolMode): Tensor;
}
