/**
 * cnn-wasm/onnx: a trained nn model as an ONNX model, to run in onnxruntime (Node, web, native),
 * open in Netron or convert further. A separate entry point because it depends on onnx-proto
 * (protobufjs 6, CommonJS); the package's main entry has no runtime dependencies.
 *
 * ```js
 * import { toONNX } from 'cnn-wasm/onnx';
 * const bytes = toONNX(model);           // a Sequential, or what model.save() returned
 * ```
 * @module
 */
// onnx-proto is CommonJS whose module.exports is assigned whole (`module.exports = $root`): Node's
// ESM loader finds no named export in it, so `import { onnx } from 'onnx-proto'` fails in Node
// (bundlers would accept it). The default import is module.exports in Node, vitest, Vite and esbuild.
import onnxProto from 'onnx-proto';
import { CnnArgumentError } from '../errors.js';
import type { LayerConfig } from '../nn/layers.js';
import { readLayer } from '../nn/layers.js';
import type { SavedModel, Sequential } from '../nn/model.js';
import type { DType } from '../types.js';
import { describe, readDType, readOptions, shapeText } from '../validate.js';

const { onnx } = onnxProto;
type INodeProto = import('onnx-proto').onnx.INodeProto;
type ITensorProto = import('onnx-proto').onnx.ITensorProto;
type IValueInfoProto = import('onnx-proto').onnx.IValueInfoProto;
type IAttributeProto = import('onnx-proto').onnx.IAttributeProto;

/** What toONNX takes besides the model. */
export interface ToONNXOptions {
  /**
   * The ONNX opset (default domain) the model declares, 13 (the default) to 23. Every op the
   * exporter writes (Transpose, Conv, Relu, MaxPool, AveragePool, Flatten, Gemm, Softmax) means the
   * same from opset 13 on, so the graph is the same whatever the opset; only the declared versions
   * differ. The model's ir_version is that of the ONNX release that brought the opset (7 for 13 and
   * 14, 8 for 15 to 18, 9 for 19 and 20, 10 for 21 and 22, 11 for 23).
   */
  opset?: number;
  /** The model's producer_version (producer_name is "cnn-wasm"); none by default. */
  producerVersion?: string;
}

/** The lowest opset written, the default, and the highest: from 13 on, Softmax works on one axis. */
const MIN_OPSET = 13;
const MAX_OPSET = 23;
/** ir_version of the ONNX release that introduced each opset (onnx/helper.py's VERSION_TABLE). */
const IR_VERSION: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11 };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const AttributeType = onnx.AttributeProto.AttributeType;

/** The model's architecture and weights, read and checked once: what the graph is written from. */
interface ModelParts {
  inputShape: [number, number, number];
  dtype: DType;
  layers: LayerConfig[];
  weights: ArrayBuffer;
}

/** A SavedModel or a Sequential (by what it has: a second copy of the package has another Sequential class). */
function readModel(op: string, model: unknown): ModelParts {
  const isObject = typeof model === 'object' && model !== null;
  if (isObject && typeof (model as { save?: unknown }).save === 'function' && !('config' in model)) {
    let saved: SavedModel;
    try {
      saved = (model as Sequential).save();
    } catch (e) {
      if (e instanceof CnnArgumentError) throw new CnnArgumentError(op, 'model', 'a live model (one not disposed)', 'a model that was disposed');
      throw e;
    }
    return readSaved(op, saved, 'model');
  }
  if (!isObject || Array.isArray(model) || ArrayBuffer.isView(model)) {
    throw new CnnArgumentError(op, 'model', 'a model from nn.sequential or nn.load, or what model.save() returned', describe(model));
  }
  return readSaved(op, model, 'model');
}

