// Shared by the tests: the backends under test, seeded data, and tolerances derived from the
// dtype's epsilon and the length of each reduction (never tuned by hand).
import { expect } from 'vitest';
import { createBackend, type Backend, type DType, type Tensor } from '../src/index.js';
import { compile, instantiate } from '../src/wasm/module.js';

/** Which wasm build this test project runs: vitest.config.ts sets it per project. */
export const BUILD = (process.env['CNN_WASM_SIMD'] ?? 'plain') as 'plain' | 'relaxed';
/** That build's name in `features.build`. */
const BUILD_NAME = BUILD === 'relaxed' ? 'relaxed-simd' : 'simd';

/** The kernel exports of the build under test, instantiated over `memory`, for a test that calls them directly. */
export async function kernelExports(memory: WebAssembly.Memory): Promise<Record<string, (...args: number[]) => number>> {
  return (await instantiate(await compile(BUILD_NAME, false), memory)) as Record<string, (...args: number[]) => number>;
}

/** How many threads the wasm backend under test runs: vitest.config.ts sets it per project (1 unless said). */
export const THREADS = Number(process.env['CNN_WASM_THREADS'] ?? 1);

export async function makeBackends(): Promise<{ wasm: Backend; js: Backend }> {
  const wasm = await createBackend('wasm', { simd: BUILD, threads: THREADS });
  expect(wasm.features.build).toBe(BUILD_NAME);
  expect(wasm.features.threads).toBe(THREADS);
  return { wasm, js: await createBackend('js') };
}

/** Machine epsilon: the gap between 1 and the next larger number of the dtype. */
export const EPS: Record<DType, number> = { float32: 2 ** -23, float64: 2 ** -52 };

/** Half the smallest subnormal: the absolute error of one rounding in the subnormal range, where eps x |value| no longer bounds it. */
export const ETA: Record<DType, number> = { float32: 2 ** -150, float64: 2 ** -1075 };

export { randn, rng } from '../tools/random.mjs';

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The same values as a tensor of another backend (or dtype). */
export function copyTo(be: Backend, t: Tensor, dtype: DType = t.dtype): Tensor {
  return be.tensor(t.shape, t.data, dtype);
}

/** |t| element-wise, on the same backend. */
export function absOf(be: Backend, t: Tensor): Tensor {
  return be.tensor(t.shape, Array.from(t.data, Math.abs), t.dtype);
}

/**
 * Each |actual[i] - expected[i]| <= bound[i]. With bound[i] = reductionLength * eps * sum|terms|,
 * this is the classic error bound of a floating-point sum of that many terms (each side rounds at
 * most once per addition), whatever the summation order or whether multiply-adds are fused.
 */
export function expectWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number> | number, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const b = typeof bound === 'number' ? bound : bound[i]!;
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= b)) {
      if (bad.length < 5) bad.push(`[${i}] got ${actual[i]} expected ${expected[i]} (|diff| ${d} > bound ${b})`);
      else break;
    }
  }
  expect(bad, label).toEqual([]);
}

/** Bitwise-equal arrays (same values, same NaNs). */
export function expectExact(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 5; i++) {
    if (!Object.is(actual[i], expected[i])) bad.push(`[${i}] got ${actual[i]} expected ${expected[i]}`);
  }
  expect(bad, label).toEqual([]);
}

/** bound[i] = k * eps * magnitude[i]. */
export function sumBound(magnitude: ArrayLike<number>, k: number, dtype: DType): Float64Array {
  return Float64Array.from(magnitude, (v) => k * EPS[dtype] * v);
}
