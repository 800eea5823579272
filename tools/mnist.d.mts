// Types of tools/mnist.mjs, for the TypeScript example and tests that import it.
export interface Digits {
  /** n x 784 pixels in [0, 1], one 28x28 digit after another, row-major. */
  images: Float32Array;
  /** The digit each image shows, 0-9. */
  labels: Int32Array;
}
export function loadDigits(options?: { seed?: number; train?: number; test?: number }): { train: Digits; test: Digits; total: number };
