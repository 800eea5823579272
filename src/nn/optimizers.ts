// Optimizers for model.fit and model.trainStep: a configuration now, and per model the state their
// steps keep (made on the first step, kept out of every tidy, freed with the model).
import { CnnArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { AdamState, Backend, SgdState } from '../types.js';
import { describe, readOptions } from '../validate.js';

/** An optimizer's configuration (what nn.adam and nn.sgd return). */
export type OptimizerConfig =
  | { readonly type: 'adam'; readonly learningRate: number; readonly beta1: number; readonly beta2: number; readonly epsilon: number }
  | { readonly type: 'sgd'; readonly learningRate: number; readonly momentum: number };

/** The state of one optimizer for one list of parameters. */
export interface OptimizerRun {
  readonly config: OptimizerConfig;
  /** One step, in place. */
  step(grads: readonly Tensor[]): void;
  /** Frees the moments. */
  dispose(): void;
}

const finite = (op: string, argument: string, v: unknown, fallback: number, ok: (x: number) => boolean, what: string): number => {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new CnnArgumentError(op, argument, what, describe(v));
  return v;
};

/** Adam with TensorFlow.js's defaults (learning rate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7). */
export function adam(options: { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number } = {}): OptimizerConfig {
  const op = 'nn.adam';
  const o = readOptions(op, 'options', options, ['learningRate', 'beta1', 'beta2', 'epsilon'] as const, false);
  return {
    type: 'adam',
    learningRate: finite(op, 'options.learningRate', o.learningRate, 1e-3, (x) => x > 0, 'a positive number'),
    beta1: finite(op, 'options.beta1', o.beta1, 0.9, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    beta2: finite(op, 'options.beta2', o.beta2, 0.999, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    epsilon: finite(op, 'options.epsilon', o.epsilon, 1e-7, (x) => x >= 0, 'a number >= 0'),
  };
}

/** Plain SGD, or with momentum (TensorFlow.js's momentum optimizer). */
export function sgd(options: { learningRate: number; momentum?: number }): OptimizerConfig {
  const op = 'nn.sgd';
  const o = readOptions(op, 'options', options, ['learningRate', 'momentum'] as const, true);
  return {
    type: 'sgd',
    learningRate: finite(op, 'options.learningRate', o.learningRate, NaN, (x) => x > 0, 'a positive number'),
    momentum: finite(op, 'options.momentum', o.momentum, 0, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
  };
}

/** An optimizer config (from nn.adam or nn.sgd, or made by hand), read once and checked. */
export function readOptimizer(op: string, argument: string, value: unknown): OptimizerConfig {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (type === 'adam') {
    const { type: _, ...rest } = readOptions(op, argument, value, ['type', 'learningRate', 'beta1', 'beta2', 'epsilon'] as const, true);
    return adam(rest as never);
  }
  if (type === 'sgd') {
    const { type: _, ...rest } = readOptions(op, argument, value, ['type', 'learningRate', 'momentum'] as const, true);
    return sgd(rest as never);
  }
  throw new CnnArgumentError(op, argument, 'an optimizer from nn.adam(...) or nn.sgd(...)', describe(value));
}

/** The running optimizer for `params` on `be`: its state made now and kept out of every tidy. */
export function startOptimizer(be: Backend, config: OptimizerConfig, params: readonly Tensor[]): OptimizerRun {
  if (config.type === 'adam') {
    const state: AdamState = be.adamState(params);
    [...state.m, ...state.v].forEach((t) => be.keep(t));
    const { learningRate, beta1, beta2, epsilon } = config;
    return {
      config,
      step: (grads) => be.adam(params, grads, state, { learningRate, beta1, beta2, epsilon }),
      dispose: () => [...state.m, ...state.v].forEach((t) => t.dispose()),
    };
  }
  const state: SgdState | undefined = config.momentum > 0 ? be.sgdState(params) : undefined;
  state?.velocities.forEach((t) => be.keep(t));
  return {
    config,
    step: (grads) => be.sgd(params, grads, { learningRate: config.learningRate, momentum: config.momentum, ...(state ? { state } : {}) }),
    dispose: () => state?.velocities.forEach((t) => t.dispose()),
  };
}