/** What model.save() returned, checked as nn.load checks it; each property read once. */
function readSaved(op: string, value: unknown, argument: string): ModelParts {
  const s = readOptions(op, argument, value, ['config', 'weights'] as const, true);
  const c = readOptions(op, `${argument}.config`, s.config, ['format', 'version', 'inputShape', 'dtype', 'layers'] as const, true);
  if (c.format !== 'cnn-wasm-sequential' || c.version !== 1) {
    throw new CnnArgumentError(op, `${argument}.config`, 'a model saved by model.save() (format "cnn-wasm-sequential", version 1)',
      `format ${describe(c.format)}, version ${describe(c.version)}`);
  }
  const shape = c.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0)) {
    throw new CnnArgumentError(op, `${argument}.config.inputShape`, 'one example\'s shape [h, w, c], positive integers', describe(shape));
  }
  const dtype = readDType(op, `${argument}.config.dtype`, c.dtype);
  if (!Array.isArray(c.layers) || c.layers.length === 0) {
    throw new CnnArgumentError(op, `${argument}.config.layers`, 'a non-empty array of layers', describe(c.layers));
  }
  const layers = (c.layers as unknown[]).map((layer, i) => {
    const where = `${argument}.config.layers[${i}]`;
    try {
      return readLayer(op, where, layer);
    } catch (e) {
      // nn.conv2d and its kin name their own op and `options.<field>`: say where in the model it is
      if (!(e instanceof CnnArgumentError) || e.op === op) throw e;
      throw new CnnArgumentError(op, `${where}${e.argument.replace(/^options/, '')}`, e.expected, e.received);
    }
  });
  if (!(s.weights instanceof ArrayBuffer)) throw new CnnArgumentError(op, `${argument}.weights`, 'an ArrayBuffer', describe(s.weights));
  return { inputShape: shape.slice() as [number, number, number], dtype, layers, weights: s.weights };
}

/** A tensor flowing through the graph: its name, its layout and its shape without the batch dimension. */
interface Flow {
  name: string;
  layout: 'NHWC' | 'NCHW' | 'flat';
  /** (h, w, c) for NHWC and NCHW alike, or (k) when flat. */
  shape: number[];
}

const ints = (name: string, values: number[]): IAttributeProto => ({ name, type: AttributeType.INTS, ints: values });
const int = (name: string, value: number): IAttributeProto => ({ name, type: AttributeType.INT, i: value });

/** A float tensor's value_info: shape (batch, ...dims), the batch dimension symbolic. */
function valueInfo(name: string, dims: number[], docString?: string): IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...dims.map((d) => ({ dimValue: d }))] } } },
    ...(docString ? { docString } : {}),
  };
}

/** A Flow's dims in its own layout, batch excluded. */
const layoutDims = (f: Flow): number[] => (f.layout === 'NCHW' ? [f.shape[2]!, f.shape[0]!, f.shape[1]!] : f.shape);

