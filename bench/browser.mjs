// npm run bench:browser: conv forward in headless Chromium, cnn-wasm against tfjs-wasm's XNNPACK
// backend on 1 and 2 threads. tfjs-wasm's threaded build (pthreads over SharedArrayBuffer) runs only
// in a cross-origin isolated page, not in Node: this serves the page with COOP/COEP and reports
// whether tfjs-wasm did take its threaded build and how many threads it runs. Each thread count
// runs in a fresh page (tfjs fixes its thread count when its backend starts). 9 alternating rounds
// of 150 ms a layer (--quick: 1 of 1 ms, for the smoke test); prints a table and writes
// bench/out/browser.json (--out elsewhere). CHROMIUM_PATH picks a browser other than /usr/bin/chromium.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveDemo } from '../tools/demo.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(root, 'bench/out/browser.json');
const [ROUNDS, ROUND_MS, WARMUP] = quick ? [1, 1, 1] : [9, 150, 3];

// the page, its bundle and tfjs-wasm's .wasm files in one directory, served cross-origin isolated
// by the demo's server
const site = join(root, 'build/bench-browser');
await build({
  entryPoints: [join(root, 'bench/browser/page.js')], bundle: true, format: 'esm', platform: 'browser',
  outfile: join(site, 'page.js'), logLevel: 'error',
});
await copyFile(join(root, 'bench/browser/page.html'), join(site, 'index.html'));
const tfjsWasm = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
await mkdir(join(site, 'tfjs'), { recursive: true });
for (const file of (await readdir(tfjsWasm)).filter((f) => f.endsWith('.wasm'))) await copyFile(join(tfjsWasm, file), join(site, 'tfjs', file));
const server = await serveDemo({ dir: site, port: 0, isolation: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const runs = [];
try {
  for (const threads of [1, 2]) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    // tfjs-wasm sizes its thread pool as navigator.hardwareConcurrency / 2 (it takes every core for
    // two hyperthreads), at most the count it is given: on this machine's 2 vCPUs that is 1. The page
    // reports twice the cores, so that setThreadsCount(2) does give it 2 threads.
    await page.addInitScript(() => {
      const cores = navigator.hardwareConcurrency;
      Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 2 * cores });
    });
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.runBench === 'function');
    console.log(`running on ${threads} thread${threads > 1 ? 's' : ''} (${ROUNDS} alternating round${ROUNDS > 1 ? 's' : ''} of ${ROUND_MS} ms a layer)...`);
    runs.push(await page.evaluate(([t, r, ms, w]) => window.runBench(t, r, ms, w), [threads, ROUNDS, ROUND_MS, WARMUP]));
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
const version = browser.version?.() ?? '';
const [one, two] = runs;
console.log(`\nChromium ${version}; page cross-origin isolated: ${two.crossOriginIsolated}; tfjs-wasm threaded build: ${two.tfjsThreaded ? 'yes' : 'no'}, threads ${one.tfjsThreads} and ${two.tfjsThreads}; cnn-wasm build ${two.cnnWasm.build}, ${two.cnnWasm.threads} threads`);
const pad = (s, n) => String(s).padStart(n);
console.log(`\n${'conv forward, float32'.padEnd(30)}${pad('cnn-wasm 1t', 13)}${pad('tfjs-wasm 1t', 14)}${pad('ratio', 8)}${pad('cnn-wasm 2t', 13)}${pad('tfjs-wasm 2t', 14)}${pad('ratio', 8)}${pad('ours 2t/1t', 12)}${pad('tfjs 2t/1t', 12)}`);
for (let i = 0; i < one.results.length; i++) {
  const a = one.results[i], b = two.results[i];
  const ms = (v) => `${v.toFixed(3)} ms`;
  console.log(`${a.layer.padEnd(30)}${pad(ms(a.cnnWasmMs), 13)}${pad(ms(a.tfjsWasmMs), 14)}${pad(`${(a.tfjsWasmMs / a.cnnWasmMs).toFixed(2)}x`, 8)}`
    + `${pad(ms(b.cnnWasmMs), 13)}${pad(ms(b.tfjsWasmMs), 14)}${pad(`${(b.tfjsWasmMs / b.cnnWasmMs).toFixed(2)}x`, 8)}`
    + `${pad(`${(a.cnnWasmMs / b.cnnWasmMs).toFixed(2)}x`, 12)}${pad(`${(a.tfjsWasmMs / b.tfjsWasmMs).toFixed(2)}x`, 12)}`);
}
console.log('\nratio: tfjs-wasm time over cnn-wasm time (above 1x cnn-wasm is faster); medians of alternating rounds');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, JSON.stringify({ chromium: version, runs }, null, 2));
console.log(`wrote ${out}`);
