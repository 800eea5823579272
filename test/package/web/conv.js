// One small convolution with a known result, shared by the page (main.js) and its worker (worker.js):
// A = 1..9 as a 1x3x3x1 image, a 2x2 filter of ones, bias 0.5, stride 1, no padding.
import { createBackend } from 'cnn-wasm';

export const EXPECTED = [12.5, 16.5, 24.5, 28.5];

export async function conv(name) {
  const be = await createBackend(name);
  const A = be.tensor([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const W = be.tensor([2, 2, 1, 1], [1, 1, 1, 1]);
  const b = be.tensor([1, 1, 1, 1], [0.5]);
  const { Z } = be.convForward(A, W, b, { stride: 1, pad: 0 });
  const result = { backend: be.name, build: be.features.build, shape: Z.shape, data: Array.from(Z.data) };
  for (const t of [A, W, b, Z]) t.dispose();
  return result;
}

/**
 * Threads from the built package: how many run with threads: 'auto', and whether a convolution large
 * enough to be split gives the same bits as on one thread.
 */
export async function threads() {
  const [many, one] = await Promise.all([createBackend('wasm'), createBackend('wasm', { threads: 1 })]);
  const values = (n, k) => Array.from({ length: n }, (_, i) => Math.sin(i * k));
  const run = (be) => be.convForward(be.tensor([4, 40, 40, 16], values(4 * 40 * 40 * 16, 0.3)), be.tensor([3, 3, 16, 16], values(3 * 3 * 16 * 16, 0.7)),
    be.tensor([1, 1, 1, 16]), { stride: 1, pad: 1 }).Z.data;
  const a = run(many), b = run(one);
  const result = { threads: many.features.threads, same: a.every((v, i) => Object.is(v, b[i])) };
  many.dispose();
  return result;
}
