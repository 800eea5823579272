// npm run bench [-- --full] [-- --quick] [-- --only <text>] [-- --out <file>] [-- --json]
// Measures cnn-wasm's ops on real layers against the libraries people would otherwise use, in this
// one process: warm, alternating rounds, medians, one thread (see harness.mjs). The cases and their
// tiers are declared in cases.mjs, the implementations in impls.mjs.
//   (default)   the float32 cases that carry the story, against tfjs-wasm, onnxruntime-web and
//               onnxruntime-node (about two minutes on two cores)
//   --full      every case (all layers, float64) and the slow peers and references too
//               (tfjs-cpu, cnn-wasm's pure-JS backend)
//   --quick     fewer and shorter rounds; --only <text>: the cases whose "op layer dtype" contains
//               the text (from every tier)
//   --out <f>   where the results go (default bench/out/results.json, untracked); the committed
//               baseline the docs are made from is written only by a whole --full run
//               (`npm run bench -- --full --out bench/baseline.json`)
//   --json      the results as JSON on stdout instead of the tables
// Progress goes to stderr; the tables, then a verdict generated from the numbers, to stdout.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arch, cpus, loadavg, platform, totalmem } from 'node:os';
import { createBackend } from '../build/lib/index.js';
import { caseName, selectCases } from './cases.mjs';
import { measure, predictMs } from './harness.mjs';
import { cnnImpl, IMPLS, initPeers, tfjsWasmReference } from './impls.mjs';
import { measureCrossCore, measurePeaks } from './peak/measure.mjs';
import { createProgress } from './progress.mjs';
import { fmtWork, JS_REFERENCE, normalize, summaryTables, SUMMARY_LEGEND, verdict, wrap } from './report.mjs';

