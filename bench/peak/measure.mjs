// Runs the register-only probes (peak.ts, built into build/wasm/peak.*.wasm by `npm run bench`) and
// returns GFLOP/s per build: the better of the two probe forms is that build's peak.
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

async function probe(build) {
  const bytes = readFileSync(new URL(`build/wasm/peak.${build}.wasm`, root));
  if (!WebAssembly.validate(bytes)) return null;
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } });
  const e = instance.exports;
  const rate = (fn, flopsPerStep) => {
    const steps = 1e7;
    for (let i = 0; i < 5; i++) fn(steps / 10, 1);
    const times = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      fn(steps, 1);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return (steps * flopsPerStep) / times[4] / 1e6;
  };
  const chain = rate(e.chain, e.CHAIN_FLOPS_PER_STEP.value);
  const gemm = rate(e.gemm, e.GEMM_FLOPS_PER_STEP.value);
  return { chain, gemm, peak: Math.max(chain, gemm) };
}

/** { simd: {chain, gemm, peak}, 'relaxed-simd': {...} | null } in GFLOP/s. */
export async function measurePeaks() {
  return { simd: await probe('simd'), 'relaxed-simd': await probe('relaxed') };
}
