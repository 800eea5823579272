// npm run bench [-- --json] [-- --quick] [-- --only <text>] [-- --out <file>]
// Measures every op of cnn-wasm on the core issue's layers, the seed's small shapes and a strided
// layer, against the libraries people would otherwise use, in this one process: warm, alternating
// rounds, medians, one thread (see harness.mjs). Prints a table per case and writes bench/results.json
// (--json prints the full results to stdout instead of the tables). A partial run (--quick, --only)
// writes a file only where --out names one, so it never replaces the full results that README's
// table is generated from (`npm run bench:readme`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch, totalmem } from 'node:os';
import { createBackend } from '../build/lib/index.js';
import { rng, randn } from '../tools/random.mjs';
import { measure } from './harness.mjs';
import { cnnImpl, initPeers, ortImpl, sizeOf, tfjsImpl } from './impls.mjs';
import { measurePeaks } from './peak/measure.mjs';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const outPath = args.includes('--out')
  ? new URL(args[args.indexOf('--out') + 1], `file://${process.cwd()}/`)
  : quick || only ? null : new URL('./out/results.json', import.meta.url);
const log = asJson ? () => {} : (...a) => console.log(...a);

const CONV_LAYERS = [
  { name: 'seed 2x5x7x4 k3 to 8 s2 p1', m: 2, H: 5, W: 7, C: 4, f: 3, N: 8, s: 2, p: 1 },
  { name: 'seed 10x4x4x3 k2 to 8 s2 p2', m: 10, H: 4, W: 4, C: 3, f: 2, N: 8, s: 2, p: 2 },
  { name: '1x56x56x64 k3 to 64 s1 p1', m: 1, H: 56, W: 56, C: 64, f: 3, N: 64, s: 1, p: 1 },
  { name: '32x28x28x32 k5 to 64 s1 p2', m: 32, H: 28, W: 28, C: 32, f: 5, N: 64, s: 1, p: 2 },
  { name: '8x32x32x3 k3 to 16 s1 p1', m: 8, H: 32, W: 32, C: 3, f: 3, N: 16, s: 1, p: 1 },
  { name: '4x33x33x24 k3 to 48 s2 p1', m: 4, H: 33, W: 33, C: 24, f: 3, N: 48, s: 2, p: 1 },
  // beyond the targets' layers: a pointwise (1x1) layer, and a late layer whose filter (9 MiB) is far
  // larger than its input
  { name: '1x28x28x128 k1 to 128 s1 p0', m: 1, H: 28, W: 28, C: 128, f: 1, N: 128, s: 1, p: 0 },
  { name: '1x7x7x512 k3 to 512 s1 p1', m: 1, H: 7, W: 7, C: 512, f: 3, N: 512, s: 1, p: 1 },
];
const POOLS = [
  { input: [5, 5, 3, 2], f: 2, s: 1, name: 'seed 5x5x3x2 f2 s1' },
  { input: [32, 28, 28, 32], f: 2, s: 2 },
  { input: [32, 28, 28, 32], f: 3, s: 2 },
  { input: [1, 56, 56, 64], f: 2, s: 2 },
  { input: [1, 56, 56, 64], f: 3, s: 2 },
];
for (const p of POOLS) p.name ??= `${p.input.join('x')} f${p.f} s${p.s}`;

const out = (H, f, s, p = 0) => Math.floor((H + 2 * p - f) / s) + 1;

