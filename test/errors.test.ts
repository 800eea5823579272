// Bad input, on both backends: a CnnArgumentError (or CnnAllocationError, a RangeError) naming the
// argument, what was expected and what came; nothing allocated by the failed call stays allocated,
// tensors made before keep their data, and the next call works.
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnAllocationError, CnnArgumentError, createBackend, type Backend, type Tensor } from '../src/index.js';

type Case = [title: string, call: (be: Backend, t: Fixture) => unknown, argument: string, mentions?: RegExp];

interface Fixture {
  A: Tensor; W: Tensor; b: Tensor; A64: Tensor; other: Tensor;
  Z: Tensor; cache: ReturnType<Backend['convForward']>['cache'];
  P: Tensor; poolCache: ReturnType<Backend['poolForward']>['cache'];
}

const conv = (be: Backend, t: Fixture, hp: unknown) => be.convForward(t.A, t.W, t.b, hp as never);
const pool = (be: Backend, t: Fixture, hp: unknown) => be.poolForward(t.A, hp as never);

type Cache = Fixture['cache'];
/** Runs backward on a cache whose input (A) or filter (W), made for it, was disposed after the forward pass. */
function withDisposed(be: Backend, t: Fixture, which: 'A' | 'W', backward: (Z: Tensor, cache: Cache) => unknown) {
  const made = which === 'A' ? be.tensor([1, 5, 5, 3]) : be.tensor([3, 3, 3, 8]);
  const { Z, cache } = be.convForward(which === 'A' ? made : t.A, which === 'W' ? made : t.W, t.b, { stride: 1, pad: 0 });
  made.dispose();
  try {
    return backward(Z, cache);
  } finally {
    Z.dispose();
  }
}

