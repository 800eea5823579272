// The package as a user gets it: `npm pack` (which runs `prepare`, the incremental build), then the
// tarball installed into a fresh project in the system's temp folder (from npm's cache; the
// registry is asked only for what the cache lacks, onnx-proto's packages after a plain npm ci), and there
//   - the tarball's contents: the built library, README, LICENSE and BENCHMARKS.md; no source maps,
//     no TypeScript sources, no base64 in a declaration file;
//   - Node: `import` and `require()` of 'cnn-wasm'; convForward on 'wasm' and 'js' agree;
//   - TypeScript (strict, skipLibCheck off): the README's quick start and the dtype-generic types
//     (test/package/quickstart.ts) under moduleResolution node16 and bundler; the node16 output runs;
//   - Vite: a page (test/package/web/) built with this repository's Vite, served from 127.0.0.1 and
//     run in headless Chromium, computes a known convolution on 'wasm' on the main thread and in a
//     module worker; served cross-origin isolated, its threads ('auto') start from the bundle and
//     give the bits of one thread, in both places.
// The TypeScript compiler and Vite are this repository's (devDependencies); the temp project gets
// the tarball and its one dependency (onnx-proto, for cnn-wasm/onnx). The temp folder is removed afterwards.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectWithin } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(repo, 'test/package');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string; version: string };

// Children get the environment without what `npm test` and vitest add: npm_config_local_prefix and
// its kin would point npm at this repository instead of the temp project, NODE_ENV=test would change
// Vite's build.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm_|vitest|node_env$|node_options$|init_cwd$|cnn_wasm_)/i.test(k)),
);

interface Ran {
  stdout: string;
  stderr: string;
}
function run(file: string, args: string[], cwd: string, timeout = 240_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}
const node = (args: string[], cwd: string) => run(process.execPath, args, cwd);

let tmp: string;
let app: string;
let files: string[];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cnn-wasm-package-'));
  await run('npm', ['pack', '--pack-destination', tmp], repo);
  const tarball = `${pkg.name}-${pkg.version}.tgz`;
  expect(readdirSync(tmp)).toEqual([tarball]);
  files = (await run('tar', ['-tzf', join(tmp, tarball)], tmp)).stdout.split('\n').filter(Boolean);

  app = join(tmp, 'app');
  cpSync(fixtures, app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'cnn-wasm-consumer', private: true, type: 'module' }, null, 2));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `../${tarball}`], app);
}, 300_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the built library, README, LICENSE and BENCHMARKS.md, and nothing else', () => {
    const top = ['package/package.json', 'package/README.md', 'package/LICENSE', 'package/BENCHMARKS.md'];
    expect(files).toEqual(expect.arrayContaining([...top, 'package/build/lib/index.js', 'package/build/lib/index.d.ts']));
    const others = files.filter((f) => !top.includes(f));
    expect(others.filter((f) => !/^package\/build\/lib\/.+(\.js|\.d\.ts)$/.test(f)), 'files outside build/lib/*.js, *.d.ts').toEqual([]);
    // every module that a .js imports is in the package
    for (const f of others.filter((f) => f.endsWith('.js'))) {
      const js = readFileSync(join(app, 'node_modules/cnn-wasm', f.slice('package/'.length)), 'utf8');
      expect(js, f).not.toMatch(/sourceMappingURL/);
      for (const [, spec] of js.matchAll(/\bfrom\s+'(\.[^']+)'/g)) {
        expect(files, `${f} imports ${spec}`).toContain(join('package', f.slice('package/'.length), '..', spec!).split(sep).join('/'));
      }
    }
  });

  it('has no base64 (no long literal type) in any declaration file', () => {
    for (const f of files.filter((f) => f.endsWith('.d.ts'))) {
      const dts = readFileSync(join(app, 'node_modules/cnn-wasm', f.slice('package/'.length)), 'utf8');
      expect(dts.match(/[A-Za-z0-9+/=]{200,}/)?.[0].slice(0, 40), f).toBeUndefined();
    }
  });

  it.each([
    ['imported from Node ESM', 'node/esm.mjs'],
    ['require()d from CommonJS', 'node/require.cjs'],
  ])("%s: a known convolution, and 'wasm' and 'js' agree", async (_title, script) => {
    const { stdout, stderr } = await node([script], app);
    expect(stderr).toBe('');
    type Out = { build: string; known: number[]; shape: number[]; data: number[]; dataIsFloat32Array: boolean; tensorsLeft: number };
    const { wasm, js } = JSON.parse(stdout) as { wasm: Out; js: Out };
    expect(wasm.build).toBe('simd'); // Node 20 validates relaxed SIMD only with a flag
    expect(js.build).toBe('scalar');
    for (const r of [wasm, js]) {
      expect(r.known).toEqual([12.5, 16.5, 24.5, 28.5]);
      expect(r.shape).toEqual([2, 3, 5, 7]);
      expect(r.dataIsFloat32Array).toBe(true);
      expect(r.tensorsLeft).toBe(0);
    }
    // 46 terms (3x3x5 products and the bias), each of magnitude at most 1
    expectWithin(wasm.data, js.data, 46 * 46 * 2 ** -23, 'wasm vs js');
  });
});

