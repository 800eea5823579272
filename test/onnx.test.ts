// cnn-wasm/onnx: toONNX's models, run by onnxruntime-node (its native CPU provider) at a batch size
// no model saw before (the batch dimension is symbolic), give model.predict's probabilities within
// 1e-5, on both backends, for trained weights (a few Adam steps on random data, so no weight is its
// initial value): the course's layer stack; no bias, stride 2 and even kernels ('same' padded
// asymmetrically); a dense layer without flatten before it; models ending in flatten or made of dense
// layers only; float64 models (exported as float32); every opset. The saved model gives the same
// bytes as the model. The encoded ModelProto, decoded with onnx-proto, has the documented input,
// output, opset, ops, attributes and transposed filters. Bad input is a CnnArgumentError naming
// toONNX and the argument.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CnnArgumentError, nn, type Backend, type DType } from '../src/index.js';
import { toONNX } from '../src/onnx/index.js';
import { expectExact, expectWithin, makeBackends, randn, rng, sizeOf } from './helpers.js';

const { onnx } = onnxProto;

let wasm: Backend, js: Backend;
beforeAll(async () => {
  ({ wasm, js } = await makeBackends());
});
afterAll(() => {
  // every model made here was disposed (and toONNX allocates no tensor)
  for (const be of [wasm, js]) expect(be.memory().tensors, be.name).toBe(0);
});
const backends = () => ({ wasm, js });

/** The largest difference allowed between onnxruntime's probabilities and model.predict's. */
const TOLERANCE = 1e-5;

/** Seeded standard normal images (m, ...shape), as float32 values (so a float64 model and onnxruntime read the same numbers). */
const images = (m: number, shape: readonly number[], seed: number) => Float32Array.from(randn(rng(seed), m * sizeOf(shape)));

/**
 * A model of `layers` after `steps` Adam steps on random images and labels (batches of 8): its
 * weights are checked to have moved from their initial values.
 */
function trained(be: Backend, layers: nn.LayerConfig[], inputShape: [number, number, number], options: { dtype?: DType; seed?: number; steps?: number } = {}) {
  const model = nn.sequential(be, layers, { inputShape, seed: options.seed ?? 1, dtype: options.dtype });
  const before = new Uint8Array(model.save().weights.slice(0));
  const x = be.tensor([8, ...inputShape], images(8, inputShape, 100 + (options.seed ?? 1)), options.dtype);
  const rand = rng(7);
  for (let step = 0; step < (options.steps ?? 3); step++) {
    const labels = Array.from({ length: 8 }, () => Math.floor(rand() * model.classes));
    expect(Number.isFinite(model.trainStep(x, labels, nn.adam({ learningRate: 0.01 })))).toBe(true);
  }
  x.dispose();
  const after = new Uint8Array(model.save().weights);
  expect(after.length).toBe(before.length);
  expect(after.some((v, i) => v !== before[i]), 'the weights changed in training').toBe(true);
  return model;
}

const sessionOptions: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 };

/** onnxruntime's probabilities for `data` (m, ...inputShape) through the exported bytes. */
async function runONNX(bytes: Uint8Array, data: Float32Array, shape: number[]): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  try {
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['probabilities']);
    const out = (await session.run({ input: new ort.Tensor('float32', data, shape) }))['probabilities']!;
    expect(out.type).toBe('float32');
    return { dims: out.dims, data: out.data as Float32Array };
  } finally {
    await session.release();
  }
}

/** The model exported and run at batch sizes `batches` (none used in training) agrees with model.predict on the same images. */
async function expectAsPredict(model: nn.Sequential, batches: number[], options: Parameters<typeof toONNX>[1] = {}, label = '') {
  const bytes = toONNX(model, options);
  for (const m of batches) {
    const data = images(m, model.inputShape, 1000 + m);
    const x = model.backend.tensor([m, ...model.inputShape], data, model.dtype);
    const expected = model.predict(x);
    const got = await runONNX(bytes, data, [m, ...model.inputShape]);
    expect(got.dims).toEqual([m, model.classes]);
    expectWithin(got.data, expected.data, TOLERANCE, `${label} batch ${m}`);
    x.dispose();
    expected.dispose();
  }
  return bytes;
}