const cases: Case[] = [
  // ranks
  ['A_prev of rank 3', (be, t) => be.convForward(be.tensor([5, 5, 3]), t.W, t.b, { stride: 1, pad: 0 }), 'A_prev', /rank 4.*rank 3/],
  ['W of rank 3', (be, t) => be.convForward(t.A, be.tensor([3, 3, 3]), t.b, { stride: 1, pad: 0 }), 'W', /rank 4/],
  ['zeroPad X of rank 2', (be) => be.zeroPad(be.tensor([2, 2]), 1), 'X', /rank 4/],
  ['poolForward A_prev of rank 5', (be) => be.poolForward(be.tensor([1, 1, 2, 2, 1]), { f: 1, stride: 1 }), 'A_prev', /rank 4/],
  ['createMaskFromWindow x of rank 3', (be) => be.createMaskFromWindow(be.tensor([2, 2, 1])), 'x', /rank 2/],
  ['convSingleStep a_slice_prev of rank 2', (be) => be.convSingleStep(be.tensor([3, 3]), be.tensor([3, 3]), be.tensor([1])), 'a_slice_prev', /rank 3/],
  ['convSingleStep W of another shape', (be) => be.convSingleStep(be.tensor([3, 3, 2]), be.tensor([3, 3, 1]), be.tensor([1])), 'W', /\[3, 3, 2\]/],
  ['convSingleStep b of two elements', (be) => be.convSingleStep(be.tensor([3, 3, 2]), be.tensor([3, 3, 2]), be.tensor([2])), 'b', /one element/],
  // channels, bias, kernel size
  ['channel mismatch between A and W', (be, t) => be.convForward(t.A, be.tensor([3, 3, 4, 8]), t.b, { stride: 1, pad: 0 }), 'W', /channel count 3/],
  ['bias of the wrong length', (be, t) => be.convForward(t.A, t.W, be.tensor([1, 1, 1, 9]), { stride: 1, pad: 0 }), 'b', /\[1, 1, 1, 8\]/],
  ['bias of rank 1', (be, t) => be.convForward(t.A, t.W, be.tensor([8]), { stride: 1, pad: 0 }), 'b', /\[1, 1, 1, 8\]/],
  ['kernel larger than the padded input', (be, t) => be.convForward(t.A, be.tensor([8, 3, 3, 8]), t.b, { stride: 1, pad: 1 }), 'W', /padded input 7x7.*8x3/],
  ['pool window larger than the input', (be, t) => pool(be, t, { f: 6, stride: 1 }), 'hparameters.f', /5x5/],
  // hyperparameters
  ['stride 0', (be, t) => conv(be, t, { stride: 0, pad: 0 }), 'hparameters.stride', /positive integer/],
  ['stride -1', (be, t) => conv(be, t, { stride: -1, pad: 0 }), 'hparameters.stride', /-1/],
  ['stride 1.5', (be, t) => conv(be, t, { stride: 1.5, pad: 0 }), 'hparameters.stride', /1\.5/],
  ['stride NaN', (be, t) => conv(be, t, { stride: NaN, pad: 0 }), 'hparameters.stride', /NaN/],
  ['stride Infinity', (be, t) => conv(be, t, { stride: Infinity, pad: 0 }), 'hparameters.stride', /Infinity/],
  ['stride as a string', (be, t) => conv(be, t, { stride: '2', pad: 0 }), 'hparameters.stride', /"2"/],
  ['stride pair with NaN', (be, t) => conv(be, t, { stride: [1, NaN], pad: 0 }), 'hparameters.stride[1]', /NaN/],
  ['stride of three values', (be, t) => conv(be, t, { stride: [1, 1, 1], pad: 0 }), 'hparameters.stride', /\[h, w\] pair/],
  ['pad -1', (be, t) => conv(be, t, { stride: 1, pad: -1 }), 'hparameters.pad', /non-negative integer/],
  ['pad 0.5', (be, t) => conv(be, t, { stride: 1, pad: 0.5 }), 'hparameters.pad', /0\.5/],
  ['pad NaN', (be, t) => conv(be, t, { stride: 1, pad: NaN }), 'hparameters.pad', /NaN/],
  ['pad Infinity', (be, t) => conv(be, t, { stride: 1, pad: [0, Infinity] }), 'hparameters.pad[1]', /Infinity/],
  ['zeroPad pad -2', (be, t) => be.zeroPad(t.A, -2), 'pad', /non-negative/],
  ['pool f 0', (be, t) => pool(be, t, { f: 0, stride: 1 }), 'hparameters.f', /positive integer/],
  ['pool f NaN', (be, t) => pool(be, t, { f: NaN, stride: 1 }), 'hparameters.f', /NaN/],
  ['pool f Infinity', (be, t) => pool(be, t, { f: Infinity, stride: 1 }), 'hparameters.f', /Infinity/],
  ['pool stride 0', (be, t) => pool(be, t, { f: 2, stride: 0 }), 'hparameters.stride', /positive/],
  ['missing hparameters (conv)', (be, t) => conv(be, t, undefined), 'hparameters', /stride, pad/],
  ['hparameters without pad', (be, t) => conv(be, t, { stride: 1 }), 'hparameters.pad', /undefined/],
  ['hparameters without stride', (be, t) => conv(be, t, { pad: 1 }), 'hparameters.stride', /undefined/],
  ['missing hparameters (pool)', (be, t) => pool(be, t, null), 'hparameters', /f, stride/],
  ['pool hparameters without stride', (be, t) => pool(be, t, { f: 2 }), 'hparameters.stride', /undefined/],
  // modes and dtypes
  ['unknown pool mode', (be, t) => be.poolForward(t.A, { f: 2, stride: 2 }, 'min' as never), 'mode', /'max' or 'average'.*"min"/],
  ['unknown mode in poolBackward', (be, t) => be.poolBackward(t.P, t.poolCache, 'sum' as never), 'mode', /"sum"/],
  ['unknown dtype', (be) => be.tensor([2], null, 'int32' as never), 'dtype', /'float32' or 'float64'.*"int32"/],
  ['unknown dtype in distributeValue', (be) => be.distributeValue(1, [2, 2], 'float16' as never), 'dtype', /"float16"/],
  ['distributeValue dz not a number', (be) => be.distributeValue('1' as never, [2, 2]), 'dz', /a number/],
  ['distributeValue shape of rank 3', (be) => be.distributeValue(1, [2, 2, 2] as never), 'shape', /pair/],
  // tensors
  ['data of the wrong length', (be) => be.tensor([2, 3], [1, 2, 3, 4, 5]), 'data', /6 values.*5 values/],
  ['data that is not an array', (be) => be.tensor([2], 7 as never), 'data', /array of numbers/],
  ['a zero dimension', (be) => be.tensor([2, 0, 3]), 'shape[1]', /positive integer.*0/],
  ['a negative dimension', (be) => be.tensor([-2, 3]), 'shape[0]', /-2/],
  ['a fractional dimension', (be) => be.tensor([2.5]), 'shape[0]', /2\.5/],
  ['a NaN dimension', (be) => be.tensor([NaN]), 'shape[0]', /NaN/],
  ['an empty shape', (be) => be.tensor([]), 'shape', /non-empty/],
  ['a shape that is not an array', (be) => be.tensor(3 as never), 'shape', /non-empty array/],
  ['a disposed tensor', (be, t) => {
    const A = be.tensor([1, 5, 5, 3]);
    A.dispose();
    return be.convForward(A, t.W, t.b, { stride: 1, pad: 0 });
  }, 'A_prev', /disposed/],
  ['a cache whose input was disposed', (be, t) => withDisposed(be, t, 'A', (Z, cache) => be.convBackward(Z, cache)), 'cache.A_prev', /disposed/],
  ['a tensor of another backend', (be, t) => be.convForward(t.other, t.W, t.b, { stride: 1, pad: 0 }), 'A_prev', /another backend/],
  ['not a tensor', (be, t) => be.convForward([1, 2, 3] as never, t.W, t.b, { stride: 1, pad: 0 }), 'A_prev', /a tensor/],
  ['mixed dtypes', (be, t) => be.convForward(t.A64, t.W, t.b, { stride: 1, pad: 0 }), 'W', /float64.*float32/],
  // gradients and caches
  ['dZ of the wrong shape', (be, t) => be.convBackward(be.tensor([1, 3, 3, 7]), t.cache), 'dZ', /\[1, 3, 3, 8\].*\[1, 3, 3, 7\]/],
  ['dZ of the wrong dtype', (be, t) => be.convBackward(be.tensor([1, 3, 3, 8], null, 'float64'), t.cache), 'dZ', /float32/],
  ['dA of the wrong shape', (be, t) => be.poolBackward(be.tensor([1, 2, 2, 2]), t.poolCache), 'dA', /\[1, 2, 2, 3\]/],
  ['a pool cache given to convBackward', (be, t) => be.convBackward(t.Z, t.poolCache as never), 'cache', /convForward/],
  ['a conv cache given to poolBackward', (be, t) => be.poolBackward(t.P, t.cache as never), 'cache', /poolForward/],
  ['no cache', (be, t) => be.convBackward(t.Z, undefined as never), 'cache', /undefined/],
  ['dZ of the wrong shape (convBackwardInput)', (be, t) => be.convBackwardInput(be.tensor([1, 3, 3, 7]), t.cache), 'dZ', /\[1, 3, 3, 8\]/],
  ['dZ of the wrong dtype (convBackwardFilter)', (be, t) => be.convBackwardFilter(be.tensor([1, 3, 3, 8], null, 'float64'), t.cache), 'dZ', /float32/],
  ['a pool cache given to convBackwardInput', (be, t) => be.convBackwardInput(t.Z, t.poolCache as never), 'cache', /convForward/],
  ['no cache (convBackwardFilter)', (be, t) => be.convBackwardFilter(t.Z, null as never), 'cache', /null/],
  ['a cache whose filter was disposed (convBackwardInput)', (be, t) => withDisposed(be, t, 'W', (Z, cache) => be.convBackwardInput(Z, cache)), 'cache.W', /disposed/],
  // padding modes and activations
  ['pad "full"', (be, t) => conv(be, t, { stride: 1, pad: 'full' }), 'hparameters.pad', /'valid' or 'same'.*"full"/],
  ['pad [[1, 0], [0, -1]]', (be, t) => conv(be, t, { stride: 1, pad: [[1, 0], [0, -1]] }), 'hparameters.pad[1][1]', /non-negative integer.*-1/],
  ['activation "tanh"', (be, t) => conv(be, t, { stride: 1, pad: 0, activation: 'tanh' }), 'hparameters.activation', /'relu' or 'linear'.*"tanh"/],
  ['zeroPad pad "same"', (be, t) => be.zeroPad(t.A, 'same' as never), 'pad', /needs a filter size/],
  ['poolBackward ties "last"', (be, t) => be.poolBackward(t.P, t.poolCache, 'max', { ties: 'last' as never }), 'options.ties', /'all' or 'first'/],
  // dense
  ['dense X of rank 1', (be) => be.denseForward(be.tensor([4]), be.tensor([4, 2]), be.tensor([1, 2])), 'X', /rank 2 or more/],
  ['dense W not (k, n)', (be) => be.denseForward(be.tensor([3, 2, 2]), be.tensor([5, 2]), be.tensor([1, 2])), 'W', /\[4, n\]/],
  ['dense b of the wrong shape', (be) => be.denseForward(be.tensor([3, 4]), be.tensor([4, 2]), be.tensor([2])), 'b', /\[1, 2\]/],
  ['dense mixed dtypes', (be) => be.denseForward(be.tensor([3, 4]), be.tensor([4, 2], null, 'float64'), be.tensor([1, 2])), 'W', /float32/],
  ['dense unknown option', (be) => be.denseForward(be.tensor([3, 4]), be.tensor([4, 2]), be.tensor([1, 2]), { units: 2 } as never), 'options.units', /activation/],
  // (tidy disposes the forward outputs these cases make along the way)
  ['denseBackward dZ of the wrong shape', (be) => be.tidy(() => {
    const { cache } = be.denseForward(be.tensor([3, 4]), be.tensor([4, 2]), be.tensor([1, 2]));
    return be.denseBackward(be.tensor([3, 3]), cache);
  }), 'dZ', /\[3, 2\]/],
  ['denseBackward given a conv cache', (be, t) => be.denseBackward(t.Z, t.cache as never), 'cache', /denseForward/],
  // activations and losses
  ['reluBackward dY of the wrong shape', (be, t) => be.tidy(() => be.reluBackward(be.tensor([2]), be.relu(t.A).cache)), 'dY', /\[1, 5, 5, 3\]/],
  ['softmaxCrossEntropy logits of rank 3', (be) => be.softmaxCrossEntropy(be.tensor([2, 3, 4]), [0, 1]), 'logits', /rank 2/],
  ['softmaxCrossEntropy a label out of range', (be) => be.softmaxCrossEntropy(be.tensor([2, 3]), [0, 3]), 'labels[1]', /integer in \[0, 3\).*3/],
  ['softmaxCrossEntropy a fractional label', (be) => be.softmaxCrossEntropy(be.tensor([2, 3]), Int8Array.of(0, 1).map(() => 1) as never && [0.5, 1]), 'labels[0]', /0\.5/],
  ['softmaxCrossEntropy labels of the wrong length', (be) => be.softmaxCrossEntropy(be.tensor([2, 3]), Int32Array.of(0, 1, 2)), 'labels', /2 class indices.*3 values/],
  ['softmaxCrossEntropy a one-hot tensor of the wrong shape', (be) => be.softmaxCrossEntropy(be.tensor([2, 3]), be.tensor([2, 4])), 'labels', /\[2, 3\]/],
  ['softmaxCrossEntropy labels that are neither', (be) => be.softmaxCrossEntropy(be.tensor([2, 3]), 'cat' as never), 'labels', /a tensor/],
  // reshape and tidy
  ['reshape to another size', (be) => be.reshape(be.tensor([2, 3]), [5]), 'shape', /6 elements/],
  ['reshape a shape that is not an array', (be) => be.reshape(be.tensor([2, 3]), 6 as never), 'shape', /array/],
  ['tidy of a non-function', (be) => be.tidy(3 as never), 'fn', /a function/],
  // optimizers
  ['sgd params that is not an array', (be) => be.sgd(be.tensor([2]) as never, [], { learningRate: 1 }), 'params', /array of tensors/],
  ['adam a state of the wrong kind', (be) => be.tidy(() => {
    const p = be.tensor([2]);
    return be.adam([p], [be.tensor([2])], be.sgdState([p]) as never, { learningRate: 1 });
  }), 'state', /state from be\.adamState/],
];

