// Threads: workers that run kernel calls over the backend's one shared linear memory, so an op can
// split its work into tasks (ranges of output rows, images, channel blocks or elements) that the
// calling thread and the workers take in turn. The API stays synchronous: the caller takes tasks
// too, then waits for the rest (Atomics.wait where it may block; a spin on a browser's main thread,
// which may not, as emscripten's pthreads do).
//
// A job is written into a small SharedArrayBuffer: each task is one kernel call (an index into the
// module's exports and its numeric arguments). Workers poll for a while, then sleep, on a generation
// counter; the one that finishes the last task wakes the caller. The tasks are dealt out as in
// pthreadpool: thread t (the caller is 0) owns the t-th contiguous group of the job's tasks and
// claims them in order, then takes what is left of the other threads' groups once their owners have
// stopped claiming (takeTasks: a thread descheduled or asleep, a group of longer tasks). The ops cut their
// outputs in order (images, rows, elements), so consecutive ops' tasks over the same tensors land
// on the same thread, whose cache holds what it wrote: fetching another core's lines cost more than
// the copy itself on this machine. Which thread runs a task never changes what it computes: the
// tasks of an op are decided by its shapes alone, so 1, 2 or 8 threads give the same bits.
//
// Workers are made from an inline source (a Blob URL in browsers, an eval'd worker_threads script
// in Node): no file to locate, so it works unchanged in Node, a plain page and a bundler's output. A
// strict Content-Security-Policy must allow `worker-src blob:` for threads (the backend falls back
// to one thread where the worker cannot start).
import { CnnThreadError } from '../errors.js';

/** Slots of the control words (Int32). */
// Words the caller writes once a job and the workers poll, words every thread updates as a job ends,
// and each thread's claim word lie on cache lines of their own (16 slots apart): a line written by
// one core and read by another crosses between them, at 120-340 ns a round trip on this machine.
const GENERATION = 0; // bumped for each job: workers sleep on it
const STOP = 1; // 1: workers exit
const COUNT = 2; // the job's tasks
const LEFT = 16; // tasks not finished
const FLAGS = 17; // OR of the kernels' results (1: a value was not finite)
const FAILED = 18; // 1 + the index of a task that threw
/**
 * One claim word per thread's group of tasks: (end << CLAIM_SHIFT) | next. A claim is an
 * Atomics.add of 1, whose result carries both the task it took and the end of the group it took it
 * from, so a thread late from a finished job can never take a task of the next one as its own: the
 * word it adds to is either closed (end 0) or the next job's. Overclaims (one per thread per group
 * per job) stay far below 1 << CLAIM_SHIFT. Thread t's word is slot CLAIMS + t * LINE: createBackend
 * allows at most 64 threads.
 */
const CLAIMS = 32;
const LINE = 16;
const CLAIM_SHIFT = 12;
const CLAIM_MASK = (1 << CLAIM_SHIFT) - 1;
const MESSAGE = CLAIMS + 64 * LINE; // a failed task's error message: its length, then UTF-16 code units
const MESSAGE_UNITS = 240;
const CONTROL_BYTES = 8192;
/** Each task: kernel index, argument count, then the arguments (Float64). */
const TASK_SLOTS = 24;
export const MAX_ARGS = TASK_SLOTS - 2;
export const MAX_TASKS = 1024;

/** How long the caller polls for the last tasks before it sleeps (waking from Atomics.wait costs tens of microseconds). */
const CALLER_SPIN_MS = 1;

/**
 * How long a worker polls for the next job before it sleeps, as pthreadpool's workers do: the jobs
 * of an op, and the ops of a training step, come microseconds apart, and a worker woken from
 * Atomics.wait joins tens of microseconds late (on 2 threads here: max pooling 1.29x -> 1.46x one
 * thread, the strided layer's forward 1.50x -> 1.60x). Polling did not slow the caller's work
 * (copies in and out of cache, arithmetic) on this machine.
 */
const WORKER_SPIN_MS = 2;

/**
 * The least time a thread that has run its own tasks lets another's claim word stand still before
 * it takes from that group, and the whole wait where that thread has not claimed its first task or
 * this one had none of its own (takeTasks).
 */
const PATIENCE_MS = 0.005;

/** How often a thread whose own tasks are done looks at the others' claim words (takeTasks). */
const LOOK_MS = 0.001;

/** How long the caller waits for a task a worker took before it calls that worker lost. */
const STALL_MS = 10_000;

type Kernel = (...args: number[]) => number | void;