const args = process.argv.slice(2);
const value = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : null);
if (args.includes('--help')) {
  const usage = readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//'));
  console.log(usage.slice(0, usage.findIndex((l) => l.startsWith('// Progress'))).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
const asJson = args.includes('--json');
const quick = args.includes('--quick');
const full = args.includes('--full');
const only = value('--only');
const baselinePath = fileURLToPath(new URL('./baseline.json', import.meta.url));
const outPath = resolve(value('--out') ?? fileURLToPath(new URL('./out/results.json', import.meta.url)));
const log = asJson ? () => {} : (...a) => console.log(...a);
const say = (text) => wrap(text, 99, '  ').forEach((l) => log(l));

if (outPath === baselinePath && (!full || quick || only)) {
  console.error('bench/baseline.json is what the docs are generated from: write it from a whole --full run (no --quick or --only).');
  process.exit(2);
}
const cases = selectCases({ full, only });
if (!cases.length) {
  console.error(`no case matches --only ${JSON.stringify(only)}; cases are named "op layer dtype", e.g. "${caseName(selectCases()[0])}"`);
  process.exit(2);
}
// the default run (the main job) keeps to about two minutes with four rounds; --full takes five
const timingOptions = quick ? { rounds: 2, roundMs: 30, warmupMs: 60 } : full ? { rounds: 5, roundMs: 60, warmupMs: 150 } : { rounds: 4, roundMs: 50, warmupMs: 120 };
const activeImpls = IMPLS.filter((d) => full || d.tier === 'default' || cases.some((c) => d.defaultFor?.(c)));
/** The impls that run on case c: every default one, and a full one where --full asks or its defaultFor(c) says so. */
const implsFor = (c) => IMPLS.filter((d) => full || d.tier === 'default' || d.defaultFor?.(c));

/** What case c's outputs are checked against: 'js' (timed on c), 'tfjs-wasm', 'tfjs-wasm conv2d' or 'js once'. */
function referenceKind(c) {
  if (implsFor(c).some((d) => d.name === JS_REFERENCE)) return 'js';
  if (c.reference === 'tfjs-wasm' && c.dtype === 'float32') {
    return c.op === 'conv filter gradient' || c.op === 'conv backward' ? 'tfjs-wasm conv2d' : 'tfjs-wasm';
  }
  return 'js once';
}
const REFERENCE_TEXT = {
  js: "cnn-wasm's pure-JS backend (the 'cnn-wasm js' row)",
  'tfjs-wasm': "tfjs-wasm's output",
  'tfjs-wasm conv2d': 'tfjs-wasm with dW computed as a dilated conv2d (it has no filter-gradient kernel)',
  'js once': "one untimed call of cnn-wasm's pure-JS backend",
};

// ---------------------------------------------------------------- the progress estimate

// the last full run's medians, when there is one, tell about how long each impl's call takes
const baseline = existsSync(baselinePath) ? JSON.parse(readFileSync(baselinePath, 'utf8')) : { results: [] };
const baselineMs = new Map(baseline.results.flatMap((e) => e.results.filter((x) => x.medianMs != null).map((x) => [`${e.op} ${e.layer} ${e.dtype} | ${x.impl}`, x.medianMs])));
/**
 * The run's timing options for case c: its own, longer warm-up and more rounds where it has them (not
 * with --quick). More rounds spread the samples over more seconds, so that a few seconds of the
 * machine's second core being busy elsewhere move the median less.
 */
const timingFor = (c) => (quick ? timingOptions : {
  ...timingOptions,
  warmupMs: Math.max(timingOptions.warmupMs, c.warmupMs ?? 0),
  rounds: Math.max(timingOptions.rounds, c.rounds ?? 0),
});

function predictCase(c) {
  const known = implsFor(c).map((d) => [d.name, baselineMs.get(`${caseName(c)} | ${d.name}`)]).filter(([, ms]) => ms != null);
  // a case the baseline lacks: five impls at a rate of 20 GFLOP/s or 10 GB/s
  const calls = known.length ? known : Array(5).fill(['', c.work / (c.unit === 'GFLOP/s' ? 20e6 : 10e6)]);
  // each impl: its result call, then measure(); the timed js reference is warmed by its result call
  const js = { ...timingOptions, warm: true, maxRounds: 3 };
  return calls.reduce((t, [name, ms]) => t + ms + predictMs(ms, name === JS_REFERENCE ? js : timingFor(c)), 100);
}

// ---------------------------------------------------------------- one case

const maxAbsDiff = (a, b) => {
  if (!a || !b || a.length !== b.length) return null;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

async function runCase(c, backends, peaks) {
  const rows = []; // in IMPLS order: { impl } timed, or { name, note } not run
  for (const def of implsFor(c)) {
    const why = def.skip?.(c);
    if (why) {
      rows.push({ name: def.name, note: why });
      continue;
    }
    const impl = await def.make(c, backends);
    if (impl?.missing) rows.push({ name: impl.name, note: impl.missing });
    else if (impl) rows.push({ impl });
  }
  const kind = referenceKind(c);
  let ref, checkedAgainst;
  if (kind === 'js') {
    // the timed js reference: its one result call also warms it up (a call of the large layers takes seconds)
    ref = rows.find((r) => r.impl?.name === JS_REFERENCE).impl;
    Object.assign(ref, { warm: true, maxRounds: 3 });
    checkedAgainst = JS_REFERENCE;
  } else if (kind.startsWith('tfjs-wasm')) {
    ref = await tfjsWasmReference(c);
    checkedAgainst = ref.name;
  } else {
    ref = cnnImpl(JS_REFERENCE, backends.js, c);
    checkedAgainst = `${JS_REFERENCE}, one untimed call`;
  }
  if (ref.enter) await ref.enter();
  const t0 = performance.now();
  const refOut = await ref.result();
  ref.warmCallMs = performance.now() - t0;
  let refScale = 0;
  for (const v of refOut) refScale = Math.max(refScale, Math.abs(v));

  const impls = rows.filter((r) => r.impl).map((r) => r.impl);
  const diffs = new Map();
  for (const impl of impls) {
    if (impl.enter) await impl.enter();
    const self = impl === ref || impl.name === ref.name;
    diffs.set(impl.name, self ? null : maxAbsDiff(await impl.result(), refOut));
  }
  if (!impls.includes(ref)) ref.dispose?.();
  const timing = await measure(impls, timingFor(c));
  // an impl made of parts (a training step): each part timed alone, their medians added up
  const partsMs = new Map();
  for (const impl of impls.filter((x) => x.parts)) {
    const parts = await measure(impl.parts, timingOptions);
    partsMs.set(impl.name, [...parts.values()].reduce((sum, p) => sum + p.medianMs, 0));
  }
  for (const impl of impls) impl.dispose?.();
  c.free();

  const tfjsWasmMs = timing.get('tfjs-wasm')?.medianMs;
  const jsMs = timing.get(JS_REFERENCE)?.medianMs;
  const peakOf = (impl) => {
    if (c.unit !== 'GFLOP/s' || c.dtype !== 'float32') return null;
    if (impl.build === 'relaxed-simd') return peaks['relaxed-simd'];
    return ['cnn-wasm simd', 'tfjs-wasm', 'ort-web'].includes(impl.name) ? peaks.simd : null;
  };
  return {
    op: c.op, layer: c.layer.name, dtype: c.dtype, tier: c.tier, unit: c.unit, work: c.work, checkedAgainst, refScale,
    results: rows.map(({ impl, name, note }) => {
      if (!impl) {
        return { impl: name, medianMs: null, samples: 0, rate: null, vsTfjsWasm: null, vsJs: null, pctPeak: null, maxAbsDiff: null, note };
      }
      const { medianMs, samples } = timing.get(impl.name);
      const rate = (impl.work ?? c.work) / medianMs / 1e6; // GFLOP/s or GB/s
      const peak = peakOf(impl);
      return {
        impl: impl.name, medianMs, samples, rate,
        vsTfjsWasm: tfjsWasmMs ? tfjsWasmMs / medianMs : null,
        vsJs: jsMs ? jsMs / medianMs : null,
        pctPeak: peak ? (100 * rate) / peak.peak : null,
        maxAbsDiff: diffs.get(impl.name),
        note: impl.note ?? null,
        ...(partsMs.has(impl.name) ? { partsMs: partsMs.get(impl.name) } : {}),
      };
    }),
  };
}

// ---------------------------------------------------------------- the run

async function main() {
  const peaks = await measurePeaks();
  const peers = await initPeers();
  const backends = {
    relaxed: peaks['relaxed-simd'] ? await createBackend('wasm', { simd: 'relaxed', threads: 1 }) : null,
    simd: await createBackend('wasm', { simd: 'plain', threads: 1 }),
    threads2: await createBackend('wasm', { threads: 2 }),
    js: await createBackend('js'),
  };
  const builds = [['cnn-wasm relaxed', backends.relaxed], ['cnn-wasm simd', backends.simd]].filter(([, be]) => be);
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${platform()} ${arch()}`, node: process.version, v8: process.versions.v8, date: new Date().toISOString(),
    tfjs: peers.tfjsVersion, tfjsWasmSimd: peers.tfjsWasmSimd, tfjsWasmThreads: peers.tfjsWasmThreads, onnxruntimeWeb: peers.ortVersion, onnxruntimeNode: peers.ortNodeVersion,
    wasmBuilds: builds.map(([n, be]) => `${n}: ${be.features.build}`),
    threads: { build: backends.threads2.features.build, threads: backends.threads2.features.threads, note: backends.threads2.features.threadsNote },
    loadAverage: loadavg()[0],
    crossCoreNs: { start: await measureCrossCore(), end: null },
  };
  const fmtPeak = (p) => (p ? `${p.peak.toFixed(1)} GFLOP/s` : 'n/a');
  const all = selectCases({ full: true }).length;
  const kind = only ? `cases matching ${JSON.stringify(only)}${full ? ', every peer' : ''}` : full ? 'full run' : 'default run';
  say(`cnn-wasm benchmark, ${kind}: ${cases.length} case${cases.length === 1 ? '' : 's'}${quick ? ', quick rounds' : ''}`);
  if (!full) say(`(--full runs all ${all} cases: float64, more layers, and the slow peers tfjs-cpu and cnn-wasm's pure-JS backend)`);
  say(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.platform}, Node ${machine.node} (V8 ${machine.v8}); `
    + `load average ${machine.loadAverage.toFixed(2)} at the start (2-thread figures mean little while other processes run); `
    + `a cache line's round trip between two threads ${machine.crossCoreNs.start.toFixed(0)} ns`);
  say(`cnn-wasm builds: ${builds.map(([, be]) => be.features.build).join(', ')}${peaks['relaxed-simd'] ? '' : ' (relaxed SIMD not validated: Node 20 needs --experimental-wasm-relaxed-simd)'}; `
    + `register-only f32x4 peak: plain SIMD ${fmtPeak(peaks.simd)}, relaxed SIMD ${fmtPeak(peaks['relaxed-simd'])}`);
  const peerText = {
    'tfjs-wasm': `tfjs-wasm ${machine.tfjs} (XNNPACK, SIMD ${machine.tfjsWasmSimd ? 'on' : 'off'})`,
    'tfjs-cpu': `tfjs-cpu ${machine.tfjs}`,
    'ort-web': `onnxruntime-web ${machine.onnxruntimeWeb} (wasm)`,
    'ort-node': `onnxruntime-node ${machine.onnxruntimeNode} (native)`,
  };
  say(`peers, one thread each: ${activeImpls.filter((d) => peerText[d.name]).map((d) => peerText[d.name]).join(', ')}`);
  const threaded = activeImpls.some((d) => d.name === 'cnn-wasm 2 threads');
  if (threaded) {
    say(`two threads: cnn-wasm ${machine.threads.build} with threads: 2 (${machine.threads.threads} running${machine.threads.note ? `: ${machine.threads.note}` : ''}), `
      + `onnxruntime-web with numThreads 2 (in a worker thread); tfjs-wasm's threaded build ${machine.tfjsWasmThreads ? 'is available' : 'does not run in Node (WASM_HAS_MULTITHREAD_SUPPORT is false here: it needs a cross-origin isolated browser page)'}`);
  }
  const byKind = new Map();
  for (const c of cases) byKind.set(referenceKind(c), new Set([...(byKind.get(referenceKind(c)) ?? []), c.op]));
  say(`outputs checked against: ${[...byKind].map(([k, ops]) => (byKind.size > 1 ? `${REFERENCE_TEXT[k]} (${[...ops].join(', ')})` : REFERENCE_TEXT[k])).join('; ')}`);
  say(`timing: each impl warmed up, then ${timingOptions.rounds} rounds in alternating order (tinybench), medians`);
  log('');

  const progress = createProgress(cases.length);
  const predicted = cases.map(predictCase);
  let spent = 0, expected = 0;
  const results = [];
  for (const [i, c] of cases.entries()) {
    const factor = expected ? spent / expected : 1;
    const left = factor * predicted.slice(i).reduce((a, b) => a + b, 0);
    progress.update(i + 1, `${c.op}, ${c.layer.name}, ${c.dtype}, ${fmtWork(c.work, c.unit)}`, left);
    const t0 = performance.now();
    results.push(await runCase(c, backends, peaks));
    spent += performance.now() - t0;
    expected += predicted[i];
  }
  progress.done();
  machine.crossCoreNs.end = await measureCrossCore();

  const report = {
    machine, peaks,
    run: { tier: full ? 'full' : 'default', quick, only, timing: timingOptions },
    impls: activeImpls.map((d) => d.name).filter((n) => n !== 'cnn-wasm relaxed' || backends.relaxed),
    results,
  };
  mkdirSync(resolve(outPath, '..'), { recursive: true });
  writeFileSync(outPath, JSON.stringify(report, null, 1) + '\n');
  if (asJson) {
    process.stdout.write(JSON.stringify(report, null, 1) + '\n');
    return;
  }
  say(SUMMARY_LEGEND);
  log('');
  for (const line of summaryTables(normalize(report))) log(line);
  say(`Verdict (float32; a ratio is a peer's median time over the faster cnn-wasm build's, above 1x cnn-wasm is faster): ${verdict(normalize(report))}`);
  log('');
  log(`wrote ${outPath}`);
}

await main();
process.exit(0);
