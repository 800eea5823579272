// Pixels in and out, in browsers: an image (ImageData, a canvas, an ImageBitmap, an <img>) as a
// (1, h, w, c) tensor, and a (h, w, 1 | 3) tensor drawn as ImageData, as tf.browser.fromPixels and
// toPixels do. They need a DOM; in Node they say so.
import { CnnArgumentError, CnnUnsupportedError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { describe, readDType, readOptions, shapeText } from '../validate.js';
import type { OpContext } from './context.js';

/** RGBA bytes of an image, row by row. */
interface Pixels {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

type Canvas2D = { getImageData(x: number, y: number, w: number, h: number): ImageData; drawImage(image: unknown, x: number, y: number): void; putImageData(d: ImageData, x: number, y: number): void };

const has = (name: string) => typeof (globalThis as Record<string, unknown>)[name] === 'function';
const isA = (value: unknown, name: string) => has(name) && value instanceof ((globalThis as Record<string, unknown>)[name] as new () => unknown);

function needDom(op: string): void {
  if (!has('ImageData')) {
    throw new CnnUnsupportedError(
      `${op}: needs a DOM (ImageData, a canvas, an ImageBitmap or an <img>: a browser page or worker); in Node, make a tensor of the pixel values with be.tensor(shape, values)`,
    );
  }
}

/** A 2-D context of a fresh canvas of w x h (OffscreenCanvas where there is one, as in a worker). */
function scratchContext(w: number, h: number): Canvas2D {
  const canvas = has('OffscreenCanvas')
    ? new OffscreenCanvas(w, h)
    : Object.assign((globalThis as unknown as { document: Document }).document.createElement('canvas'), { width: w, height: h });
  return canvas.getContext('2d') as unknown as Canvas2D;
}

/** The RGBA bytes of any image source a browser can draw. */
function readPixels(op: string, source: unknown): Pixels {
  needDom(op);
  const expected = 'ImageData, an HTMLCanvasElement or OffscreenCanvas, an ImageBitmap or a loaded HTMLImageElement';
  if (isA(source, 'ImageData')) return source as ImageData;
  let width: number, height: number;
  if (isA(source, 'HTMLCanvasElement') || isA(source, 'OffscreenCanvas') || isA(source, 'ImageBitmap')) {
    ({ width, height } = source as { width: number; height: number });
  } else if (isA(source, 'HTMLImageElement')) {
    const img = source as HTMLImageElement;
    if (!img.complete || img.naturalWidth === 0) throw new CnnArgumentError(op, 'source', 'an <img> that has loaded', 'one that has not (await img.decode() first)');
    width = img.naturalWidth;
    height = img.naturalHeight;
  } else {
    throw new CnnArgumentError(op, 'source', expected, describe(source));
  }
  if (width === 0 || height === 0) throw new CnnArgumentError(op, 'source', 'an image of at least one pixel', `${width}x${height}`);
  // a 2-D canvas is read where it is; anything else (a WebGL canvas, a bitmap, an image) is drawn first
  const own = isA(source, 'HTMLCanvasElement') || isA(source, 'OffscreenCanvas') ? ((source as HTMLCanvasElement).getContext('2d') as unknown as Canvas2D | null) : null;
  const ctx = own ?? scratchContext(width, height);
  if (!own) ctx.drawImage(source, 0, 0);
  return ctx.getImageData(0, 0, width, height);
}

export function fromPixels(ctx: OpContext, source: unknown, options: unknown): Tensor {
  const op = 'fromPixels';
  const o = readOptions(op, 'options', options, ['channels', 'scale', 'dtype'] as const, false);
  const channels = o.channels ?? 3;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new CnnArgumentError(op, 'options.channels', '1, 3 or 4', describe(channels));
  const scale = o.scale ?? 1 / 255;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new CnnArgumentError(op, 'options.scale', 'a finite number (each byte is multiplied by it)', describe(scale));
  const dtype = readDType(op, 'options.dtype', o.dtype);
  const px = readPixels(op, source);
  const n = px.width * px.height;
  return ctx.run(op, (out) => {
    const t = out([1, px.height, px.width, channels], dtype);
    const y = t.storage.view(), rgba = px.data;
    for (let p = 0; p < n; p++) for (let k = 0; k < channels; k++) y[p * channels + k] = rgba[4 * p + k]! * scale;
    return t.tensor;
  });
}

export function toPixels(ctx: OpContext, t: unknown, canvas: unknown, options: unknown): ImageData {
  const op = 'toPixels';
  const o = readOptions(op, 'options', options, ['range'] as const, false);
  let range: [number, number] | null = null;
  if (o.range !== undefined) {
    const r = o.range;
    // each element read once
    const pair: unknown[] = Array.isArray(r) && r.length === 2 ? [r[0], r[1]] : [];
    const [lo, hi] = pair;
    if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
      throw new CnnArgumentError(op, 'options.range', '[low, high], finite numbers with low < high (mapped to 0 and 255)', describe(r));
    }
    range = [lo, hi];
  }
  const x = ctx.tensor(op, 't', t);
  const shape = x.shape.length === 4 && x.shape[0] === 1 ? x.shape.slice(1) : x.shape;
  const c = shape[2];
  if (shape.length !== 3 || (c !== 1 && c !== 3)) {
    throw new CnnArgumentError(op, 't', 'shape (h, w, 1) or (h, w, 3) (or with a leading 1)', `shape ${shapeText(x.shape)}`);
  }
  if (canvas !== undefined && canvas !== null && !isA(canvas, 'HTMLCanvasElement') && !isA(canvas, 'OffscreenCanvas')) {
    needDom(op);
    throw new CnnArgumentError(op, 'canvas', 'an HTMLCanvasElement or OffscreenCanvas to draw on', describe(canvas));
  }
  needDom(op);
  const [h, w] = shape as [number, number];
  const values = x.storage.view();
  // min-max scaled unless told the range; NaN is drawn as the low end
  let [lo, hi] = range ?? [Infinity, -Infinity];
  if (!range) {
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const span = hi > lo ? 255 / (hi - lo) : 0;
  const rgba = new Uint8ClampedArray(4 * h * w);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = values[p * c + (c === 1 ? 0 : k)]!;
      rgba[4 * p + k] = v === v ? Math.round((v - lo) * span) : 0;
    }
    rgba[4 * p + 3] = 255;
  }
  const image = new ImageData(rgba, w, h);
  if (canvas) {
    const target = canvas as HTMLCanvasElement;
    target.width = w;
    target.height = h;
    (target.getContext('2d') as unknown as Canvas2D).putImageData(image, 0, 0);
  }
  return image;
}
