// npm run bench:readme [-- <results file>]   (default: bench/baseline.json, the last full run)
// Generates the benchmark docs from a results file: BENCHMARKS.md (every case, the ratios the speed
// targets are stated in, the verdict) and README.md's short summary between the bench:start and
// bench:end markers (the headline ratios against tfjs-wasm and onnxruntime-web, and a link). Only
// this tool writes them: never edit either by hand. The baseline itself is rewritten only by
// `npm run bench -- --full --out bench/baseline.json`.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONV, POOL } from '../bench/cases.mjs';
import { best, fmtRange, fmtWork, groupBy, JS_REFERENCE, normalize, OURS, ratio, THREADED, threadGain, timed, verdict, wrap } from '../bench/report.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const source = resolve(process.argv[2] ?? resolve(root, 'bench/baseline.json'));
const sourceName = source.startsWith(root) ? relative(root, source) : source;
const report = normalize(JSON.parse(readFileSync(source, 'utf8')));
const m = report.machine;
const p = report.peaks;
const TOOL = '`npm run bench:readme` (tools/readme-table.mjs)';
/** A paragraph wrapped at 100 columns. */
const para = (text) => wrap(text, 100).join('\n');

const ms = (v) => (v == null ? '' : v < 0.1 ? v.toPrecision(2) : v < 10 ? v.toFixed(3) : v.toFixed(1));
const fmt = (v, suffix = 'x') => (v == null || !Number.isFinite(v) ? '' : suffix === '%' ? `${v.toFixed(0)}%` : `${v.toFixed(2)}${suffix}`);
const peak = (x) => (x ? `${x.peak.toFixed(1)} GFLOP/s` : 'n/a');
const find = (op, layer, dtype = 'float32') => report.results.find((r) => r.op === op && r.layer === layer && r.dtype === dtype);
const present = (layers) => layers.map((l) => l.name).filter((name) => report.results.some((r) => r.layer === name));

// ---------------------------------------------------------------- BENCHMARKS.md

function table(dtype) {
  const rows = report.results.filter((r) => r.dtype === dtype);
  const impls = report.impls.filter((name) => rows.some((r) => r.results.some((x) => x.impl === name)));
  const lines = [
    `| op | layer | work | ${impls.map((i) => `${i} ms`).join(' | ')} | best cnn-wasm rate | vs tfjs-wasm | % SIMD peak | max abs diff |`,
    `|---|---|--:|${impls.map(() => '--:').join('|')}|--:|--:|--:|--:|`,
  ];
  for (const r of rows) {
    const by = Object.fromEntries(r.results.map((x) => [x.impl, x]));
    const ours = best(r);
    const cell = (name) => {
      const x = by[name];
      if (!x) return '';
      if (x.medianMs == null) return 'not run*';
      return x.note && x.note !== 'NCHW' ? `${ms(x.medianMs)}*` : ms(x.medianMs);
    };
    const diff = Math.max(...OURS.map((n) => by[n]?.maxAbsDiff ?? 0));
    lines.push(`| ${r.op} | ${r.layer} | ${fmtWork(r.work, r.unit)} | ${impls.map(cell).join(' | ')} | ${ours.rate.toFixed(1)} ${r.unit} (${ours.impl.replace('cnn-wasm ', '')}) | ${fmt(ours.vsTfjsWasm)} | ${fmt(ours.pctPeak, '%')} | ${diff.toExponential(1)} |`);
  }
  return lines.join('\n');
}

function convRatios() {
  const layers = present([CONV.early, CONV.k5, CONV.strided, CONV.seedA]);
  const per = (f) => layers.map((l) => f(l)).join(' | ');
  const vsTfjs = (op, name) => (l) => fmt(timed(find(op, l), name)?.vsTfjsWasm);
  const timeRatio = (name) => (l) => {
    const f = timed(find('conv forward', l), name), b = timed(find('conv backward', l), name);
    return f && b ? fmt(b.medianMs / f.medianMs) : '';
  };
  const f64share = (op) => (l) => {
    const a = find(op, l, 'float32'), b = find(op, l, 'float64');
    return a && b ? fmt((100 * best(b).rate) / best(a).rate, '%') : '';
  };
  return [
    `| ratio | ${layers.join(' | ')} |`,
    `|---|${layers.map(() => '--:').join('|')}|`,
    `| conv forward, plain SIMD: speed vs tfjs-wasm | ${per(vsTfjs('conv forward', 'cnn-wasm simd'))} |`,
    `| conv forward, plain SIMD: % of the plain SIMD peak | ${per((l) => fmt(timed(find('conv forward', l), 'cnn-wasm simd')?.pctPeak, '%'))} |`,
    `| conv forward, relaxed SIMD: speed vs tfjs-wasm | ${per(vsTfjs('conv forward', 'cnn-wasm relaxed'))} |`,
    `| conv backward (dA, dW, db) time / conv forward time, plain SIMD | ${per(timeRatio('cnn-wasm simd'))} |`,
    `| the same, relaxed SIMD | ${per(timeRatio('cnn-wasm relaxed'))} |`,
    `| input gradient: speed vs tfjs-wasm's conv2dTranspose, plain / relaxed | ${per((l) => [vsTfjs('conv input gradient', 'cnn-wasm simd')(l), vsTfjs('conv input gradient', 'cnn-wasm relaxed')(l)].filter(Boolean).join(' / '))} |`,
    `| float64 throughput as % of float32's, conv forward | ${per(f64share('conv forward'))} |`,
    `| the same, conv backward | ${per(f64share('conv backward'))} |`,
  ].join('\n');
}