/** The graph written from the model's parts: nodes, weights as FLOAT initializers, intermediate shapes. */
function buildGraph(op: string, m: ModelParts) {
  const nodes: INodeProto[] = [];
  const initializers: ITensorProto[] = [];
  const infos: IValueInfoProto[] = [];
  const item = m.dtype === 'float32' ? 4 : 8;
  const source = new DataView(m.weights);
  let offset = 0;
  /** The next parameter of `shape` from the saved weights, as float32 values in row-major order. */
  const take = (where: string, shape: number[]): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (offset + n * item > m.weights.byteLength) {
      throw new CnnArgumentError(op, 'model.weights', `the bytes of every parameter of its layers (${where} needs ${n * item} bytes from byte ${offset})`, `${m.weights.byteLength} bytes`);
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = m.dtype === 'float32' ? source.getFloat32(offset + 4 * i, true) : source.getFloat64(offset + 8 * i, true);
    offset += n * item;
    return out;
  };
  const initializer = (name: string, dims: number[], values: Float32Array): void => {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i]!, true);
    initializers.push({ name, dims, dataType: FLOAT, rawData: bytes });
  };
  const counts = new Map<string, number>();
  let flow: Flow = { name: 'input', layout: 'NHWC', shape: m.inputShape.slice() };
  const emit = (node: INodeProto, next: Flow, docString?: string): void => {
    nodes.push({ ...node, output: [next.name], name: next.name, ...(docString ? { docString } : {}) });
    infos.push(valueInfo(next.name, layoutDims(next)));
    flow = next;
  };
  /** Transposes NHWC to NCHW, the layout of ONNX's Conv and pools, unless it is already. */
  const toNCHW = (layer: string): void => {
    if (flow.layout === 'NCHW') return;
    emit({ opType: 'Transpose', input: [flow.name], attribute: [ints('perm', [0, 3, 1, 2])] }, { ...flow, name: `${layer}/to_nchw`, layout: 'NCHW' },
      'NHWC to NCHW, the layout of ONNX\'s Conv and pools');
  };
  /** Makes the flow (m, k) with k read in NHWC row-major order, as cnn-wasm flattens; the Flatten node is named `flatName`. */
  const toFlat = (layer: string, flatName: string): void => {
    if (flow.layout === 'flat') return;
    if (flow.layout === 'NCHW') {
      emit({ opType: 'Transpose', input: [flow.name], attribute: [ints('perm', [0, 2, 3, 1])] }, { ...flow, name: `${layer}/to_nhwc`, layout: 'NHWC' },
        'back to NHWC, so that flattening reads (h, w, c) in cnn-wasm\'s order');
    }
    emit({ opType: 'Flatten', input: [flow.name], attribute: [int('axis', 1)] },
      { name: flatName, layout: 'flat', shape: [flow.shape.reduce((a, b) => a * b, 1)] }, '(m, h, w, c) to (m, h w c), row-major');
  };
  const relu = (name: string, docString: string): void => {
    emit({ opType: 'Relu', input: [flow.name] }, { ...flow, name }, docString);
  };

  m.layers.forEach((config, index) => {
    const count = (counts.get(config.type) ?? 0) + 1;
    counts.set(config.type, count);
    const name = `${config.type}_${count}`;
    const where = `model.config.layers[${index}]`;
    const spatial = (): [number, number, number] => {
      if (flow.layout === 'flat') {
        throw new CnnArgumentError(op, where, `a layer for (h, w, c) inputs, here ${config.type} takes an input of shape ${shapeText(flow.shape)} (flatten comes last)`, config.type);
      }
      return flow.shape as [number, number, number];
    };
    switch (config.type) {
      case 'conv2d': {
        const [h, w, c] = spatial();
        const [fh, fw] = config.kernelSize, [sh, sw] = config.strides;
        let pads = [0, 0, 0, 0];
        let oh: number, ow: number;
        if (config.padding === 'same') {
          // TensorFlow's split, as src/ops/conv.ts computes it: ceil(n / s) outputs, the odd row or column at the bottom or right
          oh = Math.ceil(h / sh);
          ow = Math.ceil(w / sw);
          const th = Math.max((oh - 1) * sh + fh - h, 0), tw = Math.max((ow - 1) * sw + fw - w, 0);
          pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
        } else {
          oh = Math.floor((h - fh) / sh) + 1;
          ow = Math.floor((w - fw) / sw) + 1;
        }
        if (oh < 1 || ow < 1) throw new CnnArgumentError(op, where, `a kernel that fits its ${h}x${w} input ('valid' padding)`, `a ${fh}x${fw} kernel`);
        const n = config.filters;
        // (f_H, f_W, n_C_prev, n_C) to ONNX's (n_C, n_C_prev, f_H, f_W)
        const hwio = take(`${where}'s W`, [fh, fw, c, n]);
        const oihw = new Float32Array(hwio.length);
        for (let y = 0; y < fh; y++) {
          for (let x = 0; x < fw; x++) {
            for (let i = 0; i < c; i++) {
              for (let o = 0; o < n; o++) oihw[((o * c + i) * fh + y) * fw + x] = hwio[((y * fw + x) * c + i) * n + o]!;
            }
          }
        }
        initializer(`${name}/W`, [n, c, fh, fw], oihw);
        const inputs = [`${name}/W`];
        if (config.useBias) {
          initializer(`${name}/b`, [n], take(`${where}'s b`, [1, 1, 1, n]));
          inputs.push(`${name}/b`);
        }
        toNCHW(name);
        emit({
          opType: 'Conv', input: [flow.name, ...inputs],
          attribute: [ints('kernel_shape', [fh, fw]), ints('strides', [sh, sw]), ints('pads', pads), ints('dilations', [1, 1]), int('group', 1)],
        }, { name, layout: 'NCHW', shape: [oh, ow, n] },
        `${where}: conv2d, ${n} filters ${fh}x${fw}, strides [${sh}, ${sw}], '${config.padding}' padding${config.useBias ? '' : ', no bias'}`);
        if (config.activation === 'relu') relu(`${name}/relu`, `${where}: conv2d's activation 'relu'`);
        break;
      }
      case 'maxPool2d':
      case 'averagePool2d': {
        const [h, w, c] = spatial();
        const [fh, fw] = config.poolSize, [sh, sw] = config.strides;
        if (fh > h || fw > w) throw new CnnArgumentError(op, where, `a window that fits its ${h}x${w} input`, `a ${fh}x${fw} window`);
        toNCHW(name);
        emit({
          opType: config.type === 'maxPool2d' ? 'MaxPool' : 'AveragePool', input: [flow.name],
          attribute: [ints('kernel_shape', [fh, fw]), ints('strides', [sh, sw]), ints('pads', [0, 0, 0, 0])],
        }, { name, layout: 'NCHW', shape: [Math.floor((h - fh) / sh) + 1, Math.floor((w - fw) / sw) + 1, c] },
        `${where}: ${config.type}, window ${fh}x${fw}, strides [${sh}, ${sw}], no padding`);
        break;
      }
      case 'relu':
        relu(name, `${where}: relu`);
        break;
      case 'flatten':
        toFlat(name, name);
        break;
      case 'dense': {
        // a dense layer reads its input flattened (NHWC row-major), with or without a flatten before it
        toFlat(name, `${name}/flatten`);
        const k = flow.shape[0]!, n = config.units;
        initializer(`${name}/W`, [k, n], take(`${where}'s W`, [k, n]));
        const inputs = [flow.name, `${name}/W`];
        if (config.useBias) {
          initializer(`${name}/b`, [n], take(`${where}'s b`, [1, n]));
          inputs.push(`${name}/b`);
        }
        emit({ opType: 'Gemm', input: inputs, attribute: [int('transA', 0), int('transB', 0)] }, { name, layout: 'flat', shape: [n] },
          `${where}: dense, ${k} to ${n}${config.useBias ? '' : ', no bias'}`);
        if (config.activation === 'relu') relu(`${name}/relu`, `${where}: dense's activation 'relu'`);
        break;
      }
    }
  });
  if (flow.layout !== 'flat') {
    throw new CnnArgumentError(op, 'model.config.layers', 'layers ending in class scores, (m, classes) (end with nn.flatten() and nn.dense(...))',
      `an output of shape ${shapeText(flow.shape)} per example`);
  }
  if (offset !== m.weights.byteLength) {
    throw new CnnArgumentError(op, 'model.weights', `${offset} bytes (the parameters of its layers)`, `${m.weights.byteLength} bytes`);
  }
  const classes = flow.shape[0]!;
  nodes.push({ opType: 'Softmax', name: 'softmax', input: [flow.name], output: ['probabilities'], attribute: [int('axis', -1)], docString: 'class probabilities, as model.predict' });
  return { nodes, initializers, infos, classes };
}

