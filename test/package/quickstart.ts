// The README's quick start (README.md, "## Quick start", the Node example) and the dtype-generic
// types, against the packed package: test/package.test.ts type-checks this file in a fresh project
// under moduleResolution node16 and bundler (strict, skipLibCheck off), then runs it with Node.
// The lines between the two markers must be the README's example, character for character (the
// test compares them): when the README's example changes, copy it here.
// --- README quick start ---
import { createBackend } from 'cnn-wasm';

const be = await createBackend('wasm');                        // or 'js', the plain TypeScript reference
const A = be.tensor([2, 5, 7, 4], Float32Array.from({ length: 280 }, Math.random));
const W = be.tensor([3, 3, 4, 8], Float32Array.from({ length: 288 }, Math.random));
const b = be.tensor([1, 1, 1, 8]);                             // zeros
const { Z, cache } = be.convForward(A, W, b, { stride: 2, pad: 1 });
const { dA, dW, db } = be.convBackward(Z, cache);              // gradients of sum(Z * Z) / 2
console.log(Z.shape, dW.data);                                 // [2, 3, 4, 8], Float32Array view
for (const t of [A, W, b, Z, dA, dW, db]) t.dispose();         // or `using t = ...` where supported
// --- end of README quick start ---

// A tensor's data is typed by its dtype: Float64Array for 'float64', Float32Array by default.
import type { Tensor } from 'cnn-wasm';
{
  const A = be.tensor([2, 2], null, 'float64');
  const f: Float64Array = A.data;
  // @ts-expect-error a float64 tensor's data is no Float32Array
  const bad: Float32Array = A.data;
  const B = be.tensor([2, 2]);
  const g: Float32Array = B.data;
  const W64: Tensor<'float64'> = be.tensor([1, 1, 1, 1], [2], 'float64');
  const b64 = be.tensor([1, 1, 1, 1], [0.5], 'float64');
  const { Z } = be.convForward(be.tensor([1, 2, 2, 1], [1, 2, 3, 4], 'float64'), W64, b64, { stride: 1, pad: 0 });
  const z: Float64Array = Z.data; // ops keep the dtype
  console.log('float64', Array.from(z), f.length + g.length + bad.length);
  for (const t of [A, B, W64, b64, Z]) t.dispose();
}
