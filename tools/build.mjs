// npm run build (also npm's `prepare`, so `npm ci`, `npm pack` and an install from git build too):
//   wasm   assembly/ -> build/wasm/cnn.{simd,relaxed,simd-threads}.wasm (AssemblyScript, asconfig.json)
//   peak   bench/peak/peak.ts -> build/wasm/peak.{simd,relaxed}.wasm (the benchmark's peak probes)
//   embed  build/wasm/cnn.*.wasm -> src/generated/wasm-binaries.ts (tools/embed-wasm.mjs)
//   lib    src/ -> build/lib (tsc; build/lib is emptied first, so no output of a removed source stays)
// A step is skipped when its inputs (file contents, command, compiler version) and its outputs are
// exactly what its last run left: content hashes are kept in build/.stamps/<step>.json. One line per
// step with its time goes to stderr.
//   node tools/build.mjs [--force] [wasm|peak|embed|lib ...]   (no group: all; --force: run every step)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const stampDir = join(root, 'build/.stamps');

/** The path of a package's file and the package's version (part of the inputs of the steps it runs). */
function tool(pkg, file) {
  const manifest = require.resolve(`${pkg}/package.json`);
  return { path: join(dirname(manifest), file), version: `${pkg}@${JSON.parse(readFileSync(manifest, 'utf8')).version}` };
}
const asc = tool('assemblyscript', 'bin/asc.js');
const tsc = tool('typescript', 'bin/tsc');

