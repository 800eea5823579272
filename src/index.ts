/**
 * cnn-wasm: the building blocks of a convolutional network, forward and backward, as SIMD
 * WebAssembly ('wasm') or plain TypeScript ('js'). NHWC layout, float32 or float64.
 */
import { CnnBackend } from './backend.js';
import { CnnAllocationError, CnnArgumentError } from './errors.js';
import { jsKernels, jsStore } from './js/index.js';
import type { Backend, BackendName, BackendOptions } from './types.js';
import { describe, readOptions } from './validate.js';
import { wasmKernels } from './wasm/index.js';
import { chooseBuild, instantiate } from './wasm/module.js';
import { WasmRuntime } from './wasm/runtime.js';

export { Tensor } from './tensor.js';
export * as nn from './nn/index.js';
export { CnnAllocationError, CnnArgumentError, CnnUnsupportedError } from './errors.js';
export type * from './types.js';

/** Bytes of a WebAssembly page, and what wasm32 addresses. */
const PAGE = 65536;
const ADDRESS_LIMIT = 2 ** 32;
/** 1 MiB of linear memory to start with; it grows on demand. */
const INITIAL_BYTES = 1 << 20;

/** options.memory read once: initial and maximum byte counts, checked. */
function readMemory(op: string, value: unknown): { initial: number; maximum: number | undefined } {
  const m = readOptions(op, 'options.memory', value, ['initial', 'maximum'] as const, false);
  const bytes = (argument: string, v: unknown, min: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > ADDRESS_LIMIT) {
      throw new CnnArgumentError(op, argument, `a whole number of bytes from ${min} to ${ADDRESS_LIMIT} (4 GiB, what wasm32 addresses)`, describe(v));
    }
    return v;
  };
  const initial = m.initial === undefined ? INITIAL_BYTES : bytes('options.memory.initial', m.initial, 1);
  const maximum = m.maximum === undefined ? undefined : bytes('options.memory.maximum', m.maximum, initial);
  return { initial, maximum };
}

/**
 * Creates a backend. 'wasm' (the default) compiles the SIMD kernels, relaxed SIMD where the engine
 * validates it unless `options.simd` says otherwise; 'js' is the plain TypeScript reference.
 * @throws CnnArgumentError for an unknown name or option; CnnUnsupportedError where the engine lacks
 * WebAssembly SIMD (use 'js' there) or relaxed SIMD that was asked for.
 */
export async function createBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Promise<Backend> {
  const op = 'createBackend';
  if (name !== 'wasm' && name !== 'js') throw new CnnArgumentError(op, 'name', `'wasm' or 'js'`, describe(name));
  const opts = readOptions(op, 'options', options, ['simd', 'memory'], true);
  if (name === 'js') {
    if (opts.memory !== undefined) {
      throw new CnnArgumentError(op, 'options.memory', `no memory option for 'js' (each of its tensors is a typed array of its own)`, describe(opts.memory));
    }
    return new CnnBackend('js', { build: 'scalar' }, jsStore, jsKernels) as unknown as Backend;
  }
  const simd = opts.simd ?? 'auto';
  if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'plain') {
    throw new CnnArgumentError(op, 'options.simd', `'auto', 'relaxed' or 'plain'`, describe(simd));
  }
  const { initial, maximum } = readMemory(op, opts.memory);
  const build = chooseBuild(simd);
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: Math.ceil(initial / PAGE), ...(maximum !== undefined ? { maximum: Math.floor(maximum / PAGE) } : {}) });
  } catch (e) {
    throw new CnnAllocationError(op, initial, `the engine refused a linear memory of that size (${(e as Error).message})`);
  }
  const rt = new WasmRuntime(await instantiate(build, memory), memory, maximum ?? ADDRESS_LIMIT);
  return new CnnBackend('wasm', { build }, rt.store, wasmKernels(rt)) as unknown as Backend;
}
