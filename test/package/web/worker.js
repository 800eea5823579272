// A module worker: runs the convolution on 'wasm' and posts the result (or the error) back.
import { conv, threads } from './conv.js';

Promise.all([conv('wasm'), threads()]).then(
  ([conv, threads]) => postMessage({ result: { conv, threads } }),
  (e) => postMessage({ error: String(e && e.stack ? e.stack : e) }),
);
