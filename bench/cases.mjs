// What the benchmark measures: the layers, the ops, and one list of rows (op x layers x dtypes)
// each with a tier. `npm run bench` runs the 'default' rows (the float32 layers that carry the
// story, against the fast peers); `-- --full` runs every row. To add a row, add a line to ROWS
// (and, for a new op, an entry in OPS and its implementations in impls.mjs).
import { stepFlops } from '../tools/lenet.mjs';
import { rng, randn } from '../tools/random.mjs';

export const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);
const out = (H, f, s, p = 0) => Math.floor((H + 2 * p - f) / s) + 1;
const seeded = (seed, n) => randn(rng(seed), n);

const conv = (m, H, W, C, f, N, s, p, prefix = '') =>
  ({ name: `${prefix}${m}x${H}x${W}x${C} k${f} to ${N} s${s} p${p}`, m, H, W, C, f, N, s, p });
const pool = (input, f, s, prefix = '') => ({ name: `${prefix}${input.join('x')} f${f} s${s}`, input, f, s });

/** Conv layers: the seed's shapes, the real layers of the targets, and two more shapes. */
export const CONV = {
  seedA: conv(2, 5, 7, 4, 3, 8, 2, 1, 'seed '),
  seedB: conv(10, 4, 4, 3, 2, 8, 2, 2, 'seed '),
  early: conv(1, 56, 56, 64, 3, 64, 1, 1),
  k5: conv(32, 28, 28, 32, 5, 64, 1, 2),
  rgb: conv(8, 32, 32, 3, 3, 16, 1, 1),
  strided: conv(4, 33, 33, 24, 3, 48, 2, 1),
  // beyond the targets' layers: a pointwise (1x1) layer, and a late layer whose filter (9 MiB) is
  // far larger than its input
  pointwise: conv(1, 28, 28, 128, 1, 128, 1, 0),
  late: conv(1, 7, 7, 512, 3, 512, 1, 1),
};

/** Pooling layers (input NHWC, window f, stride s). */
export const POOL = {
  seed: pool([5, 5, 3, 2], 2, 1, 'seed '),
  b32f2: pool([32, 28, 28, 32], 2, 2),
  b32f3: pool([32, 28, 28, 32], 3, 2),
  b1f2: pool([1, 56, 56, 64], 2, 2),
  b1f3: pool([1, 56, 56, 64], 3, 2),
};

/** Activations (NHWC) for element-wise ops: a batch of early feature maps and one larger image's. */
const act = (shape) => ({ name: shape.join('x'), shape });
export const ACTIVATION = { b32: act([32, 28, 28, 32]), b1: act([1, 56, 56, 64]) };

/** Dense layers (m, k) x (k, n): LeNet's classifier, a large hidden layer, and one row into 1000 classes. */
const mm = (m, k, n) => ({ name: `(${m}, ${k}) x (${k}, ${n})`, m, k, n });
export const DENSE = { lenet: mm(32, 400, 10), hidden: mm(256, 1024, 512), gemv: mm(1, 4096, 1000) };

/** Logits (m, n) for softmax cross-entropy. */
const logits = (m, n) => ({ name: `(${m}, ${n})`, m, n });
export const LOGITS = { lenet: logits(32, 10), imagenet: logits(256, 1000) };

/** Whole training steps (tools/lenet.mjs). */
export const NETS = { lenet: { name: 'LeNet-like, batch 32', batch: 32 } };

const itemBytes = (dtype) => (dtype === 'float32' ? 4 : 8);

function convCase(layer, dtype) {
  const { m, H, W, C, f, N, s, p } = layer;
  const shapes = { A: [m, H, W, C], W: [f, f, C, N], b: [1, 1, 1, N], Z: [m, out(H, f, s, p), out(W, f, s, p), N] };
  const data = () => ({ A: seeded(1, sizeOf(shapes.A)), W: seeded(2, sizeOf(shapes.W)), b: seeded(3, N), dZ: seeded(4, sizeOf(shapes.Z)) });
  return { shapes, data, flops: 2 * sizeOf(shapes.Z) * f * f * C };
}

function poolCase(layer) {
  const [m, H, W, C] = layer.input;
  const shapes = { A: layer.input, out: [m, out(H, layer.f, layer.s), out(W, layer.f, layer.s), C] };
  return { shapes, data: () => ({ A: seeded(5, sizeOf(shapes.A)), dOut: seeded(6, sizeOf(shapes.out)) }) };
}

/**
 * The ops, in the order results are listed. make(layer, dtype) returns the case's shapes, data
 * (a function making the input values, seeded so every run sees the same), work (FLOP or bytes
 * moved, as `unit` says) and any fields impls.mjs reads (mode, pool). `reference`: what a default run checks outputs against
 * (a --full run times the js reference and checks everything against it):
 *   'tfjs-wasm': tfjs-wasm's float32 output (see tfjsWasmReference in impls.mjs);
 *   'js': one untimed call of cnn-wasm's pure-JS backend (cheap for memory-bound ops).
 * `warmupMs` and `rounds`, where an op has them, raise the run's warm-up and rounds for its cases
 * (run.mjs timingFor).
 */
