// The benchmark keeps working: small cases through bench/run.mjs --json, every implementation
// present, timed, and compared with the js reference. Nothing about speed or accuracy is asserted
// here: speed lives in `npm run bench`, accuracy in test/accuracy.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm run bench', () => {
  it('runs a case against every peer and writes its JSON', () => {
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/run.mjs', '--json', '--quick', '--only', 'conv forward seed 2x5x7x4 k3 to 8 s2 p1 float32'], {
      cwd: root, encoding: 'utf8', maxBuffer: 1 << 26,
    });
    const report = JSON.parse(out);
    expect(report.peaks.simd.peak).toBeGreaterThan(0);
    expect(report.results).toHaveLength(1);
    const [result] = report.results;
    const impls = result.results.map((r: { impl: string }) => r.impl);
    expect(impls).toEqual(['cnn-wasm relaxed', 'cnn-wasm simd', 'tfjs-wasm', 'tfjs-cpu', 'ort-web', 'ort-node', 'cnn-wasm js']);
    for (const r of result.results) {
      expect(r.medianMs, r.impl).toBeGreaterThan(0);
      expect(Number.isFinite(r.maxAbsDiffVsJs), r.impl).toBe(true);
    }
  });

  it('times the gradients as the peers split them, and says which peer has no kernel', () => {
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', 'bench/run.mjs', '--json', '--quick', '--only', 'gradient seed 2x5x7x4 k3 to 8 s2 p1 float32'], {
      cwd: root, encoding: 'utf8', maxBuffer: 1 << 26,
    });
    const report = JSON.parse(out);
    expect(report.results.map((r: { op: string }) => r.op)).toEqual(['conv input gradient', 'conv filter gradient']);
    const [input, filter] = report.results;
    const timed = (r: { results: { impl: string; medianMs: number | null }[] }) => r.results.filter((x) => x.medianMs != null).map((x) => x.impl);
    expect(timed(input)).toEqual(['cnn-wasm relaxed', 'cnn-wasm simd', 'tfjs-wasm', 'tfjs-cpu', 'cnn-wasm js']);
    expect(timed(filter)).toEqual(['cnn-wasm relaxed', 'cnn-wasm simd', 'tfjs-cpu', 'cnn-wasm js']);
    const missing = filter.results.find((x: { impl: string }) => x.impl === 'tfjs-wasm');
    expect(missing.note).toMatch(/no Conv2DBackpropFilter kernel/);
  });
});
