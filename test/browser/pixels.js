// The pixels page's script: fromPixels from every kind of source and toPixels onto a canvas, on
// 'wasm' and 'js'; it leaves what it read and drew on window.result for test/browser.test.ts.
import { createBackend } from 'cnn-wasm';

const W = 5, H = 4;
/** A known image: byte k of pixel p is (37 p + 59 k) mod 256, alpha 255. */
function knownImage() {
  const bytes = new Uint8ClampedArray(4 * W * H);
  for (let p = 0; p < W * H; p++) {
    for (let k = 0; k < 3; k++) bytes[4 * p + k] = (37 * p + 59 * k) % 256;
    bytes[4 * p + 3] = 255;
  }
  return new ImageData(bytes, W, H);
}

async function run() {
  const image = knownImage();
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  canvas.getContext('2d').putImageData(image, 0, 0);
  const offscreen = new OffscreenCanvas(W, H);
  offscreen.getContext('2d').putImageData(image, 0, 0);
  const bitmap = await createImageBitmap(image);
  const img = new Image();
  img.src = canvas.toDataURL('image/png');
  await img.decode();
  const out = { bytes: Array.from(image.data) };
  for (const name of ['wasm', 'js']) {
    const be = await createBackend(name);
    const before = be.memory();
    const read = (source, options) => {
      const t = be.fromPixels(source, options);
      const r = { shape: t.shape, data: Array.from(t.data) };
      t.dispose();
      return r;
    };
    const sources = { imageData: image, canvas, offscreen, bitmap, img };
    const got = {};
    for (const [kind, source] of Object.entries(sources)) {
      got[kind] = { rgb: read(source), gray: read(source, { channels: 1, scale: 1 }), rgba: read(source, { channels: 4, dtype: 'float64' }) };
    }
    // toPixels: a (h, w, 3) ramp drawn min-max scaled, and a (1, h, w, 1) one with a range, onto a canvas
    const ramp = be.tensor([H, W, 3], Array.from({ length: H * W * 3 }, (_, i) => i - 7));
    const drawn = be.toPixels(ramp);
    const target = document.getElementById('drawn');
    const gray = be.tensor([1, H, W, 1], Array.from({ length: H * W }, (_, i) => i / 10));
    const onCanvas = be.toPixels(gray, target, { range: [0, 1] });
    const readBack = Array.from(target.getContext('2d').getImageData(0, 0, W, H).data);
    ramp.dispose();
    gray.dispose();
    const after = be.memory();
    out[name] = {
      got, drawn: { width: drawn.width, height: drawn.height, data: Array.from(drawn.data) },
      onCanvas: { width: target.width, height: target.height, data: Array.from(onCanvas.data), readBack },
      balanced: before.tensors === after.tensors && before.bytesInUse === after.bytesInUse,
    };
  }
  return out;
}

run().then((r) => (window.result = r), (e) => (window.result = { error: String((e && e.stack) || e) }));
