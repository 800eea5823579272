// The 'wasm' backend: tensors live in the module's linear memory (allocated by Arena), ops are one or
// a few kernel calls with byte offsets. Scratch buffers (padded input, packed filter) are allocated
// here, around the kernel call, and freed before the op returns.
import { BackendBase, type ConvGradients } from '../backend-base.js';
import { Tensor, type TensorOwner } from '../tensor.js';
import type { DType, PoolMode, TypedArray } from '../types.js';
import type { ConvGeometry, PoolGeometry } from '../validate.js';
import { Arena } from './arena.js';
import type { KernelExports, WasmBuild } from './module.js';

class WasmTensor extends Tensor {
  #view: TypedArray | null = null;
  constructor(owner: TensorOwner, shape: readonly number[], dtype: DType, size: number, readonly offset: number, private readonly memory: WebAssembly.Memory) {
    super(owner, shape, dtype, size);
  }
  protected view(): TypedArray {
    const buffer = this.memory.buffer;
    if (this.#view === null || this.#view.buffer !== buffer) {
      this.#view = this.dtype === 'float32' ? new Float32Array(buffer, this.offset, this.size) : new Float64Array(buffer, this.offset, this.size);
    }
    return this.#view;
  }
}

type Kernel = (...args: number[]) => number;

/** The kernels of one dtype, looked up once. */
class DTypeKernels {
  readonly packFilter: Kernel; readonly packBias: Kernel; readonly convForward: Kernel;
  readonly packFilterRows: Kernel; readonly convForwardDot: Kernel;
  readonly convBackwardFilter: Kernel; readonly biasGradient: Kernel; readonly dot: Kernel;
  readonly poolForward: Kernel; readonly poolBackward: Kernel; readonly mask: Kernel; readonly fill: Kernel;
  /** Output channels per packed block of the conv micro-kernel (two v128). */
  readonly NR: number;
  /** Elements per v128. */
  readonly lanes: number;
  constructor(k: KernelExports, p: 'f32' | 'f64') {
    const get = (name: string) => k[`${p}_${name}`] as Kernel;
    this.packFilter = get('pack_filter'); this.packBias = get('pack_bias'); this.convForward = get('conv2d_forward');
    this.convBackwardFilter = get('conv2d_backward_filter'); this.biasGradient = get('bias_gradient'); this.dot = get('dot');
    this.poolForward = get('pool_forward'); this.poolBackward = get('pool_backward');
    this.mask = get('mask_from_window'); this.fill = get('fill');
    this.packFilterRows = get('pack_filter_rows'); this.convForwardDot = get('conv2d_forward_dot');
    this.NR = p === 'f32' ? 8 : 4;
    this.lanes = p === 'f32' ? 4 : 2;
  }
}

const off = (t: Tensor) => (t as WasmTensor).offset;

/**
 * The packing and convolution kernels for N output channels over windows of tH x tW taps of C
 * channels: with few output channels (no more than one vector) and whole-vector window rows, dot
 * products along the rows (every lane useful), else the register-blocked GEMM micro-kernel.
 */
function convKernels(k: DTypeKernels, tW: number, C: number, N: number): [pack: Kernel, conv: Kernel] {
  return N <= k.lanes && (tW * C) % k.lanes === 0 ? [k.packFilterRows, k.convForwardDot] : [k.packFilter, k.convForward];
}

/** Input channels per block of the filter gradient's packed input (CB in assembly/conv.ts). */
const FILTER_CHANNEL_BLOCK = 4;

/**
 * Along one axis of the input gradient (filter size f, stride s, padding pad, input size n): for
 * each residue class of the padded coordinate that has taps and outputs, the first filter tap of its
 * sub-grid and how many taps it has, the first output (in dA's coordinates) and how many, and the
 * row of dZ its first output's first tap reads.
 */
function residues(f: number, s: number, pad: number, n: number) {
  const mod = (a: number, b: number) => ((a % b) + b) % b;
  const out: { firstTap: number; taps: number; outStart: number; count: number; dzStart: number }[] = [];
  for (let r = 0; r < s; r++) {
    const firstTap = mod(f - 1 - r, s);
    const taps = firstTap < f ? Math.ceil((f - firstTap) / s) : 0;
    const first = pad + mod(r - pad, s); // first padded coordinate >= pad in this class
    const count = first < pad + n ? Math.ceil((pad + n - first) / s) : 0;
    if (taps > 0 && count > 0) out.push({ firstTap, taps, outStart: first - pad, count, dzStart: (first + firstTap - f + 1) / s });
  }
  return out;
}

export class WasmBackend extends BackendBase {
  readonly name = 'wasm' as const;
  readonly features: { readonly build: WasmBuild };
  readonly #memory: WebAssembly.Memory;
  readonly #arena: Arena;
  readonly #k: KernelExports;
  readonly #f32: DTypeKernels;
  readonly #f64: DTypeKernels;

