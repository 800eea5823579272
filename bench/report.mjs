// Reading and formatting benchmark results, shared by the run (bench/run.mjs: the summary tables
// and the verdict it prints at the end) and the docs (tools/readme-table.mjs: BENCHMARKS.md and
// README's summary, generated from bench/baseline.json). Everything here is computed from a
// results file's numbers; nothing is typed in by hand.
import { caseName, selectCases } from './cases.mjs';

export const OURS = ['cnn-wasm relaxed', 'cnn-wasm simd'];
/** cnn-wasm's faster build on two threads; peers named '... 2 threads' are compared with it. */
export const THREADED = 'cnn-wasm 2 threads';
const isThreaded = (impl) => impl.endsWith(' 2 threads');
export const JS_REFERENCE = 'cnn-wasm js';
// the order of results files written before they listed their impls
const LEGACY_IMPLS = ['cnn-wasm relaxed', 'cnn-wasm simd', 'tfjs-wasm', 'tfjs-cpu', 'ort-web', 'ort-node', 'cnn-wasm js'];
/** Outputs differing from the reference by more than this share of its largest value are called out. */
export const DISAGREE = 1e-3;

/**
 * A results file as this code reads it, whichever version wrote it: every case gets its tier
 * (from cases.mjs when the file has none) and `checkedAgainst`; every result `maxAbsDiff`.
 */
export function normalize(report) {
  const defaults = new Set(selectCases().map(caseName));
  const results = report.results.map((e) => ({
    ...e,
    tier: e.tier ?? (defaults.has(`${e.op} ${e.layer} ${e.dtype}`) ? 'default' : 'full'),
    checkedAgainst: e.checkedAgainst ?? JS_REFERENCE,
    results: e.results.map((x) => ({ ...x, maxAbsDiff: x.maxAbsDiff ?? x.maxAbsDiffVsJs ?? null })),
  }));
  return { ...report, impls: report.impls ?? LEGACY_IMPLS, results };
}

// ---------------------------------------------------------------- numbers