/** Files under `dir` (relative to the repository root), sorted; none if it does not exist. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(join(root, d), { withFileTypes: true })) {
      const path = `${d}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  if (existsSync(join(root, dir))) walk(dir);
  return out.sort();
}

const hashFile = (path) => createHash('sha256').update(readFileSync(join(root, path))).digest('hex');
const hashInputs = (step) =>
  createHash('sha256')
    .update(JSON.stringify([step.command, step.version, step.inputs().map((p) => [p, hashFile(p)])]))
    .digest('hex');
const outputFiles = (step) => (step.outDir ? filesUnder(step.outDir) : step.outputs);
const hashOutputs = (step) => Object.fromEntries(outputFiles(step).map((p) => [p, existsSync(join(root, p)) ? hashFile(p) : null]));

const ascStep = (name, group, inputDirs, inputFiles, args, outputs) => ({
  name,
  group,
  command: [asc.path, ...args],
  version: asc.version,
  inputs: () => [...inputDirs.flatMap(filesUnder), ...inputFiles],
  outputs,
});
const peakArgs = (features) => ['bench/peak/peak.ts', '--runtime', 'stub', '-O3', '--enable', features, '--use', 'abort='];

const STEPS = [
  ascStep('wasm simd', 'wasm', ['assembly'], ['asconfig.json'], ['assembly/index.ts', '--config', 'asconfig.json', '--target', 'simd'], [
    'build/wasm/cnn.simd.wasm',
    'build/wasm/cnn.simd.wat',
  ]),
  ascStep('wasm relaxed', 'wasm', ['assembly'], ['asconfig.json'], ['assembly/index.ts', '--config', 'asconfig.json', '--target', 'relaxed'], [
    'build/wasm/cnn.relaxed.wasm',
    'build/wasm/cnn.relaxed.wat',
  ]),
  // the same code over a shared memory, as AssemblyScript compiles it: not shipped (the package
  // makes this variant from cnn.simd.wasm); test/threads.test.ts checks the two are the same bytes
  ascStep('wasm simd shared', 'wasm', ['assembly'], ['asconfig.json'], ['assembly/index.ts', '--config', 'asconfig.json', '--target', 'simd-threads'], [
    'build/wasm/cnn.simd-threads.wasm',
  ]),
  ascStep('peak simd', 'peak', ['bench/peak'], [], [...peakArgs('simd'), '-o', 'build/wasm/peak.simd.wasm'], ['build/wasm/peak.simd.wasm']),
  ascStep('peak relaxed', 'peak', ['bench/peak'], [], [...peakArgs('simd,relaxed-simd'), '-o', 'build/wasm/peak.relaxed.wasm'], [
    'build/wasm/peak.relaxed.wasm',
  ]),
  {
    name: 'embed',
    group: 'embed',
    command: ['tools/embed-wasm.mjs'],
    version: '',
    inputs: () => ['tools/embed-wasm.mjs', 'build/wasm/cnn.simd.wasm', 'build/wasm/cnn.relaxed.wasm'],
    outputs: ['src/generated/wasm-binaries.ts'],
  },
  {
    name: 'lib',
    group: 'lib',
    command: [tsc.path, '-p', 'tsconfig.json'],
    version: tsc.version,
    inputs: () => [...filesUnder('src'), 'tsconfig.json'],
    outDir: 'build/lib',
    clean: true,
  },
];

const args = process.argv.slice(2);
const force = args.includes('--force');
const groups = args.filter((a) => !a.startsWith('--'));
for (const g of groups) {
  if (!STEPS.some((s) => s.group === g)) {
    console.error(`build: unknown step '${g}' (wasm, peak, embed, lib)`);
    process.exit(2);
  }
}
const selected = STEPS.filter((s) => groups.length === 0 || groups.includes(s.group));

const stampPath = (step) => join(stampDir, `${step.name.replace(/\W+/g, '-')}.json`);
function upToDate(step, inputs) {
  if (force) return false;
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath(step), 'utf8'));
  } catch {
    return false;
  }
  if (stamp.inputs !== inputs) return false;
  const now = hashOutputs(step);
  const recorded = Object.keys(stamp.outputs);
  return recorded.length > 0 && recorded.length === Object.keys(now).length && recorded.every((p) => now[p] === stamp.outputs[p]);
}

function run(command) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, command, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (e) => resolve({ code: 1, output: output + String(e) }));
    child.on('close', (code, signal) => resolve({ code: code ?? 1, output: output + (signal ? `killed by ${signal}\n` : '') }));
  });
}

const seconds = (t0) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const pad = (name) => name.padEnd(Math.max(...STEPS.map((s) => s.name.length)));

async function runStep(step) {
  const t0 = performance.now();
  const inputs = hashInputs(step);
  if (upToDate(step, inputs)) {
    console.error(`build: ${pad(step.name)}  up to date`);
    return true;
  }
  rmSync(stampPath(step), { force: true });
  if (step.clean) rmSync(join(root, step.outDir), { recursive: true, force: true });
  for (const out of step.outputs ?? []) mkdirSync(dirname(join(root, out)), { recursive: true });
  const { code, output } = await run(step.command);
  const missing = (step.outputs ?? []).filter((p) => !existsSync(join(root, p)));
  if (code !== 0 || missing.length > 0 || (step.outDir && filesUnder(step.outDir).length === 0)) {
    console.error(`build: ${pad(step.name)}  FAILED after ${seconds(t0)} (${relative(root, step.command[0]) || step.command[0]} ${step.command.slice(1).join(' ')})`);
    if (output.trim()) console.error(output.trimEnd());
    if (missing.length > 0) console.error(`build: missing output: ${missing.join(', ')}`);
    return false;
  }
  mkdirSync(stampDir, { recursive: true });
  // inputs are hashed again: a source edited while the step ran makes the next build run it again
  writeFileSync(stampPath(step), JSON.stringify({ inputs: hashInputs(step), outputs: hashOutputs(step) }, null, 1) + '\n');
  console.error(`build: ${pad(step.name)}  ${seconds(t0)}`);
  if (output.trim()) console.error(output.trimEnd());
  return true;
}

/** Runs steps two at a time (the AssemblyScript compiles are independent and single-threaded). */
async function pool(steps, width) {
  const queue = [...steps];
  let ok = true;
  const worker = async () => {
    for (let step = queue.shift(); step && ok; step = queue.shift()) ok = (await runStep(step)) && ok;
  };
  await Promise.all(Array.from({ length: Math.min(width, steps.length) }, worker));
  return ok;
}

const t0 = performance.now();
const compiles = selected.filter((s) => s.group === 'wasm' || s.group === 'peak');
const rest = selected.filter((s) => !compiles.includes(s));
let ok = await pool(compiles, 2);
for (const step of rest) ok = ok && (await runStep(step));
if (!ok) {
  console.error('build: failed');
  process.exit(1);
}
console.error(`build: done in ${seconds(t0)}`);
