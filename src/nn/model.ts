// A sequential model of layers ending in class scores (logits), trained with softmax cross-entropy:
// Keras's Sequential in TensorFlow.js's words (fit, evaluate, predict, summary, save).
import { CnnArgumentError } from '../errors.js';
import { numberArrayLength, tensorParts, type Tensor } from '../tensor.js';
import type { Backend, DType } from '../types.js';
import { describe, readDType, readOptions, shapeText } from '../validate.js';
import { buildLayer, readLayer, type Layer, type LayerCache, type LayerConfig } from './layers.js';
import { adam, readOptimizer, startOptimizer, type OptimizerConfig, type OptimizerRun } from './optimizers.js';
import { permutation, seeded } from './random.js';

/** What model.save() returns and nn.load() takes: the architecture as data, and the weights' bytes. */
export interface SavedModel {
  readonly config: {
    readonly format: 'cnn-wasm-sequential';
    readonly version: 1;
    /** One example's shape, (h, w, c). */
    readonly inputShape: readonly number[];
    readonly dtype: DType;
    readonly layers: readonly LayerConfig[];
  };
  /** Every trainable parameter in layer order (W, then b), row-major, as the dtype's little-endian bytes. */
  readonly weights: ArrayBuffer;
}

/** What fit reports after each batch. */
export interface BatchLogs {
  /** The batch's index in its epoch. */
  batch: number;
  /** Its loss (mean softmax cross-entropy), before the optimizer's step. */
  loss: number;
}

/** What fit reports after each epoch (the validation figures when validationData is given). */
export interface EpochLogs {
  epoch: number;
  /** Mean loss and accuracy over the epoch's batches (each measured before its step). */
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Wall time of the epoch, validation included. */
  seconds: number;
}

/** What fit returns, as TensorFlow.js's History: the epochs run and each figure per epoch. */
export interface History {
  epoch: number[];
  history: { loss: number[]; accuracy: number[]; valLoss?: number[]; valAccuracy?: number[] };
}

export interface FitOptions {
  /** Passes over the data; 1. */
  epochs?: number;
  /** Examples per step; 32. */
  batchSize?: number;
  /** nn.adam() (the default) or nn.sgd(...). */
  optimizer?: OptimizerConfig;
  /** Examples and labels evaluated after each epoch. */
  validationData?: readonly [Tensor, Int32Array | readonly number[]];
  /** Seed of each epoch's shuffle (epoch e shuffles with shuffleSeed + e); 0. */
  shuffleSeed?: number;
  /** false keeps the order of the examples. */
  shuffle?: boolean;
  /** Called after each batch; returning false stops training. */
  onBatchEnd?: (logs: BatchLogs) => unknown;
  /** Called after each epoch; returning false stops training. */
  onEpochEnd?: (logs: EpochLogs) => unknown;
}

/** Lets the event loop run (a page paints, a worker takes messages) between steps: the quickest way each engine has. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof g.MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new g.MessageChannel!();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

const NAMES: Record<LayerConfig['type'], string> = {
  conv2d: 'Conv2D', dense: 'Dense', relu: 'ReLU', maxPool2d: 'MaxPool2D', averagePool2d: 'AveragePooling2D', flatten: 'Flatten',
};

/**
 * A stack of layers whose last one gives class scores (logits, one per class): trained with softmax
 * cross-entropy on class-index labels, predicting softmax probabilities. Made by nn.sequential or
 * nn.load; owns its parameters (dispose() frees them).
 */
export class Sequential {
  readonly backend: Backend;
  readonly dtype: DType;
  /** One example's shape, (h, w, c). */
  readonly inputShape: readonly number[];
  /** Classes: the last layer's outputs. */
  readonly classes: number;
  readonly #layers: Layer[];
  #optimizer: OptimizerRun | null = null;
  #disposed = false;

