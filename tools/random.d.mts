/** A seeded uniform generator in [0, 1) (mulberry32). */
export function rng(seed: number): () => number;
/** n standard normal values (Box-Muller) from a seeded generator. */
export function randn(rand: () => number, n: number): Float64Array;
