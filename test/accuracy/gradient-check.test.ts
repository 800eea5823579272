// Gradient check: central differences in float64 of a scalar loss L = sum(G * forward(...)) agree with
// the analytic gradients from convBackward and poolBackward (relative error below 1e-7).
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, PoolMode, Tensor } from '../../src/index.js';
import { makeBackends, randn, rng } from '../helpers.js';

let backends: Backend[];
beforeAll(async () => {
  const b = await makeBackends();
  backends = [b.wasm, b.js];
});

/** ||a - b|| / (||a|| + ||b||), the course's gradient-check measure. */
function relativeError(a: number[], b: number[]): number {
  let diff = 0, na = 0, nb = 0;
  a.forEach((v, i) => {
    diff += (v - b[i]!) ** 2;
    na += v * v;
    nb += b[i]! ** 2;
  });
  return Math.sqrt(diff) / (Math.sqrt(na) + Math.sqrt(nb));
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Central differences of loss() with respect to every element of t (perturbed in place). */
function numericGradient(t: Tensor, loss: () => number, h: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.size; i++) {
    const keep = t.data[i]!;
    t.data[i] = keep + h;
    const up = loss();
    t.data[i] = keep - h;
    const down = loss();
    t.data[i] = keep;
    out.push((up - down) / (2 * h));
  }
  return out;
}

