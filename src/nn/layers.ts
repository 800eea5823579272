// Layers in Keras's words (Conv2D, Dense, ReLU, MaxPool2D, AveragePool2D, Flatten): a config, which
// is plain data (what a saved model stores), and, once a model is built, a layer that owns its
// parameters and calls the ops; all arithmetic stays in the ops.
import { CnnArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { Activation, Backend, ConvCache, DenseCache, DType, PoolCache, ReluCache } from '../types.js';
import { describe, readActivation, readOptions } from '../validate.js';
import { initialWeights } from './random.js';

export interface Conv2dConfig {
  readonly type: 'conv2d';
  /** Output channels. */
  readonly filters: number;
  /** Window height and width. */
  readonly kernelSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: 'valid' | 'same';
  readonly activation: Activation;
  readonly useBias: boolean;
}
export interface DenseConfig {
  readonly type: 'dense';
  readonly units: number;
  readonly activation: Activation;
  readonly useBias: boolean;
}
export interface PoolConfig {
  readonly type: 'maxPool2d' | 'averagePool2d';
  readonly poolSize: readonly [number, number];
  readonly strides: readonly [number, number];
}
export interface ReluConfig {
  readonly type: 'relu';
}
export interface FlattenConfig {
  readonly type: 'flatten';
}
/** A layer as data: what nn.conv2d(...) and the others return, and what model.save() keeps. */
export type LayerConfig = Conv2dConfig | DenseConfig | PoolConfig | ReluConfig | FlattenConfig;

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function pair(op: string, argument: string, value: unknown, fallback?: readonly [number, number]): [number, number] {
  if (value === undefined && fallback) return [fallback[0], fallback[1]];
  if (positive(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2) {
    const [h, w]: unknown[] = [value[0], value[1]];
    if (positive(h) && positive(w)) return [h, w];
  }
  throw new CnnArgumentError(op, argument, 'a positive integer or an [h, w] pair of them', describe(value));
}

function bool(op: string, argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new CnnArgumentError(op, argument, 'true or false', describe(value));
  return value;
}

/** A 2-D convolution layer (Keras's Conv2D): stride 1, 'valid' padding and no activation unless told. */
export function conv2d(options: {
  filters: number; kernelSize: number | readonly [number, number]; strides?: number | readonly [number, number];
  padding?: 'valid' | 'same'; activation?: Activation; useBias?: boolean;
}): Conv2dConfig {
  const op = 'nn.conv2d';
  const o = readOptions(op, 'options', options, ['filters', 'kernelSize', 'strides', 'padding', 'activation', 'useBias'] as const, true);
  if (!positive(o.filters)) throw new CnnArgumentError(op, 'options.filters', 'a positive integer (output channels)', describe(o.filters));
  const padding = o.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') throw new CnnArgumentError(op, 'options.padding', `'valid' or 'same'`, describe(padding));
  return {
    type: 'conv2d', filters: o.filters, kernelSize: pair(op, 'options.kernelSize', o.kernelSize), strides: pair(op, 'options.strides', o.strides, [1, 1]),
    padding, activation: readActivation(op, 'options.activation', o.activation), useBias: bool(op, 'options.useBias', o.useBias, true),
  };
}

/** A fully connected layer (Keras's Dense) of `units` outputs; its input is flattened as it comes. */
export function dense(options: { units: number; activation?: Activation; useBias?: boolean }): DenseConfig {
  const op = 'nn.dense';
  const o = readOptions(op, 'options', options, ['units', 'activation', 'useBias'] as const, true);
  if (!positive(o.units)) throw new CnnArgumentError(op, 'options.units', 'a positive integer', describe(o.units));
  return { type: 'dense', units: o.units, activation: readActivation(op, 'options.activation', o.activation), useBias: bool(op, 'options.useBias', o.useBias, true) };
}

/** max(x, 0) as a layer of its own. */
export function relu(): ReluConfig {
  return { type: 'relu' };
}

function pool(type: PoolConfig['type'], options: unknown): PoolConfig {
  const op = `nn.${type}`;
  const o = readOptions(op, 'options', options, ['poolSize', 'strides'] as const, false);
  const poolSize = pair(op, 'options.poolSize', o.poolSize, [2, 2]);
  return { type, poolSize, strides: pair(op, 'options.strides', o.strides, poolSize) };
}

/** Max pooling (Keras's MaxPool2D): 2x2 windows, stride the window size, unless told; its gradient goes to each window's first maximum. */
export function maxPool2d(options?: { poolSize?: number | readonly [number, number]; strides?: number | readonly [number, number] }): PoolConfig {
  return pool('maxPool2d', options);
}

/** Average pooling (Keras's AveragePooling2D), as maxPool2d. */
export function averagePool2d(options?: { poolSize?: number | readonly [number, number]; strides?: number | readonly [number, number] }): PoolConfig {
  return pool('averagePool2d', options);
}

/** (m, h, w, c) to (m, h w c), row-major, no copy. */
export function flatten(): FlattenConfig {
  return { type: 'flatten' };
}

/** Checks a layer config (from nn.* or from a saved model) and returns it as one. */
export function readLayer(op: string, argument: string, value: unknown): LayerConfig {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const rest = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, (value as Record<string, unknown>)[k]]));
  switch (type) {
    case 'conv2d': return conv2d(rest(['filters', 'kernelSize', 'strides', 'padding', 'activation', 'useBias']) as never);
    case 'dense': return dense(rest(['units', 'activation', 'useBias']) as never);
    case 'maxPool2d': return maxPool2d(rest(['poolSize', 'strides']) as never);
    case 'averagePool2d': return averagePool2d(rest(['poolSize', 'strides']) as never);
    case 'relu': return relu();
    case 'flatten': return flatten();
    default:
      throw new CnnArgumentError(op, argument, 'a layer from nn.conv2d, nn.dense, nn.relu, nn.maxPool2d, nn.averagePool2d or nn.flatten', describe(value));
  }
}

