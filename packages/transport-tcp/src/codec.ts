import type { NetworkMessage } from '@flotilla/raft';
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { TcpTransportError } from './errors.js';
import { HEADER_BYTES } from './frame.js';
import { EntriesCache, expandEntries } from './shared-entries.js';

/**
 * Appends of at least this many entries have their entries encoded once for all followers. Below
 * it the separate encode costs more than it saves (`bench/tcp.bench.ts`, two followers: 9 vs 5
 * µs per Ready for 1 entry, even at 16 entries, 126 vs 202 µs at 128).
 */
const SHARED_ENTRIES_MIN = 16;

/**
 * msgpackr with its record extension: an object shape (`{type, from, to, term, ...}`) is
 * described once per frame and then referenced. Measured on 64-message frames (bench/tcp.bench.ts,
 * codec section): small messages (appResp) encode+decode ~3-4x faster and 4x smaller (17 vs 68
 * bytes) than plain maps; 1-entry appends ~1.4-1.9x faster and 1.5x smaller; appends of many
 * entries are dominated by copying the entry bytes and gain only size. No structures are
 * shared across frames, so every frame decodes on its own and nothing breaks when a connection
 * is replaced. The entries of `app` messages are encoded once for all followers
 * (`shared-entries.ts`).
 */
export class Codec {
  readonly #packr = new Packr();
  readonly #unpackr = new Unpackr();
  readonly #entries = new EntriesCache();

  /**
   * One frame (length prefix included) holding `value`. The prefix space is reserved inside
   * the encoder's buffer, so framing costs no copy. The returned bytes stay valid (the encoder
   * never writes over a buffer it returned).
   */
  frame(value: unknown): Buffer {
    const out = this.#packr.pack(value, RESERVE_START_SPACE | HEADER_BYTES) as Buffer;
    out.writeUInt32BE(out.length - HEADER_BYTES, 0);
    return out;
  }

  /**
   * Decodes one frame payload (expanding the shared entries of `app` messages, see
   * `shared-entries.ts`); throws `MALFORMED_FRAME` for anything msgpackr rejects.
   */
  decode(payload: Buffer): unknown {
    try {
      const value: unknown = this.#unpackr.unpack(payload);
      expandEntries(value);
      return value;
    } catch (err) {
      throw new TcpTransportError('MALFORMED_FRAME', `undecodable frame: ${String(err)}`, { cause: err });
    }
  }

  /**
   * Frames a batch of messages: one encode for the whole batch when it fits `maxFrameBytes`,
   * otherwise halves recursively. A single message too large for any frame cannot be sent;
   * it is returned in `oversized` (Raft bounds messages with `maxSizePerMsg`, so this means a
   * misconfiguration).
   */
  frames(
    messages: readonly NetworkMessage[],
    maxFrameBytes: number,
  ): { frames: Buffer[]; oversized: NetworkMessage[] } {
    const frames: Buffer[] = [];
    const oversized: NetworkMessage[] = [];
    // What goes on the wire: the entries of large appends as runs encoded once for every
    // follower (see shared-entries.ts); small ones inline, where the extra encode call costs
    // more than it saves.
    const wire: unknown[] = messages.map((m) =>
      m.type === 'app' && m.entries.length >= SHARED_ENTRIES_MIN
        ? { ...m, entries: this.#entries.encode(m.entries) }
        : m,
    );
    const encode = (lo: number, hi: number): void => {
      if (hi === lo) return;
      const f = this.frame(lo === 0 && hi === wire.length ? wire : wire.slice(lo, hi));
      if (f.length - HEADER_BYTES <= maxFrameBytes) {
        frames.push(f);
      } else if (hi - lo === 1) {
        oversized.push(messages[lo] as NetworkMessage);
      } else {
        const mid = (lo + hi) >> 1;
        encode(lo, mid);
        encode(mid, hi);
      }
    };
    encode(0, wire.length);
    return { frames, oversized };
  }
}
