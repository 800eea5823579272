// The training worker: loads the digits, trains the course's ConvNet with model.trainStep in its own
// loop (so pause, resume and reset are a flag, a promise and a new model), and reports progress,
// snapshots of what the network computes, and predictions for the page's drawing.
/// <reference lib="webworker" />
import { createBackend, nn, type Backend, type Tensor } from 'cnn-wasm';
import type { FromWorker, LayerMaps, RunState, Settings, ToWorker } from './protocol';

declare const self: DedicatedWorkerGlobalScope;
type Model = ReturnType<typeof nn.sequential>;

const post = (message: FromWorker, transfer: Transferable[] = []) => self.postMessage(message, transfer);
const PIXELS = 28 * 28;
/** Every how many steps the batch's accuracy is measured (a forward pass before its step), and how many such batches the running accuracy spans. */
const ACCURACY_EVERY = 5;
const ACCURACY_WINDOW = 20;
/** A slice of training between two looks at the message queue, in ms: the drawing's predictions wait at most this long. */
const SLICE_MS = 25;

let be: Backend;
let settings: Settings;
let train: { x: Float32Array; y: Int32Array };
/** The held-out digits: a tensor per chunk of 250, so an epoch's evaluation yields between chunks. */
let validation: { x: Tensor; y: Int32Array }[];
let valPixels: Float32Array;
let valLabels: Uint8Array;
let sampleIndex = 0;

/** Everything of one model from its seed: reset replaces it, and a loop that finds it replaced stops. */
interface Run {
  model: Model;
  optimizer: ReturnType<typeof nn.adam>;
  step: number;
  epoch: number;
  batch: number;
  /** When the epoch began (moved on by the time paused). */
  epochStart: number;
  order: Int32Array;
  targetEpochs: number;
  state: RunState;
  /** Resolves a paused loop's wait. */
  wake: (() => void) | null;
  lossSum: number;
  lossCount: number;
  stepMs: number;
  rate: number;
  sampled: { correct: number; n: number }[];
}
let run: Run | null = null;

/** Yields to the event loop without setTimeout's 4 ms clamp. */
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () => new Promise<void>((resolve) => {
  waiting.push(resolve);
  channel.port2.postMessage(null);
});

/** A seeded generator in [0, 1) (mulberry32), for the shuffles. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function permutation(n: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rand = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** digits.bin (tools/demo.mjs writes it): gzipped unless the server already undid that. */
async function loadDigits(url: string) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  let bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  const [version, nTrain, nTest, h, w] = [0, 1, 2, 3, 4].map((i) => view.getUint32(4 + 4 * i, true)) as [number, number, number, number, number];
  if (magic !== 'MNST' || version !== 1 || h !== 28 || w !== 28) throw new Error(`${url} is not a digits file of version 1 (run npm run demo again)`);
  const n = nTrain + nTest;
  const labels = bytes.subarray(24, 24 + n);
  const pixels = bytes.subarray(24 + n, 24 + n + n * PIXELS);
  return { nTrain, nTest, labels, pixels };
}

function newRun(targetEpochs: number, state: RunState): Run {
  const model = nn.sequential(be, [
    nn.conv2d({ filters: 16, kernelSize: 5, padding: 'same', activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2, strides: 2 }),
    nn.conv2d({ filters: 32, kernelSize: 5, activation: 'relu' }),
    nn.maxPool2d({ poolSize: 2, strides: 2 }),
    nn.flatten(),
    nn.dense({ units: 10 }),
  ], { inputShape: [28, 28, 1], seed: 1 });
  return {
    model, optimizer: nn.adam({ learningRate: settings.learningRate }), step: 0, epoch: 0, batch: 0, epochStart: 0,
    order: permutation(settings.trainSize, 7), targetEpochs, state, wake: null,
    lossSum: 0, lossCount: 0, stepMs: 0, rate: 0, sampled: [],
  };
}

function setState(r: Run, state: RunState) {
  r.state = state;
  post({ type: 'state', state, epochs: r.epoch });
  if (state !== 'paused') {
    r.wake?.();
    r.wake = null;
  }
}

/** Reusable batch tensors: a full batch, and the last, shorter one when the size is not a multiple. */
let batchTensors: Map<number, Tensor>;
function batchTensor(n: number): Tensor {
  let t = batchTensors.get(n);
  if (!t) batchTensors.set(n, (t = be.tensor([n, 28, 28, 1])));
  return t;
}

/** One optimizer step on the run's next batch; every ACCURACY_EVERY steps the batch's accuracy first. */
function trainOneStep(r: Run) {
  const t0 = performance.now();
  const bs = settings.batchSize, from = r.batch * bs, n = Math.min(bs, settings.trainSize - from);
  const xb = batchTensor(n);
  const data = xb.data;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = r.order[from + i]!;
    data.set(train.x.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
    labels[i] = train.y[k]!;
  }
  if (r.step % ACCURACY_EVERY === 0) {
    const probs = r.model.predict(xb);
    const p = probs.data;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < 10; j++) if (p[i * 10 + j]! > p[i * 10 + best]!) best = j;
      if (best === labels[i]) correct++;
    }
    probs.dispose();
    r.sampled.push({ correct, n });
    if (r.sampled.length > ACCURACY_WINDOW) r.sampled.shift();
  }
  const loss = r.model.trainStep(xb, labels, r.optimizer);
  r.stepMs += performance.now() - t0;
  r.lossSum += loss;
  r.lossCount++;
  r.step++;
  r.batch++;
  if (r.lossCount === 10) postProgress(r);
}

