// Vite config of the demo (tools/demo.mjs builds with it; `npx vite demo` serves it for development
// once `npm run demo -- --no-serve` has written public/digits.bin). 'cnn-wasm' is the repository's
// build/lib, the package as users get it (CNN_WASM_LIB=<dir> names another build of it); 'cnn-wasm/onnx'
// its ONNX export, or a stand-in that says it is not built yet.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const lib = join(process.env.CNN_WASM_LIB ? resolve(process.env.CNN_WASM_LIB) : fileURLToPath(new URL('../build/lib', import.meta.url)), '/');
const onnx = `${lib}onnx/index.js`;
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  resolve: {
    alias: [
      { find: /^cnn-wasm$/, replacement: `${lib}index.js` },
      { find: /^cnn-wasm\/onnx$/, replacement: existsSync(onnx) ? onnx : fileURLToPath(new URL('./onnx-missing.ts', import.meta.url)) },
    ],
  },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 1024 },
  server: { headers: isolation },
  preview: { headers: isolation },
});
