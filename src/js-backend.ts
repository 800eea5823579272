// The 'js' backend: plain TypeScript written from the seed's loops, window by window. It is the
// oracle of the accuracy tests, so it favours being obviously correct over being fast: sums are
// accumulated in float64 (JS numbers) and rounded to the tensor's dtype once, when stored.
import { BackendBase, type ConvGradients } from './backend-base.js';
import { CnnAllocationError } from './errors.js';
import { Tensor, type TensorOwner } from './tensor.js';
import type { DType, PoolMode, TypedArray } from './types.js';
import type { ConvGeometry, PoolGeometry } from './validate.js';

class JsTensor extends Tensor {
  constructor(owner: TensorOwner, shape: readonly number[], dtype: DType, size: number, readonly storage: TypedArray) {
    super(owner, shape, dtype, size);
  }
  protected view(): TypedArray {
    return this.storage;
  }
}

/** Index of (i, h, w, c) in an NHWC array of height H, width W, channels C. */
function at(H: number, W: number, C: number, i: number, h: number, w: number, c: number): number {
  return ((i * H + h) * W + w) * C + c;
}

/** Index of W[kh, kw, k, c] in a filter of shape (fH, fW, C, N). */
function filterAt(g: ConvGeometry, kh: number, kw: number, k: number, c: number): number {
  return ((kh * g.fW + kw) * g.C + k) * g.N + c;
}

export class JsBackend extends BackendBase {
  readonly name = 'js' as const;
  readonly features = { build: 'scalar' } as const;

  protected allocateStorage(op: string, shape: readonly number[], dtype: DType, size: number): Tensor {
    const bytes = size * (dtype === 'float32' ? 4 : 8);
    let storage: TypedArray;
    try {
      storage = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
    } catch (e) {
      throw new CnnAllocationError(op, bytes, `the engine refused a typed array of ${size} elements (${(e as Error).message})`);
    }
    return new JsTensor(this, shape, dtype, size, storage);
  }

  protected releaseStorage(): void {}

  /** Typed arrays hold exactly their tensors' bytes. */
  protected reservedBytes(bytesInUse: number): number {
    return bytesInUse;
  }

  protected kFill(out: Tensor, value: number): void {
    out.data.fill(value);
  }

  // np.pad(X, ((0,0), (pad,pad), (pad,pad), (0,0)), 'constant')
  protected kZeroPad(X: Tensor, out: Tensor, padH: number, padW: number): void {
    const [m, H, W, C] = X.shape as [number, number, number, number];
    const x = X.data, y = out.data;
    const Hp = H + 2 * padH, Wp = W + 2 * padW;
    y.fill(0);
    for (let i = 0; i < m; i++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let c = 0; c < C; c++) y[at(Hp, Wp, C, i, h + padH, w + padW, c)] = x[at(H, W, C, i, h, w, c)]!;
  }

  // conv_single_step: np.sum(a_slice_prev * W) + float(b)
  protected kDot(a: Tensor, W: Tensor, bias: number): number {
    const x = a.data, w = W.data;
    let s = 0;
    for (let k = 0; k < x.length; k++) s += x[k]! * w[k]!;
    return s + bias;
  }

  /** The padded input as a float64 array (the seed's A_prev_pad). */
  private padded(g: ConvGeometry, A: Tensor): Float64Array {
    const x = A.data;
    const out = new Float64Array(g.m * g.Hp * g.Wp * g.C);
    for (let i = 0; i < g.m; i++)
      for (let h = 0; h < g.H; h++)
        for (let w = 0; w < g.W; w++)
          for (let c = 0; c < g.C; c++) out[at(g.Hp, g.Wp, g.C, i, h + g.padH, w + g.padW, c)] = x[at(g.H, g.W, g.C, i, h, w, c)]!;
    return out;
  }

  // conv_forward: Z[i, h, w, c] = conv_single_step(a_prev_pad[window], W[..., c], b[..., c])
  protected kConvForward(g: ConvGeometry, A: Tensor, Wt: Tensor, b: Tensor, Z: Tensor): void {
    const aPad = this.padded(g, A), W = Wt.data, bias = b.data, z = Z.data;
    for (let i = 0; i < g.m; i++)
      for (let h = 0; h < g.nH; h++)
        for (let w = 0; w < g.nW; w++)
          for (let c = 0; c < g.N; c++) {
            const vertStart = h * g.sH, horizStart = w * g.sW;
            let s = 0;
            for (let kh = 0; kh < g.fH; kh++)
              for (let kw = 0; kw < g.fW; kw++)
                for (let k = 0; k < g.C; k++)
                  s += aPad[at(g.Hp, g.Wp, g.C, i, vertStart + kh, horizStart + kw, k)]! * W[filterAt(g, kh, kw, k, c)]!;
            z[at(g.nH, g.nW, g.N, i, h, w, c)] = s + bias[c]!;
          }
  }