function makeCases() {
  const cases = [];
  const seeded = (seed, n) => randn(rng(seed), n);
  for (const dtype of ['float32', 'float64']) {
    for (const layer of CONV_LAYERS) {
      const { m, H, W, C, f, N, s, p } = layer;
      const shapes = { A: [m, H, W, C], W: [f, f, C, N], b: [1, 1, 1, N], Z: [m, out(H, f, s, p), out(W, f, s, p), N] };
      const data = { A: seeded(1, sizeOf(shapes.A)), W: seeded(2, sizeOf(shapes.W)), b: seeded(3, N), dZ: seeded(4, sizeOf(shapes.Z)) };
      const flops = 2 * sizeOf(shapes.Z) * f * f * C;
      cases.push({ op: 'conv forward', layer, dtype, shapes, data, work: flops, unit: 'GFLOP/s' });
      cases.push({ op: 'conv backward', layer, dtype, shapes, data, work: 2 * flops, unit: 'GFLOP/s' });
      // backward as the peers split it: the input gradient (tfjs conv2dTranspose) and the filter gradient
      cases.push({ op: 'conv input gradient', layer, dtype, shapes, data, work: flops, unit: 'GFLOP/s' });
      cases.push({ op: 'conv filter gradient', layer, dtype, shapes, data, work: flops, unit: 'GFLOP/s' });
    }
    for (const pool of POOLS) {
      const [m, H, W, C] = pool.input;
      const shapes = { A: pool.input, out: [m, out(H, pool.f, pool.s), out(W, pool.f, pool.s), C] };
      const data = { A: seeded(5, sizeOf(shapes.A)), dOut: seeded(6, sizeOf(shapes.out)) };
      const bytes = dtype === 'float32' ? 4 : 8;
      for (const mode of ['max', 'average']) {
        const fwdBytes = (sizeOf(shapes.A) + sizeOf(shapes.out)) * bytes;
        const bwdBytes = ((mode === 'max' ? 2 : 1) * sizeOf(shapes.A) + sizeOf(shapes.out)) * bytes;
        cases.push({ op: `${mode} pool forward`, mode, pool, layer: { name: pool.name }, dtype, shapes, data, work: fwdBytes, unit: 'GB/s' });
        cases.push({ op: `${mode} pool backward`, mode, pool, layer: { name: pool.name }, dtype, shapes, data, work: bwdBytes, unit: 'GB/s' });
      }
    }
    for (const layer of CONV_LAYERS) {
      const { m, H, W, C, p } = layer;
      const shapes = { A: [m, H, W, C] };
      const bytes = (sizeOf(shapes.A) + m * (H + 2 * p) * (W + 2 * p) * C) * (dtype === 'float32' ? 4 : 8);
      cases.push({ op: 'zero pad', layer, dtype, shapes, data: { A: seeded(7, sizeOf(shapes.A)) }, work: bytes, unit: 'GB/s' });
    }
  }
  return cases.filter((c) => !only || `${c.op} ${c.layer.name} ${c.dtype}`.includes(only));
}

