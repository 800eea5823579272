// The page: the convolution on 'wasm' on the main thread, then the same in a module worker; the
// outcome goes to window.result for test/package.test.ts to read.
import { conv, threads } from './conv.js';

function inWorker() {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => {
      worker.terminate();
      if (e.data.error) reject(new Error(`worker: ${e.data.error}`));
      else resolve(e.data.result);
    };
    worker.onerror = (e) => reject(new Error(`worker: ${e.message || 'failed to load'}`));
  });
}

Promise.all([conv('wasm'), inWorker(), threads()]).then(
  ([main, worker, mainThreads]) => (window.result = { main, worker: worker.conv, threads: { main: mainThreads, worker: worker.threads } }),
  (e) => (window.result = { error: String(e && e.stack ? e.stack : e) }),
);