  // conv_backward: for every output (i, h, w, c):
  //   dA_prev_pad[window] += W[..., c] * dZ[i, h, w, c];  dW[..., c] += a_slice * dZ;  db[c] += dZ
  // then dA_prev = dA_prev_pad without its border (a slice that is correct for pad = 0 too).
  // Only the gradients asked for are accumulated.
  protected kConvBackward(g: ConvGeometry, dZt: Tensor, A: Tensor, Wt: Tensor, grads: ConvGradients): void {
    const aPad = this.padded(g, A), W = Wt.data, dZ = dZt.data;
    const wantInput = grads.dA !== undefined, wantFilter = grads.dW !== undefined;
    const daPad = new Float64Array(wantInput ? aPad.length : 0);
    const dW = new Float64Array(grads.dW?.size ?? 0);
    const db = new Float64Array(grads.db?.size ?? 0);
    for (let i = 0; i < g.m; i++)
      for (let h = 0; h < g.nH; h++)
        for (let w = 0; w < g.nW; w++)
          for (let c = 0; c < g.N; c++) {
            const vertStart = h * g.sH, horizStart = w * g.sW;
            const dz = dZ[at(g.nH, g.nW, g.N, i, h, w, c)]!;
            for (let kh = 0; kh < g.fH; kh++)
              for (let kw = 0; kw < g.fW; kw++)
                for (let k = 0; k < g.C; k++) {
                  const p = at(g.Hp, g.Wp, g.C, i, vertStart + kh, horizStart + kw, k);
                  const q = filterAt(g, kh, kw, k, c);
                  if (wantInput) daPad[p] = daPad[p]! + W[q]! * dz;
                  if (wantFilter) dW[q] = dW[q]! + aPad[p]! * dz;
                }
            if (wantFilter) db[c] = db[c]! + dz;
          }
    if (grads.dA) {
      const da = grads.dA.data;
      for (let i = 0; i < g.m; i++)
        for (let h = 0; h < g.H; h++)
          for (let w = 0; w < g.W; w++)
            for (let k = 0; k < g.C; k++) da[at(g.H, g.W, g.C, i, h, w, k)] = daPad[at(g.Hp, g.Wp, g.C, i, h + g.padH, w + g.padW, k)]!;
    }
    grads.dW?.data.set(dW);
    grads.db?.data.set(db);
  }

  /** The window of channel c at output (i, h, w), row-major fH x fW. */
  private window(g: PoolGeometry, x: TypedArray, i: number, h: number, w: number, c: number): number[] {
    const out: number[] = [];
    for (let kh = 0; kh < g.fH; kh++)
      for (let kw = 0; kw < g.fW; kw++) out.push(x[at(g.H, g.W, g.C, i, h * g.sH + kh, w * g.sW + kw, c)]!);
    return out;
  }

  // pool_forward: np.max or np.mean of each window
  protected kPoolForward(g: PoolGeometry, A: Tensor, out: Tensor, mode: PoolMode): void {
    const x = A.data, y = out.data;
    for (let i = 0; i < g.m; i++)
      for (let h = 0; h < g.nH; h++)
        for (let w = 0; w < g.nW; w++)
          for (let c = 0; c < g.C; c++) {
            const win = this.window(g, x, i, h, w, c);
            y[at(g.nH, g.nW, g.C, i, h, w, c)] = mode === 'max' ? Math.max(...win) : win.reduce((s, v) => s + v, 0) / win.length;
          }
  }

  // create_mask_from_window: x == np.max(x)
  protected kMask(x: Tensor, out: Tensor): void {
    const v = x.data;
    let mx = -Infinity;
    for (let k = 0; k < v.length; k++) mx = Math.max(mx, v[k]!);
    out.data.set(Array.from(v, (e) => (e === mx ? 1 : 0)));
  }

  // pool_backward: dA_prev[window] += mask * dA (max) or distribute_value(dA, shape) (average)
  protected kPoolBackward(g: PoolGeometry, A: Tensor, dAt: Tensor, dAPrev: Tensor, mode: PoolMode): void {
    const x = A.data, dA = dAt.data;
    const acc = new Float64Array(dAPrev.size);
    for (let i = 0; i < g.m; i++)
      for (let h = 0; h < g.nH; h++)
        for (let w = 0; w < g.nW; w++)
          for (let c = 0; c < g.C; c++) {
            const da = dA[at(g.nH, g.nW, g.C, i, h, w, c)]!;
            const win = this.window(g, x, i, h, w, c);
            const mx = Math.max(...win);
            for (let kh = 0; kh < g.fH; kh++)
              for (let kw = 0; kw < g.fW; kw++) {
                const share = mode === 'max' ? (win[kh * g.fW + kw] === mx ? da : 0) : da / (g.fH * g.fW);
                const p = at(g.H, g.W, g.C, i, h * g.sH + kh, w * g.sW + kw, c);
                acc[p] = acc[p]! + share;
              }
          }
    dAPrev.data.set(acc);
  }
}