/** The steps since the last report: their mean loss, the running accuracy, the rate (smoothed). */
function postProgress(r: Run) {
  if (r.lossCount === 0) return;
  const rate = (r.lossCount * 1000) / r.stepMs;
  r.rate = r.rate === 0 ? rate : 0.7 * r.rate + 0.3 * rate;
  const seen = r.sampled.reduce((s, b) => s + b.n, 0);
  post({
    type: 'progress', step: r.step, epoch: r.epoch, batch: r.batch, loss: r.lossSum / r.lossCount,
    accuracy: seen ? r.sampled.reduce((s, b) => s + b.correct, 0) / seen : null, stepsPerSecond: r.rate,
  });
  r.lossSum = r.lossCount = r.stepMs = 0;
}

/** The held-out digits' loss and accuracy, chunk by chunk (yielding between); null when the run was replaced meanwhile. */
async function validate(r: Run): Promise<{ loss: number; accuracy: number } | null> {
  let loss = 0, correct = 0, n = 0;
  for (const chunk of validation) {
    const e = r.model.evaluate(chunk.x, chunk.y);
    const m = chunk.y.length;
    loss += e.loss * m;
    correct += e.accuracy * m;
    n += m;
    await yieldNow();
    if (run !== r) return null;
  }
  return { loss: loss / n, accuracy: correct / n };
}

/** The training loop of one run; returns when it is done or replaced by a reset. */
async function loop(r: Run) {
  const batches = Math.ceil(settings.trainSize / settings.batchSize);
  let sliceStart = performance.now();
  while (run === r) {
    if (r.state === 'paused') {
      const pausedAt = performance.now();
      await new Promise<void>((resolve) => (r.wake = resolve));
      sliceStart = performance.now();
      r.epochStart += sliceStart - pausedAt; // an epoch's time leaves out its pauses
      continue;
    }
    if (r.epoch >= r.targetEpochs) {
      if (r.state !== 'done') setState(r, 'done');
      await new Promise<void>((resolve) => (r.wake = resolve));
      sliceStart = performance.now();
      continue;
    }
    if (r.batch === 0) r.epochStart = performance.now();
    while (r.batch < batches && run === r && r.state === 'running') {
      trainOneStep(r);
      if (r.step % settings.vizEvery === 0) postViz(r);
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldNow();
        sliceStart = performance.now();
      }
    }
    if (run !== r || r.batch < batches) continue; // replaced, or paused mid-epoch
    postProgress(r);
    const v = await validate(r);
    if (!v || run !== r) return;
    post({ type: 'epoch', step: r.step, epoch: r.epoch, valLoss: v.loss, valAccuracy: v.accuracy, seconds: (performance.now() - r.epochStart) / 1000 });
    r.epoch++;
    r.batch = 0;
    r.order = permutation(settings.trainSize, 7 + r.epoch);
    postViz(r);
    post({ type: 'state', state: r.state, epochs: r.epoch });
    sliceStart = performance.now();
  }
}

/** Each channel of a (1, h, w, c) activation as a picture, over one range for the layer (0 black). */
function channelPictures(a: Tensor): ImageData[] {
  const [, h, w, c] = a.shape as [number, number, number, number];
  const values = a.data;
  let lo = 0, hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range: [number, number] = hi > lo ? [lo, hi] : [0, 1];
  const one = new Float32Array(h * w);
  const pictures: ImageData[] = [];
  for (let k = 0; k < c; k++) {
    for (let p = 0; p < h * w; p++) one[p] = values[p * c + k]!;
    pictures.push(be.toPixels(be.tensor([h, w, 1], one), null, { range }) as ImageData);
  }
  return pictures;
}

/**
 * The first layer's filters and the sample digit's activations after each layer, computed with the
 * ops on the model's own parameters (model.params, in layer order: W then b) as its layers compute them.
 */
