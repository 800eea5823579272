// Packed forward filters, kept between calls. Before every call a convolution (or a dense layer,
// which runs as one) packs its filter into the order its kernel reads, and inference calls the same
// filter again and again. Where the filter still has the bits it was packed from, the packed copy
// is used as it is: the pack is skipped, and on several threads the copy is not written again, so
// the other cores keep it in their caches (written anew each call, every worker had to fetch it
// again). Measured here, builds turn about in one process, on two threads: 4x33x33x24 3x3 to 48 at
// stride 2 248-269 us a call against 245-251 with the copy kept, 1x28x28x128 1x1 to 128 261 against
// 253, a dense layer (256, 1024) x (1024, 512) 3.0-4.1 ms against 2.7-2.8 (on one thread 5.40
// against 5.23); the LeNet training step, whose filters change at every call, unchanged.
//
// Whether the bits are the same is checked at every call, against the packed copy itself
// (packed_filter_differs: no second copy of the filter is kept), since a tensor's `data` view may
// be written at any time. A kept filter that changed is packed again into its block; one that
// changes at every call (a training step's) is not given a block in the first place (pin()). The
// copies take at most BUDGET bytes of linear memory in all (the least recently used given up
// first), and give way to any allocation that could not be met otherwise (Arena.reclaim). A
// backend made with a memory maximum keeps none: a block that gave way could still leave a hole
// below the tensors made after it, and under a cap memory goes to tensors first.
import { CnnAllocationError } from '../errors.js';
import type { Arena } from './arena.js';

/** Bytes the packed copies may take in all. */
const BUDGET = 32 << 20;
/** A packed filter larger than this is not kept (a late layer's 3x3, 512 to 512 in float32 is 9.4 MB). */
const MAX_ENTRY = 8 << 20;
/** Fingerprints remembered (of filters packed without a block). */
const SEEN = 256;

/** A packed filter's block: `packed` once a pack into it has completed. */
export interface PackedEntry {
  readonly offset: number;
  readonly bytes: number;
  /** The filter's dtype, shape and packed layout, as the caller numbers them. */
  readonly layout: readonly number[];
  packed: boolean;
  pins: number;
}

const sameLayout = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export class PackedFilters {
  readonly #arena: Arena;
  /** By the filter's offset, least recently used first. */
  readonly #entries = new Map<number, PackedEntry>();
  /** The layouts and fingerprints of filters packed without a block, by offset, least recent first. */
  readonly #seen = new Map<number, { layout: readonly number[]; print: number }>();
  #bytes = 0;
  readonly #enabled: boolean;

  /** `enabled`: false for a backend made with a memory maximum (no block is ever kept). */
  constructor(arena: Arena, enabled: boolean) {
    this.#arena = arena;
    this.#enabled = enabled;
    arena.reclaim = () => this.#release(0);
  }

  /**
   * The block kept for the filter at `offset` packed in `layout`, `bytes` long, pinned until
   * unpin() (reclaim leaves it alone), or null where none is kept for it. A block is first taken at
   * a call whose filter has the fingerprint (`fingerprint()`, of the filter's bits) it had at the
   * call before: a filter that changes at every call (a training step's) never has one, and the
   * step's memory stays laid out as it was (arena.ts).
   */
  pin(offset: number, layout: readonly number[], bytes: number, fingerprint: () => number): PackedEntry | null {
    if (!this.#enabled) return null;
    let entry = this.#entries.get(offset);
    if (entry && !sameLayout(entry.layout, layout)) {
      // the same storage as a filter of another shape (calls do not nest: the block is not pinned)
      this.#drop(offset, entry);
      entry = undefined;
    }
    if (entry) {
      this.#entries.delete(offset);
    } else {
      if (bytes > MAX_ENTRY) return null;
      const print = fingerprint(), before = this.#seen.get(offset);
      this.#seen.delete(offset);
      if (!before || before.print !== print || !sameLayout(before.layout, layout)) {
        this.#seen.set(offset, { layout, print });
        if (this.#seen.size > SEEN) this.#seen.delete(this.#seen.keys().next().value!);
        return null;
      }
      this.#release(BUDGET - bytes);
      let at: number;
      try {
        // not at the cost of the other kept blocks (reclaim would give them all up)
        at = this.#arena.alloc('packFilter', bytes, false);
      } catch (e) {
        // the memory cannot have it: the filter is packed into scratch, as without a kept copy
        if (e instanceof CnnAllocationError) return null;
        throw e;
      }
      entry = { offset: at, bytes, layout, packed: false, pins: 0 };
      this.#bytes += bytes;
    }
    this.#entries.set(offset, entry);
    entry.pins++;
    return entry;
  }

  unpin(entry: PackedEntry): void {
    entry.pins--;
  }

  #drop(key: number, entry: PackedEntry): void {
    this.#entries.delete(key);
    this.#arena.free(entry.offset);
    this.#bytes -= entry.bytes;
  }

  /** Frees blocks not pinned, least recently used first, until at most `keep` bytes are held; whether it freed any. */
  #release(keep: number): boolean {
    let freed = false;
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= keep) break;
      if (entry.pins > 0) continue;
      this.#drop(key, entry);
      freed = true;
    }
    return freed;
  }
}