  /** @internal Use nn.sequential or nn.load. */
  constructor(be: Backend, configs: readonly LayerConfig[], inputShape: readonly number[], dtype: DType, seed: number, weights: ArrayBuffer | null) {
    this.backend = be;
    this.dtype = dtype;
    this.inputShape = Object.freeze(inputShape.slice());
    const rand = seeded(seed);
    const item = dtype === 'float32' ? 4 : 8;
    let offset = 0;
    const take = weights
      ? (shape: readonly number[]) => {
        const n = shape.reduce((a, b) => a * b, 1);
        if (offset + n * item > weights.byteLength) {
          throw new CnnArgumentError('nn.load', 'saved.weights', 'the bytes of every parameter of its layers', `${weights.byteLength} bytes, too few`);
        }
        const view = dtype === 'float32' ? new Float32Array(weights, offset, n) : new Float64Array(weights, offset, n);
        offset += n * item;
        return view;
      }
      : () => null;
    this.#layers = [];
    try {
      let shape = inputShape;
      configs.forEach((config, i) => {
        const layer = buildLayer(be, config, shape, dtype, rand, take, i);
        // a layer without bias keeps a zero bias it never trains: it takes no weights from a saved model
        this.#layers.push(layer);
        shape = layer.outputShape;
      });
      const last = this.#layers[this.#layers.length - 1]?.outputShape;
      if (!last || last.length !== 1) {
        throw new CnnArgumentError('nn.sequential', 'layers', 'layers ending in class scores, (m, classes) (end with nn.flatten() and nn.dense(...))', last ? `an output of shape [${last.join(', ')}] per example` : 'no layers');
      }
      this.classes = last[0]!;
      if (weights && offset !== weights.byteLength) {
        throw new CnnArgumentError('nn.load', 'saved.weights', `${offset} bytes (the parameters of its layers)`, `${weights.byteLength} bytes`);
      }
    } catch (e) {
      this.#layers.forEach((l) => l.dispose());
      throw e;
    }
  }

  /** The layers' configs, in order. */
  get layers(): readonly LayerConfig[] {
    return this.#layers.map((l) => l.config);
  }

  /** Every trainable parameter, in layer order (W, then b). */
  get params(): readonly Tensor[] {
    return this.#layers.flatMap((l) => l.params);
  }

  #live(op: string): void {
    if (this.#disposed) throw new CnnArgumentError(op, 'this', 'a live model', 'a model that was disposed');
  }