export const OPS = {
  'conv forward': { unit: 'GFLOP/s', reference: 'tfjs-wasm', make: (l, dt) => { const c = convCase(l, dt); return { ...c, work: c.flops }; } },
  'conv backward': { unit: 'GFLOP/s', reference: 'tfjs-wasm', make: (l, dt) => { const c = convCase(l, dt); return { ...c, work: 2 * c.flops }; } },
  // backward as the peers split it: the input gradient (tfjs conv2dTranspose) and the filter gradient
  'conv input gradient': { unit: 'GFLOP/s', reference: 'tfjs-wasm', make: (l, dt) => { const c = convCase(l, dt); return { ...c, work: c.flops }; } },
  'conv filter gradient': { unit: 'GFLOP/s', reference: 'tfjs-wasm', make: (l, dt) => { const c = convCase(l, dt); return { ...c, work: c.flops }; } },
  ...Object.fromEntries(['max', 'average'].flatMap((mode) => [
    [`${mode} pool forward`, {
      unit: 'GB/s', reference: 'js',
      make: (l, dt) => {
        const c = poolCase(l);
        return { ...c, mode, pool: l, work: (sizeOf(c.shapes.A) + sizeOf(c.shapes.out)) * itemBytes(dt) };
      },
    }],
    [`${mode} pool backward`, {
      unit: 'GB/s', reference: 'js',
      make: (l, dt) => {
        const c = poolCase(l);
        return { ...c, mode, pool: l, work: ((mode === 'max' ? 2 : 1) * sizeOf(c.shapes.A) + sizeOf(c.shapes.out)) * itemBytes(dt) };
      },
    }],
  ])),
  'relu forward': {
    unit: 'GB/s', reference: 'js',
    make: (l, dt) => {
      const n = sizeOf(l.shape);
      return { shapes: { X: l.shape }, data: () => ({ X: seeded(8, n), dY: seeded(9, n) }), work: 2 * n * itemBytes(dt) };
    },
  },
  'relu backward': {
    unit: 'GB/s', reference: 'js',
    make: (l, dt) => {
      const n = sizeOf(l.shape);
      return { shapes: { X: l.shape }, data: () => ({ X: seeded(8, n), dY: seeded(9, n) }), work: 3 * n * itemBytes(dt) };
    },
  },
  ...Object.fromEntries(['forward', 'backward'].map((way) => [`dense ${way}`, {
    unit: 'GFLOP/s', reference: 'js',
    make: (l) => {
      const shapes = { X: [l.m, l.k], W: [l.k, l.n], b: [1, l.n], Z: [l.m, l.n] };
      const data = () => ({ X: seeded(10, l.m * l.k), W: seeded(11, l.k * l.n), b: seeded(12, l.n), dZ: seeded(13, l.m * l.n) });
      return { shapes, data, work: (way === 'forward' ? 2 : 4) * l.m * l.k * l.n };
    },
  }])),
  // forward and backward together: the loss and dLogits from the logits and the labels
  'softmax cross-entropy': {
    unit: 'GB/s', reference: 'js',
    make: (l, dt) => {
      const data = () => ({ Z: Array.from(seeded(14, l.m * l.n), (v) => 3 * v), labels: Array.from(seeded(15, l.m), (v) => Math.floor(Math.abs(v) * 1e4) % l.n) });
      return { shapes: { Z: [l.m, l.n] }, data, work: 2 * l.m * l.n * itemBytes(dt) };
    },
  },
  // data in and out: a Float32Array copied into a new tensor, and read back out as a copy
  'copy in and out': {
    unit: 'GB/s', reference: 'js',
    make: (l, dt) => {
      const n = sizeOf(l.shape);
      return { shapes: { X: l.shape }, data: () => ({ X: Float32Array.from(seeded(16, n)) }), work: 2 * n * itemBytes(dt) };
    },
  },
  // one whole step: forward, backward, Adam (tools/lenet.mjs); work counts the convolutions' and the dense layer's FLOP.
  // Warmed up for 2 s, not the run's 150 ms: a step calls each op's JavaScript once, so V8 optimizes
  // it only after hundreds of steps, and its compiler's threads share the two cores meanwhile. Timed
  // in 250 ms blocks from a fresh process (medians): one thread 2.66 ms in the first block, 2.47 after
  // 1.8 s, 2.44 after 3 s; two threads 1.63 in the first, 1.47-1.48 from 2 s on.
  'training step': { unit: 'GFLOP/s', reference: 'js', warmupMs: 2000, rounds: 12, make: (l) => ({ shapes: {}, data: () => ({}), work: stepFlops(l.batch) }) },
  'zero pad': {
    unit: 'GB/s', reference: 'js',
    make: (l, dt) => {
      const { m, H, W, C, p } = l;
      const shapes = { A: [m, H, W, C] };
      return { shapes, data: () => ({ A: seeded(7, sizeOf(shapes.A)) }), work: (sizeOf(shapes.A) + m * (H + 2 * p) * (W + 2 * p) * C) * itemBytes(dt) };
    },
  },
};

