// The benchmark keeps working: small cases through bench/run.mjs (--quick, --only), every
// implementation present, timed, and checked against the reference. Nothing about speed is asserted
// here (speed lives in `npm run bench`), and accuracy only as far as it shows the benchmark compares
// like with like (accuracy lives in test/accuracy).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cnn-wasm-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result { impl: string; medianMs: number | null; maxAbsDiff: number | null; note: string | null }
interface Entry { op: string; layer: string; checkedAgainst: string; results: Result[] }

/** bench/run.mjs with `args`, its results written to a file of its own: { stdout, stderr, report }. */
function bench(name: string, ...args: string[]) {
  const out = join(dir, `${name}.json`);
  const run = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/run.mjs', '--quick', '--out', out, ...args], {
    cwd: root, encoding: 'utf8', maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`bench/run.mjs ${args.join(' ')} failed:\n${run.stderr}`);
  expect(run.stderr).not.toMatch(/Hi, looks like you are running TensorFlow\.js/);
  expect(run.stderr).not.toMatch(/\[W:onnxruntime/);
  return { stdout: run.stdout, stderr: run.stderr, report: JSON.parse(readFileSync(out, 'utf8')) as { peaks: { simd: { peak: number } }; results: Entry[] } };
}
const timed = (e: Entry) => e.results.filter((x) => x.medianMs != null).map((x) => x.impl);

describe('npm run bench', () => {
  it('--full runs a case against every peer and the js reference, and --json prints its results', () => {
    const { stdout, report } = bench('full', '--json', '--full', '--only', 'conv forward seed 2x5x7x4 k3 to 8 s2 p1 float32');
    expect(JSON.parse(stdout)).toEqual(report);
    expect(report.peaks.simd.peak).toBeGreaterThan(0);
    expect(report.results).toHaveLength(1);
    const [result] = report.results;
    expect(result.checkedAgainst).toBe('cnn-wasm js');
    expect(timed(result)).toEqual(['cnn-wasm relaxed', 'cnn-wasm simd', 'cnn-wasm 2 threads', 'tfjs-wasm', 'tfjs-cpu', 'ort-web', 'ort-node', 'ort-web 2 threads', 'cnn-wasm js']);
    for (const r of result.results) {
      expect(r.medianMs, r.impl).toBeGreaterThan(0);
      if (r.impl !== 'cnn-wasm js') expect(Number.isFinite(r.maxAbsDiff), r.impl).toBe(true);
    }
  });

  it('--full times the gradients as the peers split them, and says which peer has no kernel', () => {
    const { report } = bench('gradients', '--json', '--full', '--only', 'gradient seed 2x5x7x4 k3 to 8 s2 p1 float32');
    expect(report.results.map((r) => r.op)).toEqual(['conv input gradient', 'conv filter gradient']);
    const [input, filter] = report.results;
    expect(timed(input)).toEqual(['cnn-wasm relaxed', 'cnn-wasm simd', 'cnn-wasm 2 threads', 'tfjs-wasm', 'tfjs-cpu', 'cnn-wasm js']);
    expect(timed(filter)).toEqual(['cnn-wasm relaxed', 'cnn-wasm simd', 'cnn-wasm 2 threads', 'tfjs-cpu', 'cnn-wasm js']);
    expect(filter.results.find((x) => x.impl === 'tfjs-wasm')?.note).toMatch(/no Conv2DBackpropFilter kernel/);
  });

  it('a default run checks conv outputs against tfjs-wasm (dW as a dilated conv2d where it has no kernel)', () => {
    const { report } = bench('conv', '--only', 'seed 2x5x7x4 k3 to 8 s2 p1 float32');
    const conv = report.results.filter((r) => r.op.startsWith('conv '));
    expect(conv.map((r) => r.op)).toEqual(['conv forward', 'conv backward', 'conv input gradient', 'conv filter gradient']);
    for (const e of conv) {
      expect(e.checkedAgainst, e.op).toMatch(/^tfjs-wasm/);
      for (const impl of ['cnn-wasm relaxed', 'cnn-wasm simd', 'cnn-wasm 2 threads']) {
        expect(e.results.find((x) => x.impl === impl)?.maxAbsDiff, `${e.op} ${impl}`).toBeLessThan(1e-4);
      }
      expect(timed(e)).not.toContain('cnn-wasm js');
      expect(timed(e)).not.toContain('tfjs-cpu');
    }
  });

  it('a default run prints a compact summary, a verdict and progress, and writes its results file', () => {
    const { stdout, stderr, report } = bench('pool', '--only', 'max pool forward 1x56x56x64 f3 s2 float32');
    expect(timed(report.results[0])).toEqual(['cnn-wasm relaxed', 'cnn-wasm simd', 'cnn-wasm 2 threads', 'tfjs-wasm', 'ort-web', 'ort-node']);
    expect(report.results[0].checkedAgainst).toMatch(/^cnn-wasm js, one untimed call/);
    expect(stderr).toMatch(/case 1 of 1: max pool forward, 1x56x56x64 f3 s2, float32/);
    expect(stdout).toMatch(/outputs checked against: /);
    expect(stdout).toMatch(/^max pool forward, float32$/m);
    expect(stdout.replace(/\s+/g, ' ')).toMatch(/Verdict .*Against tfjs-wasm, cnn-wasm is /);
    expect(stdout).not.toMatch(/0\.0000/);
    for (const line of stdout.split('\n')) expect(line.length, line).toBeLessThan(100);
  });
});

describe('npm run bench:browser', () => {
  it('runs conv forward in Chromium against tfjs-wasm on its threaded build, 1 and 2 threads each', () => {
    const out = join(dir, 'browser.json');
    const run = spawnSync(process.execPath, ['bench/browser.mjs', '--quick', '--out', out], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/tfjs-wasm threaded build: yes, threads 1 and 2; cnn-wasm build relaxed-simd, 2 threads/);
    const { runs } = JSON.parse(readFileSync(out, 'utf8')) as { runs: { threads: number; results: { cnnWasmMs: number; tfjsWasmMs: number }[] }[] };
    expect(runs.map((r) => r.threads)).toEqual([1, 2]);
    for (const r of runs) {
      expect(r.results).toHaveLength(3);
      for (const x of r.results) expect(x.cnnWasmMs > 0 && x.tfjsWasmMs > 0).toBe(true);
    }
  });
});
