// The layer API (nn): a model's training step is the ops' LeNet step (whose gradients are checked
// against TensorFlow.js within derived bounds in training-step.test.ts) bit for bit; its weights are
// drawn alike on both backends; fit trains on real digits on both backends; save/load, summary,
// fit's callbacks, memory and errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { nn, type Backend, type DType } from '../src/index.js';
import { lenetData, lenetParams, lenetTrainStep, NAMES, SHAPES } from '../tools/lenet.mjs';
import { loadDigits } from '../tools/mnist.mjs';
import { expectExact, makeBackends } from './helpers.js';

let wasm: Backend, js: Backend;
beforeAll(async () => {
  ({ wasm, js } = await makeBackends());
});

/** The model: the course's Keras ConvNet, 8 and 16 filters. */
const convNet = (be: Backend, options: { seed?: number; dtype?: DType } = {}) => nn.sequential(be, [
  nn.conv2d({ filters: 8, kernelSize: 5, padding: 'same', activation: 'relu' }),
  nn.maxPool2d({ poolSize: 2, strides: 2 }),
  nn.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
  nn.maxPool2d({ poolSize: 2, strides: 2 }),
  nn.flatten(),
  nn.dense({ units: 10 }),
], { inputShape: [28, 28, 1], seed: options.seed ?? 1, dtype: options.dtype });

const paramValues = (model: nn.Sequential) => model.params.map((p) => Array.from(p.data));

