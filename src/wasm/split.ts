// How an op's work is cut into tasks for the threads. Every cut here leaves each output element
// computed by the same instructions in the same order as the uncut call (the kernels compute an
// output pixel, a filter-gradient tile or an element on its own), so the result is the same bits
// for any number of threads; the tests check it.

/**
 * Work is counted in multiply-adds of the convolution kernels (about 0.04 ns each on one core here);
 * other kernels' steps are weighted by what splitting them gains against that, as measured on this
 * machine: a pooling window element forward and an elementwise op's element (memory-bound), a copied
 * or zeroed element, and a pooling window element backward (which also zeroes and re-reads dA_prev).
 * The memory-bound ones weigh 2, not the 1 their arithmetic alone was worth: their input is mostly
 * the output of an op just cut over the threads, whose shares lie in each core's cache, so one thread
 * reading it all takes the other core's share across (a 32x10x10x16 ReLU gradient, 51k elements:
 * 8.5 us on one thread where the cores share a cache, 45 us where they sit on different dies), and
 * the lines it read must be taken back when that core next writes there.
 */
export const POOL_FORWARD_WEIGHT = 2;
export const POOL_BACKWARD_WEIGHT = 12;
export const COPY_WEIGHT = 2;
export const ELEMENTWISE_WEIGHT = 2;
/**
 * An element of an Adam step: its two moments, a square root and a division take about 1.4 ns an
 * element on one core here (float32, 64k to 1M elements), against 0.09-0.10 ns for a ReLU's: 35
 * multiply-adds. At the elementwise weight, LeNet's 4,000-element dense filter (7.4 us) and a
 * 16,000-element one (24 us) ran on one thread.
 */
export const ADAM_WEIGHT = 35;
/**
 * The least work of an Adam task: 2^17 multiply-adds, 3,700 elements (the convolutions' threshold,
 * for the same reason: a task reads a gradient another core has just written, and the caller reads
 * the weights it writes next). Measured on one tensor, in cache, two threads against one: 4,000
 * elements 9.0 against 7.4 us when cut into 4 tasks at the general threshold, 8,000 9.2 against 13.0,
 * 16,000 14.9 against 24.3; the LeNet step (its largest tensor 4,000 elements) 1.5-1.8% faster on two
 * threads with its Adam uncut (in one process, turn about).
 */
export const ADAM_MIN_TASK_WORK = 1 << 17;
/**
 * An element of a softmax, or of its cross-entropy: an exponential and a division, 2.1-2.4 ns an
 * element on one core here (float32 rows of 1,000 and 4,096), 55 multiply-adds. Rows are cut whole.
 */
export const SOFTMAX_WEIGHT = 55;

/**
 * The least work a task gets: 2^15 multiply-adds (about 1.3 us on one core); an op is split only
 * when it has twice that. A worker polls for the next job for a while after each one (threads.ts),
 * so joining a job costs it little; measured here on 2 threads (separate processes, medians of 3),
 * against 2^18 when workers slept between jobs: the LeNet step 1.47x -> 1.62x one thread, its first
 * pooling 1.0x -> 1.78x, a ReLU of 200k elements 1.0x -> 1.61x; 2^16 gave the pooling 1.46x (fewer
 * tasks to balance), 2^14 no more than 2^15.
 */
export const MIN_TASK_WORK = 1 << 15;

/** Tasks a thread gets when there is enough work: a few, so a thread that falls behind is helped. */
export const TASKS_PER_THREAD = 3;

/**
 * The least work a task of a convolution gets (forward, input gradient, filter gradient, and the
 * dense layers that run as 1x1 convolutions): 2^17 multiply-adds (about 5 us). Every task reads the
 * whole packed filter the caller has just written, which another core must fetch first: on 2
 * threads here a dense layer (32, 400) x (400, 10) (128k multiply-adds) took 14.8 us against 13.0 on
 * one, (32, 128) x (128, 64) 19.2 against 16.3, when cut at the general threshold.
 */
export const MIN_CONV_TASK_WORK = 1 << 17;

