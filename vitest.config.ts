import { defineConfig } from 'vitest/config';

// Three projects: the whole suite on the plain SIMD build; the accuracy suite again on the relaxed
// SIMD build (Node 20 validates relaxed SIMD only with --experimental-wasm-relaxed-simd); and the
// suite again with the backend under test on 2 threads (tests that make their own backends with
// threads: 'auto' run on this machine's cores in every project). The package, demo, browser and
// benchmark tests, which start their own processes and pages, run once.
export default defineConfig({
  test: {
    testTimeout: 300_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'simd',
          include: ['test/**/*.test.ts'],
          env: { CNN_WASM_SIMD: 'plain' },
        },
      },
      {
        extends: true,
        test: {
          name: 'relaxed-simd',
          include: ['test/accuracy/**/*.test.ts'],
          env: { CNN_WASM_SIMD: 'relaxed' },
          execArgv: ['--experimental-wasm-relaxed-simd'],
        },
      },
      {
        extends: true,
        test: {
          name: 'threads',
          include: ['test/**/*.test.ts'],
          exclude: ['test/package.test.ts', 'test/demo.test.ts', 'test/browser.test.ts', 'test/bench-smoke.test.ts', 'test/threads.test.ts', 'test/packed-filters.test.ts'],
          env: { CNN_WASM_SIMD: 'plain', CNN_WASM_THREADS: '2' },
        },
      },
    ],
  },
});
