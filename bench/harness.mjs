// Timing: tinybench measures; this file only arranges it so that peers are compared fairly in one
// process. Each implementation is warmed up first (V8 runs a wasm function's first calls in its
// baseline tier), then measured over several rounds; each round is a fresh tinybench Bench whose
// tasks are rotated, so implementations alternate through the run instead of one measuring while the
// machine is quiet and the next while it is busy (the slow references, timed in fewer rounds, take
// theirs after the others'). A round keeps calling a task until both its time budget and one call
// are done; samples of all rounds are pooled and their median reported.
import { Bench } from 'tinybench';

/**
 * impls: [{ name, run, enter?, warm?, warmCallMs?, maxRounds? }]: `enter` makes the impl's backend
 * active (before its warm-up and each of its rounds); `warm` skips the warm-up (already done, its
 * call took warmCallMs); `maxRounds` limits an impl to its first rounds. Returns Map name ->
 * { medianMs, samples }. options: rounds, roundMs (time per task per round), warmupMs, slowMs
 * (a task whose call takes longer is timed in one round only: its JIT is warm after one call).
 */
export async function measure(impls, { rounds = 5, roundMs = 60, warmupMs = 150, slowMs = 1000 } = {}) {
  const maxRounds = new Map();
  // a full garbage collection before the warm-ups (where Node runs with --expose-gc): the case starts
  // from a clean heap, and the JIT re-optimizes what that collection dropped while warming up
  globalThis.gc?.();
  for (const impl of impls) {
    let callMs = impl.warmCallMs ?? 0;
    if (!impl.warm) {
      if (impl.enter) await impl.enter();
      const start = performance.now();
      let calls = 0;
      while (calls < 3 || performance.now() - start < warmupMs) {
        const t0 = performance.now();
        await impl.run();
        callMs = performance.now() - t0;
        calls++;
        if (callMs > slowMs) break; // one call of a slow task is warm enough
      }
    }
    // a task slower than slowMs a call is timed in the first round only
    maxRounds.set(impl, callMs > slowMs ? 1 : (impl.maxRounds ?? rounds));
  }
  const samples = new Map(impls.map((i) => [i.name, []]));
  // impls timed in fewer rounds (the slow references: cnn-wasm's pure-JS backend, tfjs-cpu) take
  // theirs after the others' rounds: the garbage of their long calls kept V8's collector busy on the
  // second core through the next impls' rounds (a 2-thread LeNet step read 0.98-1.26x one thread
  // with the pure-JS step's rounds among its own, 1.50-1.63x without them)
  const full = impls.filter((impl) => maxRounds.get(impl) >= rounds);
  const limited = impls.filter((impl) => maxRounds.get(impl) < rounds);
  const schedule = [];
  for (let r = 0; r < rounds; r++) schedule.push(full.map((_, i) => full[(i + r) % full.length]));
  for (let r = 0; r < rounds; r++) {
    const some = limited.filter((impl) => r < maxRounds.get(impl));
    if (some.length) schedule.push(some.map((_, i) => some[(i + r) % some.length]));
  }
  for (const order of schedule) {
    const bench = new Bench({ time: roundMs, iterations: 1, warmup: false, retainSamples: true, throws: true });
    // each impl's round starts after a collection of the young generation (where Node runs with
    // --expose-gc), so that one impl's garbage is not collected by V8's threads during another's round
    // (which would take the second core from a 2-thread impl). Not a full collection: after one, V8
    // re-optimizes the JavaScript it runs for a second or more (the LeNet step on one thread took
    // 2,447 us a step before a full gc(), 2,493 in the next 250 ms, 2,447 again 1.25 s later; on two
    // threads 1,324, then 1,373, then 1,320 after 1.5 s), so every round after one timed code half warm
    // (a multi-threaded impl also waits a little after it; so does the impl after one, whose workers
    // poll for their next job for a few ms before sleeping)
    const settle = async (impl, previous) => {
      globalThis.gc?.({ type: 'minor' });
      if (impl.threads > 1 || previous?.threads > 1) await new Promise((resolve) => setTimeout(resolve, 20));
      await impl.enter?.();
    };
    order.forEach((impl, i) => bench.add(impl.name, impl.run, { beforeAll: () => settle(impl, order[i - 1]) }));
    await bench.run();
    for (const task of bench.tasks) samples.get(task.name).push(...(task.result.latency.samples ?? []));
  }
  const out = new Map();
  for (const [name, s] of samples) {
    const sorted = s.slice().sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    out.set(name, { medianMs, samples: sorted.length });
  }
  return out;
}

/**
 * About how long measure() takes for one impl whose call takes callMs, with the same options (for
 * the progress line's estimate): the warm-up, then each round's time budget or call, whichever is
 * longer, plus half a call of overshoot.
 */
export function predictMs(callMs, { rounds = 5, roundMs = 60, warmupMs = 150, slowMs = 1000, warm = false, maxRounds = rounds } = {}) {
  const slow = callMs > slowMs;
  const warmup = warm ? 0 : slow ? callMs : Math.max(3 * callMs, warmupMs + callMs / 2);
  const n = slow ? 1 : Math.min(rounds, maxRounds);
  return warmup + n * (Math.max(roundMs, callMs) + callMs / 2 + 1);
}
