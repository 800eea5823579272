// Seeded numbers for the layers: a small generator that every engine runs alike (so the same seed
// gives the same weights and the same shuffles on both backends, in Node and in browsers), and the
// Keras initializers drawn from it.

/** A seeded generator of uniform numbers in [0, 1) (mulberry32: 32-bit state, integer arithmetic only). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * n values uniform in [-limit, limit): He-uniform (limit sqrt(6 / fanIn)) for a layer followed by a
 * ReLU, Glorot-uniform (sqrt(6 / (fanIn + fanOut))) otherwise, as Keras initialises them.
 */
export function initialWeights(rand: () => number, n: number, fanIn: number, fanOut: number, relu: boolean): Float64Array {
  const limit = relu ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * limit;
  return out;
}

/** 0 .. n-1 in a seeded random order (Fisher-Yates). */
export function permutation(n: number, rand: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
