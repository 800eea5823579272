// Optimizer steps, in place: the only ops that write into their arguments (the parameters, and the
// state's moment tensors). Lists of parameters and gradients are read once and checked whole before
// anything is written, so a rejected call changes nothing.
import { CnnArgumentError } from '../errors.js';
import type { Tensor, TensorParts } from '../tensor.js';
import type { AdamState, SgdState } from '../types.js';
import { checkGradient, describe, readCache, readOptions } from '../validate.js';
import type { OpContext } from './context.js';

/** A list of tensors read once: its length, then each element, each a live tensor of this backend. */
function readList(ctx: OpContext, op: string, argument: string, value: unknown): TensorParts[] {
  if (!Array.isArray(value)) throw new CnnArgumentError(op, argument, 'an array of tensors', describe(value));
  const n = value.length;
  const items: unknown[] = [];
  for (let i = 0; i < n; i++) items.push(value[i]);
  return items.map((t, i) => ctx.tensor(op, `${argument}[${i}]`, t));
}

/** Raw list values, read once (their tensor checks come after every caller-defined getter has run). */
function readRaw(op: string, argument: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new CnnArgumentError(op, argument, 'an array of tensors', describe(value));
  const n = value.length;
  const items: unknown[] = [];
  for (let i = 0; i < n; i++) items.push(value[i]);
  return items;
}

function finite(op: string, argument: string, value: unknown, fallback: number | undefined, check: (v: number) => boolean, expected: string): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) throw new CnnArgumentError(op, argument, expected, describe(value));
  return value;
}

/**
 * Checks that `lists` line up with the parameters (same length, each tensor shaped and typed as its
 * parameter) and that no tensor's elements appear twice among all of them (an element updated twice,
 * or read after it was written, would give another result than the formula).
 */
function checkLists(op: string, params: TensorParts[], lists: ReadonlyArray<readonly [string, TensorParts[]]>): void {
  for (const [name, list] of lists) {
    if (list.length !== params.length) {
      throw new CnnArgumentError(op, name, `${params.length} tensors (one per parameter)`, `${list.length}`);
    }
    list.forEach((t, i) => checkGradient(op, `${name}[${i}]`, t, params[i]!.shape, params[i]!.dtype, `the shape of params[${i}]`));
  }
  const seen = new Map<object, string>();
  for (const [name, list] of [['params', params] as const, ...lists]) {
    list.forEach((t, i) => {
      const where = seen.get(t.storage);
      if (where !== undefined) {
        throw new CnnArgumentError(op, `${name}[${i}]`, 'tensors whose elements appear once in the call', `the elements of ${where} again`);
      }
      seen.set(t.storage, `${name}[${i}]`);
    });
  }
}

export function sgdState(ctx: OpContext, params: unknown): SgdState {
  const op = 'sgdState';
  const ps = readList(ctx, op, 'params', params);
  return ctx.run(op, (out) => {
    const velocities = ps.map((p) => {
      const v = out(p.shape, p.dtype);
      ctx.kernels.fill(v, 0);
      return v.tensor;
    });
    return { kind: 'sgd', velocities };
  });
}

export function sgd(ctx: OpContext, params: unknown, grads: unknown, options: unknown): void {
  const op = 'sgd';
  const rawParams = readRaw(op, 'params', params), rawGrads = readRaw(op, 'grads', grads);
  const o = readOptions(op, 'options', options, ['learningRate', 'momentum', 'state'] as const, true);
  const lr = finite(op, 'options.learningRate', o.learningRate, undefined, () => true, 'a finite number');
  const momentum = finite(op, 'options.momentum', o.momentum, 0, (v) => v >= 0, 'a finite number >= 0');
  let rawVelocities: unknown[] | null = null;
  if (o.state !== undefined) {
    const s = readCache(op, o.state, 'sgd', ['velocities'], 'be.sgdState(params)', 'options.state');
    rawVelocities = readRaw(op, 'options.state.velocities', s.velocities);
  } else if (momentum > 0) {
    throw new CnnArgumentError(op, 'options.state', 'the state from be.sgdState(params) (momentum keeps a velocity per parameter)', 'undefined');
  }
  const ps = rawParams.map((t, i) => ctx.tensor(op, `params[${i}]`, t));
  const gs = rawGrads.map((t, i) => ctx.tensor(op, `grads[${i}]`, t));
  const vs = rawVelocities?.map((t, i) => ctx.tensor(op, `options.state.velocities[${i}]`, t)) ?? null;
  checkLists(op, ps, [['grads', gs], ...(vs ? [['options.state.velocities', vs] as const] : [])]);
  ps.forEach((p, i) => {
    if (momentum > 0) ctx.kernels.sgdMomentum(p, gs[i]!, vs![i]!, lr, momentum);
    else ctx.kernels.sgd(p, gs[i]!, lr);
  });
}

export function adamState(ctx: OpContext, params: unknown): AdamState {
  const op = 'adamState';
  const ps = readList(ctx, op, 'params', params);
  return ctx.run(op, (out) => {
    const zeros = (p: TensorParts) => {
      const t = out(p.shape, p.dtype);
      ctx.kernels.fill(t, 0);
      return t.tensor;
    };
    const m: Tensor[] = ps.map(zeros);
    const v: Tensor[] = ps.map(zeros);
    return { kind: 'adam', step: 0, m, v };
  });
}

export function adam(ctx: OpContext, params: unknown, grads: unknown, state: unknown, options: unknown): void {
  const op = 'adam';
  const rawParams = readRaw(op, 'params', params), rawGrads = readRaw(op, 'grads', grads);
  const s = readCache(op, state, 'adam', ['step', 'm', 'v'], 'be.adamState(params)', 'state');
  const rawM = readRaw(op, 'state.m', s.m), rawV = readRaw(op, 'state.v', s.v);
  const step = finite(op, 'state.step', s.step, undefined, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (steps taken)');
  const o = readOptions(op, 'options', options, ['learningRate', 'beta1', 'beta2', 'epsilon'] as const, true);
  const lr = finite(op, 'options.learningRate', o.learningRate, undefined, () => true, 'a finite number');
  const beta1 = finite(op, 'options.beta1', o.beta1, 0.9, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  const beta2 = finite(op, 'options.beta2', o.beta2, 0.999, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  const epsilon = finite(op, 'options.epsilon', o.epsilon, 1e-7, (v) => v >= 0, 'a finite number >= 0');
  const ps = rawParams.map((t, i) => ctx.tensor(op, `params[${i}]`, t));
  const gs = rawGrads.map((t, i) => ctx.tensor(op, `grads[${i}]`, t));
  const ms = rawM.map((t, i) => ctx.tensor(op, `state.m[${i}]`, t));
  const vs = rawV.map((t, i) => ctx.tensor(op, `state.v[${i}]`, t));
  checkLists(op, ps, [['grads', gs], ['state.m', ms], ['state.v', vs]]);
  // TensorFlow.js's Adam: the bias corrections of step t are 1 - beta^t
  const t = step + 1;
  const c1 = 1 - beta1 ** t, c2 = 1 - beta2 ** t;
  // the step count first: if the state cannot take it, nothing is written
  (state as { step: number }).step = t;
  ps.forEach((p, i) => ctx.kernels.adam(p, gs[i]!, ms[i]!, vs[i]!, { lr, beta1, beta2, epsilon, c1, c2 }));
}
