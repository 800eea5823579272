// Runs a TypeScript example as a user of the package would: esbuild bundles the example's own code
// into build/examples/ (packages stay imports, so 'cnn-wasm' is this package's build/lib through its
// package.json exports), then Node runs it with relaxed SIMD enabled (Node 20 needs the flag; later
// Nodes and Chromium have it), passing on the remaining arguments.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';

const [example, ...args] = process.argv.slice(2);
if (!example) {
  console.error('usage: node tools/run-example.mjs examples/<name>.ts [arguments]');
  process.exit(2);
}
const outfile = join('build', 'examples', basename(example).replace(/\.ts$/, '.mjs'));
await build({ entryPoints: [example], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
const flags = process.versions.node.split('.')[0] === '20' ? ['--experimental-wasm-relaxed-simd'] : [];
const run = spawnSync(process.execPath, [...flags, outfile, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
