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
import { chooseBuild, compile, instantiate, SHARED_MAXIMUM_PAGES } from './wasm/module.js';
import { WasmRuntime } from './wasm/runtime.js';
import { sharedMemoryAvailable, ThreadPool, workersAvailable } from './wasm/threads.js';

export { Tensor } from './tensor.js';
export * as nn from './nn/index.js';
export { CnnAllocationError, CnnArgumentError, CnnThreadError, CnnUnsupportedError } from './errors.js';
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

/** At most this many threads for threads: 'auto'. */
const AUTO_THREADS = 8;
/** At most this many for a count. */
const MAX_THREADS = 64;

/** The machine's available parallelism, as the engine tells it (1 when it does not). */
function availableParallelism(): number {
  const g = globalThis as { navigator?: { hardwareConcurrency?: number }; process?: { getBuiltinModule?: (name: string) => unknown } };
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  const n = os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1;
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/** options.threads read once: a count, or 'auto' resolved to the machine's. */
function readThreads(op: string, value: unknown): number {
  if (value === undefined || value === 'auto') return Math.min(AUTO_THREADS, availableParallelism());
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
    throw new CnnArgumentError(op, 'options.threads', `'auto' or a whole number from 1 to ${MAX_THREADS}`, describe(value));
  }
  return value;
}

/**
 * A shared memory of `initial` pages: with `maximum` as asked, else the largest maximum the engine
 * grants (a shared memory reserves its maximum up front, which a 32-bit engine or a tight address
 * space may refuse), halving from 4 GiB down to what is needed. Null where none can be had.
 */
function sharedMemory(initial: number, maximum: number | undefined): { memory: WebAssembly.Memory; maximumPages: number } | null {
  const tries = maximum !== undefined ? [Math.max(initial, Math.floor(maximum / PAGE))] : [];
  if (maximum === undefined) for (let pages = SHARED_MAXIMUM_PAGES; pages >= initial && pages >= 256; pages /= 2) tries.push(pages);
  for (const pages of tries) {
    try {
      return { memory: new WebAssembly.Memory({ initial, maximum: pages, shared: true }), maximumPages: pages };
    } catch {
      // refused: try a smaller maximum
    }
  }
  return null;
}

/**
 * Creates a backend. 'wasm' (the default) compiles the SIMD kernels, relaxed SIMD where the engine
 * validates it unless `options.simd` says otherwise, and starts `options.threads` threads ('auto':
 * the machine's cores, at most 8) over one shared memory where the engine allows it (one thread
 * elsewhere, without an error: see `features.threadsNote`); `options.memory` reserves and caps its
 * linear memory. 'js' is the plain TypeScript reference, on the calling thread.
 * @throws CnnArgumentError for an unknown name or option; CnnUnsupportedError where the engine lacks
 * WebAssembly SIMD (use 'js' there) or relaxed SIMD that was asked for; CnnAllocationError where
 * the engine refuses the memory asked for.
 */
export async function createBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Promise<Backend> {
  const op = 'createBackend';
  if (name !== 'wasm' && name !== 'js') throw new CnnArgumentError(op, 'name', `'wasm' or 'js'`, describe(name));
  const opts = readOptions(op, 'options', options, ['simd', 'memory', 'threads'], true);
  if (name === 'js') {
    if (opts.memory !== undefined) {
      throw new CnnArgumentError(op, 'options.memory', `no memory option for 'js' (each of its tensors is a typed array of its own)`, describe(opts.memory));
    }
    if (opts.threads !== undefined && opts.threads !== 'auto' && opts.threads !== 1) {
      throw new CnnArgumentError(op, 'options.threads', `1 or 'auto' for 'js' (it runs on the calling thread)`, describe(opts.threads));
    }
    return new CnnBackend('js', 'scalar', jsStore, jsKernels) as unknown as Backend;
  }
  const simd = opts.simd ?? 'auto';
  if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'plain') {
    throw new CnnArgumentError(op, 'options.simd', `'auto', 'relaxed' or 'plain'`, describe(simd));
  }
  const { initial, maximum } = readMemory(op, opts.memory);
  const threads = readThreads(op, opts.threads);
  const build = chooseBuild(simd);
  const initialPages = Math.ceil(initial / PAGE);
  // threads need a shared memory, which needs SharedArrayBuffer (a cross-origin isolated page in browsers)
  let note: string | null = null;
  let shared: ReturnType<typeof sharedMemory> = null;
  if (threads > 1) {
    if (!sharedMemoryAvailable()) note = 'no SharedArrayBuffer here (a browser gives it only to cross-origin isolated pages: COOP same-origin and COEP require-corp)';
    else if (!workersAvailable()) note = 'no workers here';
    else if (!(shared = sharedMemory(initialPages, maximum))) note = 'the engine refused a shared linear memory';
  }
  let memory: WebAssembly.Memory;
  try {
    memory = shared?.memory ?? new WebAssembly.Memory({ initial: initialPages, ...(maximum !== undefined ? { maximum: Math.floor(maximum / PAGE) } : {}) });
  } catch (e) {
    throw new CnnAllocationError(op, initial, `the engine refused a linear memory of that size (${(e as Error).message})`);
  }
  const module = await compile(build, shared !== null);
  const exports = await instantiate(module, memory);
  const pool = shared ? await ThreadPool.start(module, memory, exports, threads) : null;
  const limit = shared ? shared.maximumPages * PAGE : (maximum ?? ADDRESS_LIMIT);
  // under a maximum the caller set, memory goes to tensors and scratch: no packed filter is kept
  // (a kept block that gave way could still leave a hole below the tensors made after it)
  const rt = new WasmRuntime(exports, memory, limit, pool, note, maximum === undefined);
  return new CnnBackend('wasm', build, rt.store, wasmKernels(rt)) as unknown as Backend;
}
