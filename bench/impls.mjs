// The implementations the benchmark compares, each prepared for one case: { name, run, result,
// dispose, enter?, work?, note? }, or { name, missing } where a peer has no kernel for the op.
// `run` does the op once (outputs freed); `result` returns its output as a flat NHWC Float64Array
// for the accuracy column; `enter` makes a peer's backend active; `dispose` frees the case's inputs.
// Peers: tfjs-backend-wasm (XNNPACK, one thread), tfjs-backend-cpu, onnxruntime-web (wasm, one
// thread) and onnxruntime-node (native CPU, one intra-op thread). ONNX Runtime is NCHW: it gets the
// same values transposed, and its output is transposed back for the comparison.
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as ortWeb from 'onnxruntime-web';
import * as ortNode from 'onnxruntime-node';
import { Worker } from 'node:worker_threads';
import { oneNodeModel } from './onnx-model.mjs';
import { BATCH, NAMES, lenetData, lenetForwardBackward, lenetParams, lenetTrainStep, tfjsLenetLoss, tfjsLenetParams } from '../tools/lenet.mjs';

setThreadsCount(1);
ortWeb.env.wasm.numThreads = 1;
// quiet peers: ONNX Runtime logs errors only; tfjs's PROD flag silences its console messages (the
// cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner; in tfjs 4.22 the
// flag gates nothing else)
ortWeb.env.logLevel = 'error';
ortNode.env.logLevel = 'error';
tf.enableProdMode();

/**
 * Every implementation, in the order tables list them. tier 'full': run only with --full (slow
 * peers and references), except on the cases defaultFor(c) names. make(c, backends) returns the
 * impl for case c, { name, missing } where it has no kernel for the op, or null where it does not
 * apply (tfjs and ONNX Runtime are float32 only). skip(c): why a (slow) impl is not run on c, or null.
 */
/** The ops a 2-thread column runs on by default: convolution, pooling, dense layers, softmax cross-entropy, the training step. */
const THREADED_OPS = /^(conv |max pool|average pool|dense |softmax cross-entropy|training step)/;

export const IMPLS = [
  { name: 'cnn-wasm relaxed', tier: 'default', make: (c, be) => be.relaxed && cnnImpl('cnn-wasm relaxed', be.relaxed, c) },
  { name: 'cnn-wasm simd', tier: 'default', make: (c, be) => cnnImpl('cnn-wasm simd', be.simd, c) },
  // the faster build on two threads (the caller and one worker): what a second core buys, on the
  // rows threads are for (--full: every row)
  {
    name: 'cnn-wasm 2 threads', tier: 'full', defaultFor: (c) => THREADED_OPS.test(c.op),
    make: (c, be) => (be.threads2 ? cnnImpl('cnn-wasm 2 threads', be.threads2, c) : null),
  },
  { name: 'tfjs-wasm', tier: 'default', make: (c) => (c.dtype === 'float32' ? tfjsImpl('wasm', c) : null) },
  {
    // the training step is the story of tfjs-cpu (the one tfjs backend that can train a conv net): always run there
    name: 'tfjs-cpu', tier: 'full', defaultFor: (c) => c.op === 'training step', make: (c) => (c.dtype === 'float32' ? tfjsImpl('cpu', c) : null),
    // its conv gradients run at a few tens of MFLOP/s: seconds a call above this; and it keeps the
    // array a tensor is made from (no copy), so there is no copy to time
    skip: (c) => (c.dtype === 'float32' && c.op.startsWith('conv ') && c.op !== 'conv forward' && c.work > 2e8 ? 'conv gradients not run above 0.2 GFLOP a call'
      : c.op === 'copy in and out' ? 'keeps the array it is given (no copy in), and dataSync returns it' : null),
  },
  { name: 'ort-web', tier: 'default', make: (c) => (c.dtype === 'float32' ? ortImpl('web', c) : null) },
  { name: 'ort-node', tier: 'default', make: (c) => (c.dtype === 'float32' ? ortImpl('node', c) : null) },
  // onnxruntime-web's threaded wasm (pthreads over SharedArrayBuffer, as in a cross-origin isolated
  // page), on conv forward (--full: every op it has)
  {
    name: 'ort-web 2 threads', tier: 'full', defaultFor: (c) => c.op === 'conv forward',
    make: (c) => (c.dtype === 'float32' ? ortWebThreadsImpl(c, 'ort-web 2 threads') : null),
  },
  // the pure-JS backend: the reference a --full run checks every output against
  { name: 'cnn-wasm js', tier: 'full', defaultFor: (c) => c.op === 'training step', make: (c, be) => cnnImpl('cnn-wasm js', be.js, c) },
];

