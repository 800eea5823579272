// The page of `npm run bench:browser` (bundled by bench/browser.mjs): conv forward on the bench's
// three layers, cnn-wasm against tfjs-wasm, each on the threads runBench is given, in alternating
// rounds; each side runs its convolution with the bias fused and frees the output, as in the Node
// bench. Served cross-origin isolated, so tfjs-wasm takes its threaded SIMD build (pthreads).
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createBackend } from '../../build/lib/index.js';

const LAYERS = [
  // m, H, W, C, f, N, stride, pad
  [1, 56, 56, 64, 3, 64, 1, 1],
  [32, 28, 28, 32, 5, 64, 1, 2],
  [4, 33, 33, 24, 3, 48, 2, 1],
];

const values = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731) * 1.3);
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];

/** Runs f repeatedly for about ms milliseconds; its median time. */
function round(f, ms) {
  const times = [];
  const end = performance.now() + ms;
  do {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  } while (performance.now() < end);
  return median(times);
}

window.runBench = async (threads, rounds, roundMs, warmup) => {
  setWasmPaths('./tfjs/');
  setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  const tfjsThreaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const tfjsThreads = getThreadsCount();
  const be = await createBackend('wasm', { threads });
  const results = [];
  for (const [m, H, W, C, f, N, s, p] of LAYERS) {
    const a = values(m * H * W * C), w = values(f * f * C * N), b = values(N);
    const A = be.tensor([m, H, W, C], a), Wt = be.tensor([f, f, C, N], w), B = be.tensor([1, 1, 1, N], b);
    const ours = () => be.convForward(A, Wt, B, { stride: s, pad: p }).Z.dispose();
    const x = tf.tensor4d(a, [m, H, W, C]), wt = tf.tensor4d(w, [f, f, C, N]), bt = tf.tensor1d(b);
    const pad = [[0, 0], [p, p], [p, p], [0, 0]];
    const theirs = () => tf.fused.conv2d({ x, filter: wt, bias: bt, strides: [s, s], pad }).dispose();
    const flop = 2 * m * Math.floor((H + 2 * p - f) / s + 1) * Math.floor((W + 2 * p - f) / s + 1) * f * f * C * N;
    for (let i = 0; i < warmup; i++) { round(ours, roundMs); round(theirs, roundMs); }
    const t = { ours: [], theirs: [] };
    for (let r = 0; r < rounds; r++) {
      t.ours.push(round(ours, roundMs));
      t.theirs.push(round(theirs, roundMs));
    }
    results.push({ layer: `${m}x${H}x${W}x${C} k${f} to ${N} s${s} p${p}`, flop, cnnWasmMs: median(t.ours), tfjsWasmMs: median(t.theirs) });
    for (const t of [A, Wt, B]) t.dispose();
    tf.dispose([x, wt, bt]);
  }
  const features = be.features;
  be.dispose();
  return { threads, crossOriginIsolated: globalThis.crossOriginIsolated, tfjsThreaded, tfjsThreads, cnnWasm: { build: features.build, threads: features.threads }, results };
};