describe('gradient check (float64, central differences)', () => {
  it.each([
    { m: 2, H: 5, W: 6, C: 3, f: [3, 2], N: 4, stride: [2, 1], pad: [1, 0] },
    { m: 1, H: 7, W: 7, C: 5, f: [3, 3], N: 6, stride: 2, pad: 2 },
    { m: 2, H: 6, W: 5, C: 2, f: [2, 2], N: 3, stride: 3, pad: 0 },
  ])('convForward: dA, dW, db for %j', (c) => {
    for (const be of backends) {
      const rand = rng(7);
      const [fH, fW] = c.f as [number, number];
      const A = be.tensor([c.m, c.H, c.W, c.C], randn(rand, c.m * c.H * c.W * c.C), 'float64');
      const W = be.tensor([fH, fW, c.C, c.N], randn(rand, fH * fW * c.C * c.N), 'float64');
      const b = be.tensor([1, 1, 1, c.N], randn(rand, c.N), 'float64');
      const hp = { stride: c.stride as number, pad: c.pad as number };
      const first = be.convForward(A, W, b, hp);
      const G = be.tensor(first.Z.shape, randn(rand, first.Z.size), 'float64');
      const loss = () => {
        const { Z } = be.convForward(A, W, b, hp);
        const l = dot(Z.data, G.data);
        Z.dispose();
        return l;
      };
      const { dA, dW, db } = be.convBackward(G, first.cache);
      for (const [name, t, grad] of [['dA', A, dA], ['dW', W, dW], ['db', b, db]] as const) {
        const err = relativeError(numericGradient(t, loss, 1e-4), Array.from(grad.data));
        expect(err, `${be.name} ${name}`).toBeLessThan(1e-7);
      }
    }
  });

  it.each<PoolMode>(['max', 'average'])('poolForward %s: dA_prev', (mode) => {
    for (const be of backends) {
      const rand = rng(11);
      const shape = [2, 7, 6, 3];
      const n = shape.reduce((a, b) => a * b, 1);
      // distinct values 0.01 apart, shuffled: no window has a tie, and h = 1e-5 never reorders them
      const values = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.01);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [values[i], values[j]] = [values[j]!, values[i]!];
      }
      const A = be.tensor(shape, values, 'float64');
      const hp = { f: [3, 2] as [number, number], stride: [2, 1] as [number, number] };
      const first = be.poolForward(A, hp, mode);
      const G = be.tensor(first.A.shape, randn(rand, first.A.size), 'float64');
      const loss = () => {
        const { A: out } = be.poolForward(A, hp, mode);
        const l = dot(out.data, G.data);
        out.dispose();
        return l;
      };
      const dAPrev = be.poolBackward(G, first.cache);
      expect(relativeError(numericGradient(A, loss, 1e-5), Array.from(dAPrev.data)), be.name).toBeLessThan(1e-7);
    }
  });

  // ReLU's kink: the inputs are drawn again until every pre-activation is at least MARGIN from 0,
  // more than a step of h can move it, so the central differences never straddle the kink
  const MARGIN = 1e-3;
  const H = 1e-6;

  it.each([
    { m: 2, H: 5, W: 6, C: 3, f: 3, N: 4, stride: 1 },
    { m: 1, H: 7, W: 6, C: 2, f: 4, N: 3, stride: 2 },
    { m: 2, H: 6, W: 7, C: 3, f: 2, N: 2, stride: 3 },
    { m: 1, H: 5, W: 5, C: 4, f: 5, N: 3, stride: 2 },
  ])("convForward with 'same' padding and a fused ReLU: dA, dW, db for %j", (c) => {
    for (const be of backends) {
      const rand = rng(17);
      let tries = 0;
      for (;;) {
        const A = be.tensor([c.m, c.H, c.W, c.C], randn(rand, c.m * c.H * c.W * c.C), 'float64');
        const W = be.tensor([c.f, c.f, c.C, c.N], randn(rand, c.f * c.f * c.C * c.N), 'float64');
        const b = be.tensor([1, 1, 1, c.N], randn(rand, c.N), 'float64');
        const linear = be.convForward(A, W, b, { stride: c.stride, pad: 'same' }).Z.toArray();
        if (linear.some((z) => Math.abs(z) < MARGIN) && ++tries < 200) continue;
        const hp = { stride: c.stride, pad: 'same', activation: 'relu' } as const;
        const first = be.convForward(A, W, b, hp);
        const G = be.tensor(first.Z.shape, randn(rand, first.Z.size), 'float64');
        const loss = () => {
          const { Z } = be.convForward(A, W, b, hp);
          const l = dot(Z.data, G.data);
          Z.dispose();
          return l;
        };
        const { dA, dW, db } = be.convBackward(G, first.cache);
        for (const [name, t, grad] of [['dA', A, dA], ['dW', W, dW], ['db', b, db]] as const) {
          expect(relativeError(numericGradient(t, loss, H), Array.from(grad.data)), `${be.name} ${name}`).toBeLessThan(1e-7);
        }
        break;
      }
    }
  });

  it.each(['linear', 'relu'] as const)('denseForward (%s): dX, dW, db', (activation) => {
    for (const be of backends) {
      const rand = rng(23);
      for (;;) {
        const X = be.tensor([5, 2, 3, 2], randn(rand, 60), 'float64');
        const W = be.tensor([12, 7], randn(rand, 84), 'float64');
        const b = be.tensor([1, 7], randn(rand, 7), 'float64');
        if (be.denseForward(X, W, b).Z.toArray().some((z) => Math.abs(z) < MARGIN)) continue;
        const first = be.denseForward(X, W, b, { activation });
        const G = be.tensor([5, 7], randn(rand, 35), 'float64');
        const loss = () => {
          const { Z } = be.denseForward(X, W, b, { activation });
          const l = dot(Z.data, G.data);
          Z.dispose();
          return l;
        };
        const { dX, dW, db } = be.denseBackward(G, first.cache);
        for (const [name, t, grad] of [['dX', X, dX], ['dW', W, dW], ['db', b, db]] as const) {
          expect(relativeError(numericGradient(t, loss, H), Array.from(grad.data)), `${be.name} ${name}`).toBeLessThan(1e-7);
        }
        break;
      }
    }
  });

  it('relu: dX', () => {
    for (const be of backends) {
      const rand = rng(29);
      // no value within MARGIN of the kink
      const X = be.tensor([40], Array.from(randn(rand, 40), (v) => (Math.abs(v) < MARGIN ? v + 3 * MARGIN : v)), 'float64');
      const G = be.tensor([40], randn(rand, 40), 'float64');
      const first = be.relu(X);
      const loss = () => {
        const { Y } = be.relu(X);
        const l = dot(Y.data, G.data);
        Y.dispose();
        return l;
      };
      expect(relativeError(numericGradient(X, loss, H), Array.from(be.reluBackward(G, first.cache).data)), be.name).toBeLessThan(1e-7);
    }
  });

  it.each([false, true])('softmaxCrossEntropy (one-hot tensor: %s): dLogits', (oneHot) => {
    for (const be of backends) {
      const rand = rng(31);
      const logits = be.tensor([6, 9], Array.from(randn(rand, 54), (v) => 3 * v), 'float64');
      const labels = Array.from({ length: 6 }, () => Math.floor(rand() * 9));
      const target = oneHot ? be.tensor([6, 9], Array.from({ length: 54 }, (_, i) => (labels[Math.floor(i / 9)] === i % 9 ? 1 : 0)), 'float64') : null;
      const loss = () => {
        const r = be.softmaxCrossEntropy(logits, target ?? labels);
        r.dLogits.dispose();
        return r.loss;
      };
      const { dLogits } = be.softmaxCrossEntropy(logits, target ?? labels);
      expect(relativeError(numericGradient(logits, loss, 1e-5), Array.from(dLogits.data)), be.name).toBeLessThan(1e-7);
    }
  });
});