export async function initPeers() {
  await tf.setBackend('wasm');
  await tf.ready();
  const wasmSimd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  // its threaded build runs only where this is true: in browsers of cross-origin isolated pages, not in Node
  const wasmThreads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  await tf.setBackend('cpu');
  return {
    tfjsWasmSimd: wasmSimd, tfjsWasmThreads: wasmThreads, tfjsVersion: tf.version.tfjs,
    ortVersion: ortWeb.env.versions?.web ?? 'unknown', ortNodeVersion: ortNode.env.versions?.node ?? 'unknown',
  };
}

/**
 * A 4-D array of `shape` with its axes reordered: output axis i is input axis perm[i]
 * (NHWC -> NCHW is [0, 3, 1, 2]; a filter (fH, fW, C, N) -> (N, C, fH, fW) is [3, 2, 0, 1]).
 */
function permute(data, shape, perm, Out = Float32Array) {
  const strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const [d0, d1, d2, d3] = perm.map((a) => shape[a]);
  const [s0, s1, s2, s3] = perm.map((a) => strides[a]);
  const out = new Out(data.length);
  let o = 0;
  for (let i = 0; i < d0; i++)
    for (let j = 0; j < d1; j++)
      for (let k = 0; k < d2; k++)
        for (let l = 0; l < d3; l++) out[o++] = data[i * s0 + j * s1 + k * s2 + l * s3];
  return out;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
const HWIO_TO_OIHW = [3, 2, 0, 1];

const concat = (...arrays) => {
  const out = new Float64Array(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
};

// ---------------------------------------------------------------- cnn-wasm (both backends)

/** An implementation of `op` on one of our backends, over the case's data (c.data). */
export function cnnImpl(name, be, c) {
  const dt = c.dtype;
  const t = (shape, values) => be.tensor(shape, values, dt);
  const take = (...ts) => {
    const out = concat(...ts.map((x) => x.data));
    for (const x of ts) x.dispose();
    return out;
  };
  const { data } = c;
  const impl = (fields, ...inputs) => ({ name, build: be.features?.build, threads: be.features?.threads, ...fields, dispose: () => inputs.forEach((x) => x.dispose()) });
  if (c.op.startsWith('conv ')) {
    const A = t(c.shapes.A, data.A), W = t(c.shapes.W, data.W), b = t(c.shapes.b, data.b);
    const hp = { stride: c.layer.s, pad: c.layer.p };
    if (c.op === 'conv forward') {
      return impl({ run: () => be.convForward(A, W, b, hp).Z.dispose(), result: () => take(be.convForward(A, W, b, hp).Z) }, A, W, b);
    }
    const { Z, cache } = be.convForward(A, W, b, hp);
    Z.dispose();
    const dZ = t(c.shapes.Z, data.dZ);
    const backward = {
      'conv backward': () => {
        const g = be.convBackward(dZ, cache);
        return [g.dA, g.dW, g.db];
      },
      'conv input gradient': () => [be.convBackwardInput(dZ, cache)],
      'conv filter gradient': () => {
        const g = be.convBackwardFilter(dZ, cache);
        return [g.dW, g.db];
      },
    }[c.op];
    return impl({ run: () => backward().forEach((x) => x.dispose()), result: () => take(...backward()) }, A, W, b, dZ);
  }
  if (c.op.endsWith('pool forward')) {
    const A = t(c.shapes.A, data.A);
    const hp = { f: c.pool.f, stride: c.pool.s };
    return impl({ run: () => be.poolForward(A, hp, c.mode).A.dispose(), result: () => take(be.poolForward(A, hp, c.mode).A) }, A);
  }
  if (c.op.endsWith('pool backward')) {
    const A = t(c.shapes.A, data.A);
    const { A: out, cache } = be.poolForward(A, { f: c.pool.f, stride: c.pool.s }, c.mode);
    out.dispose();
    const dA = t(c.shapes.out, data.dOut);
    return impl({ run: () => be.poolBackward(dA, cache).dispose(), result: () => take(be.poolBackward(dA, cache)) }, A, dA);
  }
  if (c.op === 'zero pad') {
    const X = t(c.shapes.A, data.A);
    return impl({ run: () => be.zeroPad(X, c.layer.p).dispose(), result: () => take(be.zeroPad(X, c.layer.p)) }, X);
  }
  if (c.op === 'relu forward') {
    const X = t(c.shapes.X, data.X);
    return impl({ run: () => be.relu(X).Y.dispose(), result: () => take(be.relu(X).Y) }, X);
  }
  if (c.op === 'relu backward') {
    const X = t(c.shapes.X, data.X), dY = t(c.shapes.X, data.dY);
    const { Y, cache } = be.relu(X);
    Y.dispose();
    return impl({ run: () => be.reluBackward(dY, cache).dispose(), result: () => take(be.reluBackward(dY, cache)) }, X, dY);
  }
  if (c.op.startsWith('dense ')) {
    const X = t(c.shapes.X, data.X), W = t(c.shapes.W, data.W), b = t(c.shapes.b, data.b);
    if (c.op === 'dense forward') return impl({ run: () => be.denseForward(X, W, b).Z.dispose(), result: () => take(be.denseForward(X, W, b).Z) }, X, W, b);
    const { Z, cache } = be.denseForward(X, W, b);
    Z.dispose();
    const dZ = t(c.shapes.Z, data.dZ);
    const backward = () => {
      const g = be.denseBackward(dZ, cache);
      return [g.dX, g.dW, g.db];
    };
    return impl({ run: () => backward().forEach((x) => x.dispose()), result: () => take(...backward()) }, X, W, b, dZ);
  }
  if (c.op === 'softmax cross-entropy') {
    const Z = t(c.shapes.Z, data.Z);
    const run = () => be.softmaxCrossEntropy(Z, data.labels);
    return impl({
      run: () => run().dLogits.dispose(),
      result: () => {
        const { loss, dLogits } = run();
        return concat([loss], take(dLogits));
      },
    }, Z);
  }
  if (c.op === 'training step') return trainingStepImpl(name, be, c);
  if (c.op === 'copy in and out') {
    const copy = () => {
      const x = be.tensor(c.shapes.X, data.X, dt);
      const out = x.toArray();
      x.dispose();
      return out;
    };
    return impl({ run: copy, result: () => Float64Array.from(copy()) });
  }
  throw new Error(`no cnn implementation of ${c.op}`);
}

/**
 * A whole LeNet-like training step on one of our backends (tools/lenet.mjs): `run` takes a step
 * (forward, backward, Adam; the weights move on), `result` the six gradients at the seeded weights.
 * `parts` runs each op of the step alone, on fixed inputs, so the benchmark can set the step's time
 * against the sum of its ops' times: what the API between them costs.
 */
function trainingStepImpl(name, be, c) {
  const d = lenetData(21, c.layer.batch);
  const x = be.tensor([c.layer.batch, 28, 28, 1], d.images, c.dtype);
  const params = lenetParams(be, d.weights, c.dtype);
  const state = be.adamState(NAMES.map((n) => params[n]));
  const result = () => {
    const fresh = lenetParams(be, d.weights, c.dtype);
    const out = be.tidy(() => {
      const { grads } = lenetForwardBackward(be, fresh, x, d.labels);
      return concat(...NAMES.map((n) => grads[n].data));
    });
    Object.values(fresh).forEach((p) => p.dispose());
    return out;
  };
  // the step's ops one by one: their inputs and caches kept from one pass
  const kept = be.tidy(() => {
    const c1 = be.convForward(x, params.W1, params.b1, { stride: 1, pad: 'same', activation: 'relu' });
    const p1 = be.poolForward(c1.Z, { f: 2, stride: 2 });
    const c2 = be.convForward(p1.A, params.W2, params.b2, { stride: 1, pad: 'valid', activation: 'relu' });
    const p2 = be.poolForward(c2.Z, { f: 2, stride: 2 });
    const dn = be.denseForward(p2.A, params.W3, params.b3);
    const { dLogits } = be.softmaxCrossEntropy(dn.Z, d.labels);
    const g3 = be.denseBackward(dLogits, dn.cache);
    const r2 = be.poolBackward(g3.dX, p2.cache, 'max', { ties: 'first' });
    const g2 = be.convBackward(r2, c2.cache);
    const r1 = be.poolBackward(g2.dA, p1.cache, 'max', { ties: 'first' });
    const g1 = be.convBackwardFilter(r1, c1.cache);
    return { c1, p1, c2, p2, dn, dLogits, g3, r2, g2, r1, g1 };
  });
  const { c1, p1, c2, p2, dn, dLogits, g3, r2, g2, r1 } = kept;
  const grads = [kept.g1.dW, kept.g1.db, g2.dW, g2.db, g3.dW, g3.db];
  const scratchParams = NAMES.map((n) => be.tensor(params[n].shape, params[n].data, c.dtype));
  const scratchState = be.adamState(scratchParams);
  const free = (...ts) => ts.forEach((u) => u.dispose());
  const parts = [
    ['conv1 forward', () => free(be.convForward(x, params.W1, params.b1, { stride: 1, pad: 'same', activation: 'relu' }).Z)],
    ['pool1 forward', () => free(be.poolForward(c1.Z, { f: 2, stride: 2 }).A)],
    ['conv2 forward', () => free(be.convForward(p1.A, params.W2, params.b2, { stride: 1, pad: 'valid', activation: 'relu' }).Z)],
    ['pool2 forward', () => free(be.poolForward(c2.Z, { f: 2, stride: 2 }).A)],
    ['dense forward', () => free(be.denseForward(p2.A, params.W3, params.b3).Z)],
    ['softmax cross-entropy', () => free(be.softmaxCrossEntropy(dn.Z, d.labels).dLogits)],
    ['dense backward', () => free(...Object.values(be.denseBackward(dLogits, dn.cache)))],
    ['pool2 backward', () => free(be.poolBackward(g3.dX, p2.cache, 'max', { ties: 'first' }))],
    ['conv2 backward', () => free(...Object.values(be.convBackward(r2, c2.cache)))],
    ['pool1 backward', () => free(be.poolBackward(g2.dA, p1.cache, 'max', { ties: 'first' }))],
    ['conv1 filter gradient', () => free(...Object.values(be.convBackwardFilter(r1, c1.cache)))],
    ['adam', () => be.adam(scratchParams, grads, scratchState, { learningRate: 1e-3 })],
  ].map(([part, run]) => ({ name: part, run }));
  const everything = () => [x, ...Object.values(params), ...state.m, ...state.v, ...scratchParams, ...scratchState.m, ...scratchState.v,
    c1.Z, p1.A, c2.Z, p2.A, dn.Z, dLogits, ...Object.values(g3), r2, ...Object.values(g2), r1, ...Object.values(kept.g1)];
  return {
    name, build: be.features?.build, threads: be.features?.threads, parts,
    run: () => lenetTrainStep(be, params, state, x, d.labels),
    result,
    dispose: () => everything().forEach((u) => u.dispose()),
  };
}

// ---------------------------------------------------------------- TensorFlow.js

/** tfjs on `backend` ('wasm' or 'cpu'); null where that backend has no kernel for the op. */
export function tfjsImpl(backend, c) {
  const name = `tfjs-${backend}`;
  const enter = () => tf.setBackend(backend);
  tf.setBackend(backend); // tensors below are made on this backend
  const { data } = c;
  const read = (y) => {
    const out = Float64Array.from(y.dataSync());
    y.dispose();
    return out;
  };
  const inputs = [];
  const mk = (shape, values) => {
    const x = tf.tensor(Float32Array.from(values), shape);
    inputs.push(x);
    return x;
  };
  const impl = (fields) => ({ name, enter, ...fields, dispose: () => tf.dispose(inputs) });
  const kernel = (k, ins, attrs) => tf.engine().runKernel(k, ins, attrs);
  if (c.op.startsWith('conv ')) {
    const { s, p } = c.layer;
    const pad = [[0, 0], [p, p], [p, p], [0, 0]];
    const x = mk(c.shapes.A, data.A), w = mk(c.shapes.W, data.W), bias = mk([c.layer.N], data.b);
    if (c.op === 'conv forward') {
      const fwd = () => tf.fused.conv2d({ x, filter: w, bias, strides: [s, s], pad });
      return impl({ run: () => fwd().dispose(), result: () => read(fwd()) });
    }
    const dy = mk(c.shapes.Z, data.dZ);
    const convAttrs = { strides: [s, s], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const input = () => kernel('Conv2DBackpropInput', { dy, filter: w }, { ...convAttrs, inputShape: c.shapes.A });
    if (c.op === 'conv input gradient') {
      return impl({ note: 'Conv2DBackpropInput (conv2dTranspose)', run: () => input().dispose(), result: () => read(input()) });
    }
    if (!tf.getKernel('Conv2DBackpropFilter', backend)) {
      tf.dispose(inputs);
      return { name, missing: 'no Conv2DBackpropFilter kernel' + (c.op === 'conv backward' ? ' (its input gradient is timed in the conv input gradient rows)' : '') };
    }
    const filter = () => [kernel('Conv2DBackpropFilter', { x, dy }, { ...convAttrs, filterShape: c.shapes.W }), tf.sum(dy, [0, 1, 2])];
    if (c.op === 'conv filter gradient') {
      return impl({
        note: 'Conv2DBackpropFilter + sum',
        run: () => filter().forEach((y) => y.dispose()), result: () => concat(...filter().map(read)),
      });
    }
    const all = () => [input(), ...filter()];
    return impl({
      note: 'Conv2DBackpropInput + Conv2DBackpropFilter + sum',
      run: () => all().forEach((y) => y.dispose()), result: () => concat(...all().map(read)),
    });
  }
  const { f, s } = c.pool ?? {};
  if (c.op.endsWith('pool forward')) {
    const x = mk(c.shapes.A, data.A);
    const fwd = () => (c.mode === 'max' ? tf.maxPool(x, [f, f], [s, s], 'valid') : tf.avgPool(x, [f, f], [s, s], 'valid'));
    return impl({ run: () => fwd().dispose(), result: () => read(fwd()) });
  }
  if (c.op.endsWith('pool backward')) {
    const x = mk(c.shapes.A, data.A);
    if (c.mode === 'max') inputs.push(tf.maxPool(x, [f, f], [s, s], 'valid'));
    const y = c.mode === 'max' ? inputs.at(-1) : null;
    const dy = mk(c.shapes.out, data.dOut);
    const attrs = { filterSize: [f, f], strides: [s, s], pad: 'valid' };
    const grad = () => (c.mode === 'max' ? kernel('MaxPoolGrad', { dy, input: x, output: y }, attrs) : kernel('AvgPoolGrad', { dy, input: x }, attrs));
    return impl({ run: () => grad().dispose(), result: () => read(grad()) });
  }
  if (c.op === 'zero pad') {
    const x = mk(c.shapes.A, data.A);
    const p = c.layer.p;
    const pad = () => tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
    return impl({ run: () => pad().dispose(), result: () => read(pad()) });
  }
  if (c.op === 'relu forward') {
    const x = mk(c.shapes.X, data.X);
    return impl({ run: () => tf.relu(x).dispose(), result: () => read(tf.relu(x)) });
  }
  if (c.op === 'relu backward') {
    // tfjs's own gradient of relu: dy * step(x)
    const x = mk(c.shapes.X, data.X), dy = mk(c.shapes.X, data.dY);
    const grad = () => tf.tidy(() => tf.mul(dy, tf.step(x)));
    return impl({ note: 'mul(dy, step(x))', run: () => grad().dispose(), result: () => read(grad()) });
  }
  if (c.op === 'dense forward') {
    const x = mk(c.shapes.X, data.X), w = mk(c.shapes.W, data.W), bias = mk([c.layer.n], data.b);
    const fwd = () => tf.fused.matMul({ a: x, b: w, bias });
    return impl({ run: () => fwd().dispose(), result: () => read(fwd()) });
  }
  if (c.op === 'dense backward') {
    // the gradients of matMul + bias as tfjs takes them: dy w^T, x^T dy, and the sum of dy
    const x = mk(c.shapes.X, data.X), w = mk(c.shapes.W, data.W), dy = mk(c.shapes.Z, data.dZ);
    const grads = () => [tf.matMul(dy, w, false, true), tf.matMul(x, dy, true, false), tf.sum(dy, 0)];
    return impl({ note: 'matMul(dy, w^T), matMul(x^T, dy), sum', run: () => grads().forEach((y) => y.dispose()), result: () => concat(...grads().map(read)) });
  }
  if (c.op === 'softmax cross-entropy') {
    const z = mk(c.shapes.Z, data.Z);
    const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), c.layer.n);
    inputs.push(y);
    const both = () => tf.valueAndGrad((v) => tf.losses.softmaxCrossEntropy(y, v))(z);
    return impl({
      note: 'losses.softmaxCrossEntropy and its gradient',
      run: () => tf.dispose(Object.values(both())),
      result: () => {
        const { value, grad } = both();
        return concat([value.dataSync()[0]], read(grad));
      },
    });
  }
  if (c.op === 'training step') return tfjsTrainingStep(name, backend, enter, c);
  if (c.op === 'copy in and out') {
    const copy = () => {
      const x = tf.tensor(data.X, c.shapes.X);
      const out = x.dataSync();
      x.dispose();
      return out;
    };
    return impl({ note: 'tf.tensor + dataSync', run: copy, result: () => Float64Array.from(copy()) });
  }
  tf.dispose(inputs);
  return null;
}

/**
 * The same training step in TensorFlow.js: tf.train.adam minimizing the net's loss (tools/lenet.mjs).
 * On a backend without the kernels a step needs, { name, missing } with the error it gives.
 */
function tfjsTrainingStep(name, backend, enter, c) {
  const d = lenetData(21, c.layer.batch);
  const x = tf.tensor4d(d.images, [c.layer.batch, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10);
  const initial = tfjsLenetParams(tf, d.weights);
  const vars = initial.map((p) => tf.variable(p));
  const loss = tfjsLenetLoss(tf, x, y);
  const optimizer = tf.train.adam(1e-3);
  const all = () => [x, y, ...initial, ...vars];
  try {
    tf.tidy(() => tf.grads(loss)(initial));
  } catch (e) {
    tf.dispose(all());
    return { name, missing: `cannot train: ${String(e.message ?? e).split('\n')[0]}` };
  }
  return {
    name, enter,
    run: () => optimizer.minimize(() => loss(...vars)),
    result: () => {
      const gs = tf.grads(loss)(initial);
      const out = concat(...gs.map((g) => g.dataSync()));
      tf.dispose(gs);
      return out;
    },
    dispose: () => {
      tf.dispose(all());
      optimizer.dispose();
    },
  };
}

/**
 * tfjs-wasm's float32 output for case c, for checking the others' (a default run's reference for
 * ops whose OPS entry says 'tfjs-wasm'): { name, result, dispose } or null. tfjs-wasm has no
 * Conv2DBackpropFilter kernel, so for the filter gradient (and the whole backward) dW is computed
 * here as a convolution on tfjs-wasm: dW[i, j, c, n] = sum over (m, h, w) of
 * Apad[m, h*s + i, w*s + j, c] * dZ[m, h, w, n], that is conv2d of Apad with its batch and channel
 * axes swapped ([C, Hp, Wp, m]) by dZ as the filter ([nH, nW, m, N]), dilated by the stride, cut
 * to the first f x f output pixels. Not timed: it is not how tfjs computes a gradient.
 */
export async function tfjsWasmReference(c) {
  if (c.dtype !== 'float32') return null;
  const viaConv = c.op === 'conv filter gradient' || c.op === 'conv backward';
  if (!viaConv) {
    const impl = tfjsImpl('wasm', c);
    return impl && !impl.missing ? { name: 'tfjs-wasm', result: impl.result, dispose: impl.dispose } : null;
  }
  await tf.setBackend('wasm');
  const { f, s, p, N } = c.layer;
  const x = tf.tensor(Float32Array.from(c.data.A), c.shapes.A);
  const w = tf.tensor(Float32Array.from(c.data.W), c.shapes.W);
  const dy = tf.tensor(Float32Array.from(c.data.dZ), c.shapes.Z);
  const pad = [[0, 0], [p, p], [p, p], [0, 0]];
  const grads = () => tf.tidy(() => {
    const apad = tf.transpose(tf.pad(x, pad), [3, 1, 2, 0]);
    const full = tf.conv2d(apad, tf.transpose(dy, [1, 2, 0, 3]), 1, 'valid', 'NHWC', [s, s]);
    const C = c.shapes.A[3];
    const dW = tf.transpose(tf.slice(full, [0, 0, 0, 0], [C, f, f, N]), [1, 2, 0, 3]);
    const db = tf.sum(dy, [0, 1, 2]);
    if (c.op === 'conv filter gradient') return [dW, db];
    const dA = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: [s, s], pad, dataFormat: 'NHWC', inputShape: c.shapes.A });
    return [dA, dW, db];
  });
  return {
    name: 'tfjs-wasm (dW as a dilated conv2d)',
    result: () => {
      const ys = grads();
      const out = concat(...ys.map((y) => y.dataSync()));
      tf.dispose(ys);
      return out;
    },
    dispose: () => tf.dispose([x, w, dy]),
  };
}