/** What a layer's forward pass keeps for its backward pass. */
export type LayerCache = ConvCache | DenseCache | PoolCache | ReluCache | { kind: 'flatten'; shape: readonly number[] };

/** A built layer: its config, its output shape (per example), its trainable parameters. */
export interface Layer {
  readonly config: LayerConfig;
  /** Output shape of one example (no batch dimension). */
  readonly outputShape: readonly number[];
  /** Trainable parameters: [W, b], [W] (no bias) or none. */
  readonly params: Tensor[];
  forward(x: Tensor): { y: Tensor; cache: LayerCache };
  /** The input gradient (unless `input` is false: a first layer needs none) and the parameters' gradients. */
  backward(dy: Tensor, cache: LayerCache, input: boolean): { dx: Tensor | null; grads: Tensor[] };
  /** Frees the parameters (and a zero bias kept for useBias: false). */
  dispose(): void;
}

/** Fan-in and fan-out of a weight tensor, as Keras counts them: a conv's receptive field times its channels. */
function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  const field = shape[0]! * shape[1]!;
  return [field * shape[2]!, field * shape[3]!];
}

/**
 * Builds a layer for inputs of `inputShape` (one example): checks that it fits and makes its
 * parameters, from `weights` (a saved model's, in order) or drawn with `rand`.
 */