const CONV_OPS = ['conv forward', 'conv backward', 'conv input gradient', 'conv filter gradient'];
const POOL_OPS = ['max pool forward', 'max pool backward', 'average pool forward', 'average pool backward'];
const F32 = ['float32'];
const BOTH = ['float32', 'float64'];

/** The rows: every op of `ops` on every layer of `layers` in every dtype of `dtypes`. */
export const ROWS = [
  { tier: 'default', ops: CONV_OPS, layers: [CONV.early, CONV.k5, CONV.strided], dtypes: F32 },
  { tier: 'default', ops: POOL_OPS, layers: [POOL.b32f2, POOL.b1f3], dtypes: F32 },
  { tier: 'default', ops: ['relu forward', 'relu backward'], layers: Object.values(ACTIVATION), dtypes: F32 },
  { tier: 'default', ops: ['dense forward', 'dense backward'], layers: Object.values(DENSE), dtypes: F32 },
  { tier: 'default', ops: ['softmax cross-entropy'], layers: Object.values(LOGITS), dtypes: F32 },
  { tier: 'default', ops: ['training step'], layers: [NETS.lenet], dtypes: F32 },
  { tier: 'default', ops: ['copy in and out'], layers: [ACTIVATION.b1], dtypes: F32 },
  { tier: 'full', ops: ['copy in and out'], layers: [ACTIVATION.b32], dtypes: F32 },
  { tier: 'full', ops: CONV_OPS, layers: [CONV.seedA, CONV.seedB, CONV.rgb, CONV.pointwise, CONV.late], dtypes: F32 },
  { tier: 'full', ops: CONV_OPS, layers: Object.values(CONV), dtypes: ['float64'] },
  { tier: 'full', ops: POOL_OPS, layers: [POOL.seed, POOL.b32f3, POOL.b1f2], dtypes: F32 },
  { tier: 'full', ops: POOL_OPS, layers: Object.values(POOL), dtypes: ['float64'] },
  { tier: 'full', ops: ['zero pad'], layers: Object.values(CONV), dtypes: BOTH },
  { tier: 'full', ops: ['relu forward', 'relu backward'], layers: Object.values(ACTIVATION), dtypes: ['float64'] },
  { tier: 'full', ops: ['dense forward', 'dense backward'], layers: Object.values(DENSE), dtypes: ['float64'] },
  { tier: 'full', ops: ['softmax cross-entropy'], layers: Object.values(LOGITS), dtypes: ['float64'] },
];

const LAYER_ORDER = [...Object.values(CONV), ...Object.values(POOL), ...Object.values(ACTIVATION), ...Object.values(DENSE), ...Object.values(LOGITS), ...Object.values(NETS)];
const OP_ORDER = Object.keys(OPS);

/**
 * The cases of a run, as { op, layer, dtype, tier, unit, reference, shapes, data, work, ... },
 * ordered by dtype, op, layer. full: every tier; only: keep the cases whose "op layer dtype"
 * contains the text (from every tier, so one full-tier case can be run alone). `data` is made on
 * first use; free() lets it go once the case is measured.
 */
export function selectCases({ full = false, only = null } = {}) {
  const rows = ROWS.flatMap((r) => r.ops.flatMap((op) => r.layers.flatMap((layer) => r.dtypes.map((dtype) => ({ op, layer, dtype, tier: r.tier })))));
  const key = (c) => [BOTH.indexOf(c.dtype), OP_ORDER.indexOf(c.op), LAYER_ORDER.indexOf(c.layer)];
  const order = (a, b) => key(a).reduce((d, v, i) => d || v - key(b)[i], 0);
  return rows
    .filter((c) => (only ? caseName(c).includes(only) : full || c.tier === 'default'))
    .sort(order)
    .map((c) => {
      const { make, ...fields } = OPS[c.op];
      const { data: makeData, ...made } = make(c.layer, c.dtype);
      let data = null;
      return Object.defineProperties({ ...c, ...fields, ...made }, {
        data: { get: () => (data ??= makeData()) },
        free: { value: () => void (data = null) },
      });
    });
}

/** "op layer dtype": what --only matches. */
export const caseName = (c) => `${c.op} ${c.layer.name} ${c.dtype}`;