/** The layers as one line each, for the model's doc_string. */
function summaryOf(m: ModelParts): string {
  const line = (l: LayerConfig): string => {
    switch (l.type) {
      case 'conv2d': return `conv2d ${l.filters} ${l.kernelSize.join('x')} strides ${l.strides.join('x')} ${l.padding} ${l.activation}${l.useBias ? '' : ' no bias'}`;
      case 'dense': return `dense ${l.units} ${l.activation}${l.useBias ? '' : ' no bias'}`;
      case 'maxPool2d': case 'averagePool2d': return `${l.type} ${l.poolSize.join('x')} strides ${l.strides.join('x')}`;
      default: return l.type;
    }
  };
  return [
    `A cnn-wasm Sequential model (${m.dtype}${m.dtype === 'float64' ? ', exported as float32' : ''}) for NHWC inputs (batch, ${m.inputShape.join(', ')}), giving softmax class probabilities:`,
    ...m.layers.map((l, i) => `  ${i}: ${line(l)}`),
  ].join('\n');
}

/**
 * Encodes a trained model as an ONNX ModelProto: the bytes of a `.onnx` file, which onnxruntime,
 * Netron and the ONNX tools read.
 *
 * The graph takes `input`, float32 NHWC images of shape (batch, h, w, c) with a symbolic batch
 * dimension `batch`, and gives `probabilities`, (batch, classes): the softmax of the last layer's
 * outputs, the values `model.predict` returns. Inside, a Transpose to NCHW precedes the first Conv
 * or pool (ONNX's layout); convolutions carry their filters transposed to (n_C, n_C_prev, f_H, f_W),
 * their strides and explicit `pads` ('same' padding split as TensorFlow and cnn-wasm split it: an odd
 * total pads one more row at the bottom and one more column at the right); an activation 'relu' is
 * a Relu node after its Conv or Gemm; pools have no padding; a Transpose back to NHWC precedes
 * the Flatten, so that a dense layer reads its inputs in cnn-wasm's (h, w, c) order; a dense layer
 * is a Gemm whose B is W (k, n) as stored (transB 0), with its bias as C (omitted with useBias false).
 * Nodes, weights (`conv2d_1/W`, `dense_2/b`, ...) and value_info are named as model.summary() names
 * the layers; each node's doc_string names the layer it comes from.
 *
 * float64 models are exported as float32 (input, weights and output): onnxruntime's CPU provider has
 * no double Conv or AveragePool, so a double graph would not run there. Their probabilities then
 * differ from `model.predict`'s by float32 rounding.
 *
 * Runs the same in Node and browsers (onnx-proto encodes with protobufjs, no Buffer needed); import
 * it from `cnn-wasm/onnx` (a bundler, or Node, resolves onnx-proto, a CommonJS package).
 *
 * @param model A model from nn.sequential or nn.load (its weights are read through model.save()),
 *   or what model.save() returned.
 * @param options `opset` (13 to 23, default 13) and `producerVersion`.
 * @returns The encoded ModelProto, a fresh Uint8Array (write it to a `.onnx` file, or hand it to
 *   `ort.InferenceSession.create`).
 * @throws CnnArgumentError (op 'toONNX') for something that is not a model or a saved one, a disposed
 *   model, an unknown layer type or a layer config that nn.load would refuse, layers that do not fit
 *   the input shape or do not end in class scores, weights of the wrong byte length, an unknown
 *   option or an opset out of range.
 */