const maxAbsDiff = (a, b) => {
  if (!a || !b || a.length !== b.length) return null;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

async function main() {
  const peaks = await measurePeaks();
  const peers = await initPeers();
  const builds = [];
  if (peaks['relaxed-simd']) builds.push(['cnn-wasm relaxed', await createBackend('wasm', { simd: 'relaxed' })]);
  builds.push(['cnn-wasm simd', await createBackend('wasm', { simd: 'plain' })]);
  const js = await createBackend('js');
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${platform()} ${arch()}`, node: process.version, v8: process.versions.v8, date: new Date().toISOString(),
    tfjs: peers.tfjsVersion, tfjsWasmSimd: peers.tfjsWasmSimd, onnxruntimeWeb: peers.ortVersion,
    wasmBuilds: builds.map(([n, be]) => `${n}: ${be.features.build}`),
  };
  log(`cnn-wasm benchmark: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node} (V8 ${machine.v8}), one thread`);
  log(`wasm builds measured: ${machine.wasmBuilds.join(', ')}${peaks['relaxed-simd'] ? '' : ' (relaxed SIMD not validated: run with --experimental-wasm-relaxed-simd on Node 20)'}`);
  const fmtPeak = (p) => (p ? `${p.peak.toFixed(1)} GFLOP/s (chain ${p.chain.toFixed(1)}, gemm ${p.gemm.toFixed(1)})` : 'n/a');
  log(`register-only f32x4 peak: plain SIMD ${fmtPeak(peaks.simd)}; relaxed SIMD ${fmtPeak(peaks['relaxed-simd'])}`);
  log(`peers: tfjs ${machine.tfjs} (wasm backend SIMD: ${machine.tfjsWasmSimd}, 1 thread), onnxruntime-web ${machine.onnxruntimeWeb} (1 thread), onnxruntime-node (1 intra-op thread)\n`);

  const results = [];
  for (const c of makeCases()) {
    const impls = builds.map(([name, be]) => ({ ...cnnImpl(name, be, c), build: be.features.build }));
    const skipped = [];
    if (c.dtype === 'float32') {
      for (const b of ['wasm', 'cpu']) {
        // tfjs-cpu's conv gradients run near 0.04 GFLOP/s (12.7 s a call on 1x56x56x64 here): above
        // 0.2 GFLOP a call takes several seconds
        if (b === 'cpu' && c.op.startsWith('conv ') && c.op !== 'conv forward' && c.work > 2e8) {
          skipped.push({ impl: 'tfjs-cpu', note: 'gradients not run above 0.2 GFLOP: about 0.04 GFLOP/s (12.7 s a call on 1x56x56x64 here)' });
          continue;
        }
        const impl = tfjsImpl(b, c);
        if (impl?.missing) skipped.push({ impl: impl.name, note: impl.missing });
        else if (impl) impls.push(impl);
      }
      for (const w of ['web', 'node']) {
        const impl = await ortImpl(w, c);
        if (impl) impls.push(impl);
      }
    }
    // the js reference: its one result call also warms it up (a call of the large layers takes seconds)
    const ref = { ...cnnImpl('cnn-wasm js', js, c), warm: true, maxRounds: 3 };
    const t0 = performance.now();
    const refOut = ref.result();
    ref.warmCallMs = performance.now() - t0;
    impls.push(ref);
    const rows = [];
    for (const impl of impls) {
      if (impl.enter) await impl.enter();
      rows.push({ impl, diff: impl === ref ? 0 : impl.result ? maxAbsDiff(await impl.result(), refOut) : null });
    }
    const timing = await measure(impls, quick ? { rounds: 2, roundMs: 30, warmupMs: 60 } : {});
    const tfjsWasmMs = timing.get('tfjs-wasm')?.medianMs;
    const jsMs = timing.get('cnn-wasm js').medianMs;
    const entry = {
      op: c.op, layer: c.layer.name, dtype: c.dtype, unit: c.unit, work: c.work,
      results: rows.map(({ impl, diff }) => {
        const { medianMs, samples } = timing.get(impl.name);
        const work = impl.work ?? c.work;
        const rate = work / medianMs / 1e6; // GFLOP/s or GB/s
        const peak = c.unit === 'GFLOP/s' && c.dtype === 'float32'
          ? (impl.build === 'relaxed-simd' ? peaks['relaxed-simd'] : ['simd', undefined].includes(impl.build) && ['cnn-wasm simd', 'tfjs-wasm', 'ort-web'].includes(impl.name) ? peaks.simd : null)
          : null;
        return {
          impl: impl.name, medianMs, samples, rate,
          vsTfjsWasm: tfjsWasmMs ? tfjsWasmMs / medianMs : null,
          vsJs: jsMs / medianMs,
          pctPeak: peak ? (100 * rate) / peak.peak : null,
          maxAbsDiffVsJs: diff,
          note: impl.note ?? null,
        };
      }).concat(skipped.map((x) => ({ impl: x.impl, medianMs: null, samples: 0, rate: null, vsTfjsWasm: null, vsJs: null, pctPeak: null, maxAbsDiffVsJs: null, note: x.note }))),
    };
    results.push(entry);
    printCase(entry);
  }
  const report = { machine, peaks, results };
  if (outPath) mkdirSync(new URL('.', outPath), { recursive: true });
  if (outPath) writeFileSync(outPath, JSON.stringify(report, null, 1) + '\n');
  if (asJson) process.stdout.write(JSON.stringify(report, null, 1) + '\n');
  else log(outPath ? `wrote ${outPath.pathname}` : 'partial run (--quick or --only): no results file written; --out names one');
}

function printCase(e) {
  const work = e.unit === 'GFLOP/s' ? `${(e.work / 1e9).toFixed(4)} GFLOP` : `${(e.work / 2 ** 20).toFixed(2)} MiB moved`;
  log(`${e.op} | ${e.layer} | ${e.dtype} | ${work}`);
  const fmt = (v, d = 2, suffix = '') => (v == null ? '-' : `${v.toFixed(d)}${suffix}`);
  const header = ['impl', 'median ms', e.unit, 'vs tfjs-wasm', '% peak', 'vs js', 'max|Δ| vs js', 'note'];
  const rows = e.results.map((r) => [
    r.impl, fmt(r.medianMs, 4), fmt(r.rate, 2), fmt(r.vsTfjsWasm, 2, 'x'), fmt(r.pctPeak, 0, '%'), fmt(r.vsJs, 1, 'x'),
    r.maxAbsDiffVsJs == null ? '-' : r.maxAbsDiffVsJs.toExponential(1), r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) log('  ' + r.map((v, i) => (i === 0 || i === 7 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  '));
  log('');
}

await main();
process.exit(0);
