// The allocator of the wasm backend: TS owns linear memory, kernels only read and write it.
// Blocks are 16-byte aligned (one v128). Freed blocks go to an address-ordered free list and merge
// with their neighbours; a request takes the smallest free block that fits, else the top of the
// heap, growing the memory when needed.
//
// Scoped placement (a backend with worker threads, inside tidy()): an op's threads each write
// their share of its output (images 0-15 of 32 on the caller, 16-31 on the worker), so each line
// of memory lies in the cache of the core that wrote it. Reusing a freed block for a tensor of
// another size moves those shares: the lines between the old and the new boundary are then written
// by the other core, which must first take them from the first one's cache, at up to 40 ns a line
// streamed on this machine when its two vCPUs sit on different dies (a LeNet training step at batch
// 32 lost 330 us of 1.9 ms to it). So inside a scope a freed block is reused only by a request of
// its exact size, other requests take new memory at the top, and the scope's freed blocks return to
// the top when it ends: a training step that repeats in tidy() then puts each tensor where it was
// the step before, and no two tensors of a step share lines. Holes are kept only while they are
// fewer bytes than the live blocks; beyond that, requests take the smallest free block that fits.
import { CnnAllocationError } from '../errors.js';

const ALIGN = 16;
const PAGE = 65536;
/** wasm32 addresses 2^32 bytes at most. */
const ADDRESS_LIMIT = 2 ** 32;
/** Grow by at least this many bytes, so that a run of small allocations does not grow page by page. */
const MIN_GROWTH = 1 << 20;

interface Block {
  start: number;
  end: number;
}

export class Arena {
  readonly #memory: WebAssembly.Memory;
  #top: number;
  readonly #free: Block[] = [];
  readonly #live = new Map<number, number>();
  #grows = 0;
  /** The memory's size in bytes, as of the last growth. */
  #capacity: number;
  /** The bytes the memory may grow to: its maximum, or what wasm32 addresses. */
  readonly #limit: number;
  readonly #base: number;
  /** Whether scopes place blocks as described above (a backend with worker threads). */
  readonly #scoped: boolean;
  /** Scopes open (tidy() calls under way). */
  #depth = 0;
  /** Bytes in the free list. */
  #freeBytes = 0;

  constructor(memory: WebAssembly.Memory, heapBase: number, limit = ADDRESS_LIMIT, scoped = false) {
    this.#memory = memory;
    this.#limit = Math.min(limit, ADDRESS_LIMIT);
    this.#top = this.#base = roundUp(Math.max(heapBase, ALIGN), ALIGN);
    this.#capacity = memory.buffer.byteLength;
    this.#scoped = scoped;
  }

  /** A tidy() scope opens. */
  enterScope(): void {
    this.#depth++;
  }

  /** A tidy() scope has ended (its tensors are freed): free blocks at the top give their bytes back to it. */
  exitScope(): void {
    this.#depth = Math.max(0, this.#depth - 1);
    this.#lowerTop();
  }