  constructor(exports: KernelExports, memory: WebAssembly.Memory, build: WasmBuild) {
    super();
    this.features = Object.freeze({ build });
    this.#k = exports;
    this.#memory = memory;
    this.#arena = new Arena(memory, exports.heapBase());
    this.#f32 = new DTypeKernels(exports, 'f32');
    this.#f64 = new DTypeKernels(exports, 'f64');
  }

  #kernels(dtype: DType): DTypeKernels {
    return dtype === 'float32' ? this.#f32 : this.#f64;
  }

  protected allocateStorage(op: string, shape: readonly number[], dtype: DType, size: number): Tensor {
    const offset = this.#arena.alloc(op, size * (dtype === 'float32' ? 4 : 8));
    return new WasmTensor(this, shape, dtype, size, offset, this.#memory);
  }

  protected releaseStorage(tensor: Tensor): void {
    this.#arena.free(off(tensor));
  }

  protected reservedBytes(): number {
    return this.#arena.reserved;
  }

  protected override isOwnStorage(data: ArrayBufferView): boolean {
    return data.buffer === this.#memory.buffer;
  }

  /** Runs body with scratch blocks of the given byte sizes, freed afterwards whatever happens. */
  #withScratch(op: string, sizes: number[], body: (...offsets: number[]) => void): void {
    const taken: number[] = [];
    try {
      for (const bytes of sizes) taken.push(this.#arena.alloc(op, bytes));
      body(...taken);
    } finally {
      for (const o of taken) this.#arena.free(o);
    }
  }

  protected kFill(out: Tensor, value: number): void {
    this.#kernels(out.dtype).fill(off(out), out.size, value);
  }

  protected kZeroPad(X: Tensor, out: Tensor, padH: number, padW: number): void {
    const [m, H, W, C] = X.shape as [number, number, number, number];
    this.#k.zeroPad(off(X), off(out), m, H, W, C * X.itemBytes, H + 2 * padH, W + 2 * padW, padH, padW);
  }

  protected kDot(a: Tensor, W: Tensor, bias: number): number {
    return this.#kernels(a.dtype).dot(off(a), off(W), a.size, bias);
  }

  /** Byte sizes of a packed filter of tH x tW taps, C in and N out channels, and of its packed bias. */
  #packedBytes(k: DTypeKernels, tH: number, tW: number, C: number, N: number, sz: number): [number, number] {
    const Npad = Math.ceil(N / k.NR) * k.NR;
    return [Npad * tH * tW * C * sz, Npad * sz];
  }

  protected kConvForward(g: ConvGeometry, A: Tensor, W: Tensor, b: Tensor, Z: Tensor): void {
    const k = this.#kernels(g.dtype);
    const sz = A.itemBytes;
    const padded = g.padH > 0 || g.padW > 0;
    const [wBytes, bBytes] = this.#packedBytes(k, g.fH, g.fW, g.C, g.N, sz);
    this.#withScratch('convForward', [wBytes, bBytes, padded ? g.m * g.Hp * g.Wp * g.C * sz : 0], (pw, pb, xp) => {
      const tap = g.C * g.N * sz;
      const [pack, conv] = convKernels(k, g.fW, g.C, g.N);
      pack(off(W), pw!, g.fH, g.fW, g.C, g.N, 0, g.fW * tap, tap, g.N * sz, sz);
      k.packBias(off(b), pb!, g.N);
      let x = off(A);
      if (padded) {
        this.#k.zeroPad(x, xp!, g.m, g.H, g.W, g.C * sz, g.Hp, g.Wp, g.padH, g.padW);
        x = xp!;
      }
      const pix = g.N * sz;
      conv(x, pw!, pb!, off(Z), g.m, g.Hp, g.Wp, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, g.N,
        pix, g.nW * pix, g.nH * g.nW * pix);
    });
  }

  protected kConvBackward(g: ConvGeometry, dZ: Tensor, A: Tensor, W: Tensor, grads: ConvGradients): void {
    // the public op's name, for an allocation error
    const op = grads.dA ? (grads.dW ? 'convBackward' : 'convBackwardInput') : 'convBackwardFilter';
    if (grads.dW && grads.db) this.#filterGradient(op, g, dZ, A, grads.dW, grads.db);
    if (grads.dA) this.#inputGradient(op, g, dZ, W, grads.dA);
  }

  // Filter gradient: a blocked reduction over output pixels of (padded input) x dZ, both first
  // packed into channel blocks (4 input channels, NR output channels) so that its tiles read
  // contiguous memory. Bias gradient: a sum over dZ's pixels.
  #filterGradient(op: string, g: ConvGeometry, dZ: Tensor, A: Tensor, dW: Tensor, db: Tensor): void {
    const k = this.#kernels(g.dtype);
    const sz = A.itemBytes;
    const P = g.m * g.nH * g.nW;
    k.biasGradient(off(dZ), off(db), P, g.N);
    const Cpad = Math.ceil(g.C / FILTER_CHANNEL_BLOCK) * FILTER_CHANNEL_BLOCK;
    const Npad = Math.ceil(g.N / k.NR) * k.NR;
    this.#withScratch(op, [g.m * g.Hp * g.Wp * Cpad * sz, P * Npad * sz], (xb, dzb) => {
      this.#k.packBlocks(off(A), xb!, g.m, g.H, g.W, g.C * sz, FILTER_CHANNEL_BLOCK * sz, g.Hp, g.Wp, g.padH, g.padW);
      this.#k.packBlocks(off(dZ), dzb!, 1, 1, P, g.N * sz, k.NR * sz, 1, P, 0, 0);
      k.convBackwardFilter(xb!, dzb!, off(dW), g.m, g.Hp, g.Wp, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, g.N);
    });
  }

  // Input gradient, by stride residue: the padded input's pixel (ih, iw) receives dZ through the
  // taps kh = (f-1 - ih) mod s, +s, ... only, so each of the s x s residue classes of (ih, iw) is a
  // stride-1 convolution of dZ (zero-padded) with that sub-grid of the 180-degree-rotated filter,
  // its channels swapped. Each is written straight into dA at output stride s: no multiply by an
  // inserted zero, no cropping.
  #inputGradient(op: string, g: ConvGeometry, dZ: Tensor, W: Tensor, dA: Tensor): void {
    const k = this.#kernels(g.dtype);
    const sz = dZ.itemBytes;
    // dZ with zero borders wide enough for every tap of every residue
    const topH = Math.ceil((g.fH - 1) / g.sH), topW = Math.ceil((g.fW - 1) / g.sW);
    const Hz = topH + Math.floor((g.Hp - 1) / g.sH) + 1, Wz = topW + Math.floor((g.Wp - 1) / g.sW) + 1;
    const [wBytes, bBytes] = this.#packedBytes(k, Math.ceil(g.fH / g.sH), Math.ceil(g.fW / g.sW), g.N, g.C, sz);
    // dZ with zero borders; one residue's packed sub-filter; a zero bias
    this.#withScratch(op, [g.m * Hz * Wz * g.N * sz, wBytes, bBytes], (dzp, pw, pb) => {
      this.#k.zeroPad(off(dZ), dzp!, g.m, g.nH, g.nW, g.N * sz, Hz, Wz, topH, topW);
      k.packBias(0, pb!, g.C);
      // a stride larger than the filter leaves residues that no tap reaches: their gradient is 0
      if (g.sH > g.fH || g.sW > g.fW) k.fill(off(dA), dA.size, 0);
      const tap = g.C * g.N * sz;
      const pix = g.C * sz;
      const rowH = residues(g.fH, g.sH, g.padH, g.H), rowW = residues(g.fW, g.sW, g.padW, g.W);
      for (const h of rowH) {
        for (const w of rowW) {
          const [pack, conv] = convKernels(k, w.taps, g.N, g.C);
          pack(off(W), pw!, h.taps, w.taps, g.N, g.C,
            ((g.fH - 1 - h.firstTap) * g.fW + (g.fW - 1 - w.firstTap)) * tap, -g.sH * g.fW * tap, -g.sW * tap, sz, g.N * sz);
          const xStart = dzp! + ((topH + h.dzStart) * Wz + (topW + w.dzStart)) * g.N * sz;
          const zStart = off(dA) + (h.outStart * g.W + w.outStart) * pix;
          conv(xStart, pw!, pb!, zStart, g.m, Hz, Wz, g.N, h.taps, w.taps, 1, 1, h.count, w.count, g.C,
            g.sW * pix, g.sH * g.W * pix, g.H * g.W * pix);
        }
      }
    });
  }

  protected kPoolForward(g: PoolGeometry, A: Tensor, out: Tensor, mode: PoolMode): void {
    this.#kernels(g.dtype).poolForward(off(A), off(out), g.m, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, mode === 'max' ? 1 : 0);
  }

  protected kPoolBackward(g: PoolGeometry, A: Tensor, dA: Tensor, dAPrev: Tensor, mode: PoolMode): void {
    this.#kernels(g.dtype).poolBackward(off(A), off(dA), off(dAPrev), g.m, g.H, g.W, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, mode === 'max' ? 1 : 0);
  }

  protected kMask(x: Tensor, out: Tensor): void {
    this.#kernels(x.dtype).mask(off(x), off(out), x.size);
  }
}