describe.each(['wasm', 'js'] as const)('bad input on the %s backend', (name) => {
  let be: Backend;
  let t: Fixture;
  beforeAll(async () => {
    be = await createBackend(name);
    const other = await createBackend(name);
    const A = be.tensor([1, 5, 5, 3], Array.from({ length: 75 }, (_, i) => i / 10));
    const W = be.tensor([3, 3, 3, 8], Array.from({ length: 216 }, (_, i) => (i % 7) - 3));
    const b = be.tensor([1, 1, 1, 8], [1, 2, 3, 4, 5, 6, 7, 8]);
    const { Z, cache } = be.convForward(A, W, b, { stride: 1, pad: 0 });
    const { A: P, cache: poolCache } = be.poolForward(A, { f: 2, stride: 2 });
    t = { A, W, b, A64: be.tensor([1, 5, 5, 3], null, 'float64'), other: other.tensor([1, 5, 5, 3]), Z, cache, P, poolCache };
  });

  it.each(cases)('%s', (_title, call, argument, mentions) => {
    const before = be.memory();
    const kept = [t.A, t.W, t.b, t.Z, t.P].map((x) => x.toArray());
    // the inputs a case makes with be.tensor() are its own: record them and free them afterwards
    const inputs: Tensor[] = [];
    const recording = new Proxy(be, {
      get(target, prop) {
        if (prop === 'tensor') {
          return (...args: Parameters<Backend['tensor']>) => {
            const x = target.tensor(...args);
            inputs.push(x);
            return x;
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    let error: unknown;
    try {
      call(recording, t);
    } catch (e) {
      error = e;
    } finally {
      for (const x of inputs) x.dispose();
    }
    expect(error).toBeInstanceOf(CnnArgumentError);
    const e = error as CnnArgumentError;
    expect(e.argument).toBe(argument);
    expect(e.message).toContain(`: ${argument}: expected `);
    if (mentions) expect(e.message).toMatch(mentions);
    // nothing leaked, nothing corrupted, and the backend still works
    expect(be.memory().tensors).toBe(before.tensors);
    expect(be.memory().bytesInUse).toBe(before.bytesInUse);
    [t.A, t.W, t.b, t.Z, t.P].forEach((x, i) => expect(x.toArray()).toEqual(kept[i]));
    const again = be.convForward(t.A, t.W, t.b, { stride: 1, pad: 0 });
    expect(again.Z.toArray()).toEqual(kept[3]);
    again.Z.dispose();
  });

  it('a tensor too large to allocate is a RangeError naming its size, and the backend keeps working', () => {
    const before = be.memory();
    const keep = t.Z.toArray();
    // 2^40 float32 elements: 4 TiB, more than wasm32 addresses and more than a typed array holds
    let error: unknown;
    try {
      be.tensor([2 ** 20, 2 ** 20]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toBeInstanceOf(CnnAllocationError);
    expect((error as Error).message).toMatch(/tensor: cannot allocate 4398046511104 bytes \(4\.0 TiB\)/);
    expect(be.memory().tensors).toBe(before.tensors);
    expect(t.Z.toArray()).toEqual(keep);
    const again = be.convForward(t.A, t.W, t.b, { stride: 1, pad: 0 });
    expect(again.Z.toArray()).toEqual(keep);
    again.Z.dispose();
  });

  it('reading a disposed tensor is an error; dispose twice is harmless', () => {
    const x = be.tensor([3], [1, 2, 3]);
    x.dispose();
    x.dispose();
    expect(() => x.data).toThrow(CnnArgumentError);
    expect(() => x.data).toThrow(/Tensor\.data: this: expected a live tensor, got a tensor of shape \[3\] that was disposed/);
    expect(() => x.toArray()).toThrow(/disposed/);
  });
});

describe('createBackend', () => {
  it('rejects an unknown backend name and options', async () => {
    await expect(createBackend('gpu' as never)).rejects.toThrow(/createBackend: name: expected 'wasm' or 'js', got "gpu"/);
    await expect(createBackend('wasm', { simd: 'fast' as never })).rejects.toThrow(/options\.simd/);
    await expect(createBackend('wasm', 3 as never)).rejects.toThrow(/options: expected an object/);
  });
});
