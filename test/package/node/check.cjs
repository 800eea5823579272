// Given the package's createBackend (however it was loaded), runs a convolution with a known result
// on 'wasm', and a larger one on 'wasm' and 'js', and resolves to their outputs for the test to compare.
'use strict';

async function run(be) {
  const fill = (n, f) => Float32Array.from({ length: n }, (_, i) => f(i));
  // 1..9 as a 1x3x3x1 image, a 2x2 filter of ones, bias 0.5, stride 1, no padding: [12.5, 16.5, 24.5, 28.5]
  const a = be.tensor([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = be.tensor([2, 2, 1, 1], [1, 1, 1, 1]);
  const c = be.tensor([1, 1, 1, 1], [0.5]);
  const known = be.convForward(a, w, c, { stride: 1, pad: 0 }).Z;
  // 2x6x9x5 through a 3x3x5x7 filter, stride 2, pad 1: 2x3x5x7
  const A = be.tensor([2, 6, 9, 5], fill(540, (i) => (((i * 37) % 17) - 8) / 8));
  const W = be.tensor([3, 3, 5, 7], fill(315, (i) => (((i * 11) % 13) - 6) / 6));
  const b = be.tensor([1, 1, 1, 7], fill(7, (i) => i / 4 - 1));
  const { Z } = be.convForward(A, W, b, { stride: 2, pad: 1 });
  const out = {
    build: be.features.build,
    known: Array.from(known.data),
    shape: Z.shape,
    data: Array.from(Z.data),
    dataIsFloat32Array: Z.data instanceof Float32Array,
  };
  for (const t of [a, w, c, known, A, W, b, Z]) t.dispose();
  out.tensorsLeft = be.memory().tensors;
  return out;
}

exports.check = async function check(createBackend) {
  return { wasm: await run(await createBackend('wasm')), js: await run(await createBackend('js')) };
};