/** The worker's program. Self-contained (it is sent as source): it uses nothing from this module's scope. */
function workerMain(take: typeof takeTasks): void {
  /* eslint-disable */
  const g = globalThis as any;
  const node = typeof g.self === 'undefined';
  const port = node ? g.process.getBuiltinModule('node:worker_threads').parentPort : g.self;
  const listen = (f: (data: any) => void) => (node ? port.on('message', f) : (port.onmessage = (e: MessageEvent) => f(e.data)));
  listen(function init(data: any) {
    if (data.type !== 'init') return;
    let ctl: Int32Array, tasks: Float64Array, fns: Kernel[];
    try {
      const instance = new WebAssembly.Instance(data.module, { env: { memory: data.memory } });
      fns = data.names.map((n: string) => instance.exports[n]);
      ctl = new Int32Array(data.control, 0, data.controlBytes / 4);
      tasks = new Float64Array(data.control, data.controlBytes);
    } catch (e) {
      port.postMessage({ type: 'failed', message: String(e && (e as Error).message || e) });
      return;
    }
    port.postMessage({ type: 'ready' });
    const slots: number[] = data.slots;
    const GENERATION = slots[0]!, LEFT = slots[1]!, FAILED = slots[2]!, STOP = slots[3]!, MESSAGE = slots[4]!, MESSAGE_UNITS = slots[5]!, COUNT = slots[6]!;
    const takeSlots: number[] = data.takeSlots;
    const spinMs: number = data.spinMs, self: number = data.index, threads: number = data.threads;
    let seen = Atomics.load(ctl, GENERATION);
    for (;;) {
      // poll for the next job for a while (an op's next kernel, the next op of a training step: waking
      // from Atomics.wait costs tens of microseconds), then sleep until it comes
      const until = performance.now() + spinMs;
      for (let n = 1; Atomics.load(ctl, GENERATION) === seen; n++) {
        if ((n & 63) === 0 && performance.now() > until) break;
      }
      Atomics.wait(ctl, GENERATION, seen);
      seen = Atomics.load(ctl, GENERATION);
      if (Atomics.load(ctl, STOP)) break;
      // the tasks it ran are taken off LEFT at the end, in one write
      const done = take(ctl, tasks, fns, self, threads, Atomics.load(ctl, COUNT), true, takeSlots, (i: number, e: unknown) => {
        if (Atomics.compareExchange(ctl, FAILED, 0, i + 1) === 0) {
          const text = String(e && (e as Error).message || e).slice(0, MESSAGE_UNITS);
          for (let c = 0; c < text.length; c++) ctl[MESSAGE + 1 + c] = text.charCodeAt(c);
          Atomics.store(ctl, MESSAGE, text.length);
        }
      });
      if (done > 0 && Atomics.sub(ctl, LEFT, done) === done) Atomics.notify(ctl, LEFT);
    }
    if (node) port.close();
    else g.close();
  });
  /* eslint-enable */
}

/**
 * Runs this thread's share of a job (thread `self` of `threads`) and returns how many tasks it ran:
 * its own group of tasks first, in order, then what is left of the others' groups. It takes from
 * another thread's group only once that group's claim word has not moved for twice as long as this
 * thread's own tasks took on average, and at least PATIENCE_MS (PATIENCE_MS alone where it had no
 * tasks of its own, or where the other thread has not claimed its group's first task: asleep, or
 * not yet scheduled); from a group that stays still it then takes one task after another. A
 * thread running normally keeps its group, so the next op, cut the same way, finds the data in
 * its cache, while a thread descheduled, asleep or held up by a long task (or gone: `patient`
 * false, which takes at once) does not hold the job up. Taking work at once moved a task or two
 * of a LeNet training step between the cores in every step, and their lines with them. It looks
 * at the other groups about once a microsecond, since each look pulls the line the owner claims
 * on across from its core. Self-contained (the worker gets it as source: no destructuring, which
 * a compiler may lower to a helper of the module's): its constants come in `slots`, a result not
 * finite is ORed into the FLAGS word, and a task that throws is passed to `failed` and counted as
 * run. Exported for the tests.
 */
