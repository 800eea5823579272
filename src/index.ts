/**
 * cnn-wasm: the building blocks of a convolutional network, forward and backward, as SIMD
 * WebAssembly ('wasm') or plain TypeScript ('js'). NHWC layout, float32 or float64.
 */
import { JsBackend } from './js-backend.js';
import { CnnArgumentError } from './errors.js';
import { chooseBuild, instantiate } from './wasm/module.js';
import { WasmBackend } from './wasm/backend.js';
import type { Backend, BackendName, BackendOptions } from './types.js';
import { describe } from './validate.js';

export { Tensor } from './tensor.js';
export { CnnAllocationError, CnnArgumentError, CnnUnsupportedError } from './errors.js';
export type * from './types.js';

/** One page of linear memory to start with; it grows on demand. */
const INITIAL_PAGES = 16;

/**
 * Creates a backend. 'wasm' compiles the SIMD kernels (relaxed SIMD where the engine validates it,
 * unless `options.simd` says otherwise); 'js' is the plain TypeScript reference.
 */
export async function createBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Promise<Backend> {
  const op = 'createBackend';
  if (typeof options !== 'object' || options === null) throw new CnnArgumentError(op, 'options', 'an object', describe(options));
  if (name === 'js') return new JsBackend();
  if (name !== 'wasm') throw new CnnArgumentError(op, 'name', `'wasm' or 'js'`, describe(name));
  const simd = options.simd ?? 'auto';
  if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'plain') {
    throw new CnnArgumentError(op, 'options.simd', `'auto', 'relaxed' or 'plain'`, describe(simd));
  }
  const build = chooseBuild(simd);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES });
  const exports = await instantiate(build, memory);
  return new WasmBackend(exports, memory, build);
}