export function buildLayer(be: Backend, config: LayerConfig, inputShape: readonly number[], dtype: DType, rand: () => number,
  weights: (shape: readonly number[]) => Float64Array | Float32Array | null, index: number): Layer {
  const op = 'nn.sequential';
  const where = `layers[${index}]`;
  const need4 = () => {
    if (inputShape.length !== 3) {
      throw new CnnArgumentError(op, where, `a layer for (h, w, c) inputs, here ${config.type} takes an input of shape [${inputShape.join(', ')}] (flatten comes last)`, config.type);
    }
  };
  /** A parameter: from the saved weights when trained (a zero bias kept for useBias: false is not saved), else drawn, or zeros. */
  const param = (shape: readonly number[], relu: boolean, zeros: boolean, trained = true): Tensor => {
    const given = trained ? weights(shape) : null;
    if (given) return be.tensor(shape, given, dtype);
    if (zeros) return be.tensor(shape, null, dtype);
    const [fanIn, fanOut] = fans(shape);
    return be.tensor(shape, initialWeights(rand, shape.reduce((a, b) => a * b, 1), fanIn, fanOut, relu), dtype);
  };
  switch (config.type) {
    case 'conv2d': {
      need4();
      const [h, w, c] = inputShape as [number, number, number];
      const [fh, fw] = config.kernelSize, [sh, sw] = config.strides;
      const [oh, ow] = config.padding === 'same' ? [Math.ceil(h / sh), Math.ceil(w / sw)] : [Math.floor((h - fh) / sh) + 1, Math.floor((w - fw) / sw) + 1];
      if (oh < 1 || ow < 1) throw new CnnArgumentError(op, where, `a kernel that fits its ${h}x${w} input ('valid' padding)`, `a ${fh}x${fw} kernel`);
      const W = param([fh, fw, c, config.filters], config.activation === 'relu', false);
      const b = param([1, 1, 1, config.filters], false, true, config.useBias);
      const hp = { stride: [sh, sw] as const, pad: config.padding, activation: config.activation };
      return {
        config, outputShape: [oh, ow, config.filters], params: config.useBias ? [W, b] : [W],
        forward: (x) => {
          const { Z, cache } = be.convForward(x, W, b, hp);
          return { y: Z, cache };
        },
        backward: (dy, cache, input) => {
          const { dW, db } = be.convBackwardFilter(dy, cache as ConvCache);
          const dx = input ? be.convBackwardInput(dy, cache as ConvCache) : null;
          return { dx, grads: config.useBias ? [dW, db] : [dW] };
        },
        dispose: () => [W, b].forEach((t) => t.dispose()),
      };
    }
    case 'dense': {
      const k = inputShape.reduce((a, b) => a * b, 1);
      const W = param([k, config.units], config.activation === 'relu', false);
      const b = param([1, config.units], false, true, config.useBias);
      const options = { activation: config.activation };
      return {
        config, outputShape: [config.units], params: config.useBias ? [W, b] : [W],
        forward: (x) => {
          const { Z, cache } = be.denseForward(x, W, b, options);
          return { y: Z, cache };
        },
        backward: (dy, cache, input) => {
          const g = be.denseBackward(dy, cache as DenseCache);
          if (!input) g.dX.dispose();
          return { dx: input ? g.dX : null, grads: config.useBias ? [g.dW, g.db] : [g.dW] };
        },
        dispose: () => [W, b].forEach((t) => t.dispose()),
      };
    }
    case 'maxPool2d':
    case 'averagePool2d': {
      need4();
      const [h, w, c] = inputShape as [number, number, number];
      const [fh, fw] = config.poolSize, [sh, sw] = config.strides;
      if (fh > h || fw > w) throw new CnnArgumentError(op, where, `a window that fits its ${h}x${w} input`, `a ${fh}x${fw} window`);
      const mode = config.type === 'maxPool2d' ? 'max' : 'average';
      const hp = { f: [fh, fw] as const, stride: [sh, sw] as const };
      return {
        config, outputShape: [Math.floor((h - fh) / sh) + 1, Math.floor((w - fw) / sw) + 1, c], params: [],
        forward: (x) => {
          const { A, cache } = be.poolForward(x, hp, mode);
          return { y: A, cache };
        },
        backward: (dy, cache) => ({ dx: be.poolBackward(dy, cache as PoolCache, mode, { ties: 'first' }), grads: [] }),
        dispose: () => {},
      };
    }
    case 'relu':
      return {
        config, outputShape: inputShape.slice(), params: [],
        forward: (x) => {
          const { Y, cache } = be.relu(x);
          return { y: Y, cache };
        },
        backward: (dy, cache) => ({ dx: be.reluBackward(dy, cache as ReluCache), grads: [] }),
        dispose: () => {},
      };
    case 'flatten':
      return {
        config, outputShape: [inputShape.reduce((a, b) => a * b, 1)], params: [],
        forward: (x) => ({ y: be.reshape(x, [x.shape[0]!, -1]), cache: { kind: 'flatten', shape: x.shape } }),
        backward: (dy, cache) => ({ dx: be.reshape(dy, (cache as { shape: readonly number[] }).shape), grads: [] }),
        dispose: () => {},
      };
  }
}
