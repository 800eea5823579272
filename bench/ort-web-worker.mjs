// The benchmark's 2-thread onnxruntime-web (bench/impls.mjs, ortWebThreadsImpl): onnxruntime-web
// takes its thread count once per process, so this worker has its own. Messages { id, type, ... }:
// ping; create (a model, its input) -> session; run; result -> y; release. Each reply carries the id.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = workerData.numThreads;
ort.env.logLevel = 'error';
const sessions = new Map();
let next = 1;

parentPort.on('message', async ({ id, type, ...m }) => {
  try {
    if (type === 'ping') return parentPort.postMessage({ id });
    if (type === 'create') {
      // its default session options: its intra-op threads poll for work for a while after a run, as
      // cnn-wasm's workers do (the harness lets both settle before the next impl's round)
      const session = await ort.InferenceSession.create(m.model, {
        executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3,
      });
      const key = next++;
      sessions.set(key, { session, feeds: { x: new ort.Tensor('float32', m.x, m.shape) } });
      return parentPort.postMessage({ id, session: key });
    }
    const s = sessions.get(m.session);
    if (type === 'run') {
      await s.session.run(s.feeds);
      return parentPort.postMessage({ id });
    }
    if (type === 'result') {
      const y = Float32Array.from((await s.session.run(s.feeds)).y.data);
      return parentPort.postMessage({ id, y }, [y.buffer]);
    }
    if (type === 'release') {
      await s.session.release();
      sessions.delete(m.session);
      return parentPort.postMessage({ id });
    }
    throw new Error(`unknown message ${type}`);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e?.stack ?? e) });
  }
});