function postViz(r: Run) {
  const model = r.model;
  const message = be.tidy(() => {
    const params = model.params;
    const W1 = params[0]!;
    const [fh, fw, cin, cout] = W1.shape as [number, number, number, number];
    const w = W1.data;
    const filters: ImageData[] = [];
    for (let k = 0; k < cout; k++) {
      const one = new Float32Array(fh * fw);
      let max = 0;
      for (let p = 0; p < fh * fw; p++) {
        one[p] = w[p * cin * cout + k]!; // input channel 0
        max = Math.max(max, Math.abs(one[p]!));
      }
      filters.push(be.toPixels(be.tensor([fh, fw, 1], one), null, { range: max > 0 ? [-max, max] : [-1, 1] }) as ImageData);
    }
    const x = be.tensor([1, 28, 28, 1], valPixels.subarray(sampleIndex * PIXELS, (sampleIndex + 1) * PIXELS));
    const layers: LayerMaps[] = [];
    const counts = new Map<string, number>();
    let a: Tensor = x, p = 0;
    for (const layer of model.layers) {
      const name = `${layer.type}_${counts.set(layer.type, (counts.get(layer.type) ?? 0) + 1).get(layer.type)}`;
      switch (layer.type) {
        case 'conv2d': {
          const W = params[p++]!;
          const b = layer.useBias ? params[p++]! : be.tensor([1, 1, 1, layer.filters]);
          a = be.convForward(a, W, b, { stride: layer.strides, pad: layer.padding, activation: layer.activation }).Z;
          break;
        }
        case 'maxPool2d':
        case 'averagePool2d':
          a = be.poolForward(a, { f: layer.poolSize, stride: layer.strides }, layer.type === 'maxPool2d' ? 'max' : 'average').A;
          break;
        case 'relu':
          a = be.relu(a).Y;
          break;
        case 'flatten':
          a = be.reshape(a, [1, -1]);
          break;
        case 'dense': {
          const W = params[p++]!;
          const b = layer.useBias ? params[p++]! : be.tensor([1, layer.units]);
          a = be.denseForward(a, W, b, { activation: layer.activation }).Z;
          break;
        }
      }
      if (a.shape.length === 4) layers.push({ name, shape: a.shape.slice(1), maps: channelPictures(a) });
    }
    const probabilities = Array.from(be.softmax(a).data);
    return {
      type: 'viz' as const, step: r.step, filters,
      sample: { index: sampleIndex, label: valLabels[sampleIndex]!, input: be.toPixels(x, null, { range: [0, 1] }) as ImageData, layers, probabilities },
    };
  });
  post(message);
}

async function init(s: Settings) {
  settings = s;
  be = await createBackend(s.backend, s.backend === 'wasm' ? { simd: s.simd } : {});
  const digits = await loadDigits(s.digitsUrl);
  s.trainSize = Math.max(1, Math.min(s.trainSize, digits.nTrain));
  s.valSize = Math.max(1, Math.min(s.valSize, digits.nTest));
  // training pixels as floats in [0, 1], gathered into the batch tensor step by step
  const x = new Float32Array(s.trainSize * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = digits.pixels[i]! / 255;
  train = { x, y: Int32Array.from(digits.labels.subarray(0, s.trainSize)) };
  valPixels = new Float32Array(s.valSize * PIXELS);
  const valFrom = digits.nTrain * PIXELS;
  for (let i = 0; i < valPixels.length; i++) valPixels[i] = digits.pixels[valFrom + i]! / 255;
  valLabels = digits.labels.slice(digits.nTrain, digits.nTrain + s.valSize);
  validation = [];
  for (let from = 0; from < s.valSize; from += 250) {
    const n = Math.min(250, s.valSize - from);
    validation.push({ x: be.tensor([n, 28, 28, 1], valPixels.subarray(from * PIXELS, (from + n) * PIXELS)), y: Int32Array.from(valLabels.subarray(from, from + n)) });
  }
  batchTensors = new Map();
  run = newRun(s.epochs, 'running');
  post({
    type: 'ready', backend: be.name, build: be.features.build, threads: be.features.threads, isolated: self.crossOriginIsolated === true,
    trainSize: s.trainSize, valSize: s.valSize, batchesPerEpoch: Math.ceil(s.trainSize / s.batchSize), summary: run.model.summary(),
  });
  postViz(run);
  setState(run, 'running');
  void loop(run).catch(fail);
}

function fail(e: unknown) {
  post({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const m = event.data;
  try {
    if (m.type === 'init') {
      void init(m.settings).catch(fail);
      return;
    }
    const r = run;
    if (!r) return; // still loading
    switch (m.type) {
      case 'pause':
        if (r.state === 'running') setState(r, 'paused');
        break;
      case 'resume':
        if (r.state === 'done') r.targetEpochs = r.epoch + settings.epochs;
        if (r.state !== 'running') setState(r, 'running');
        break;
      case 'reset': {
        const state = r.state === 'paused' ? 'paused' : 'running';
        run = newRun(settings.epochs, state);
        r.wake?.();
        r.model.dispose();
        post({ type: 'reset' });
        postViz(run);
        setState(run, state);
        void loop(run).catch(fail);
        break;
      }
      case 'predict': {
        const x = be.tensor([1, 28, 28, 1], m.pixels);
        const probs = r.model.predict(x);
        post({ type: 'prediction', id: m.id, step: r.step, probabilities: Array.from(probs.data) });
        x.dispose();
        probs.dispose();
        break;
      }
      case 'sample':
        sampleIndex = ((m.index % settings.valSize) + settings.valSize) % settings.valSize;
        postViz(r);
        break;
      case 'save': {
        const saved = r.model.save();
        post({ type: 'saved', step: r.step, saved }, [saved.weights]);
        break;
      }
    }
  } catch (e) {
    fail(e);
  }
};