/** The brief's stack: conv 'same' + relu, max pool, conv 'valid' + relu, average pool, flatten, dense + relu, dense. */
const courseLayers = () => [
  nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
  nn.maxPool2d(),
  nn.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }),
  nn.averagePool2d(),
  nn.flatten(),
  nn.dense({ units: 12, activation: 'relu' }),
  nn.dense({ units: 5 }),
];
/** 12x10x3 -> 12x10x4 -> 6x5x4 -> 4x3x6 -> 2x1x6 -> 12 -> 12 -> 5 */
const COURSE_INPUT: [number, number, number] = [12, 10, 3];

/**
 * No bias anywhere, stride 2 with an even kernel (9x8 input: 'same' pads rows 1 + 2, columns 1 + 1),
 * a rectangular kernel at strides [1, 2] (rows 0 + 1, columns 1 + 1), a ReLU layer, overlapping max
 * pooling, and a dense layer that flattens its input itself.
 */
const oddLayers = () => [
  nn.conv2d({ filters: 5, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', useBias: false }),
  nn.conv2d({ filters: 3, kernelSize: [2, 3], strides: [1, 2], padding: 'same' }),
  nn.relu(),
  nn.maxPool2d({ poolSize: [3, 2], strides: [1, 1] }),
  nn.dense({ units: 4, useBias: false }),
];
const ODD_INPUT: [number, number, number] = [9, 8, 2];

describe.each(['wasm', 'js'] as const)("on '%s', onnxruntime gives model.predict's probabilities", (name) => {
  it('for the course\'s stack: conv same + relu, max pool, conv valid + relu, average pool, flatten, dense + relu, dense', async () => {
    const model = trained(backends()[name], courseLayers(), COURSE_INPUT);
    await expectAsPredict(model, [5, 1], {}, 'course');
    model.dispose();
  });

  it('without biases, at stride 2, with even and rectangular kernels (asymmetric padding), a relu layer, and dense without flatten', async () => {
    const model = trained(backends()[name], oddLayers(), ODD_INPUT, { seed: 2 });
    await expectAsPredict(model, [3], {}, 'odd');
    model.dispose();
  });

  it('for a model ending in flatten (a convolution to 1x1xclasses) and one of dense layers only', async () => {
    const convOnly = trained(backends()[name], [
      nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
      nn.averagePool2d({ poolSize: 2, strides: 1 }),
      nn.conv2d({ filters: 3, kernelSize: 4 }),
      nn.flatten(),
    ], [5, 5, 2], { seed: 3 });
    await expectAsPredict(convOnly, [4], {}, 'ends in flatten');
    convOnly.dispose();
    const denseOnly = trained(backends()[name], [nn.flatten(), nn.dense({ units: 7, activation: 'relu' }), nn.relu(), nn.dense({ units: 3 })], [3, 4, 2], { seed: 4 });
    await expectAsPredict(denseOnly, [6], {}, 'dense only');
    denseOnly.dispose();
  });

  it('for float64 models, exported as float32', async () => {
    const cases: [string, nn.LayerConfig[], [number, number, number]][] = [['course', courseLayers(), COURSE_INPUT], ['odd', oddLayers(), ODD_INPUT]];
    for (const [label, layers, input] of cases) {
      const model = trained(backends()[name], layers, input, { dtype: 'float64' });
      const bytes = await expectAsPredict(model, [3], {}, `float64 ${label}`);
      const decoded = onnx.ModelProto.decode(bytes);
      expect(decoded.graph?.input?.[0]?.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
      expect(decoded.graph?.initializer?.every((t) => t.dataType === onnx.TensorProto.DataType.FLOAT)).toBe(true);
      model.dispose();
    }
  });
});

describe('the saved model', () => {
  it('gives the same bytes as the model, as its copy loaded on the other backend, and after JSON', async () => {
    const model = trained(wasm, courseLayers(), COURSE_INPUT);
    const bytes = toONNX(model);
    const saved = model.save();
    expectExact(toONNX(saved), bytes, 'toONNX(model.save())');
    const loaded = nn.load(js, saved);
    expectExact(toONNX(loaded), bytes, 'toONNX(nn.load(js, saved))');
    const revived = { config: JSON.parse(JSON.stringify(saved.config)), weights: saved.weights.slice(0) };
    expectExact(toONNX(revived), bytes, 'toONNX of a config through JSON');
    await expectAsPredict(loaded, [2], {}, 'loaded on js');
    [model, loaded].forEach((m) => m.dispose());
  });
});

describe('every opset from 13 to 23', () => {
  it('loads in onnxruntime and gives the same probabilities; the ir_version is the opset\'s', async () => {
    const model = trained(js, oddLayers(), ODD_INPUT, { seed: 5, steps: 1 });
    const ir: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11 };
    for (let opset = 13; opset <= 23; opset++) {
      const bytes = await expectAsPredict(model, [2], { opset }, `opset ${opset}`);
      const decoded = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number });
      expect(decoded['opsetImport']).toEqual([{ domain: '', version: opset }]);
      expect(decoded['irVersion']).toBe(ir[opset]);
    }
    model.dispose();
  });
});