export function toONNX(model: Sequential | SavedModel, options: ToONNXOptions = {}): Uint8Array {
  const op = 'toONNX';
  const o = readOptions(op, 'options', options, ['opset', 'producerVersion'] as const, false);
  const opset = o.opset ?? MIN_OPSET;
  if (typeof opset !== 'number' || !Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new CnnArgumentError(op, 'options.opset', `an integer from ${MIN_OPSET} to ${MAX_OPSET}`, describe(opset));
  }
  const producerVersion = o.producerVersion;
  if (producerVersion !== undefined && typeof producerVersion !== 'string') {
    throw new CnnArgumentError(op, 'options.producerVersion', 'a string', describe(producerVersion));
  }
  const parts = readModel(op, model);
  const { nodes, initializers, infos, classes } = buildGraph(op, parts);
  const bytes = onnx.ModelProto.encode({
    irVersion: IR_VERSION[opset]!,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'cnn-wasm',
    ...(producerVersion !== undefined ? { producerVersion } : {}),
    docString: summaryOf(parts),
    graph: {
      name: 'sequential',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', parts.inputShape, 'images, NHWC: (batch, h, w, c)')],
      output: [valueInfo('probabilities', [classes], 'softmax class probabilities: (batch, classes)')],
      valueInfo: infos,
    },
  }).finish();
  // protobufjs hands out a Buffer in Node, which may be a view of a larger pooled ArrayBuffer
  return bytes.constructor === Uint8Array && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}