/**
 * How many tasks `work` is worth on `threads` threads, given `units` it can be cut into (1: run as
 * one call). `perThread`: tasks a thread gets, TASKS_PER_THREAD unless the kernel re-reads all its
 * input in every task (the filter gradient), where one each is best. `minTask`: the least work of a
 * task; an op is cut only with twice that.
 */
export function taskCount(threads: number, work: number, units: number, perThread = TASKS_PER_THREAD, minTask = MIN_TASK_WORK): number {
  if (threads <= 1 || work < 2 * minTask) return 1;
  const parts = Math.max(1, Math.min(units, threads * perThread, Math.floor(work / minTask)));
  // a whole number of tasks a thread, where there are more tasks than threads: where the tasks are
  // equal shares of an output, each thread's group of them (threads.ts) is then the same share in
  // every op cut this way
  return parts > threads ? parts - (parts % threads) : parts;
}

/** [begin, end) of part i of n near-equal parts of `total`. */
export function part(total: number, parts: number, i: number): [number, number] {
  return [Math.floor((total * i) / parts), Math.floor((total * (i + 1)) / parts)];
}

/** Byte steps of a convolve-like call: to the next image, the next output row, the next output pixel, on each side. */
export interface PixelSteps {
  xImage: number;
  xRow: number;
  xPixel: number;
  zImage: number;
  zRow: number;
  zPixel: number;
}

/**
 * Cuts an output of (m, nH, nW) pixels into about `parts` regions: groups of whole images where
 * there are enough images, else rows of each image, else (one row) columns. `each` gets a region's
 * first image and image count, and its rows [r0, r1) and columns [c0, c1).
 */
export function splitRegions(parts: number, m: number, nH: number, nW: number,
  each: (n0: number, count: number, r0: number, r1: number, c0: number, c1: number) => void): void {
  if (parts <= 1) return each(0, m, 0, nH, 0, nW);
  if (m >= parts || (nH === 1 && nW === 1)) {
    const groups = Math.min(parts, m);
    for (let i = 0; i < groups; i++) {
      const [a, b] = part(m, groups, i);
      each(a, b - a, 0, nH, 0, nW);
    }
    return;
  }
  const perImage = Math.ceil(parts / m);
  for (let n = 0; n < m; n++) {
    const pieces = Math.min(perImage, nH > 1 ? nH : nW);
    for (let i = 0; i < pieces; i++) {
      if (nH > 1) {
        const [a, b] = part(nH, pieces, i);
        each(n, 1, a, b, 0, nW);
      } else {
        const [a, b] = part(nW, pieces, i);
        each(n, 1, 0, 1, a, b);
      }
    }
  }
}

/**
 * splitRegions for a convolve-like call: `each` gets the byte offsets of a region on each side,
 * and its m, nH and nW.
 */
export function splitPixels(parts: number, m: number, nH: number, nW: number, steps: PixelSteps,
  each: (dx: number, dz: number, m: number, nH: number, nW: number) => void): void {
  splitRegions(parts, m, nH, nW, (n0, count, r0, r1, c0, c1) =>
    each(n0 * steps.xImage + r0 * steps.xRow + c0 * steps.xPixel, n0 * steps.zImage + r0 * steps.zRow + c0 * steps.zPixel, count, r1 - r0, c1 - c0));
}

/**
 * Cuts n elements into about `parts` ranges of whole blocks of `block` elements (so every vector a
 * kernel loads lies where it would in the uncut call); `each` gets the first element and the count.
 */
export function splitElements(parts: number, n: number, block: number, each: (first: number, count: number) => void): void {
  const blocks = Math.ceil(n / block);
  const pieces = Math.min(parts, blocks);
  if (pieces <= 1) return each(0, n);
  for (let i = 0; i < pieces; i++) {
    const [a, b] = part(blocks, pieces, i);
    const first = a * block;
    each(first, Math.min(n, b * block) - first);
  }
}

/** Elements a block of an elementwise kernel's split: 64 (a whole number of vectors, and a cache line's worth of float64). */
export const ELEMENT_BLOCK = 64;