  /** Whether blocks are placed as in a scope now. */
  get #placing(): boolean {
    return this.#scoped && this.#depth > 0 && this.#freeBytes < this.#top - this.#base - this.#freeBytes;
  }

  /** Bytes of linear memory reserved so far. */
  get reserved(): number {
    return this.#memory.buffer.byteLength;
  }

  /** How many times the memory grew. */
  get grows(): number {
    return this.#grows;
  }

  /**
   * Called when a request cannot be met: frees what it can of the blocks kept only to save work
   * (the packed filters, packed.ts) and says whether it freed any; the request is then tried again.
   */
  reclaim: (() => boolean) | null = null;

  /** Returns the byte offset of a new block of at least `bytes` bytes; `reclaim`: whether reclaim() may make room for it. */
  alloc(op: string, bytes: number, reclaim = true): number {
    try {
      return this.#alloc(op, bytes);
    } catch (e) {
      if (reclaim && e instanceof CnnAllocationError && this.reclaim?.()) return this.#alloc(op, bytes);
      throw e;
    }
  }

  #alloc(op: string, bytes: number): number {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    // in a scope: a free block of this size, else the top, where the memory can have it
    let start = this.#placing ? (this.#take(size, true) ?? this.#fromTop(op, bytes, size, false)) : null;
    if (start === null) {
      // in a scope whose holes outgrew its live blocks, or whose top the memory cannot have: the free
      // blocks at the top count again
      if (this.#depth > 0 && this.#scoped) this.#lowerTop();
      start = this.#take(size, false) ?? this.#fromTop(op, bytes, size, true)!;
    }
    this.#live.set(start, size);
    return start;
  }

  /** The smallest free block of `size` bytes (exactly, or at least) taken from its start, or null. */
  #take(size: number, exact: boolean): number | null {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const n = this.#free[i]!.end - this.#free[i]!.start;
      if ((exact ? n === size : n >= size) && (best < 0 || n < this.#free[best]!.end - this.#free[best]!.start)) best = i;
    }
    if (best < 0) return null;
    const b = this.#free[best]!;
    const start = b.start;
    b.start += size;
    this.#freeBytes -= size;
    if (b.start === b.end) this.#free.splice(best, 1);
    return start;
  }

  /** `size` bytes at the top, growing the memory; where it cannot: throws, or (`must` false) returns null. */
  #fromTop(op: string, bytes: number, size: number, must: boolean): number | null {
    const start = this.#top;
    const end = start + size;
    if (end > this.#limit) {
      if (!must) return null;
      const what = this.#limit === ADDRESS_LIMIT ? 'wasm32 linear memory can address (4 GiB)' : `the memory maximum this backend was made with (${this.#limit} bytes)`;
      throw new CnnAllocationError(op, bytes, `more than ${what}, ${this.#top} bytes already taken`);
    }
    try {
      this.#ensure(op, bytes, end);
    } catch (e) {
      if (must) throw e;
      return null;
    }
    this.#top = end;
    return start;
  }

  free(offset: number): void {
    const size = this.#live.get(offset);
    if (size === undefined) throw new Error(`internal: free of unknown block at ${offset}`);
    this.#live.delete(offset);
    const placing = this.#placing;
    // the common case, scratch freed in the order it was taken: the top comes down
    if (offset + size === this.#top && !placing) {
      this.#top = offset;
      this.#lowerTop();
      return;
    }
    this.#freeBytes += size;
    let block: Block = { start: offset, end: offset + size };
    // insert in address order, merging with the neighbours it touches
    let i = 0;
    while (i < this.#free.length && this.#free[i]!.start < block.start) i++;
    const prev = this.#free[i - 1];
    const next = this.#free[i];
    if (prev && prev.end === block.start) {
      prev.end = block.end;
      block = prev;
      i--;
    } else {
      this.#free.splice(i, 0, block);
    }
    if (next && block.end === next.start) {
      block.end = next.end;
      this.#free.splice(i + 1, 1);
    }
    if (!placing) this.#lowerTop();
  }

  /** A free block at the top gives its bytes back to the top. */
  #lowerTop(): void {
    const last = this.#free[this.#free.length - 1];
    if (last && last.end === this.#top) {
      this.#top = last.start;
      this.#freeBytes -= last.end - last.start;
      this.#free.pop();
    }
  }

  #ensure(op: string, bytes: number, end: number): void {
    if (end <= this.#capacity) return;
    const have = this.#memory.buffer.byteLength;
    const need = Math.ceil((end - have) / PAGE);
    const want = Math.min(Math.max(need, Math.ceil(MIN_GROWTH / PAGE)), Math.floor(this.#limit / PAGE) - have / PAGE);
    try {
      this.#memory.grow(want);
    } catch {
      try {
        this.#memory.grow(need);
      } catch (e) {
        throw new CnnAllocationError(op, bytes, `the engine refused to grow linear memory to ${end} bytes (${(e as Error).message})`);
      }
    }
    this.#grows++;
    this.#capacity = this.#memory.buffer.byteLength;
  }
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