describe('the encoded ModelProto', () => {
  type Attribute = { name: string; type: string; i?: number; ints: number[] };
  type Node = { opType: string; name: string; input: string[]; output: string[]; attribute?: Attribute[]; docString?: string };
  type ValueInfo = { name: string; type: { tensorType: { elemType: number; shape: { dim: ({ dimParam: string } | { dimValue: number })[] } } } };
  type Initializer = { name: string; dims: number[]; dataType: number; rawData: Uint8Array };
  // elem_type and data_type are int32 fields in onnx.proto (not enums)
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  type Decoded = {
    irVersion: number; producerName: string; producerVersion?: string; docString: string; opsetImport: unknown[];
    graph: { name: string; node: Node[]; input: ValueInfo[]; output: ValueInfo[]; initializer: Initializer[]; valueInfo: ValueInfo[] };
  };
  const decode = (bytes: Uint8Array) => onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number, enums: String, arrays: true }) as unknown as Decoded;
  const attributes = (node: Node) => Object.fromEntries((node.attribute ?? []).map((a) => [a.name, a.type === 'INTS' ? a.ints : (a.i ?? 0)]));
  const floats = (t: Initializer) => {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
  };

  it('declares input (batch, h, w, c) float, output (batch, classes), opset 13 with ir_version 7, producer cnn-wasm', () => {
    const model = nn.sequential(js, courseLayers(), { inputShape: COURSE_INPUT });
    const bytes = toONNX(model, { producerVersion: '0.1.0' });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    const m = decode(bytes);
    expect(m.irVersion).toBe(7);
    expect(m.opsetImport).toEqual([{ domain: '', version: 13 }]);
    expect(m.producerName).toBe('cnn-wasm');
    expect(m.producerVersion).toBe('0.1.0');
    expect(m.docString).toMatch(/^A cnn-wasm Sequential model \(float32\)/);
    expect(decode(toONNX(model)).producerVersion ?? '').toBe('');
    const { input, output } = m.graph;
    expect(input.map((v) => v.name)).toEqual(['input']);
    expect(input[0]!.type.tensorType.elemType).toBe(FLOAT);
    expect(output[0]!.type.tensorType.elemType).toBe(FLOAT);
    expect(input[0]!.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 12 }, { dimValue: 10 }, { dimValue: 3 }]);
    expect(output.map((v) => v.name)).toEqual(['probabilities']);
    expect(output[0]!.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 5 }]);
    // intermediate shapes, batch symbolic, each in its node's layout
    const shapes = Object.fromEntries(m.graph.valueInfo.map((v) => [v.name, v.type.tensorType.shape.dim.map((d) => ('dimParam' in d ? d.dimParam : d.dimValue))]));
    expect(shapes).toMatchObject({ 'conv2d_1': ['batch', 4, 12, 10], 'maxPool2d_1': ['batch', 4, 6, 5], 'averagePool2d_1': ['batch', 6, 2, 1], 'flatten_1/to_nhwc': ['batch', 2, 1, 6], 'flatten_1': ['batch', 12], 'dense_2': ['batch', 5] });
    model.dispose();
  });

  it('holds the documented ops, wired in order, with their attributes', () => {
    const model = nn.sequential(js, courseLayers(), { inputShape: COURSE_INPUT });
    const { node, initializer } = decode(toONNX(model)).graph;
    expect(node.map((n) => n.opType)).toEqual(['Transpose', 'Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'AveragePool', 'Transpose', 'Flatten', 'Gemm', 'Relu', 'Gemm', 'Softmax']);
    // a chain: each node reads the previous one's output
    node.forEach((n, i) => expect(n.input[0], n.name).toBe(i === 0 ? 'input' : node[i - 1]!.output[0]));
    expect(node.at(-1)!.output).toEqual(['probabilities']);
    const byName = Object.fromEntries(node.map((n) => [n.name, n]));
    expect(attributes(node[0]!)).toEqual({ perm: [0, 3, 1, 2] });
    expect(attributes(byName['conv2d_1']!)).toEqual({ kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
    expect(byName['conv2d_1']!.input).toEqual(['conv2d_1/to_nchw', 'conv2d_1/W', 'conv2d_1/b']);
    expect(attributes(byName['conv2d_2']!)).toMatchObject({ pads: [0, 0, 0, 0] });
    expect(attributes(byName['maxPool2d_1']!)).toEqual({ kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] });
    expect(attributes(byName['flatten_1/to_nhwc']!)).toEqual({ perm: [0, 2, 3, 1] });
    expect(attributes(byName['flatten_1']!)).toEqual({ axis: 1 });
    expect(attributes(byName['dense_1']!)).toEqual({ transA: 0, transB: 0 });
    expect(attributes(byName['softmax']!)).toEqual({ axis: -1 });
    expect(byName['conv2d_1']!.docString).toMatch(/^model\.config\.layers\[0\]: conv2d/);
    expect(initializer.map((t) => [t.name, t.dims, t.dataType])).toEqual([
      ['conv2d_1/W', [4, 3, 3, 3], FLOAT], ['conv2d_1/b', [4], FLOAT], ['conv2d_2/W', [6, 4, 3, 3], FLOAT], ['conv2d_2/b', [6], FLOAT],
      ['dense_1/W', [12, 12], FLOAT], ['dense_1/b', [12], FLOAT], ['dense_2/W', [12, 5], FLOAT], ['dense_2/b', [5], FLOAT],
    ]);
    model.dispose();
  });

  it("splits 'same' padding as the ops do (the odd row or column at the bottom or right), leaves out absent biases, and transposes filters to OIHW", () => {
    const model = trained(js, oddLayers(), ODD_INPUT, { seed: 6, steps: 1 });
    const { node, initializer } = decode(toONNX(model)).graph;
    const byName = Object.fromEntries(node.map((n) => [n.name, n]));
    // [top, left, bottom, right]: 9 rows at stride 2 with 4 taps need 3 (1 + 2), 8 columns 2 (1 + 1)
    expect(attributes(byName['conv2d_1']!)).toMatchObject({ kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 2, 1] });
    // 5x4 input: rows, 2 taps at stride 1, need 1 (0 + 1); columns, 3 taps at stride 2, need 1 (0 + 1)
    expect(attributes(byName['conv2d_2']!)).toMatchObject({ kernel_shape: [2, 3], strides: [1, 2], pads: [0, 0, 1, 1] });
    expect(byName['conv2d_1']!.input).toEqual(['conv2d_1/to_nchw', 'conv2d_1/W']);
    expect(byName['conv2d_2']!.input).toEqual(['conv2d_1/relu', 'conv2d_2/W', 'conv2d_2/b']);
    expect(byName['dense_1']!.input).toEqual(['dense_1/flatten', 'dense_1/W']);
    expect(node.map((n) => n.opType)).toEqual(['Transpose', 'Conv', 'Relu', 'Conv', 'Relu', 'MaxPool', 'Transpose', 'Flatten', 'Gemm', 'Softmax']);
    // W (f_H, f_W, n_C_prev, n_C) to (n_C, n_C_prev, f_H, f_W), and dense W (k, n) as it is
    const [W1, W2] = model.params.map((p) => Float32Array.from(p.data));
    const oihw = (w: Float32Array, [fh, fw, c, n]: [number, number, number, number]) => {
      const out = new Float32Array(w.length);
      for (let y = 0; y < fh; y++) for (let x = 0; x < fw; x++) for (let i = 0; i < c; i++) for (let o = 0; o < n; o++) out[((o * c + i) * fh + y) * fw + x] = w[((y * fw + x) * c + i) * n + o]!;
      return out;
    };
    const init = Object.fromEntries(initializer.map((t) => [t.name, t]));
    expect(init['conv2d_1/W']!.dims).toEqual([5, 2, 4, 4]);
    expectExact(floats(init['conv2d_1/W']!), oihw(W1!, [4, 4, 2, 5]), 'conv2d_1/W');
    expectExact(floats(init['conv2d_2/W']!), oihw(W2!, [2, 3, 5, 3]), 'conv2d_2/W');
    expectExact(floats(init['dense_1/W']!), Float32Array.from(model.params.at(-1)!.data), 'dense_1/W');
    expect(Object.keys(init)).toEqual(['conv2d_1/W', 'conv2d_2/W', 'conv2d_2/b', 'dense_1/W']);
    model.dispose();
  });
});

