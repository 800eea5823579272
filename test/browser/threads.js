// The threads test's page script: a backend asked for 2 threads runs ops large enough to be split
// on the page's main thread (which may not block: the caller spins) and reports how many threads
// ran, whether the results are bitwise those of 1 thread, and the conv output against 'js'.
import { createBackend } from 'cnn-wasm';

async function run() {
  const one = await createBackend('wasm', { threads: 1 });
  const two = await createBackend('wasm', { threads: 2 });
  const js = await createBackend('js');
  const shapeA = [4, 40, 40, 16], shapeW = [3, 3, 16, 16];
  const values = (n, k) => Array.from({ length: n }, (_, i) => Math.sin(i * k + 1));
  const A = values(shapeA.reduce((a, b) => a * b), 0.37), W = values(shapeW.reduce((a, b) => a * b), 0.71), b = values(16, 1.3);
  const hp = { stride: 1, pad: 1 };
  const outputs = (be) => {
    const x = be.tensor(shapeA, A);
    const { Z, cache } = be.convForward(x, be.tensor(shapeW, W), be.tensor([1, 1, 1, 16], b), hp);
    const g = be.convBackward(be.tensor(Z.shape, values(Z.size, 0.11)), cache);
    const { A: P, cache: pc } = be.poolForward(Z, { f: 2, stride: 2 });
    const dP = be.poolBackward(be.tensor(P.shape, values(P.size, 0.13)), pc);
    const mag = be.convForward(be.tensor(shapeA, A.map(Math.abs)), be.tensor(shapeW, W.map(Math.abs)), be.tensor([1, 1, 1, 16], b.map(Math.abs)), hp).Z;
    return { Z: Array.from(Z.data), dA: Array.from(g.dA.data), dW: Array.from(g.dW.data), P: Array.from(P.data), dP: Array.from(dP.data), mag: Array.from(mag.data) };
  };
  const o1 = outputs(one), o2 = outputs(two), oj = outputs(js);
  const same = Object.keys(o1).every((k) => o1[k].every((v, i) => Object.is(v, o2[k][i])));
  const { threads, threadsNote } = two.features;
  two.dispose();
  return { isolated: globalThis.crossOriginIsolated === true, build: one.features.build, threads, note: threadsNote, same, wasm: o2.Z, js: oj.Z, mag: oj.mag };
}

run().then((r) => (window.result = r), (e) => (window.result = { error: String((e && e.stack) || e) }));
