// Element types and backend names: what a tensor is made of, apart from the types that use tensors.

/** Element type of a tensor. */
export type DType = 'float32' | 'float64';
/** The typed array that holds a tensor's elements: `Float32Array` for 'float32', `Float64Array` for 'float64'. */
export type DataOf<D extends DType> = D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array : Float32Array | Float64Array;
/** Either element array. */
export type TypedArray = Float32Array | Float64Array;
/** The backends: 'wasm' (SIMD WebAssembly kernels) and 'js' (plain TypeScript, the reference). */
export type BackendName = 'wasm' | 'js';
