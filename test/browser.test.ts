// Browser smoke test: the built package (build/lib), imported by a page served from localhost, natively
// (an import map) and bundled (esbuild, resolving 'cnn-wasm' through package.json "exports"), runs
// convForward on 'wasm' and 'js' in headless Chromium (Debian's chromium, driven by playwright-core);
// the two agree within the derived bound. Threads: a cross-origin isolated page runs 2 (the main
// thread spinning while it waits), a page without the headers runs 1 without an error. CI installs
// chromium (.ci/run); CHROMIUM_PATH picks another.
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
    // ?isolated: the page is served cross-origin isolated (its subresources are same-origin)
    const isolation = new URL(req.url ?? '/', 'http://localhost').searchParams.has('isolated')
      ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream', ...isolation }).end(body);
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

  it.each([
    ['cross-origin isolated (COOP same-origin, COEP require-corp): 2 threads', true],
    ['without the isolation headers: 1 thread, no error, and a note saying why', false],
  ])('threads on a page %s; the same bits as 1 thread, and agreeing with js', async (_title, isolated) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${origin}/test/browser/threads.html${isolated ? '?isolated' : ''}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    expect(errors).toEqual([]);
    expect(result['error']).toBeUndefined();
    expect(result['isolated']).toBe(isolated);
    expect(result['threads']).toBe(isolated ? 2 : 1);
    if (isolated) expect(result['note']).toBeNull();
    else expect(result['note']).toMatch(/SharedArrayBuffer.*cross-origin isolated/);
    expect(result['same']).toBe(true);
    expectWithin(result['wasm'] as number[], result['js'] as number[], sumBound(result['mag'] as number[], 3 * 3 * 16 + 1, 'float32'), 'wasm (2 threads) vs js');
    await page.close();
  });

  it("fromPixels reads ImageData, canvases, an ImageBitmap and an <img> exactly; toPixels draws (min-max or a range), on 'wasm' and 'js'", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/test/browser/pixels.html`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    expect(errors).toEqual([]);
    expect(result['error']).toBeUndefined();
    const bytes = result['bytes'] as number[];
    const W = 5, H = 4;
    const channel = (c: number, k: number[]) => Array.from({ length: W * H }, (_, p) => k.map((j) => bytes[4 * p + j]! * c)).flat();
    for (const name of ['wasm', 'js']) {
      const r = result[name] as Record<string, unknown>;
      const got = r['got'] as Record<string, Record<string, { shape: number[]; data: number[] }>>;
      for (const kind of ['imageData', 'canvas', 'offscreen', 'bitmap', 'img']) {
        const g = got[kind]!;
        expect(g['rgb']!.shape, `${name} ${kind}`).toEqual([1, H, W, 3]);
        // bytes / 255 as float32 holds them, exactly
        expect(g['rgb']!.data, `${name} ${kind} rgb`).toEqual(Array.from(Float32Array.from(channel(1 / 255, [0, 1, 2]))));
        expect(g['gray']!.data, `${name} ${kind} first channel, scale 1`).toEqual(channel(1, [0]));
        expect(g['rgba']!.shape, `${name} ${kind}`).toEqual([1, H, W, 4]);
        expect(g['rgba']!.data, `${name} ${kind} rgba float64`).toEqual(channel(1 / 255, [0, 1, 2, 3]));
      }
      // the ramp -7 .. 52 drawn min-max: value v as round((v + 7) * 255 / 59)
      const drawn = r['drawn'] as { width: number; height: number; data: number[] };
      expect([drawn.width, drawn.height]).toEqual([W, H]);
      const want = Array.from({ length: W * H }, (_, p) => [0, 1, 2].map((k) => Math.round((3 * p + k) * 255 / 59)).concat(255)).flat();
      expect(drawn.data).toEqual(want);
      // gray i / 10 over the range [0, 1]: round(i / 10 * 255), clamped at 255; the canvas holds the same
      const onCanvas = r['onCanvas'] as { width: number; height: number; data: number[]; readBack: number[] };
      expect([onCanvas.width, onCanvas.height]).toEqual([W, H]);
      const grayWant = Array.from({ length: W * H }, (_, i) => Math.min(255, Math.round(Math.fround(i / 10) * 255))).flatMap((v) => [v, v, v, 255]);
      expect(onCanvas.data).toEqual(grayWant);
      expect(onCanvas.readBack).toEqual(grayWant);
      expect(r['balanced']).toBe(true);
    }
    await page.close();
  });
});