  /** x (m, h, w, c) of this model's input shape and dtype, read once. */
  #input(op: string, argument: string, x: unknown): Tensor {
    const t = tensorParts(x);
    const want = `a tensor (m, ${this.inputShape.join(', ')}) of ${this.dtype}`;
    if (!t) throw new CnnArgumentError(op, argument, want, describe(x));
    if (t.shape.length !== 4 || t.shape.slice(1).some((d, i) => d !== this.inputShape[i]) || t.dtype !== this.dtype) {
      throw new CnnArgumentError(op, argument, want, `a ${t.dtype} tensor of shape ${shapeText(t.shape)}`);
    }
    return t.tensor;
  }

  /** Class indices: integers in [0, classes), one per example; read once. */
  #labels(op: string, argument: string, labels: unknown, m: number): Int32Array {
    const typed = numberArrayLength(labels);
    const n = typed >= 0 ? typed : Array.isArray(labels) ? labels.length : -1;
    if (n < 0) throw new CnnArgumentError(op, argument, `class indices (an Int32Array or an array of integers in [0, ${this.classes}))`, describe(labels));
    if (n !== m) throw new CnnArgumentError(op, argument, `${m} class indices, one per example`, `${n}`);
    const out = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const v: unknown = (labels as ArrayLike<unknown>)[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= this.classes) {
        throw new CnnArgumentError(op, `${argument}[${i}]`, `a class index, an integer in [0, ${this.classes})`, describe(v));
      }
      out[i] = v;
    }
    return out;
  }

  /** The layers' forward passes: the logits and each layer's cache. */
  #forward(x: Tensor): { logits: Tensor; caches: LayerCache[] } {
    const caches: LayerCache[] = [];
    let y = x;
    for (const layer of this.#layers) {
      const out = layer.forward(y);
      caches.push(out.cache);
      y = out.y;
    }
    return { logits: y, caches };
  }

  /** One step on a batch inside a tidy: the loss and how many examples its logits classify right (before the step). */
  #step(xb: Tensor, yb: Int32Array, run: OptimizerRun): { loss: number; correct: number } {
    const be = this.backend;
    return be.tidy(() => {
      const { logits, caches } = this.#forward(xb);
      const correct = this.#correct(logits, yb);
      const { loss, dLogits } = be.softmaxCrossEntropy(logits, yb);
      const grads: Tensor[][] = [];
      let dy: Tensor | null = dLogits;
      for (let i = this.#layers.length - 1; i >= 0; i--) {
        const { dx, grads: g } = this.#layers[i]!.backward(dy!, caches[i]!, i > 0);
        grads.unshift(g);
        dy = dx;
      }
      run.step(grads.flat());
      return { loss, correct };
    });
  }

  /** Examples whose largest logit is their label's. */
  #correct(logits: Tensor, labels: Int32Array): number {
    const z = logits.data, n = this.classes;
    let correct = 0;
    for (let i = 0; i < labels.length; i++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (z[i * n + j]! > z[i * n + best]!) best = j;
      if (best === labels[i]) correct++;
    }
    return correct;
  }

  /** The running optimizer for `config`: started (its state made) on first use, or when another config comes. */
  #optimizerFor(config: OptimizerConfig): OptimizerRun {
    const same = this.#optimizer && JSON.stringify(this.#optimizer.config) === JSON.stringify(config);
    if (!same) {
      this.#optimizer?.dispose();
      this.#optimizer = startOptimizer(this.backend, config, this.params);
    }
    return this.#optimizer!;
  }

  /**
   * One training step on a batch: forward, softmax cross-entropy against `labels`, backward, and the
   * optimizer's update of the parameters (its state kept between calls). Returns the batch's loss.
   * Everything but the parameters and the optimizer's state is freed before it returns.
   */
  trainStep(x: Tensor, labels: Int32Array | readonly number[], optimizer: OptimizerConfig): number {
    const op = 'model.trainStep';
    this.#live(op);
    const xb = this.#input(op, 'x', x);
    const yb = this.#labels(op, 'labels', labels, xb.shape[0]!);
    return this.#step(xb, yb, this.#optimizerFor(readOptimizer(op, 'optimizer', optimizer))).loss;
  }

  /** Copies examples `order[from .. from + n)` of x into `into` (n, h, w, c). */
  #gather(x: Tensor, order: Int32Array | null, from: number, into: Tensor): void {
    const n = into.shape[0]!, size = into.size / n;
    const src = x.data, dst = into.data;
    for (let i = 0; i < n; i++) {
      const k = order ? order[from + i]! : from + i;
      dst.set(src.subarray(k * size, (k + 1) * size), i * size);
    }
  }

  /** Runs `body` over x in batches (copied into one reused tensor, and one for the last, shorter batch). */
  #batches(x: Tensor, batchSize: number, order: Int32Array | null, body: (xb: Tensor, from: number) => void): void {
    const m = x.shape[0]!;
    if (!order && m <= batchSize) return body(x, 0);
    const be = this.backend;
    const full = be.tensor([Math.min(batchSize, m), ...this.inputShape], null, this.dtype);
    const rest = m % batchSize && m > batchSize ? be.tensor([m % batchSize, ...this.inputShape], null, this.dtype) : null;
    try {
      for (let from = 0; from < m; from += batchSize) {
        const xb = from + batchSize <= m ? full : (rest ?? full);
        this.#gather(x, order, from, xb);
        body(xb, from);
      }
    } finally {
      full.dispose();
      rest?.dispose();
    }
  }

  #batchSize(op: string, value: unknown, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new CnnArgumentError(op, 'options.batchSize', 'a positive integer', describe(value));
    return value;
  }

  /**
   * Class probabilities: softmax of the logits, (m, classes), a tensor the caller owns. Runs in
   * batches of `options.batchSize` (256) examples.
   */
  predict(x: Tensor, options: { batchSize?: number } = {}): Tensor {
    const op = 'model.predict';
    this.#live(op);
    const o = readOptions(op, 'options', options, ['batchSize'] as const, false);
    const batchSize = this.#batchSize(op, o.batchSize, 256);
    const xs = this.#input(op, 'x', x);
    const be = this.backend;
    const m = xs.shape[0]!;
    const out = be.tensor([m, this.classes], null, this.dtype);
    try {
      this.#batches(xs, batchSize, null, (xb, from) => {
        be.tidy(() => {
          const probs = be.softmax(this.#forward(xb).logits);
          out.data.set(probs.data, from * this.classes);
        });
      });
    } catch (e) {
      out.dispose();
      throw e;
    }
    return out;
  }

  /** Mean softmax cross-entropy and accuracy on examples x with class-index labels, in batches (256). */
  evaluate(x: Tensor, labels: Int32Array | readonly number[], options: { batchSize?: number } = {}): { loss: number; accuracy: number } {
    const op = 'model.evaluate';
    this.#live(op);
    const o = readOptions(op, 'options', options, ['batchSize'] as const, false);
    const batchSize = this.#batchSize(op, o.batchSize, 256);
    const xs = this.#input(op, 'x', x);
    const ys = this.#labels(op, 'labels', labels, xs.shape[0]!);
    return this.#evaluate(xs, ys, batchSize);
  }

  #evaluate(x: Tensor, y: Int32Array, batchSize: number): { loss: number; accuracy: number } {
    const be = this.backend;
    let total = 0, correct = 0;
    this.#batches(x, batchSize, null, (xb, from) => {
      const n = xb.shape[0]!;
      const labels = y.subarray(from, from + n);
      be.tidy(() => {
        const { logits } = this.#forward(xb);
        correct += this.#correct(logits, labels);
        total += be.softmaxCrossEntropy(logits, labels).loss * n;
      });
    });
    const m = x.shape[0]!;
    return { loss: total / m, accuracy: correct / m };
  }

  /**
   * Trains the model: `epochs` passes over x (m, h, w, c) and its class-index labels, in shuffled
   * batches, one optimizer step each, yielding to the event loop between batches (a page stays
   * responsive). Memory stays flat (each step runs in a tidy; one batch tensor is refilled). Stops
   * early when a callback returns false. Returns the history of the epochs run.
   */
  async fit(x: Tensor, labels: Int32Array | readonly number[], options: FitOptions = {}): Promise<History> {
    const op = 'model.fit';
    this.#live(op);
    const o = readOptions(op, 'options', options, ['epochs', 'batchSize', 'optimizer', 'validationData', 'shuffleSeed', 'shuffle', 'onBatchEnd', 'onEpochEnd'] as const, false);
    const count = (argument: string, v: unknown, fallback: number, min: number) => {
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new CnnArgumentError(op, argument, `an integer >= ${min}`, describe(v));
      return v;
    };
    const epochs = count('options.epochs', o.epochs, 1, 1);
    const batchSize = count('options.batchSize', o.batchSize, 32, 1);
    const shuffleSeed = count('options.shuffleSeed', o.shuffleSeed, 0, 0);
    const shuffle = o.shuffle ?? true;
    if (typeof shuffle !== 'boolean') throw new CnnArgumentError(op, 'options.shuffle', 'true or false', describe(shuffle));
    const callback = (argument: string, v: unknown) => {
      if (v !== undefined && typeof v !== 'function') throw new CnnArgumentError(op, argument, 'a function', describe(v));
      return v as ((logs: never) => unknown) | undefined;
    };
    const onBatchEnd = callback('options.onBatchEnd', o.onBatchEnd), onEpochEnd = callback('options.onEpochEnd', o.onEpochEnd);
    const optimizer = o.optimizer === undefined ? undefined : readOptimizer(op, 'options.optimizer', o.optimizer);
    let validation: [Tensor, Int32Array] | null = null;
    if (o.validationData !== undefined) {
      const v = o.validationData;
      if (!Array.isArray(v) || v.length !== 2) throw new CnnArgumentError(op, 'options.validationData', '[x, labels]', describe(v));
      const vx = this.#input(op, 'options.validationData[0]', v[0]);
      validation = [vx, this.#labels(op, 'options.validationData[1]', v[1], vx.shape[0]!)];
    }
    const xs = this.#input(op, 'x', x);
    const ys = this.#labels(op, 'labels', labels, xs.shape[0]!);
    const run = this.#optimizerFor(optimizer ?? adam());
    const m = xs.shape[0]!;
    const history: History = { epoch: [], history: { loss: [], accuracy: [], ...(validation ? { valLoss: [], valAccuracy: [] } : {}) } };
    let stop = false;
    for (let epoch = 0; epoch < epochs && !stop; epoch++) {
      const started = performance.now();
      const order = shuffle ? permutation(m, seeded(shuffleSeed + epoch)) : Int32Array.from({ length: m }, (_, i) => i);
      let lossSum = 0, correct = 0;
      const batches: { from: number; n: number }[] = [];
      for (let from = 0; from < m; from += batchSize) batches.push({ from, n: Math.min(batchSize, m - from) });
      const full = this.backend.tensor([Math.min(batchSize, m), ...this.inputShape], null, this.dtype);
      const rest = m % batchSize && m > batchSize ? this.backend.tensor([m % batchSize, ...this.inputShape], null, this.dtype) : null;
      try {
        for (const [b, { from, n }] of batches.entries()) {
          const xb = n === full.shape[0] ? full : rest!;
          this.#gather(xs, order, from, xb);
          const { loss, correct: c } = this.#step(xb, order.subarray(from, from + n).map((k) => ys[k]!), run);
          lossSum += loss * n;
          correct += c;
          if (onBatchEnd?.({ batch: b, loss } as never) === false) {
            stop = true;
            break;
          }
          await yieldToEventLoop();
          this.#live(op);
        }
      } finally {
        full.dispose();
        rest?.dispose();
      }
      const seen = batches.reduce((s, x) => s + x.n, 0);
      const logs: EpochLogs = { epoch, loss: lossSum / seen, accuracy: correct / seen, seconds: 0 };
      if (validation) {
        const { loss, accuracy } = this.#evaluate(validation[0], validation[1], 256);
        logs.valLoss = loss;
        logs.valAccuracy = accuracy;
      }
      logs.seconds = (performance.now() - started) / 1000;
      history.epoch.push(epoch);
      history.history.loss.push(logs.loss);
      history.history.accuracy.push(logs.accuracy);
      if (validation) {
        history.history.valLoss!.push(logs.valLoss!);
        history.history.valAccuracy!.push(logs.valAccuracy!);
      }
      if (onEpochEnd?.(logs as never) === false) stop = true;
    }
    return history;
  }

  /** The layers, their output shapes and parameter counts, as Keras's model.summary() prints them. */
  summary(): string {
    const rows: string[][] = [['Layer (type)', 'Output Shape', 'Param #']];
    const counts = new Map<string, number>();
    let total = 0;
    for (const layer of this.#layers) {
      const type = layer.config.type;
      counts.set(type, (counts.get(type) ?? 0) + 1);
      const params = layer.params.reduce((s, p) => s + p.size, 0);
      total += params;
      rows.push([`${type}_${counts.get(type)} (${NAMES[type]})`, `(None, ${layer.outputShape.join(', ')})`, String(params)]);
    }
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)) + 2);
    const line = (r: string[]) => r.map((v, i) => (i === 2 ? v : v.padEnd(widths[i]!))).join('');
    const rule = '_'.repeat(widths.reduce((a, b) => a + b, 0));
    return [
      'Model: "sequential"', rule, line(rows[0]!), '='.repeat(rule.length),
      ...rows.slice(1).flatMap((r, i) => [line(r), i < rows.length - 2 ? rule : '='.repeat(rule.length)]),
      `Total params: ${total}`, `Trainable params: ${total}`, 'Non-trainable params: 0', rule,
    ].join('\n');
  }

  /** The architecture and the weights: JSON-able config, and an ArrayBuffer of every parameter. nn.load restores it exactly. */
  save(): SavedModel {
    this.#live('model.save');
    const params = this.params;
    const item = this.dtype === 'float32' ? 4 : 8;
    const buffer = new ArrayBuffer(params.reduce((s, p) => s + p.size * item, 0));
    let offset = 0;
    for (const p of params) {
      (this.dtype === 'float32' ? new Float32Array(buffer, offset, p.size) : new Float64Array(buffer, offset, p.size)).set(p.data);
      offset += p.size * item;
    }
    return {
      config: { format: 'cnn-wasm-sequential', version: 1, inputShape: this.inputShape.slice(), dtype: this.dtype, layers: JSON.parse(JSON.stringify(this.layers)) },
      weights: buffer,
    };
  }

  /** Frees the parameters and the optimizer's state. The model cannot be used after. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#optimizer?.dispose();
    this.#layers.forEach((l) => l.dispose());
  }
}

function readInputShape(op: string, value: unknown): number[] {
  const ok = Array.isArray(value) && value.length === 3 && value.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0);
  if (!ok) throw new CnnArgumentError(op, 'options.inputShape', 'one example\'s shape [h, w, c], positive integers', describe(value));
  return (value as number[]).slice();
}

/**
 * A model of `layers` for inputs of `options.inputShape` ([h, w, c]) on backend `be`: weights drawn
 * from `options.seed` (0): He-uniform for layers followed by a ReLU, Glorot-uniform otherwise, zero
 * biases. The last layer must give class scores (nn.flatten() then nn.dense({ units })).
 */
