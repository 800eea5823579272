// Regenerates the benchmark section of README.md (between the bench:start and bench:end markers)
// from bench/baseline.json, the last full run (`npm run bench -- --full --out bench/baseline.json`).
// Never edit that section by hand.
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const report = JSON.parse(readFileSync(new URL('bench/baseline.json', root), 'utf8'));
const readmeUrl = new URL('README.md', root);
const readme = readFileSync(readmeUrl, 'utf8');

const IMPLS = ['cnn-wasm relaxed', 'cnn-wasm simd', 'tfjs-wasm', 'tfjs-cpu', 'ort-web', 'ort-node', 'cnn-wasm js'];
const ms = (v) => (v == null ? '' : v < 0.1 ? v.toFixed(4) : v < 10 ? v.toFixed(3) : v.toFixed(1));
const m = report.machine;
const p = report.peaks;
const peak = (x) => (x ? `${x.peak.toFixed(1)} GFLOP/s` : 'n/a');

function table(dtype) {
  const rows = report.results.filter((r) => r.dtype === dtype);
  const impls = IMPLS.filter((name) => rows.some((r) => r.results.some((x) => x.impl === name)));
  const lines = [
    `| op | layer | ${impls.map((i) => `${i} ms`).join(' | ')} | best cnn-wasm rate | vs tfjs-wasm | % SIMD peak | max abs diff vs js |`,
    `|---|---|${impls.map(() => '--:').join('|')}|--:|--:|--:|--:|`,
  ];
  for (const r of rows) {
    const by = Object.fromEntries(r.results.map((x) => [x.impl, x]));
    const ours = ['cnn-wasm relaxed', 'cnn-wasm simd'].map((n) => by[n]).filter(Boolean).sort((a, b) => a.medianMs - b.medianMs)[0];
    const cell = (name) => {
      const x = by[name];
      if (!x) return '';
      if (x.medianMs == null) return 'not run*';
      return x.note && !['NCHW'].includes(x.note) ? `${ms(x.medianMs)}*` : ms(x.medianMs);
    };
    const diff = Math.max(...['cnn-wasm relaxed', 'cnn-wasm simd'].map((n) => by[n]?.maxAbsDiffVsJs ?? 0));
    lines.push(`| ${r.op} | ${r.layer} | ${impls.map(cell).join(' | ')} | ${ours.rate.toFixed(1)} ${r.unit} (${ours.impl.replace('cnn-wasm ', '')}) | ${ours.vsTfjsWasm ? ours.vsTfjsWasm.toFixed(2) + 'x' : ''} | ${ours.pctPeak ? ours.pctPeak.toFixed(0) + '%' : ''} | ${diff.toExponential(1)} |`);
  }
  return lines.join('\n');
}

// The ratios the speed targets are stated in, read off the same results
const find = (op, layer, dtype = 'float32') => report.results.find((r) => r.op === op && r.layer === layer && r.dtype === dtype);
const impl = (r, name) => r?.results.find((x) => x.impl === name && x.medianMs != null);
const best = (r) => ['cnn-wasm relaxed', 'cnn-wasm simd'].map((n) => impl(r, n)).filter(Boolean).sort((a, b) => a.medianMs - b.medianMs)[0];
const fmt = (v, suffix = 'x') => (v == null || !Number.isFinite(v) ? '' : suffix === '%' ? `${v.toFixed(0)}%` : `${v.toFixed(2)}${suffix}`);

