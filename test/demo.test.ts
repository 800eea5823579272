// The demo (npm run demo): built by tools/demo.mjs's buildDemo into a temporary folder, served by its
// serveDemo (with the cross-origin isolation headers), opened in headless Chromium. A short run
// (?trainSize=4000&epochs=1) trains one epoch in the page's worker; then a "1" is drawn on the pad
// stroke by stroke with the mouse, and the probability bars must show a prediction; the ONNX button
// downloads the model. No console
// errors, no page errors, no failed requests; a full-page screenshot goes to test-results/demo.png.
// The library is used as `npm test` built it (buildDemo with library: false does not rebuild it).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemo, serveDemo } from '../tools/demo.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
let served: Awaited<ReturnType<typeof serveDemo>>;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cnn-wasm-demo-'));
  await buildDemo({ outDir: dir, library: false, logLevel: 'silent' });
  served = await serveDemo({ dir, port: 0 });
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await served?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every console error, page error and failed request of a page. */
function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`)));
  page.on('requestfailed', (r) => errors.push(`${r.url()}: ${r.failure()?.errorText}`));
  return errors;
}

describe('the demo page in headless Chromium', () => {
  it('trains an epoch in its worker, classifies a drawn "1", and shows filters and feature maps', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = watch(page);
    await page.goto(`${served.url}?trainSize=4000&epochs=1`);
    // one epoch of 125 steps and the 2,000 held-out digits
    await page.waitForFunction(() => document.body.dataset['state'] === 'done', undefined, { timeout: 45_000 });
    const info = await page.evaluate(() => ({
      isolated: globalThis.crossOriginIsolated,
      backend: document.body.dataset['backend'],
      build: document.body.dataset['build'],
      threads: Number(document.body.dataset['threads']),
      epochs: Number(document.body.dataset['epochs']),
      valAccuracy: Number(document.body.dataset['valAccuracy']),
      step: document.getElementById('step')!.textContent,
      filters: document.querySelectorAll('#filters canvas').length,
      layers: [...document.querySelectorAll('#layers .layer')].map((l) => [l.querySelector('h3')!.textContent, l.querySelectorAll('canvas').length]),
    }));
    // the page is cross-origin isolated: the worker's backend runs threads of its own (as many as the cores, at most 8)
    expect(info).toMatchObject({ isolated: true, backend: 'wasm', build: 'relaxed-simd', threads: Math.min(8, availableParallelism()), epochs: 1, step: '125', filters: 16 });
    expect(info.layers).toEqual([
      ['input, 28x28', 1],
      ['after conv2d_1: 16 maps of 28x28', 16],
      ['after maxPool2d_1: 16 maps of 14x14', 16],
      ['after conv2d_2: 32 maps of 10x10', 32],
      ['after maxPool2d_2: 32 maps of 5x5', 32],
    ]);
    // 4,000 digits, one epoch: about 92% held out here (chance is 10%)
    expect(info.valAccuracy).toBeGreaterThan(0.85);

    // a "1": one vertical stroke down the middle of the pad, in small mouse moves
    const pad = (await page.locator('#pad').boundingBox())!;
    const x = pad.x + pad.width / 2;
    await page.mouse.move(x, pad.y + pad.height * 0.15);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(x + i * 0.4, pad.y + pad.height * (0.15 + (0.7 * i) / 20));
    await page.mouse.up();
    await page.waitForFunction(() => Number(document.getElementById('predicted')!.dataset['count']) > 0, undefined, { timeout: 10_000 });
    // the last answer is for the whole stroke: wait until no request is pending
    await page.waitForTimeout(300);
    const predicted = await page.evaluate(() => {
      const bars = [...document.querySelectorAll('#bars li .fill')].map((f) => parseFloat((f as HTMLElement).style.width));
      return { digit: document.getElementById('predicted')!.dataset['class'], bars };
    });
    expect(predicted.digit).toMatch(/^[0-9]$/);
    expect(predicted.bars.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
    expect(predicted.bars.indexOf(Math.max(...predicted.bars))).toBe(Number(predicted.digit));
    // a clean vertical stroke is the easiest digit there is, once the model is any good
    if (info.valAccuracy > 0.9) expect(predicted.digit).toBe('1');

    // download ONNX: cnn-wasm/onnx (onnx-proto) runs in the page on the worker's model.save()
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('#onnx')]);
    expect(download.suggestedFilename()).toBe('cnn-wasm-mnist-step-125.onnx');
    const onnx = readFileSync((await download.path())!);
    // a ModelProto: field 1 (ir_version) first, and the op types in its graph
    expect(onnx[0]).toBe(0x08);
    expect(onnx.length).toBeGreaterThan(21258 * 4);
    for (const op of ['Conv', 'MaxPool', 'Gemm', 'Softmax']) expect(onnx.includes(op), op).toBe(true);
    await page.waitForFunction(() => /^Saved the model of step 125 as ONNX/.test(document.getElementById('message')!.textContent!));

    mkdirSync(join(root, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-results/demo.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('pauses, resumes and resets', async () => {
    const page = await browser.newPage();
    const errors = watch(page);
    await page.goto(`${served.url}?trainSize=2000&epochs=1`);
    await page.waitForFunction(() => document.body.dataset['state'] === 'running', undefined, { timeout: 20_000 });
    const step = () => page.evaluate(() => Number(document.getElementById('step')!.textContent) || 0);
    await page.click('#pause');
    await page.waitForFunction(() => document.body.dataset['state'] === 'paused');
    const paused = await step();
    await page.waitForTimeout(300);
    expect(await step()).toBe(paused);
    await page.click('#resume');
    await page.waitForFunction((s) => Number(document.getElementById('step')!.textContent) > s, paused, { timeout: 10_000 });
    await page.click('#reset');
    await page.waitForFunction(() => document.getElementById('step')!.textContent === '–');
    await page.waitForFunction(() => Number(document.getElementById('step')!.textContent) >= 10, undefined, { timeout: 10_000 });
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);

  it('works without the cross-origin isolation headers too', async () => {
    const plain = await serveDemo({ dir, port: 0, isolation: false });
    try {
      const page = await browser.newPage();
      const errors = watch(page);
      await page.goto(`${plain.url}?trainSize=320&valSize=250&epochs=1`);
      await page.waitForFunction(() => document.body.dataset['state'] === 'done', undefined, { timeout: 20_000 });
      expect(await page.evaluate(() => [globalThis.crossOriginIsolated, document.getElementById('isolated')!.textContent])).toEqual([false, 'no']);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await plain.close();
    }
  }, 30_000);
});