describe('bad input', () => {
  const expectError = (f: () => unknown, argument: string, message?: RegExp) => {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    expect(error, argument).toBeInstanceOf(CnnArgumentError);
    const e = error as CnnArgumentError;
    expect(e.op).toBe('toONNX');
    expect(e.argument).toBe(argument);
    expect(e.message.startsWith(`toONNX: ${argument}: expected `), e.message).toBe(true);
    if (message) expect(e.message).toMatch(message);
  };
  let saved: nn.SavedModel;
  beforeAll(() => {
    const model = nn.sequential(js, courseLayers(), { inputShape: COURSE_INPUT });
    saved = model.save();
    model.dispose();
  });
  const withConfig = (config: Record<string, unknown>, weights: ArrayBuffer = saved.weights) => ({ config: { ...saved.config, ...config }, weights }) as never;
  const withLayers = (layers: unknown[], weights?: ArrayBuffer) => withConfig({ layers }, weights);
  it('not a model', () => {
    for (const v of [undefined, null, 42, 'model', [], new Float32Array(4)]) expectError(() => toONNX(v as never), 'model', /a model from nn\.sequential or nn\.load/);
    expectError(() => toONNX({ config: saved.config } as never), 'model.weights', /ArrayBuffer/);
    expectError(() => toONNX({ ...saved, extra: 1 } as never), 'model.extra', /unknown key/);
    expectError(() => toONNX(withConfig({ format: 'keras' })), 'model.config', /model\.save\(\)/);
    expectError(() => toONNX(withConfig({ inputShape: [12, 10] })), 'model.config.inputShape');
    expectError(() => toONNX(withConfig({ dtype: 'int8' })), 'model.config.dtype');
    expectError(() => toONNX({ config: saved.config, weights: new Float32Array(saved.weights) } as never), 'model.weights', /ArrayBuffer/);
  });

  it('a disposed model', () => {
    const model = nn.sequential(wasm, courseLayers(), { inputShape: COURSE_INPUT });
    model.dispose();
    expectError(() => toONNX(model), 'model', /disposed/);
  });

  it('an unknown layer type or a layer config nn.load would refuse', () => {
    const layers = saved.config.layers;
    expectError(() => toONNX(withLayers([layers[0], { type: 'batchNorm' }, ...layers.slice(2)])), 'model.config.layers[1]', /nn\.conv2d, nn\.dense/);
    expectError(() => toONNX(withLayers([{ ...layers[0], filters: 0 }, ...layers.slice(1)])), 'model.config.layers[0].filters', /positive integer/);
    expectError(() => toONNX(withLayers([{ ...layers[0], activation: 'tanh' }, ...layers.slice(1)])), 'model.config.layers[0].activation', /'relu' or 'linear'/);
    expectError(() => toONNX(withLayers([])), 'model.config.layers');
  });

  it('layers that do not fit or do not end in class scores, and weights of the wrong size', () => {
    const layers = saved.config.layers;
    expectError(() => toONNX(withLayers(layers.slice(0, 4))), 'model.config.layers', /class scores/);
    expectError(() => toONNX(withLayers([...layers.slice(0, 5), nn.maxPool2d(), ...layers.slice(5)])), 'model.config.layers[5]', /\(h, w, c\) inputs/);
    expectError(() => toONNX(withLayers([nn.conv2d({ filters: 4, kernelSize: 13 }), ...layers.slice(1)])), 'model.config.layers[0]', /fits/);
    expectError(() => toONNX(withLayers([...layers.slice(0, 6), nn.dense({ units: 6 })])), 'model.weights', /bytes/);
    expectError(() => toONNX(withConfig({}, saved.weights.slice(4))), 'model.weights', /too few|bytes/);
    expectError(() => toONNX(withConfig({}, new ArrayBuffer(saved.weights.byteLength + 4))), 'model.weights', /bytes/);
  });

  it('options', () => {
    for (const opset of [12, 24, 13.5, '13', NaN]) expectError(() => toONNX(saved, { opset } as never), 'options.opset', /from 13 to 23/);
    expectError(() => toONNX(saved, { producerVersion: 1 } as never), 'options.producerVersion');
    expectError(() => toONNX(saved, { dtype: 'float64' } as never), 'options.dtype', /unknown key/);
    expectError(() => toONNX(saved, 13 as never), 'options');
  });
});