function convRatios() {
  const layers = ['1x56x56x64 k3 to 64 s1 p1', '32x28x28x32 k5 to 64 s1 p2', '4x33x33x24 k3 to 48 s2 p1', 'seed 2x5x7x4 k3 to 8 s2 p1'];
  const per = (f) => layers.map((l) => f(l)).join(' | ');
  const vsTfjs = (op, name) => (l) => fmt(impl(find(op, l), name)?.vsTfjsWasm);
  const timeRatio = (name) => (l) => {
    const f = impl(find('conv forward', l), name), b = impl(find('conv backward', l), name);
    return f && b ? fmt(b.medianMs / f.medianMs) : '';
  };
  const f64share = (op) => (l) => {
    const a = best(find(op, l, 'float32')), b = best(find(op, l, 'float64'));
    return a && b ? fmt((100 * b.rate) / a.rate, '%') : '';
  };
  return [
    `| ratio | ${layers.join(' | ')} |`,
    `|---|${layers.map(() => '--:').join('|')}|`,
    `| conv forward, plain SIMD: speed vs tfjs-wasm | ${per(vsTfjs('conv forward', 'cnn-wasm simd'))} |`,
    `| conv forward, plain SIMD: % of the plain SIMD peak | ${per((l) => fmt(impl(find('conv forward', l), 'cnn-wasm simd')?.pctPeak, '%'))} |`,
    `| conv forward, relaxed SIMD: speed vs tfjs-wasm | ${per(vsTfjs('conv forward', 'cnn-wasm relaxed'))} |`,
    `| conv backward (dA, dW, db) time / conv forward time, plain SIMD | ${per(timeRatio('cnn-wasm simd'))} |`,
    `| the same, relaxed SIMD | ${per(timeRatio('cnn-wasm relaxed'))} |`,
    `| input gradient: speed vs tfjs-wasm's conv2dTranspose, plain / relaxed | ${per((l) => [vsTfjs('conv input gradient', 'cnn-wasm simd')(l), vsTfjs('conv input gradient', 'cnn-wasm relaxed')(l)].filter(Boolean).join(' / '))} |`,
    `| float64 throughput as % of float32's, conv forward | ${per(f64share('conv forward'))} |`,
    `| the same, conv backward | ${per(f64share('conv backward'))} |`,
  ].join('\n');
}

function poolRatios() {
  const layers = ['32x28x28x32 f2 s2', '32x28x28x32 f3 s2', '1x56x56x64 f2 s2', '1x56x56x64 f3 s2'];
  const row = (op) => `| ${op}: speed vs tfjs-wasm | ${layers.map((l) => fmt(best(find(op, l))?.vsTfjsWasm)).join(' | ')} |`;
  return [
    `| ratio (faster cnn-wasm build) | ${layers.join(' | ')} |`,
    `|---|${layers.map(() => '--:').join('|')}|`,
    ...['max pool forward', 'average pool forward', 'max pool backward', 'average pool backward'].map(row),
  ].join('\n');
}

// each note once, with the peers it applies to
const byNote = new Map();
for (const x of report.results.flatMap((r) => r.results)) {
  if (!x.note || x.note === 'NCHW') continue;
  byNote.set(x.note, new Set([...(byNote.get(x.note) ?? []), x.impl]));
}
const notes = [...byNote].map(([note, impls]) => `${[...impls].join(', ')}: ${note}`);
const section = `<!-- bench:start: generated by \`npm run bench:readme\` from bench/baseline.json; do not edit -->
Measured ${m.date.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.platform}), Node ${m.node}, V8 ${m.v8}, one thread.
Builds: ${m.wasmBuilds.join(', ')}. Register-only f32x4 peak measured by the harness: plain SIMD ${peak(p.simd)}, relaxed SIMD ${peak(p['relaxed-simd'])}.
Peers: tfjs ${m.tfjs} (tfjs-wasm: XNNPACK, SIMD ${m.tfjsWasmSimd ? 'on' : 'off'}, 1 thread), onnxruntime-web ${m.onnxruntimeWeb} (wasm, 1 thread), onnxruntime-node (native, 1 intra-op thread; NCHW).
Times are medians in ms; "vs tfjs-wasm" is tfjs-wasm's time over the faster cnn-wasm build's; conv backward for cnn-wasm is dA, dW and db together.
${notes.map((n) => `\\* ${n}.`).join(' ')}

The ratios the speed targets are stated in, float32 unless said, from the same run:

${convRatios()}

${poolRatios()}

**float32**

${table('float32')}

**float64** (tfjs and ONNX Runtime have no float64 kernels)

${table('float64')}
<!-- bench:end -->`;

const start = readme.indexOf('<!-- bench:start');
const end = readme.indexOf('<!-- bench:end -->');
if (start < 0 || end < 0) throw new Error('README.md has no bench:start / bench:end markers');
writeFileSync(readmeUrl, readme.slice(0, start) + section + readme.slice(end + '<!-- bench:end -->'.length));
console.log('README.md: benchmark section regenerated from bench/baseline.json');