export function sequential(be: Backend, layers: readonly LayerConfig[], options: { inputShape: readonly [number, number, number]; seed?: number; dtype?: DType }): Sequential {
  const op = 'nn.sequential';
  const o = readOptions(op, 'options', options, ['inputShape', 'seed', 'dtype'] as const, true);
  if (!Array.isArray(layers) || layers.length === 0) throw new CnnArgumentError(op, 'layers', 'a non-empty array of layers', describe(layers));
  const configs = layers.map((l, i) => readLayer(op, `layers[${i}]`, l));
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new CnnArgumentError(op, 'options.seed', 'an integer', describe(seed));
  return new Sequential(be, configs, readInputShape(op, o.inputShape), readDType(op, 'options.dtype', o.dtype), seed, null);
}

/** A model from what model.save() returned, on backend `be`: the same layers and weights, exactly. */
export function load(be: Backend, saved: SavedModel): Sequential {
  const op = 'nn.load';
  const s = readOptions(op, 'saved', saved, ['config', 'weights'] as const, true);
  const c = readOptions(op, 'saved.config', s.config, ['format', 'version', 'inputShape', 'dtype', 'layers'] as const, true);
  if (c.format !== 'cnn-wasm-sequential' || c.version !== 1) {
    throw new CnnArgumentError(op, 'saved.config', 'a model saved by model.save() (format "cnn-wasm-sequential", version 1)', describe(s.config));
  }
  if (!(s.weights instanceof ArrayBuffer)) throw new CnnArgumentError(op, 'saved.weights', 'an ArrayBuffer', describe(s.weights));
  if (!Array.isArray(c.layers)) throw new CnnArgumentError(op, 'saved.config.layers', 'an array of layers', describe(c.layers));
  const configs = (c.layers as unknown[]).map((l, i) => readLayer(op, `saved.config.layers[${i}]`, l));
  const dtype = readDType(op, 'saved.config.dtype', c.dtype);
  const inputShape = readInputShape(op, c.inputShape);
  return new Sequential(be, configs, inputShape, dtype, 0, s.weights);
}