// ---------------------------------------------------------------- ONNX Runtime (forward only)

/** onnxruntime-web ('web') or onnxruntime-node ('node'); null for ops it has no kernel for. */
/**
 * The one-node ONNX model of a case and its input: { model, x, shape, outShape, nchw } (nchw: the
 * output is NCHW and is transposed back for the comparison), or null where ONNX Runtime has nothing
 * to run (gradients and training: it is an inference runtime).
 */
function ortSpec(c) {
  if (c.op.endsWith('backward') || c.op.endsWith('gradient') || ['training step', 'softmax cross-entropy', 'copy in and out'].includes(c.op)) return null;
  const { data } = c;
  if (c.op === 'relu forward' || c.op === 'dense forward') {
    const shape = c.shapes.X;
    const outShape = c.op === 'relu forward' ? c.shapes.X : c.shapes.Z;
    const model = c.op === 'relu forward'
      ? oneNodeModel({ opType: 'Relu', inputs: [{ name: 'x', shape }], output: { name: 'y', shape: outShape } })
      : oneNodeModel({
        opType: 'Gemm', inputs: [{ name: 'x', shape }], output: { name: 'y', shape: outShape },
        weights: [{ name: 'w', shape: c.shapes.W, data: Float32Array.from(data.W) }, { name: 'b', shape: [c.layer.n], data: Float32Array.from(data.b) }],
      });
    return { model, x: Float32Array.from(data.X), shape, outShape, nchw: false };
  }
  const [m, H, W, C] = c.shapes.A;
  const nchw = [m, C, H, W];
  let model, outShape;
  if (c.op === 'conv forward') {
    const { f, N, s, p } = c.layer;
    const [, nH, nW] = c.shapes.Z;
    outShape = [m, N, nH, nW];
    model = oneNodeModel({
      opType: 'Conv', inputs: [{ name: 'x', shape: nchw }], output: { name: 'y', shape: outShape },
      weights: [{ name: 'w', shape: [N, C, f, f], data: permute(data.W, c.shapes.W, HWIO_TO_OIHW) }, { name: 'b', shape: [N], data: Float32Array.from(data.b) }],
      attributes: { kernel_shape: [f, f], strides: [s, s], pads: [p, p, p, p] },
    });
  } else if (c.op.endsWith('pool forward')) {
    const [, nH, nW] = c.shapes.out;
    outShape = [m, C, nH, nW];
    model = oneNodeModel({
      opType: c.mode === 'max' ? 'MaxPool' : 'AveragePool', inputs: [{ name: 'x', shape: nchw }], output: { name: 'y', shape: outShape },
      attributes: { kernel_shape: [c.pool.f, c.pool.f], strides: [c.pool.s, c.pool.s] },
    });
  } else if (c.op === 'zero pad') {
    const p = c.layer.p;
    outShape = [m, C, H + 2 * p, W + 2 * p];
    model = oneNodeModel({
      opType: 'Pad', inputs: [{ name: 'x', shape: nchw }], output: { name: 'y', shape: outShape },
      weights: [{ name: 'pads', shape: [8], data: BigInt64Array.from([0, 0, p, p, 0, 0, p, p].map(BigInt)) }],
      attributes: { mode: 'constant' },
    });
  } else {
    return null;
  }
  return { model, x: permute(data.A, c.shapes.A, NHWC_TO_NCHW), shape: nchw, outShape, nchw: true };
}

