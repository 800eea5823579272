// The browser smoke test's page script: imported natively (page.html, with an import map) and
// bundled by esbuild (bundled.html). It runs convForward on 'wasm' and 'js' and leaves the result
// on window.result for the test to read.
import { createBackend } from 'cnn-wasm';

async function run() {
  const wasm = await createBackend('wasm');
  const js = await createBackend('js');
  const shapeA = [2, 11, 9, 5], shapeW = [3, 3, 5, 7];
  const values = (n, k) => Array.from({ length: n }, (_, i) => Math.sin(i * k + 1));
  const A = values(shapeA.reduce((a, b) => a * b), 0.37), W = values(shapeW.reduce((a, b) => a * b), 0.71), b = values(7, 1.3);
  const hp = { stride: [2, 1], pad: 1 };
  const out = {};
  for (const be of [wasm, js]) {
    const { Z } = be.convForward(be.tensor(shapeA, A), be.tensor(shapeW, W), be.tensor([1, 1, 1, 7], b), hp);
    // the same sum over absolute values bounds the rounding of each output
    const abs = (v) => v.map(Math.abs);
    const { Z: mag } = be.convForward(be.tensor(shapeA, abs(A)), be.tensor(shapeW, abs(W)), be.tensor([1, 1, 1, 7], abs(b)), hp);
    out[be.name] = { shape: Z.shape, data: Array.from(Z.data), mag: Array.from(mag.data) };
  }
  return { build: wasm.features.build, ...out };
}

run().then((r) => (window.result = r), (e) => (window.result = { error: String((e && e.stack) || e) }));
