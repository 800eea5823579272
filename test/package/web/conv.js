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
