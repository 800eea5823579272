// The drawing pad: a 280x280 canvas drawn on with a mouse, a pen or a finger (pointer events), and
// its ink turned into a 28x28 digit as MNIST's were made: the ink's bounding box scaled into 20x20
// (area averaging), then placed so that its centre of mass is the centre of the 28x28 field.

export class DrawingPad {
  readonly canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  #last: { x: number; y: number } | null = null;
  #inked = false;
  /** Called after every stroke segment, and with `done` when a stroke ends. */
  onChange: (done: boolean) => void = () => {};

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    this.#ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      canvas.setPointerCapture(e.pointerId);
      this.#last = this.#point(e);
      this.#segment(this.#last, this.#last);
      e.preventDefault();
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.#last) return;
      const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
      for (const c of events.length ? events : [e]) {
        const p = this.#point(c);
        this.#segment(this.#last, p);
        this.#last = p;
      }
      this.onChange(false);
    });
    const end = () => {
      if (!this.#last) return;
      this.#last = null;
      this.onChange(true);
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  get empty(): boolean {
    return !this.#inked;
  }

  clear(): void {
    const ctx = this.#ctx;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.#inked = false;
  }

  /** Canvas pixels of a pointer event (the canvas may be shown smaller than it is). */
  #point(e: PointerEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - rect.left) * this.canvas.width) / rect.width, y: ((e.clientY - rect.top) * this.canvas.height) / rect.height };
  }

  #segment(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const ctx = this.#ctx;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = this.canvas.width / 12;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    this.#inked = true;
  }

  /** The drawing as MNIST would have it: 784 values in [0, 1], row-major; null when nothing is drawn. */
  toDigit(): Float32Array | null {
    const { width: W, height: H } = this.canvas;
    const rgba = this.#ctx.getImageData(0, 0, W, H).data;
    const ink = new Float32Array(W * H);
    let x0 = W, y0 = H, x1 = -1, y1 = -1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = rgba[4 * (y * W + x)]! / 255;
        ink[y * W + x] = v;
        if (v > 0.05) {
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
      }
    }
    if (x1 < 0) return null;
    // the bounding box, its longer side scaled to 20 pixels, each pixel the mean of the ink it covers
    const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    const scale = 20 / Math.max(bw, bh);
    const tw = Math.max(1, Math.round(bw * scale)), th = Math.max(1, Math.round(bh * scale));
    const small = new Float32Array(tw * th);
    for (let ty = 0; ty < th; ty++) {
      const sy0 = y0 + Math.floor((ty * bh) / th), sy1 = Math.max(sy0 + 1, y0 + Math.floor(((ty + 1) * bh) / th));
      for (let tx = 0; tx < tw; tx++) {
        const sx0 = x0 + Math.floor((tx * bw) / tw), sx1 = Math.max(sx0 + 1, x0 + Math.floor(((tx + 1) * bw) / tw));
        let sum = 0;
        for (let y = sy0; y < sy1; y++) for (let x = sx0; x < sx1; x++) sum += ink[y * W + x]!;
        small[ty * tw + tx] = Math.min(1, sum / ((sy1 - sy0) * (sx1 - sx0)));
      }
    }
    // centre of mass (of pixel centres) moved to the centre of the 28x28 field
    let mass = 0, cx = 0, cy = 0;
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const v = small[y * tw + x]!;
        mass += v;
        cx += v * (x + 0.5);
        cy += v * (y + 0.5);
      }
    }
    const ox = Math.round(14 - cx / mass), oy = Math.round(14 - cy / mass);
    const digit = new Float32Array(28 * 28);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const X = x + ox, Y = y + oy;
        if (X >= 0 && X < 28 && Y >= 0 && Y < 28) digit[Y * 28 + X] = small[y * tw + x]!;
      }
    }
    return digit;
  }
}

/** A 28x28 digit (values in [0, 1]) drawn on a canvas, white on black. */
export function showDigit(canvas: HTMLCanvasElement, digit: Float32Array | null): void {
  canvas.width = canvas.height = 28;
  const image = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round((digit?.[i] ?? 0) * 255);
    image.data.set([v, v, v, 255], 4 * i);
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}
