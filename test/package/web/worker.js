// A module worker: runs the convolution on 'wasm' and posts the result (or the error) back.
import { conv } from './conv.js';

conv('wasm').then(
  (result) => postMessage({ result }),
  (e) => postMessage({ error: String(e && e.stack ? e.stack : e) }),
);
