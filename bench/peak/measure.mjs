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
 * other waits for, 100k times; nanoseconds a round trip. On a shared VM the two vCPUs may sit on
 * cores near each other or not (here 120-140 ns or about 340 ns, from one process to the next), and
 * ops split over threads pay that price for every line one thread writes and the other reads.
 */
export async function measureCrossCore(trips = 100_000) {
  const { Worker } = await import('node:worker_threads');
  const sab = new SharedArrayBuffer(64);
  const flag = new Int32Array(sab);
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const flag = new Int32Array(workerData.sab);
    for (let i = 0; i < workerData.trips; i++) {
      while (Atomics.load(flag, 0) !== 2 * i + 1);
      Atomics.store(flag, 0, 2 * i + 2);
    }
    parentPort.postMessage('done');`, { eval: true, workerData: { sab, trips } });
  const done = new Promise((resolve) => worker.once('message', resolve));
  const t0 = performance.now();
  for (let i = 0; i < trips; i++) {
    Atomics.store(flag, 0, 2 * i + 1);
    while (Atomics.load(flag, 0) !== 2 * i + 2);
  }
  const ns = ((performance.now() - t0) / trips) * 1e6;
  await done;
  await worker.terminate();
  return ns;
}
