// Stands in for 'cnn-wasm/onnx' when build/lib/onnx/index.js does not exist yet (vite.config.mjs
// picks it): the "download ONNX" button then says so instead of the build failing.
export function toONNX(): Uint8Array {
  throw new Error("cnn-wasm/onnx is not in this build of the library (build/lib/onnx/index.js is missing)");
}
