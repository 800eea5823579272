/**
 * cnn-wasm: the building blocks of a convolutional network, forward and backward, as SIMD
 * WebAssembly ('wasm') or plain TypeScript ('js'). NHWC layout, float32 or float64.
 */
import { CnnBackend } from './backend.js';
import { CnnArgumentError } from './errors.js';
import { jsKernels, jsStore } from './js/index.js';
import type { Backend, BackendName, BackendOptions } from './types.js';
import { describe, readOptions } from './validate.js';
import { wasmKernels } from './wasm/index.js';
import { chooseBuild, instantiate } from './wasm/module.js';
import { WasmRuntime } from './wasm/runtime.js';

export { Tensor } from './tensor.js';
export { CnnAllocationError, CnnArgumentError, CnnUnsupportedError } from './errors.js';
export type * from './types.js';

/** 1 MiB of linear memory to start with; it grows on demand. */
const INITIAL_PAGES = 16;

/**
 * Creates a backend. 'wasm' (the default) compiles the SIMD kernels, relaxed SIMD where the engine
 * validates it unless `options.simd` says otherwise; 'js' is the plain TypeScript reference.
 * @throws CnnArgumentError for an unknown name or option; CnnUnsupportedError where the engine lacks
 * WebAssembly SIMD (use 'js' there) or relaxed SIMD that was asked for.
 */
export async function createBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Promise<Backend> {
  const op = 'createBackend';
  if (name !== 'wasm' && name !== 'js') throw new CnnArgumentError(op, 'name', `'wasm' or 'js'`, describe(name));
  const opts = readOptions(op, 'options', options, ['simd'], true);
  if (name === 'js') return new CnnBackend('js', { build: 'scalar' }, jsStore, jsKernels) as unknown as Backend;
  const simd = opts.simd ?? 'auto';
  if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'plain') {
    throw new CnnArgumentError(op, 'options.simd', `'auto', 'relaxed' or 'plain'`, describe(simd));
  }
  const build = chooseBuild(simd);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES });
  const rt = new WasmRuntime(await instantiate(build, memory), memory);
  return new CnnBackend('wasm', { build }, rt.store, wasmKernels(rt)) as unknown as Backend;
}
