/**
 * The hash table from key to head record: `Map<string, KeyRev>`'s job, laid out for the cache.
 *
 * Why not a `Map`: V8's `Map` chains colliding entries, and to walk a chain it loads every
 * candidate key to compare it. At a million keys those candidates are scattered over the heap,
 * so even a lookup of a recently read key pays cache and TLB misses on keys it never wanted:
 * measured on the target machines, a lookup cost 0.7-0.9 µs whether the keys probed were a
 * 10,000-key hot set or uniformly random. Here probing touches only `slots`, an `Int32Array` of
 * (hash, entry) pairs, and a key is compared only when its full 32-bit hash matches: the same
 * hot-set lookups measured about 8x faster, uniform ones a little faster.
 *
 * Layout: `recs` holds the records densely in insertion order (a `Map`'s iteration order, which
 * `KeyIndex.inOrder` relies on); a removed record leaves a hole that a later rebuild squeezes
 * out. `slots` is an open-addressing table with linear probing over `capacity` slots, pair
 * `i` being `slots[2i]` (the key's hash) and `slots[2i + 1]` (its position in `recs` plus one;
 * 0 marks an empty slot). Removal shifts later members of the probe run back (Knuth's
 * Algorithm R), so there are no tombstones and a probe stops at the first empty slot.
 *
 * Invariants: at most half of the slots are used (rebuilds keep probe runs short); every live
 * record in `recs` has exactly one slot and every used slot names a live record; a key's slot
 * lies on the run of used slots starting at its home slot (`hash & mask`).
 *
 * The hash is keyed with a random seed drawn once per process, as V8 seeds its own string
 * hashes (and Go and Rust their maps): a client that chooses keys must not be able to make them
 * collide and turn every lookup into a scan. The seed decides only where a record sits in
 * memory, never a result, an iteration order or a snapshot byte, so the store stays
 * deterministic in everything it returns.
 */
import type { KeyRev } from './key-rev.js';

const MIN_CAPACITY = 16;

/** See the module comment: a per-process hash key, never observable in results. */
const SEED = globalThis.crypto.getRandomValues(new Uint32Array(1))[0] as number;

/** A 32-bit hash of binary string `s` (FNV-1a over the chars, then murmur3's finalizer). */
function hashOf(s: string, seed: number): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** See the module comment. */
export class HeadTable {
  private recs: (KeyRev | undefined)[] = [];
  private slots: Int32Array;
  private mask: number;
  private live = 0;

  /** @param expected - how many keys to size the table for (a restore knows its key count). */
  constructor(expected = 0) {
    let capacity = MIN_CAPACITY;
    while (capacity <= expected * 2) capacity *= 2;
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity - 1;
  }

  /** Number of keys in the table. */
  get size(): number {
    return this.live;
  }

  /** The head record of `key`, or undefined. */
  get(key: string): KeyRev | undefined {
    const h = hashOf(key, SEED);
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const entry = slots[2 * i + 1] as number;
      if (entry === 0) return undefined;
      if (slots[2 * i] === h) {
        const rec = this.recs[entry - 1];
        if (rec !== undefined && rec.key === key) return rec;
      }
    }
  }

  /** Makes `rec` the record of `rec.key`; a key already present keeps its place in the order. */
  set(rec: KeyRev): void {
    const key = rec.key;
    const h = hashOf(key, SEED);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const entry = slots[2 * i + 1] as number;
      if (entry === 0) break;
      if (slots[2 * i] === h && this.recs[entry - 1]?.key === key) {
        this.recs[entry - 1] = rec;
        return;
      }
    }
    this.recs.push(rec);
    slots[2 * i] = h;
    slots[2 * i + 1] = this.recs.length;
    this.live++;
    if (this.recs.length * 2 > mask + 1) this.rebuild();
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean {
    const h = hashOf(key, SEED);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const entry = slots[2 * i + 1] as number;
      if (entry === 0) return false;
      if (slots[2 * i] === h && this.recs[entry - 1]?.key === key) {
        this.recs[entry - 1] = undefined;
        break;
      }
    }
    this.live--;
    // Algorithm R: move back any later member of the run whose home is not in (i, j].
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const entry = slots[2 * j + 1] as number;
      if (entry === 0) break;
      const home = (slots[2 * j] as number) & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      slots[2 * i] = slots[2 * j] as number;
      slots[2 * i + 1] = entry;
      i = j;
    }
    slots[2 * i] = 0;
    slots[2 * i + 1] = 0;
    // Squeeze holes out of `recs` once they outnumber the records.
    if (this.recs.length > MIN_CAPACITY && this.recs.length > 2 * this.live) this.rebuild();
    return true;
  }

  /** Calls `visit` with every record and its key, in insertion order (like `Map.forEach`). */
  forEach(visit: (rec: KeyRev, key: string) => void): void {
    const recs = this.recs;
    for (let i = 0; i < recs.length; i++) {
      const rec = recs[i];
      if (rec !== undefined) visit(rec, rec.key);
    }
  }

  /** Rebuilds `recs` without holes, and `slots` at a capacity of more than twice the records. */
  private rebuild(): void {
    const recs: KeyRev[] = [];
    for (const rec of this.recs) if (rec !== undefined) recs.push(rec);
    let capacity = MIN_CAPACITY;
    while (capacity <= recs.length * 2) capacity *= 2;
    const slots = new Int32Array(capacity * 2);
    const mask = capacity - 1;
    for (let e = 0; e < recs.length; e++) {
      const h = hashOf((recs[e] as KeyRev).key, SEED);
      let i = h & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = h;
      slots[2 * i + 1] = e + 1;
    }
    this.recs = recs;
    this.slots = slots;
    this.mask = mask;
  }
}
