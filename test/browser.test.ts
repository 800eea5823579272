// Browser smoke test: the built package (build/lib), imported by a page served from localhost, natively
// (an import map) and bundled (esbuild, resolving 'cnn-wasm' through package.json "exports"), runs
// convForward on 'wasm' and 'js' in headless Chromium (Debian's chromium, driven by playwright-core);
// the two agree within the derived bound. CI installs chromium (.ci/run); CHROMIUM_PATH picks another.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectWithin, sumBound } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json', '.wasm': 'application/wasm' };
let server: Server;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  await build({
    entryPoints: [join(root, 'test/browser/smoke.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(root, 'build/test-bundle/smoke.js'),
    logLevel: 'error',
  });
  server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
    if (!path.startsWith('/build/') && !path.startsWith('/test/browser/')) return void res.writeHead(404).end();
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('in headless Chromium', () => {
  it.each([
    ['a plain page with native ES modules', 'page.html'],
    ['a page whose script esbuild bundled', 'bundled.html'],
  ])("%s imports 'cnn-wasm'; convForward on 'wasm' and 'js' agree", async (_title, file) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/test/browser/${file}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    expect(errors).toEqual([]);
    expect(result['error']).toBeUndefined();
    // Chromium validates relaxed SIMD, so 'auto' picks that build
    expect(result['build']).toBe('relaxed-simd');
    const wasm = result['wasm'] as { shape: number[]; data: number[]; mag: number[] };
    const js = result['js'] as { shape: number[]; data: number[]; mag: number[] };
    expect(wasm.shape).toEqual([2, 6, 9, 7]);
    expect(js.shape).toEqual(wasm.shape);
    expectWithin(wasm.data, js.data, sumBound(js.mag, 3 * 3 * 5 + 1, 'float32'), 'wasm vs js in the browser');
    await page.close();
  });
});
