import { defineConfig } from 'vitest/config';

// Two projects: the whole suite on the plain SIMD build, and the accuracy suite again on the relaxed
// SIMD build (Node 20 validates relaxed SIMD only with --experimental-wasm-relaxed-simd).
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
    ],
  },
});