function poolRatios() {
  const layers = present([POOL.b32f2, POOL.b32f3, POOL.b1f2, POOL.b1f3]);
  const row = (op) => `| ${op}: speed vs tfjs-wasm | ${layers.map((l) => fmt(find(op, l) && best(find(op, l))?.vsTfjsWasm)).join(' | ')} |`;
  return [
    `| ratio (faster cnn-wasm build) | ${layers.join(' | ')} |`,
    `|---|${layers.map(() => '--:').join('|')}|`,
    ...['max pool forward', 'average pool forward', 'max pool backward', 'average pool backward'].map(row),
  ].join('\n');
}

/** One thread's time over two threads', per layer and op: what a second core buys. */
function threadRatios() {
  const rows = report.results.filter((r) => r.dtype === 'float32' && threadGain(r) != null && r.tier === 'default');
  if (!rows.length) return 'This run has no 2-thread results.';
  return [
    '| layer | one thread\'s time / two threads\', per op |',
    '|---|---|',
    ...[...groupBy(rows, (r) => r.layer)].map(([layer, rs]) => `| ${layer} | ${rs.map((r) => `${r.op} ${fmt(threadGain(r))}`).join(', ')} |`),
  ].join('\n');
}

// each note once, with the peers it applies to
const byNote = new Map();
for (const x of report.results.flatMap((r) => r.results)) {
  if (!x.note || x.note === 'NCHW') continue;
  byNote.set(x.note, new Set([...(byNote.get(x.note) ?? []), x.impl]));
}
const notes = [...byNote].map(([note, impls]) => `\\* ${[...impls].join(', ')}: ${note}.`);
const references = [...new Set(report.results.map((r) => r.checkedAgainst))];
const run = report.run ?? { tier: 'full' };
const runText = `a ${run.tier}${run.quick ? ' --quick' : ''} run${run.only ? ` of the cases matching "${run.only}"` : ''}`;
const dtypes = [...new Set(report.results.map((r) => r.dtype))];

const benchmarks = `<!-- Generated by ${TOOL} from ${sourceName}; do not edit. -->
# Benchmarks

${para(`\`npm run bench\` measures the float32 layers that carry the story against tfjs-wasm and ONNX Runtime
in about two minutes; \`npm run bench -- --full\` measures every case below (all layers, float32 and
float64, every peer, and cnn-wasm's pure-JS backend as the reference). Each implementation is warmed
up (for 150 ms; on the training step for 2 s, since V8 optimizes the JavaScript a step calls once per
op only after hundreds of steps), then timed in alternating rounds (tinybench; 5 in a full run, and 12 on the training step so that a few seconds of a busy second core move its median less), each round after a collection of V8's young generation (a full collection comes before the warm-up: after one, V8 re-optimizes for a second or more); times
are medians. Every implementation runs on one thread but \`${THREADED}\` (the relaxed build with
\`threads: 2\`) and \`ort-web 2 threads\` (onnxruntime-web with numThreads 2, in a worker thread of
its own). This page is generated from ${sourceName} (${runText}); \`npm run bench -- --full --out
bench/baseline.json\` re-measures the baseline.`)}