describe('initial weights', () => {
  it('are the same numbers on both backends, and differ with the seed', () => {
    const a = convNet(wasm), b = convNet(js), c = convNet(wasm, { seed: 2 });
    paramValues(a).forEach((w, i) => expectExact(w, paramValues(b)[i]!, `param ${i}`));
    expect(paramValues(c)[0]).not.toEqual(paramValues(a)[0]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('are He-uniform for ReLU layers, Glorot-uniform otherwise, with zero biases', () => {
    const model = convNet(wasm);
    // W1 (5, 5, 1, 8) relu: fan-in 25; W2 (5, 5, 8, 16) relu: fan-in 200; W3 (400, 10) linear: 400 + 10
    const limits = [Math.sqrt(6 / 25), 0, Math.sqrt(6 / 200), 0, Math.sqrt(6 / 410), 0];
    model.params.forEach((p, i) => {
      const values = Array.from(p.data);
      if (limits[i] === 0) return expect(values.every((v) => v === 0), `bias ${i}`).toBe(true);
      const top = Math.max(...values.map(Math.abs));
      // uniform on [-limit, limit): the largest of n draws is within a few limit / n of the limit
      expect(top, `param ${i}`).toBeLessThanOrEqual(limits[i]!);
      expect(top, `param ${i}`).toBeGreaterThan(limits[i]! * (1 - 10 / values.length));
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      // the mean of n uniform draws has standard deviation limit / sqrt(3 n): within 5 of them
      expect(Math.abs(mean), `param ${i}`).toBeLessThan(5 * limits[i]! / Math.sqrt(3 * values.length));
    });
    model.dispose();
  });
});

describe('trainStep', () => {
  it.each(['wasm', 'js'] as const)('on %s is the ops\' LeNet step (Adam), bit for bit, for several steps', (name) => {
    const be = name === 'wasm' ? wasm : js;
    const d = lenetData(3);
    const params = lenetParams(be, d.weights);
    const state = be.adamState(NAMES.map((n) => params[n]));
    const model = convNet(be);
    model.params.forEach((p, i) => {
      expect(p.shape).toEqual(SHAPES[NAMES[i]!]);
      p.set(d.weights[NAMES[i]!]);
    });
    const x = be.tensor([32, 28, 28, 1], d.images);
    const optimizer = nn.adam({ learningRate: 1e-3 });
    for (let step = 0; step < 3; step++) {
      const expected = lenetTrainStep(be, params, state, x, d.labels, 1e-3);
      expect(model.trainStep(x, d.labels, optimizer), `loss at step ${step}`).toBe(expected);
      model.params.forEach((p, i) => expectExact(p.data, params[NAMES[i]!]!.data, `${NAMES[i]} after step ${step}`));
    }
    model.dispose();
    x.dispose();
    Object.values(params).forEach((t) => t.dispose());
    [...state.m, ...state.v].forEach((t) => t.dispose());
  });
});

describe('fit on real digits', () => {
  const digits = loadDigits({ seed: 1, train: 512, test: 512 });

  it.each(['wasm', 'js'] as const)('on %s lowers the loss and classifies held-out digits', async (name) => {
    const be = name === 'wasm' ? wasm : js;
    const before = be.memory().bytes;
    const model = convNet(be);
    const x = be.tensor([512, 28, 28, 1], digits.train.images), xTest = be.tensor([512, 28, 28, 1], digits.test.images);
    const batchLosses: number[] = [];
    const epochs: number[] = [];
    const history = await model.fit(x, digits.train.labels, {
      epochs: 3, batchSize: 16, optimizer: nn.adam({ learningRate: 3e-3 }), validationData: [xTest, digits.test.labels], shuffleSeed: 7,
      onBatchEnd: ({ batch, loss }) => {
        expect(batch).toBe(batchLosses.length % 32);
        batchLosses.push(loss);
      },
      onEpochEnd: (logs) => {
        expect(Object.keys(logs).sort()).toEqual(['accuracy', 'epoch', 'loss', 'seconds', 'valAccuracy', 'valLoss']);
        epochs.push(logs.epoch);
      },
    });
    expect(epochs).toEqual([0, 1, 2]);
    expect(batchLosses).toHaveLength(3 * 32);
    const { loss } = history.history;
    // untrained, the loss is about ln 10 = 2.3; three epochs bring it well down
    expect(batchLosses[0]!).toBeGreaterThan(2);
    expect(loss[1]!).toBeLessThan(loss[0]!);
    expect(loss[2]!).toBeLessThan(loss[1]!);
    expect(loss[2]!).toBeLessThan(0.7);
    const evaluated = model.evaluate(xTest, digits.test.labels);
    expect(evaluated.accuracy).toBe(history.history.valAccuracy![2]);
    expect(evaluated.accuracy).toBeGreaterThan(0.85);
    model.dispose();
    x.dispose();
    xTest.dispose();
    expect(be.memory().bytes).toBe(before);
  });

  it('gives the same history for the same seeds, and stops when a callback returns false', async () => {
    const x = wasm.tensor([256, 28, 28, 1], digits.train.images.subarray(0, 256 * 784));
    const labels = digits.train.labels.subarray(0, 256);
    const run = async (stopAt: number | null) => {
      const model = convNet(wasm);
      let batches = 0;
      const history = await model.fit(x, labels, { epochs: 2, shuffleSeed: 7, onBatchEnd: () => (++batches === stopAt ? false : undefined) });
      const weights = paramValues(model);
      model.dispose();
      return { history, batches, weights };
    };
    const a = await run(null), b = await run(null), stopped = await run(3);
    expect(a.history.history.loss).toEqual(b.history.history.loss);
    a.weights.forEach((w, i) => expectExact(w, b.weights[i]!, `param ${i}`));
    expect(a.batches).toBe(16);
    expect(stopped.batches).toBe(3);
    expect(stopped.history.epoch).toEqual([0]);
    x.dispose();
  });

  it('lets the event loop run between batches', async () => {
    const model = convNet(wasm);
    const x = wasm.tensor([64, 28, 28, 1], digits.train.images.subarray(0, 64 * 784));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let batchesBeforeTick = -1;
    await model.fit(x, digits.train.labels.subarray(0, 64), {
      epochs: 2, batchSize: 8, onBatchEnd: ({ batch }) => {
        if (ticks > 0 && batchesBeforeTick < 0) batchesBeforeTick = batch;
      },
    });
    clearInterval(timer);
    expect(batchesBeforeTick).toBeGreaterThanOrEqual(0);
    model.dispose();
    x.dispose();
  });
});

describe('save and load', () => {
  it.each(['wasm', 'js'] as const)('on %s round-trip exactly: the same weights and predictions', (name) => {
    const be = name === 'wasm' ? wasm : js;
    const model = nn.sequential(be, [
      nn.conv2d({ filters: 3, kernelSize: [3, 2], strides: [2, 1], padding: 'same', useBias: false }),
      nn.relu(),
      nn.averagePool2d({ poolSize: 2 }),
      nn.conv2d({ filters: 4, kernelSize: 2, activation: 'relu' }),
      nn.maxPool2d({ poolSize: [1, 2], strides: 1 }),
      nn.flatten(),
      nn.dense({ units: 6, activation: 'relu' }),
      nn.dense({ units: 3 }),
    ], { inputShape: [9, 8, 2], seed: 5, dtype: 'float64' });
    const x = be.tensor([5, 9, 8, 2], Array.from({ length: 5 * 9 * 8 * 2 }, (_, i) => Math.sin(i)), 'float64');
    model.trainStep(x, [0, 1, 2, 1, 0], nn.sgd({ learningRate: 0.1, momentum: 0.9 }));
    const saved = model.save();
    const json = JSON.parse(JSON.stringify(saved.config));
    const restored = nn.load(be, { config: json, weights: saved.weights.slice(0) });
    expect(restored.layers).toEqual(model.layers);
    paramValues(restored).forEach((w, i) => expectExact(w, paramValues(model)[i]!, `param ${i}`));
    const p = model.predict(x), q = restored.predict(x);
    expectExact(q.data, p.data, 'predictions');
    expect(p.shape).toEqual([5, 3]);
    // each row is a softmax: sums to 1
    for (let i = 0; i < 5; i++) expect(Math.abs(p.data[i * 3]! + p.data[i * 3 + 1]! + p.data[i * 3 + 2]! - 1)).toBeLessThan(1e-12);
    [p, q, x].forEach((t) => t.dispose());
    model.dispose();
    restored.dispose();
  });

  it('moves a model between backends with the same weights', () => {
    const model = convNet(wasm);
    const moved = nn.load(js, model.save());
    paramValues(moved).forEach((w, i) => expectExact(w, paramValues(model)[i]!, `param ${i}`));
    model.dispose();
    moved.dispose();
  });

  it('refuses weights of the wrong size or a foreign config', () => {
    const saved = convNet(wasm).save();
    expect(() => nn.load(wasm, { config: saved.config, weights: saved.weights.slice(4) })).toThrow(/nn\.load.*saved\.weights/);
    expect(() => nn.load(wasm, { config: saved.config, weights: new ArrayBuffer(saved.weights.byteLength + 4) })).toThrow(/nn\.load.*saved\.weights/);
    expect(() => nn.load(wasm, { config: { ...saved.config, format: 'keras' } as never, weights: saved.weights })).toThrow(/nn\.load.*saved\.config/);
  });
});

describe('summary', () => {
  it('counts the parameters of each layer as Keras does, and they are the weights\' sizes', () => {
    const model = convNet(wasm);
    const text = model.summary();
    const rows = text.split('\n').filter((l) => /^\w+_\d+ \(/.test(l));
    expect(rows.map((r) => r.split(/\s{2,}/)[1])).toEqual(['(None, 28, 28, 8)', '(None, 14, 14, 8)', '(None, 10, 10, 16)', '(None, 5, 5, 16)', '(None, 400)', '(None, 10)']);
    const counts = rows.map((r) => Number(r.trim().split(/\s+/).at(-1)));
    // conv: f x f x c_prev x c + c; dense: k x n + n
    expect(counts).toEqual([5 * 5 * 1 * 8 + 8, 0, 5 * 5 * 8 * 16 + 16, 0, 0, 400 * 10 + 10]);
    const total = model.params.reduce((s, p) => s + p.size, 0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    expect(text).toContain(`Total params: ${total}`);
    expect(model.save().weights.byteLength).toBe(total * 4);
    model.dispose();
  });
});

describe('errors', () => {
  it('name the op and the argument', () => {
    expect(() => nn.conv2d({ filters: 0, kernelSize: 3 })).toThrow(/nn\.conv2d.*filters/);
    expect(() => nn.sequential(wasm, [nn.dense({ units: 10 }), nn.conv2d({ filters: 1, kernelSize: 1 })], { inputShape: [4, 4, 1] })).toThrow(/nn\.sequential.*layers\[1\]/);
    expect(() => nn.sequential(wasm, [nn.conv2d({ filters: 1, kernelSize: 1 })], { inputShape: [4, 4, 1] })).toThrow(/nn\.sequential.*layers.*class scores/);
    expect(() => nn.sequential(wasm, [nn.conv2d({ filters: 1, kernelSize: 5 }), nn.flatten(), nn.dense({ units: 2 })], { inputShape: [4, 4, 1] })).toThrow(/nn\.sequential.*layers\[0\]/);
    const model = convNet(wasm);
    const x = wasm.tensor([2, 28, 28, 1]);
    const wrong = wasm.tensor([2, 28, 28, 3]);
    expect(() => model.predict(wrong)).toThrow(/model\.predict.*x/);
    expect(() => model.trainStep(x, [0, 10], nn.adam())).toThrow(/model\.trainStep.*labels\[1\]/);
    expect(() => model.trainStep(x, [0], nn.adam())).toThrow(/model\.trainStep.*labels/);
    expect(() => model.trainStep(x, [0, 1], { type: 'rmsprop' } as never)).toThrow(/model\.trainStep.*optimizer/);
    expect(() => model.evaluate(x, [0, 1], { batchSize: 0 })).toThrow(/model\.evaluate.*options\.batchSize/);
    return expect(model.fit(x, [0, 1], { epochs: 0 })).rejects.toThrow(/model\.fit.*options\.epochs/).then(() => {
      model.dispose();
      expect(() => model.predict(x)).toThrow(/model\.predict.*disposed/);
      x.dispose();
      wrong.dispose();
    });
  });
});