/** An ONNX Runtime output as a flat NHWC Float64Array. */
const ortOutput = (spec, y) => (spec.nchw ? permute(y, spec.outShape, NCHW_TO_NHWC, Float64Array) : Float64Array.from(y));

export async function ortImpl(which, c) {
  const spec = ortSpec(c);
  if (!spec) return null;
  const ort = which === 'web' ? ortWeb : ortNode;
  const options = which === 'web'
    ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 }
    : { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  const session = await ort.InferenceSession.create(spec.model, options);
  const feeds = { x: new ort.Tensor('float32', spec.x, spec.shape) };
  return {
    name: `ort-${which}`,
    ...(spec.nchw ? { note: 'NCHW' } : {}),
    run: () => session.run(feeds),
    result: async () => ortOutput(spec, (await session.run(feeds)).y.data),
    dispose: () => session.release(),
  };
}

// onnxruntime-web reads its thread count once per process (env.wasm.numThreads, when its wasm
// starts), so the 2-thread peer runs in a worker thread of its own: a module graph with its own
// onnxruntime-web, sessions made there, each call one message there and back (the round trip,
// measured in initPeers, is in its time and said in its note).
let ortWorker = null;
const pending = new Map();
let nextId = 1;
function ortWorkerCall(message, transfer = []) {
  if (!ortWorker) {
    ortWorker = new Worker(new URL('./ort-web-worker.mjs', import.meta.url), { workerData: { numThreads: 2 } });
    ortWorker.unref();
    ortWorker.on('message', ({ id, error, ...rest }) => {
      const p = pending.get(id);
      pending.delete(id);
      if (error) p.reject(new Error(error));
      else p.resolve(rest);
    });
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    ortWorker.postMessage({ id, ...message }, transfer);
  });
}

/** The round trip of an empty message to the 2-thread ONNX Runtime worker: median ms of 200. */
export async function ortWorkerRoundTripMs() {
  const t = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await ortWorkerCall({ type: 'ping' });
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[100];
}

let roundTripMs = null;
export async function ortWebThreadsImpl(c, threadsPeer) {
  const spec = ortSpec(c);
  if (!spec) return null;
  roundTripMs ??= await ortWorkerRoundTripMs();
  const { session } = await ortWorkerCall({ type: 'create', model: spec.model, x: spec.x, shape: spec.shape });
  return {
    name: threadsPeer,
    threads: 2,
    note: `${spec.nchw ? 'NCHW; ' : ''}in a worker (a ${(roundTripMs * 1000).toFixed(0)} us message round trip is in its time)`,
    run: () => ortWorkerCall({ type: 'run', session }),
    result: async () => ortOutput(spec, (await ortWorkerCall({ type: 'result', session })).y),
    dispose: () => ortWorkerCall({ type: 'release', session }),
  };
}