${para(`Measured ${m.date.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.platform}), Node ${m.node}, V8 ${m.v8}, one thread.
Builds: ${m.wasmBuilds.join(', ')}. Register-only f32x4 peak measured by the harness: plain SIMD ${peak(p.simd)}, relaxed SIMD ${peak(p['relaxed-simd'])}.
Peers: tfjs ${m.tfjs} (tfjs-wasm: XNNPACK, SIMD ${m.tfjsWasmSimd ? 'on' : 'off'}, 1 thread${m.tfjsWasmThreads === false ? '; its threaded build does not run in Node: `npm run bench:browser` runs it in Chromium' : ''}), onnxruntime-web ${m.onnxruntimeWeb} (wasm, 1 thread, and 2), onnxruntime-node${m.onnxruntimeNode ? ` ${m.onnxruntimeNode}` : ''} (native, 1 intra-op thread; NCHW).
${m.loadAverage != null ? `Load average at the start: ${m.loadAverage.toFixed(2)}.` : ''}
${m.crossCoreNs ? `A cache line's round trip between two threads: ${m.crossCoreNs.start.toFixed(0)} ns at the start, ${m.crossCoreNs.end.toFixed(0)} ns at the end (on this shared VM about 120 ns at some times and 300-340 ns at others: the two vCPUs sit near each other or not, and split ops pay it for every line one thread writes and the other reads).` : ''}`)}

## Verdict

${para(`Float32; a ratio is a peer's median time over the faster cnn-wasm build's: above 1x, cnn-wasm is faster. ${verdict(report)}`)}

## The ratios the speed targets are stated in

Float32 unless said, from the same run.

${convRatios()}

${poolRatios()}

## What a second core buys

${para(`Two threads against one, the faster build, on the layers of the default run (float32). The op splits its work only where it is worth it (about 20 us of work or more), and the result is the same bits.`)}

${threadRatios()}

## Every case

${para(`Times are medians in ms; "vs tfjs-wasm" is tfjs-wasm's time over the faster cnn-wasm build's; conv backward for cnn-wasm is dA, dW and db together.
"max abs diff" is the largest difference of cnn-wasm's outputs from the reference (${references.join('; ')}).
${notes.join(' ')}`)}
${dtypes.map((dt) => `
**${dt}**${dt === 'float64' ? ' (tfjs and ONNX Runtime have no float64 kernels)' : ''}

${table(dt)}
`).join('')}`;

writeFileSync(resolve(root, 'BENCHMARKS.md'), benchmarks);

// ---------------------------------------------------------------- README.md's summary

// the layers of the default run, or every float32 case of a file that has none of them
const f32 = report.results.filter((r) => r.dtype === 'float32' && best(r));
const defaultLayers = f32.some((r) => r.tier === 'default');
const headline = defaultLayers ? f32.filter((r) => r.tier === 'default') : f32;
const peers = [['tfjs-wasm', 'vs tfjs-wasm'], ['ort-web', 'vs onnxruntime-web'], ['ort-web 2 threads', 'vs onnxruntime-web, 2 threads each']];
const summaryRows = [...groupBy(headline, (r) => r.op)].map(([op, rs]) => {
  const cells = peers.map(([impl]) => {
    const rs2 = rs.map((r) => ratio(r, impl)).filter((x) => x != null);
    return rs2.length ? fmtRange(rs2) : '—';
  });
  const gains = rs.map(threadGain).filter((x) => x != null);
  return `| ${op} | ${cells.join(' | ')} | ${gains.length ? fmtRange(gains) : '—'} |`;
});
const gains = headline.filter((r) => r.unit === 'GFLOP/s' && timed(r, 'cnn-wasm simd') && timed(r, 'cnn-wasm relaxed'))
  .map((r) => timed(r, 'cnn-wasm simd').medianMs / timed(r, 'cnn-wasm relaxed').medianMs);
const faster = [...new Set(headline.filter((r) => r.unit === 'GFLOP/s').map((r) => best(r).impl))];
const buildNote = faster.length === 1 && faster[0] === 'cnn-wasm relaxed' && gains.length
  ? ` (relaxed SIMD; the plain SIMD build takes ${fmtRange(gains)} its time on the conv rows)` : '';
const section = `<!-- bench:start: generated by ${TOOL} from ${sourceName}; do not edit -->
${para(`Float32, measured ${m.date.slice(0, 10)} on ${m.cpu} (${m.cores} cores), Node ${m.node}.
Each cell is a peer's median time over cnn-wasm's, over the layers ${defaultLayers ? '`npm run bench` runs' : `of ${sourceName}`}
(${[...new Set(headline.map((r) => r.layer))].join(', ')}): above 1x, cnn-wasm is faster; —: the peer has no kernel for it (or was not run).
cnn-wasm's time is its faster build's on one thread${buildNote}, against a one-thread peer; against onnxruntime-web on 2 threads, cnn-wasm's on 2 threads.
The last column is what a second thread buys cnn-wasm: one thread's time over two threads'.`)}

| op | ${peers.map(([, label]) => label).join(' | ')} | cnn-wasm, 2 threads vs 1 |
|---|${peers.map(() => '--:').join('|')}|--:|
${summaryRows.join('\n')}

${para(`Every case (more layers, float64, tfjs-cpu, onnxruntime-node, the ${JS_REFERENCE} reference), the verdict and how the numbers are taken: [BENCHMARKS.md](BENCHMARKS.md).`)}
<!-- bench:end -->`;

const readmePath = resolve(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf('<!-- bench:start');
const end = readme.indexOf('<!-- bench:end -->');
if (start < 0 || end < 0) throw new Error('README.md has no bench:start / bench:end markers');
writeFileSync(readmePath, readme.slice(0, start) + section + readme.slice(end + '<!-- bench:end -->'.length));
console.log(`BENCHMARKS.md and README.md's benchmark summary generated from ${sourceName}`);
