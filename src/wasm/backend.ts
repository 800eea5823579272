// The 'wasm' backend: tensors live in the module's linear memory (allocated by Arena), ops are one or
// a few kernel calls with byte offsets. Scratch buffers (padded input, packed filter) are allocated
// here, around the kernel call, and freed before the op returns.
import { BackendBase } from '../backend-base.js';
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
  readonly convBackwardFilter: Kernel; readonly biasGradient: Kernel; readonly dot: Kernel;
  readonly poolForward: Kernel; readonly poolBackward: Kernel; readonly mask: Kernel; readonly fill: Kernel;
  /** Output channels per packed block of the conv micro-kernel (two v128). */
  readonly NR: number;
  constructor(k: KernelExports, p: 'f32' | 'f64') {
    const get = (name: string) => k[`${p}_${name}`] as Kernel;
    this.packFilter = get('pack_filter'); this.packBias = get('pack_bias'); this.convForward = get('conv2d_forward');
    this.convBackwardFilter = get('conv2d_backward_filter'); this.biasGradient = get('bias_gradient'); this.dot = get('dot');
    this.poolForward = get('pool_forward'); this.poolBackward = get('pool_backward');
    this.mask = get('mask_from_window'); this.fill = get('fill');
    this.NR = p === 'f32' ? 8 : 4;
  }
}

const off = (t: Tensor) => (t as WasmTensor).offset;

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
    this.#k.padDilate(off(X), off(out), m, H, W, C * X.itemBytes, H + 2 * padH, W + 2 * padW, padH, padW, 1, 1);
  }

  protected kDot(a: Tensor, W: Tensor, bias: number): number {
    return this.#kernels(a.dtype).dot(off(a), off(W), a.size, bias);
  }

  /** Packs W (taps, C, N) with its bias for the conv micro-kernel; returns the byte sizes. */
  #packedBytes(k: DTypeKernels, taps: number, C: number, N: number, sz: number): [number, number] {
    const Npad = Math.ceil(N / k.NR) * k.NR;
    return [Npad * taps * C * sz, Npad * sz];
  }

  protected kConvForward(g: ConvGeometry, A: Tensor, W: Tensor, b: Tensor, Z: Tensor): void {
    const k = this.#kernels(g.dtype);
    const sz = A.itemBytes;
    const taps = g.fH * g.fW;
    const padded = g.padH > 0 || g.padW > 0;
    const [wBytes, bBytes] = this.#packedBytes(k, taps, g.C, g.N, sz);
    this.#withScratch('convForward', [wBytes, bBytes, padded ? g.m * g.Hp * g.Wp * g.C * sz : 0], (pw, pb, xp) => {
      k.packFilter(off(W), pw!, taps, g.C, g.N, 0, g.C * g.N * sz, g.N * sz, sz);
      k.packBias(off(b), pb!, g.N);
      let x = off(A);
      if (padded) {
        this.#k.padDilate(x, xp!, g.m, g.H, g.W, g.C * sz, g.Hp, g.Wp, g.padH, g.padW, 1, 1);
        x = xp!;
      }
      k.convForward(x, pw!, pb!, off(Z), g.m, g.Hp, g.Wp, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, g.N,
        g.nW * g.N * sz, g.nH * g.nW * g.N * sz);
    });
  }

  // Input gradient as a forward convolution: dZ dilated by the stride and padded by f-1 on each
  // side, convolved (stride 1) with W rotated 180 degrees and transposed (in and out channels
  // swapped), gives the gradient of the padded input; its interior is dA.
  // Filter gradient: a blocked reduction over output pixels of (padded input) x dZ.
  protected kConvBackward(g: ConvGeometry, dZ: Tensor, A: Tensor, W: Tensor, dA: Tensor, dW: Tensor, db: Tensor): void {
    const k = this.#kernels(g.dtype);
    const sz = A.itemBytes;
    const taps = g.fH * g.fW;
    const P = g.m * g.nH * g.nW;
    k.biasGradient(off(dZ), off(db), P, g.N);

    const padded = g.padH > 0 || g.padW > 0;
    const Npad = Math.ceil(g.N / k.NR) * k.NR;
    const Hext = (g.nH - 1) * g.sH + 1 + 2 * (g.fH - 1);
    const Wext = (g.nW - 1) * g.sW + 1 + 2 * (g.fW - 1);
    // rows/columns of the padded input that some window reaches
    const Ho = (g.nH - 1) * g.sH + g.fH;
    const Wo = (g.nW - 1) * g.sW + g.fW;
    const direct = !padded && Ho === g.H && Wo === g.W;
    const [wBytes, bBytes] = this.#packedBytes(k, taps, g.N, g.C, sz);
    this.#withScratch('convBackward', [
      padded ? g.m * g.Hp * g.Wp * g.C * sz : 0, // padded A
      Npad !== g.N ? P * Npad * sz : 0, // dZ with channels padded to the block size
      g.m * Hext * Wext * g.N * sz, // dZ dilated and padded
      wBytes, bBytes, // rotated, transposed W packed; zero bias
      direct ? 0 : g.m * g.Hp * g.Wp * g.C * sz, // gradient of the padded input
    ], (xp, dzp, dzx, pw, pb, dxp) => {
      let x = off(A);
      if (padded) {
        this.#k.padDilate(x, xp!, g.m, g.H, g.W, g.C * sz, g.Hp, g.Wp, g.padH, g.padW, 1, 1);
        x = xp!;
      }
      let dz = off(dZ);
      if (Npad !== g.N) {
        this.#k.padDilate(dz, dzp!, 1, P, g.N, sz, P, Npad, 0, 0, 1, 1);
        dz = dzp!;
      }
      k.convBackwardFilter(x, dz, off(dW), g.m, g.Hp, g.Wp, g.C, g.fH, g.fW, g.sH, g.sW, g.nH, g.nW, g.N, Npad);

      this.#k.padDilate(off(dZ), dzx!, g.m, g.nH, g.nW, g.N * sz, Hext, Wext, g.fH - 1, g.fW - 1, g.sH, g.sW);
      // rotated W: tap t reads W's tap (taps-1-t); reduction channel c = output channel of W
      k.packFilter(off(W), pw!, taps, g.N, g.C, (taps - 1) * g.C * g.N * sz, -g.C * g.N * sz, sz, g.N * sz);
      k.packBias(0, pb!, g.C);
      const rowBytes = g.Wp * g.C * sz;
      const imageBytes = g.Hp * rowBytes;
      if (direct) {
        k.convForward(dzx!, pw!, pb!, off(dA), g.m, Hext, Wext, g.N, g.fH, g.fW, 1, 1, Ho, Wo, g.C, rowBytes, imageBytes);
      } else {
        if (Ho < g.Hp || Wo < g.Wp) k.fill(dxp!, g.m * g.Hp * g.Wp * g.C, 0);
        k.convForward(dzx!, pw!, pb!, dxp!, g.m, Hext, Wext, g.N, g.fH, g.fW, 1, 1, Ho, Wo, g.C, rowBytes, imageBytes);
        this.#k.crop(dxp!, off(dA), g.m, g.Hp, g.Wp, g.C * sz, g.H, g.W, g.padH, g.padW);
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
