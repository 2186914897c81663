import type { Entry } from '@flotilla/raft';
import { Packr, Unpackr } from 'msgpackr';

/**
 * Entries encoded once for every follower.
 *
 * A leader sends the same new entries to each follower, in one `app` message per follower (etcd's
 * raft builds one slice per follower from the same log). Encoding them is the main cost of
 * replication on the leader (`bench/tcp.bench.ts`), so the codec encodes a run of entries once
 * and every frame that carries the same run embeds those bytes: with two followers that saves
 * a third of the leader's encoding work per batch of many entries (measured), more with more.
 *
 * On the wire the `entries` of such an `app` message (one with enough entries for this to pay,
 * see `codec.ts`; smaller ones carry a plain array) are a msgpack `bin` whose bytes are one
 * self-contained msgpack value, the array of entries (with its own record definitions). The
 * codec's `decode` expands it back into the array once the frame is decoded, so a decoded
 * message looks exactly as before and is shape-checked as before (`validate.ts`). (Not a msgpack
 * extension decoded inside the frame: msgpackr copies the whole outer frame for every nested
 * decode, which made a frame of many messages quadratic.)
 */

const packr = new Packr();
const unpackr = new Unpackr();

/**
 * Remembers the last run of entries encoded, so the frames to the other followers reuse it.
 *
 * Invariant: a run is identified by its first and last `Entry` objects and its length. Raft's
 * log never changes an entry in place (a replaced entry is a new object), and a slice of the log
 * that starts and ends with the same objects holds the same objects in between (a log is only
 * ever cut or replaced from some index to its end), so equal keys mean equal bytes. One run is
 * kept (the newest): the frames of one Ready to every follower are encoded one after another,
 * and holding one batch's bytes until the next encode costs at most one `maxSizePerMsg`.
 */
export class EntriesCache {
  #first: Entry | undefined;
  #last: Entry | undefined;
  #length = 0;
  #encoded: Uint8Array | undefined;

  /** `entries` (not empty) encoded, from the cache when they are the run last encoded. */
  encode(entries: readonly Entry[]): Uint8Array {
    const n = entries.length;
    const first = entries[0];
    const last = entries[n - 1];
    const cached = this.#encoded;
    if (cached !== undefined && first === this.#first && last === this.#last && n === this.#length) {
      return cached;
    }
    // msgpackr never writes over bytes it returned (later encodes continue after them).
    const encoded: Uint8Array = packr.pack(entries);
    this.#first = first;
    this.#last = last;
    this.#length = n;
    this.#encoded = encoded;
    return encoded;
  }
}

/**
 * Expands, in place, the encoded entries of the `app` messages of a decoded raft frame. Anything
 * else is left as it is (the shape checks refuse what is not a message batch). Throws what
 * msgpackr throws for undecodable entry bytes.
 */
export function expandEntries(value: unknown): void {
  if (!Array.isArray(value)) return;
  for (const m of value as unknown[]) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as { type?: unknown; entries?: unknown };
    if (msg.type === 'app' && msg.entries instanceof Uint8Array) msg.entries = unpackr.unpack(msg.entries);
  }
}