const PREFIXES = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, '']];
/** 3 significant digits with an SI prefix: 231 MFLOP, 9.63 kFLOP, 3.21 MB. */
export function si(v, unit) {
  const [scale, prefix] = PREFIXES.find(([s]) => Math.abs(v) >= s) ?? PREFIXES.at(-1);
  return `${sig(v / scale)} ${prefix}${unit}`;
}
/** 3 significant digits, never in exponent form for the values a benchmark shows. */
export const sig = (v) => (v == null || !Number.isFinite(v) ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
export const fmtWork = (work, unit) => si(work, unit === 'GFLOP/s' ? 'FLOP' : 'B');
export const fmtMs = (ms) => (ms == null ? '-' : sig(ms));
export const fmtRatio = (r) => (r == null || !Number.isFinite(r) ? '-' : `${sig(r)}x`);
export const fmtDiff = (d) => (d == null ? '-' : d === 0 ? '0' : d >= 0.01 ? sig(d) : d.toExponential(1));
/** "1.47-1.51x" (an en dash), or one value where the range is one value. */
export function fmtRange(values) {
  const lo = fmtRatio(Math.min(...values)), hi = fmtRatio(Math.max(...values));
  return lo === hi ? lo : `${lo.slice(0, -1)}–${hi}`;
}

/** Items grouped by key(item), in first-seen order (Map.groupBy is newer than Node 20). */
export function groupBy(items, key) {
  const groups = new Map();
  for (const x of items) {
    const k = key(x);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(x);
  }
  return groups;
}

/** The result of `impl` in a case that has a time, or undefined. */
export const timed = (entry, impl) => entry.results.find((x) => x.impl === impl && x.medianMs != null);
/** The faster cnn-wasm build's result. */
export const best = (entry) => OURS.map((n) => timed(entry, n)).filter(Boolean).sort((a, b) => a.medianMs - b.medianMs)[0];
/**
 * Peer's time over the faster cnn-wasm build's (a 2-thread peer: over cnn-wasm's on 2 threads):
 * above 1, cnn-wasm is faster.
 */
export function ratio(entry, impl) {
  const ours = isThreaded(impl) ? timed(entry, THREADED) : best(entry), peer = timed(entry, impl);
  return ours && peer ? peer.medianMs / ours.medianMs : null;
}
/** One thread's time (the faster build) over two threads'. */
export function threadGain(entry) {
  const one = best(entry), two = timed(entry, THREADED);
  return one && two ? one.medianMs / two.medianMs : null;
}
/** The peers of a report, in its order: every impl but cnn-wasm's builds and the js reference. */
export const peersOf = (report) => report.impls.filter((n) => !OURS.includes(n) && n !== THREADED && n !== JS_REFERENCE);

// ---------------------------------------------------------------- text tables

/**
 * A plain-text table no wider than maxWidth: columns [{ header: [line, ...], cells, left?, drop? }].
 * Columns whose cells are all empty are left out; while too wide, the columns with a `drop` rank
 * are left out, lowest rank first. Returns { lines, dropped: [header] }.
 */
export function textTable(columns, { maxWidth = 99 } = {}) {
  let cols = columns.filter((c) => c.cells.some((v) => v !== '' && v !== '-'));
  const dropped = [];
  const colWidth = (c) => Math.max(...c.header.map((h) => h.length), ...c.cells.map((v) => v.length));
  const width = (cs) => cs.reduce((w, c) => w + colWidth(c), 0) + 2 * (cs.length - 1);
  for (const victim of cols.filter((c) => c.drop != null).sort((a, b) => a.drop - b.drop)) {
    if (width(cols) <= maxWidth) break;
    cols = cols.filter((c) => c !== victim);
    dropped.push(victim.header.join(' ').trim());
  }
  const widths = cols.map(colWidth);
  const line = (values) => values.map((v, i) => (cols[i].left ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  const headerLines = Math.max(...cols.map((c) => c.header.length));
  const headers = Array.from({ length: headerLines }, (_, l) => line(cols.map((c) => c.header[l] ?? '')));
  const rows = cols[0].cells.map((_, r) => line(cols.map((c) => c.cells[r])));
  return { lines: [...headers, ...rows], dropped };
}

/** Words wrapped into lines of at most `width` characters. */
export function wrap(text, width = 99, indent = '') {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && (line + ' ' + word).length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Work without its unit (the column header has it): 231M, 13.8k, 2.57G. */
const fmtWorkShort = (work) => si(work, '').trim().replace(' ', '');

/** The legend of summaryTables. */
export const SUMMARY_LEGEND = 'Per case: the work of a call (FLOP or bytes moved); the median ms of each cnn-wasm build; the '
  + "faster build's rate and its share of this machine's SIMD peak; cnn-wasm on 2 threads: its median ms and "
  + "one thread's time over it (gain); each peer's median time over the faster cnn-wasm build's (a 2-thread "
  + "peer's: over cnn-wasm's on 2 threads; above 1x: cnn-wasm is faster; -: not timed); max|Δ|: the largest "
  + "difference of cnn-wasm's outputs from the reference.";

/**
 * The summary printed at the end of a run: one table per (op, dtype), a row per layer (see
 * SUMMARY_LEGEND).
 */
export function summaryTables(report, { maxWidth = 99 } = {}) {
  const peers = peersOf(report);
  const lines = [];
  const dropped = new Set();
  for (const [title, entries] of groupBy(report.results, (e) => `${e.op}, ${e.dtype}`)) {
    const unit = entries[0].unit;
    const col = (header, cell, extra = {}) => ({ header, cells: entries.map(cell), ...extra });
    const { lines: t, dropped: d } = textTable([
      col(['', 'layer'], (e) => e.layer, { left: true }),
      col(['work', unit === 'GFLOP/s' ? 'FLOP' : 'bytes'], (e) => fmtWorkShort(e.work), { drop: 0 }),
      ...OURS.map((n) => col([n.replace('cnn-wasm ', ''), 'ms'], (e) => fmtMs(timed(e, n)?.medianMs))),
      col(['', unit], (e) => sig(best(e)?.rate), { drop: 2 }),
      col(['', 'peak'], (e) => (best(e)?.pctPeak != null ? `${best(e).pctPeak.toFixed(0)}%` : ''), { drop: 1 }),
      col(['2 thr', 'ms'], (e) => fmtMs(timed(e, THREADED)?.medianMs), { drop: 3 }),
      col(['2 thr', 'gain'], (e) => fmtRatio(threadGain(e))),
      ...peers.map((p) => col(p.split(/(?<=-)/), (e) => fmtRatio(ratio(e, p)))),
      col(['', 'max|Δ|'], (e) => fmtDiff(Math.max(...OURS.map((n) => timed(e, n)?.maxAbsDiff ?? 0)))),
    ], { maxWidth });
    d.forEach((h) => dropped.add(h));
    lines.push(title, ...t, '');
  }
  if (dropped.size) lines.push(`(left out to fit ${maxWidth + 1} columns: ${[...dropped].join(', ')}; the results file has them)`, '');
  return lines;
}

// ---------------------------------------------------------------- the verdict

/** The sentence on a training step: its time, the peers that can train and those that cannot, and its ops' share. */
function trainingStep(e) {
  const ours = best(e);
  const build = ours.impl.replace('cnn-wasm ', '');
  const bits = [`A training step (${e.layer}) takes ${fmtMs(ours.medianMs)} ms on cnn-wasm (${build})`];
  for (const x of e.results.filter((r) => !OURS.includes(r.impl) && r.impl !== THREADED)) {
    if (x.medianMs != null) bits.push(`${fmtRatio(x.medianMs / ours.medianMs)} faster than ${x.impl} (${fmtMs(x.medianMs)} ms)`);
    else if (x.note) bits.push(`${x.impl} ${x.note.replace(/^cannot train: /, 'cannot train (')}${x.note.startsWith('cannot train: ') ? ')' : ''}`);
  }
  if (ours.partsMs) bits.push(`the step takes ${fmtRatio(ours.medianMs / ours.partsMs)} the sum of its ops' own times (${fmtMs(ours.partsMs)} ms): the API between them costs that`);
  return `${bits.join('; ')}.`;
}

/** Outputs that differ from their case's reference by more than DISAGREE of its largest value. */
export function disagreements(entries) {
  return entries.flatMap((e) => e.results
    .filter((x) => x.maxAbsDiff != null && e.refScale && x.maxAbsDiff > DISAGREE * e.refScale)
    .map((x) => ({ entry: e, impl: x.impl, diff: x.maxAbsDiff })));
}

const listOps = (ops) => ops.join(', ');

/**
 * One paragraph, generated from the float32 results of `entries`: for each peer, the ops where
 * cnn-wasm (its faster build) is faster, on par or slower, with the range of time ratios over the
 * layers; what the peer does not run; how the plain SIMD build compares to the relaxed one; and how
 * far outputs are from the reference.
 */
export function verdict(report, entries = report.results) {
  const f32 = entries.filter((e) => e.dtype === 'float32' && best(e));
  const sentences = [];
  for (const peer of peersOf(report)) {
    const cases = f32.map((e) => ({ e, r: ratio(e, peer) })).filter((x) => x.r != null);
    if (!cases.length) continue;
    const classes = [['faster', (r) => r >= 1.05], ['on par', (r) => r > 1 / 1.05 && r < 1.05], ['slower', (r) => r <= 1 / 1.05]];
    const layersOf = (op) => f32.filter((e) => e.op === op).length;
    const parts = [];
    for (const [label, test] of classes) {
      const byOp = groupBy(cases.filter((x) => test(x.r)), (x) => x.e.op);
      if (!byOp.size) continue;
      const items = [...byOp].map(([op, xs]) => {
        const of = cases.filter((x) => x.e.op === op).length;
        const part = xs.length < of ? `, ${xs.length} of ${of} layers` : '';
        const inverse = label === 'slower' ? `: ${peer} is ${fmtRange(xs.map((x) => 1 / x.r))} faster` : '';
        return `${op} (${fmtRange(xs.map((x) => x.r))}${part}${inverse})`;
      });
      const all = cases.every((x) => test(x.r));
      const every = cases.length === 1 ? 'in the one case it runs' : cases.length === 2 ? 'in both cases it runs' : `in all ${cases.length} cases it runs`;
      parts.push(all ? `${label} ${every}: ${listOps(items)}` : `${label} on ${listOps(items)}`);
    }
    const notRun = [...groupBy(f32.filter((e) => ratio(e, peer) == null), (e) => e.op)]
      .map(([op, es]) => (es.length < layersOf(op) ? `${op} (${es.length} of ${layersOf(op)} layers)` : op));
    const timedOps = new Set(cases.map((x) => x.e.op));
    // a peer timed on a few ops only (a slow one, outside --full): say where it ran rather than list the rest
    const tail = !notRun.length ? '' : notRun.length > 2 * timedOps.size
      ? `; ${peer} was timed on ${listOps([...timedOps])} only`
      : `; ${peer} is not timed on ${listOps(notRun)}`;
    sentences.push(`Against ${peer}, cnn-wasm is ${parts.join('; ')}${tail}.`);
  }
  for (const e of f32.filter((x) => x.op === 'training step')) sentences.push(trainingStep(e));
  const gains = f32.map((e) => ({ e, r: threadGain(e) })).filter((x) => x.r != null);
  if (gains.length) {
    const byOp = [...groupBy(gains, (x) => x.e.op)].map(([op, xs]) => `${op} ${fmtRange(xs.map((x) => x.r))}`);
    sentences.push(`On 2 threads cnn-wasm runs these times faster than on one: ${listOps(byOp)}.`);
  }
  const builds = f32.map((e) => ({ e, r: timed(e, 'cnn-wasm simd') && timed(e, 'cnn-wasm relaxed') ? timed(e, 'cnn-wasm simd').medianMs / timed(e, 'cnn-wasm relaxed').medianMs : null })).filter((x) => x.r != null);
  if (builds.length) {
    const byUnit = [...groupBy(builds, (x) => x.e.unit)].map(([unit, xs]) => `${fmtRange(xs.map((x) => x.r))} (on the ${unit} rows)`);
    sentences.push(`The plain SIMD build (for engines without relaxed SIMD) takes ${byUnit.join(' and ')} the relaxed build's time.`);
  }
  const diffs = f32.flatMap((e) => OURS.map((n) => timed(e, n)?.maxAbsDiff).filter((d) => d != null));
  if (diffs.length) {
    const refs = [...new Set(f32.map((e) => e.checkedAgainst))].join('; ');
    const odd = disagreements(f32).filter((x) => !OURS.includes(x.impl));
    const ours = disagreements(f32).filter((x) => OURS.includes(x.impl));
    let s = `cnn-wasm's outputs differ from the reference (${refs}) by at most ${fmtDiff(Math.max(...diffs))}`;
    if (ours.length) s += `, but by more than ${DISAGREE} of the largest value in ${listOps(ours.map((x) => `${x.impl} ${x.entry.op} ${x.entry.layer}`))}`;
    if (odd.length) s += `; ${listOps(odd.map((x) => `${x.impl}'s ${x.entry.op} on ${x.entry.layer} differs by ${fmtDiff(x.diff)}`))}`;
    sentences.push(`${s}.`);
  }
  return sentences.join(' ');
}