export function takeTasks(ctl: Int32Array, tasks: Float64Array, fns: Kernel[], self: number, threads: number, count: number, patient: boolean,
  slots: readonly number[], failed: (task: number, error: unknown) => void): number {
  const FLAGS = slots[0]!, CLAIMS = slots[1]!, LINE = slots[2]!, CLAIM_SHIFT = slots[3]!, CLAIM_MASK = slots[4]!;
  const TASK_SLOTS = slots[5]!, PATIENCE_MS = slots[6]!, LOOK_MS = slots[7]!;
  const FINISHED = -2;
  // per group: its claim word as last seen (FINISHED: no task left), since when, and how long it may
  // stay so before this thread takes from it (decided when the word was seen to move: the owner
  // had not started, or it had)
  const seen: number[] = new Array(threads).fill(-1), since: number[] = new Array(threads).fill(0);
  const wait: number[] = new Array(threads).fill(0);
  const started = performance.now();
  let done = 0, patience = PATIENCE_MS, left = threads, from = self, lastLook = -Infinity;
  while (left > 0) {
    if (from < 0) {
      // own group done: find a group to take from
      const now = performance.now();
      if (patient && now - lastLook < LOOK_MS) continue;
      lastLook = now;
      for (let k = 1; k < threads && from < 0; k++) {
        const t = (self + k) % threads;
        if (seen[t] === FINISHED) continue;
        const word = Atomics.load(ctl, CLAIMS + t * LINE);
        if ((word & CLAIM_MASK) >= word >>> CLAIM_SHIFT) {
          seen[t] = FINISHED;
          left--;
        } else if (!patient) {
          from = t;
        } else if (word !== seen[t]) {
          seen[t] = word;
          since[t] = now;
          wait[t] = (word & CLAIM_MASK) === Math.floor((count * t) / threads) ? PATIENCE_MS : patience;
        } else if (now - since[t]! >= wait[t]!) {
          from = t;
        }
      }
      if (from < 0) continue;
    }
    const word = Atomics.add(ctl, CLAIMS + from * LINE, 1);
    const i = word & CLAIM_MASK;
    if (i >= word >>> CLAIM_SHIFT) {
      if (from === self && done > 0) patience = Math.max(PATIENCE_MS, (2 * (performance.now() - started)) / done);
      seen[from] = FINISHED;
      left--;
      from = -1;
      continue;
    }
    const at = i * TASK_SLOTS;
    try {
      const argc = tasks[at + 1]!;
      const args: number[] = new Array(argc);
      for (let a = 0; a < argc; a++) args[a] = tasks[at + 2 + a]!;
      if (fns[tasks[at]!]!.apply(null, args)) Atomics.or(ctl, FLAGS, 1);
    } catch (e) {
      failed(i, e);
    }
    done++;
    if (from !== self) {
      // the word as this claim left it: while its owner claims nothing more, the next is taken at once
      seen[from] = word + 1;
      from = -1;
    }
  }
  return done;
}

/** takeTasks' constants. Exported for the tests. */
export const TAKE_SLOTS: readonly number[] = [FLAGS, CLAIMS, LINE, CLAIM_SHIFT, CLAIM_MASK, TASK_SLOTS, PATIENCE_MS, LOOK_MS];

const WORKER_SOURCE = `(${workerMain.toString()})(${takeTasks.toString()});`;

/** The engine's worker: Node's worker_threads (reached without an import, so bundlers see none) or the Web's. */
interface WorkerHandle {
  post(message: unknown): void;
  /** Listens for messages until `f` returns true (a listener would keep a Node process alive). */
  onMessage(f: (data: { type: string; message?: string }) => boolean): void;
  onExit(f: (why: string) => void): void;
  terminate(): void;
}

function nodeWorkerThreads(): { Worker: new (source: string, options: { eval: true }) => NodeWorkerLike } | null {
  const process = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  return (process?.getBuiltinModule?.('node:worker_threads') as ReturnType<typeof nodeWorkerThreads>) ?? null;
}

