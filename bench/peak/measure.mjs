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

/**
 * The round trip of a cache line between the main thread and a worker: each writes a counter the
 * other waits for; nanoseconds a round trip, the median of 9 runs of 20k trips, timed once the
 * worker is running (it says so through the same counter). On a shared VM the two vCPUs may sit on
 * cores near each other or not, and ops split over threads pay this for every line one thread
 * writes and the other reads.
 */
export async function measureCrossCore(trips = 20_000, runs = 9) {
  const { Worker } = await import('node:worker_threads');
  const flag = new Int32Array(new SharedArrayBuffer(64));
  const worker = new Worker(`
    const { workerData } = require('node:worker_threads');
    const flag = new Int32Array(workerData.sab);
    Atomics.store(flag, 0, 1);
    for (let i = 1; i <= workerData.total; i++) {
      while (Atomics.load(flag, 0) !== 2 * i);
      Atomics.store(flag, 0, 2 * i + 1);
    }`, { eval: true, workerData: { sab: flag.buffer, total: trips * runs } });
  // the worker's first write says it runs: no start-up inside the timing
  while (Atomics.load(flag, 0) !== 1) await new Promise((resolve) => setTimeout(resolve, 1));
  const times = [];
  for (let r = 0, i = 1; r < runs; r++) {
    const t0 = performance.now();
    for (const end = i + trips; i < end; i++) {
      Atomics.store(flag, 0, 2 * i);
      while (Atomics.load(flag, 0) !== 2 * i + 1);
    }
    times.push(((performance.now() - t0) / trips) * 1e6);
  }
  await worker.terminate();
  return times.sort((a, b) => a - b)[runs >> 1];
}
