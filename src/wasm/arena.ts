// The allocator of the wasm backend: TS owns linear memory, kernels only read and write it.
// Blocks are 16-byte aligned (one v128). Freed blocks go to an address-ordered free list and merge
// with their neighbours; a request takes the smallest free block that fits, else the top of the
// heap, growing the memory when needed.
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

  constructor(memory: WebAssembly.Memory, heapBase: number, limit = ADDRESS_LIMIT) {
    this.#memory = memory;
    this.#limit = Math.min(limit, ADDRESS_LIMIT);
    this.#top = roundUp(Math.max(heapBase, ALIGN), ALIGN);
    this.#capacity = memory.buffer.byteLength;
  }

  /** Bytes of linear memory reserved so far. */
  get reserved(): number {
    return this.#memory.buffer.byteLength;
  }

  /** How many times the memory grew. */
  get grows(): number {
    return this.#grows;
  }

  /** Returns the byte offset of a new block of at least `bytes` bytes. */
  alloc(op: string, bytes: number): number {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i]!;
      if (b.end - b.start >= size && (best < 0 || b.end - b.start < this.#free[best]!.end - this.#free[best]!.start)) best = i;
    }
    let start: number;
    if (best >= 0) {
      const b = this.#free[best]!;
      start = b.start;
      b.start += size;
      if (b.start === b.end) this.#free.splice(best, 1);
    } else {
      start = this.#top;
      const end = start + size;
      if (end > this.#limit) {
        const what = this.#limit === ADDRESS_LIMIT ? 'wasm32 linear memory can address (4 GiB)' : `the memory maximum this backend was made with (${this.#limit} bytes)`;
        throw new CnnAllocationError(op, bytes, `more than ${what}, ${this.#top} bytes already taken`);
      }
      this.#ensure(op, bytes, end);
      this.#top = end;
    }
    this.#live.set(start, size);
    return start;
  }

  free(offset: number): void {
    const size = this.#live.get(offset);
    if (size === undefined) throw new Error(`internal: free of unknown block at ${offset}`);
    this.#live.delete(offset);
    // the common case, scratch freed in the order it was taken: the top comes down
    if (offset + size === this.#top) {
      this.#top = offset;
      const last = this.#free[this.#free.length - 1];
      if (last && last.end === this.#top) {
        this.#top = last.start;
        this.#free.pop();
      }
      return;
    }
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
    // a free block at the top gives its bytes back to the top
    const last = this.#free[this.#free.length - 1];
    if (last && last.end === this.#top) {
      this.#top = last.start;
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