interface NodeWorkerLike {
  postMessage(message: unknown): void;
  on(event: string, f: (value: never) => void): void;
  off(event: string, f: (value: never) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

function startWorker(): WorkerHandle {
  const wt = nodeWorkerThreads();
  if (wt) {
    const w = new wt.Worker(WORKER_SOURCE, { eval: true });
    // a process whose code is done exits without disposing the backend
    w.unref();
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => {
        const listener = (data: never) => {
          if (f(data)) w.off('message', listener);
        };
        w.on('message', listener);
      },
      onExit: (f) => {
        w.on('error', ((e: Error) => f(`it failed: ${e.message}`)) as (v: never) => void);
        w.on('exit', ((code: number) => f(`it exited with code ${code}`)) as (v: never) => void);
      },
      terminate: () => void w.terminate(),
    };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  try {
    const w = new Worker(url);
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => {
        const listener = (e: MessageEvent) => {
          if (f(e.data)) w.removeEventListener('message', listener);
        };
        w.addEventListener('message', listener);
      },
      onExit: (f) => w.addEventListener('error', (e) => f(`it failed: ${e.message || 'error event'}`)),
      terminate: () => w.terminate(),
    };
  } finally {
    // the worker has fetched its script by the time it posts anything; revoking now is allowed once it started loading
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether shared memory can be used here: SharedArrayBuffer exists and, in a browser, the page is cross-origin isolated. */
export function sharedMemoryAvailable(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
  if (typeof g.SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  return g.crossOriginIsolated !== false;
}

/** Whether workers can be made here (Node's worker_threads, or Worker and Blob URLs). */
export function workersAvailable(): boolean {
  if (nodeWorkerThreads()) return true;
  const g = globalThis as { Worker?: unknown; Blob?: unknown; URL?: { createObjectURL?: unknown } };
  return typeof g.Worker === 'function' && typeof g.Blob === 'function' && typeof g.URL?.createObjectURL === 'function';
}

/**
 * Threads over one shared memory: the calling thread and `size - 1` workers. Made by start();
 * while `size` is 1 (no workers, or after one was lost) every job runs on the calling thread.
 */
export class ThreadPool {
  #workers: WorkerHandle[];
  readonly #control: Int32Array;
  readonly #tasks: Float64Array;
  readonly #fns: Kernel[];
  readonly #ids: Map<Kernel, number>;
  readonly #block = canBlock();
  /** Why the pool stopped using its workers (a worker exited or failed), or null. */
  #lost: string | null = null;
  #count = 0;
  /** How many tasks of the last job the caller ran. */
  #callerTasks = 0;
  /** The caller and the workers started: the number of groups a job's tasks are dealt into. */
  readonly #threads: number;

  private constructor(workers: WorkerHandle[], control: SharedArrayBuffer, fns: Kernel[], ids: Map<Kernel, number>) {
    this.#workers = workers;
    this.#threads = workers.length + 1;
    this.#control = new Int32Array(control, 0, CONTROL_BYTES / 4);
    this.#tasks = new Float64Array(control, CONTROL_BYTES);
    this.#fns = fns;
    this.#ids = ids;
    for (const w of workers) w.onExit((why) => this.#lose(`a worker thread stopped (${why})`));
  }

  /**
   * Starts `threads - 1` workers, each instantiating `module` over `memory`, and resolves when all
   * are ready. A worker that fails to start, or takes longer than `timeoutMs`, leaves a pool of
   * one thread (its reason in `lost`).
   */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, exports: WebAssembly.Exports, threads: number, timeoutMs = 20_000): Promise<ThreadPool> {
    const names = Object.keys(exports).filter((n) => typeof exports[n] === 'function');
    const fns = names.map((n) => exports[n] as Kernel);
    const ids = new Map(fns.map((f, i) => [f, i]));
    const control = new SharedArrayBuffer(CONTROL_BYTES + MAX_TASKS * TASK_SLOTS * 8);
    const workers: WorkerHandle[] = [];
    let failure: string | null = null;
    try {
      for (let i = 1; i < threads; i++) workers.push(startWorker());
    } catch (e) {
      failure = `a worker could not be made (${(e as Error).message})`;
    }
    if (!failure) {
      const slots = [GENERATION, LEFT, FAILED, STOP, MESSAGE, MESSAGE_UNITS, COUNT];
      const ready = workers.map((w, index) => new Promise<void>((resolve, reject) => {
        w.onMessage((m) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'failed') reject(new Error(m.message));
          return true;
        });
        w.onExit((why) => reject(new Error(why)));
        w.post({ type: 'init', module, memory, control, controlBytes: CONTROL_BYTES, names, slots, takeSlots: TAKE_SLOTS, spinMs: WORKER_SPIN_MS, index: index + 1, threads });
      }));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([Promise.all(ready), late]);
      } catch (e) {
        failure = `a worker did not start (${(e as Error).message})`;
      } finally {
        clearTimeout(timer);
      }
    }
    const pool = new ThreadPool(workers, control, fns, ids);
    if (failure) pool.#lose(failure);
    return pool;
  }

  /** Threads that run jobs: the caller and its live workers. */
  get size(): number {
    return this.#lost ? 1 : this.#workers.length + 1;
  }

  /** Why the workers are no longer used, or null. */
  get lost(): string | null {
    return this.#lost;
  }

  #lose(why: string): void {
    if (this.#lost) return;
    this.#lost = why;
    this.#stopWorkers();
  }

  #stopWorkers(): void {
    Atomics.store(this.#control, STOP, 1);
    Atomics.add(this.#control, GENERATION, 1);
    Atomics.notify(this.#control, GENERATION);
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }

  /** Ends the workers; later jobs run on the calling thread. */
  dispose(): void {
    this.#lose('the backend was disposed');
  }

  /** @internal For the tests: how many tasks of the last job the calling thread ran. */
  get callerTasksForTest(): number {
    return this.#callerTasks;
  }

  /** @internal For the tests: stops a worker as if its thread died; resolves once the pool has noticed. */
  terminateWorkerForTest(): Promise<void> {
    const w = this.#workers[0];
    if (!w) return Promise.resolve();
    return new Promise((resolve) => {
      w.onExit(() => resolve());
      w.terminate();
    });
  }

  /** Starts a job: add its tasks, then run() it. */
  begin(): void {
    this.#count = 0;
  }

  /** Adds a task: one call of kernel `fn` (an export of the module) with these arguments. */
  add(fn: Kernel, args: ArrayLike<number>): void {
    const id = this.#ids.get(fn);
    if (id === undefined || args.length > MAX_ARGS || this.#count >= MAX_TASKS) throw new Error('internal: a task the pool cannot hold');
    const at = this.#count++ * TASK_SLOTS;
    this.#tasks[at] = id;
    this.#tasks[at + 1] = args.length;
    for (let a = 0; a < args.length; a++) this.#tasks[at + 2 + a] = args[a]!;
  }

  /**
   * Runs the job's tasks on every thread, the caller's included, and returns the OR of their
   * results (1 where a kernel stored a value that is not finite). Throws where a task threw or a
   * worker stopped answering; the pool then runs on one thread.
   */
  run(op: string): number {
    const ctl = this.#control, count = this.#count;
    if (count === 0) return 0;
    Atomics.store(ctl, FLAGS, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, LEFT, count);
    Atomics.store(ctl, COUNT, count);
    // thread t's group: tasks [count * t / threads, count * (t + 1) / threads)
    const threads = this.#threads;
    for (let t = 0; t < threads; t++) {
      const [first, end] = [Math.floor((count * t) / threads), Math.floor((count * (t + 1)) / threads)];
      Atomics.store(ctl, CLAIMS + t * LINE, (end << CLAIM_SHIFT) | first);
    }
    if (this.#workers.length > 0 && !this.#lost) {
      Atomics.add(ctl, GENERATION, 1);
      Atomics.notify(ctl, GENERATION);
    }
    let error: unknown = null, failedTask = -1;
    const done = takeTasks(ctl, this.#tasks, this.#fns, 0, threads, count, this.#workers.length > 0 && !this.#lost, TAKE_SLOTS, (i, e) => {
      if (error === null) {
        error = e;
        failedTask = i;
      }
    });
    this.#callerTasks = done;
    if (done > 0) Atomics.sub(ctl, LEFT, done);
    this.#wait(op);
    this.#close();
    if (error !== null) throw error;
    const failed = Atomics.load(ctl, FAILED);
    if (failed !== 0 && failedTask < 0) {
      const n = Atomics.load(ctl, MESSAGE);
      let text = '';
      for (let c = 0; c < n; c++) text += String.fromCharCode(ctl[MESSAGE + 1 + c]!);
      throw new CnnThreadError(`${op}: a worker thread failed in task ${failed - 1} (${text})`);
    }
    return Atomics.load(ctl, FLAGS);
  }

  /** Closes every group (end 0): a claim made now takes nothing. */
  #close(): void {
    for (let t = 0; t < this.#threads; t++) Atomics.store(this.#control, CLAIMS + t * LINE, 0);
  }

  /** Waits until no task is left: blocking where this thread may, spinning where it may not. */
  #wait(op: string): void {
    const ctl = this.#control;
    let left = Atomics.load(ctl, LEFT);
    if (left === 0) return;
    const started = performance.now();
    // the last tasks are usually microseconds from done: poll before sleeping
    while (left !== 0 && performance.now() - started < CALLER_SPIN_MS) left = Atomics.load(ctl, LEFT);
    let lastLeft = left, lastChange = started;
    while (left !== 0) {
      if (this.#block) Atomics.wait(ctl, LEFT, left, 100);
      left = Atomics.load(ctl, LEFT);
      const now = performance.now();
      if (left !== lastLeft) {
        lastLeft = left;
        lastChange = now;
      } else if (now - lastChange > STALL_MS) {
        // a task that a worker took has not finished in STALL_MS with nothing else left to do: the
        // worker was stopped (or its thread died) mid-task; what that task writes is unknown
        const why = `${op}: a worker thread took a task and did not finish it within ${STALL_MS / 1000} s (the worker was stopped or its thread died); this op's output is not valid, and the backend now runs on one thread`;
        this.#lose(why);
        this.#close();
        throw new CnnThreadError(why);
      }
    }
  }
}