describe('TypeScript', () => {
  it("test/package/quickstart.ts holds the README's quick start", () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const fromReadme = /^## Quick start\n[\s\S]*?```js\n([\s\S]*?)```/m.exec(readme)?.[1];
    const fromFixture = /\/\/ --- README quick start ---\n([\s\S]*?)\/\/ --- end of README quick start ---/.exec(
      readFileSync(join(fixtures, 'quickstart.ts'), 'utf8'),
    )?.[1];
    expect(fromReadme, 'the README has a "## Quick start" section with a js code block').toBeDefined();
    expect(fromFixture, 'the README example changed: copy it into test/package/quickstart.ts').toBe(fromReadme);
  });

  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  it('the quick start and the dtype-generic types check under moduleResolution node16, and run', async () => {
    await node([tsc, '-p', 'tsconfig.node16.json'], app);
    const { stdout, stderr } = await node(['out/quickstart.js'], app);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^\[ 2, 3, 4, 8 \] Float32Array\(288\) \[/);
    expect(stdout).toMatch(/^float64 \[ 2\.5, 4\.5, 6\.5, 8\.5 \] 12$/m);
  });

  it('the quick start and the dtype-generic types check under moduleResolution bundler', async () => {
    await node([tsc, '-p', 'tsconfig.bundler.json'], app);
  });

  it('the types need no DOM and no Node types (lib ES2022 alone)', async () => {
    await node([tsc, '-p', 'tsconfig.nodom.json'], app);
  });

  it("toONNX from 'cnn-wasm/onnx' checks under node16 and bundler, and runs in Node ESM", async () => {
    writeFileSync(join(app, 'onnx.ts'), [
      "import { createBackend, nn } from 'cnn-wasm';",
      "import { toONNX, type ToONNXOptions } from 'cnn-wasm/onnx';",
      "const model = nn.sequential(await createBackend('js'), [nn.flatten(), nn.dense({ units: 2 })], { inputShape: [2, 2, 1] });",
      'const options: ToONNXOptions = { opset: 17 };',
      'const bytes: Uint8Array = toONNX(model, options);',
      'console.log(bytes.constructor.name, toONNX(model.save()).length === bytes.length);',
    ].join('\n'));
    for (const base of ['node16', 'bundler']) {
      writeFileSync(join(app, `tsconfig.onnx.${base}.json`), JSON.stringify({ extends: `./tsconfig.${base}.json`, files: ['onnx.ts'] }));
      await node([tsc, '-p', `tsconfig.onnx.${base}.json`], app);
    }
    const { stdout, stderr } = await node(['out/onnx.js'], app);
    expect(stderr).toBe('');
    expect(stdout).toBe('Uint8Array true\n');
  });
});

describe('a page built with Vite, in headless Chromium', () => {
  const servers: Server[] = [];
  let browser: Browser;
  let origin: string, isolatedOrigin: string;
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

  beforeAll(async () => {
    await node([join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], join(app, 'web'));
    const dist = join(app, 'web/dist');
    // two servers of the same files: the second sends the cross-origin isolation headers on every
    // response (a worker's script needs them too), so threads can run there
    const serve = async (headers: Record<string, string>) => {
      const s = createServer(async (req, res) => {
        let path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
        if (path.endsWith('/')) path += 'index.html';
        const file = join(dist, path);
        if (!file.startsWith(dist + sep)) return void res.writeHead(404).end();
        const body = await readFile(file).catch(() => null);
        if (!body) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', ...headers }).end(body);
      });
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      servers.push(s);
      const address = s.address();
      return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    };
    origin = await serve({});
    isolatedOrigin = await serve({ 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
  });

  it.each([
    ['', 1],
    [' served cross-origin isolated, with threads', Math.min(8, availableParallelism())],
  ])("convForward on 'wasm' gives the known result on the main thread and in a module worker%s", async (title, threads) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`)));
    page.on('requestfailed', (r) => errors.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(`${title ? isolatedOrigin : origin}/`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    await page.close();
    expect(errors).toEqual([]);
    expect(result['error']).toBeUndefined();
    for (const where of ['main', 'worker']) {
      expect(result[where], where).toEqual({ backend: 'wasm', build: 'relaxed-simd', shape: [1, 2, 2, 1], data: [12.5, 16.5, 24.5, 28.5] });
      // the workers of threads: 'auto' start from the bundle as they are (an inline source): as many as the cores here
      expect((result['threads'] as Record<string, unknown>)[where], `${where} threads`).toEqual({ threads, same: true });
    }
  });
});
