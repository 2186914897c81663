import { EMPTY_HARD_STATE, type HardState } from '@flotilla/raft';
import { EntryColumns } from './entry-columns.js';
import { corrupt } from './errors.js';
import { ENTRIES_HEADER_SIZE, ENTRY_HEADER_SIZE, readU64 } from './format.js';

/** A snapshot marker as the WAL records it. */
export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
  /** CRC32C of the snapshot file (its trailer), binding the marker to exactly that file. */
  readonly crc: number;
}

/**
 * Replays WAL records into the log they describe, checking each entry and recording where it
 * lies (an {@link EntryColumns}: no object per entry), and only the entries that can survive:
 * the caller first finds the last snapshot marker (a cheap pass over record headers), and
 * entries at or below it are only length-checked. This is what keeps recovery of a long log
 * fast: most of a segment's entries are usually below the snapshot once compaction has run, a
 * superseded suffix is rare, and the entries above it become objects only when Raft reads them.
 *
 * The rules are exactly those the live path applies to `MemoryStorage` (so the recovered log is
 * the one Raft saw):
 * - an entries record starting at `i` replaces every entry ≥ `i` (the conflicting suffix a new
 *   leader overwrote, §5.3); a gap is impossible (the writer refuses it) and means corruption;
 * - a snapshot marker that `install`s replaces the whole log (a leader's snapshot, §7); one that
 *   does not (a local snapshot, or the restatement at the start of each segment) keeps it;
 * - the last hard state record wins.
 *
 * Entries at or below `base` are unknown (they were in segments dropped by compaction); the
 * final snapshot must cover them, otherwise entries are missing.
 *
 * Invariant: `#out` holds the log's entries above `#floor` (the final snapshot index), in
 * order and contiguous, ending at `#last` when `#last > #floor`.
 */
export class ReplayLog {
  #base: number;
  #last: number;
  readonly #floor: number;
  readonly #floorTerm: number;
  readonly #out: EntryColumns;
  /** The segment buffer last seen, and its number in `#out`. */
  #buf: Uint8Array | undefined;
  #bufNo = 0;
  snapshot: SnapshotMarker | undefined;
  hardState: HardState = EMPTY_HARD_STATE;

  /**
   * `firstIndex`: the index of the first entry the first replayed segment may hold. `final`:
   * the last snapshot marker of the whole WAL, if any.
   */
  constructor(firstIndex: number, final: SnapshotMarker | undefined) {
    this.#base = firstIndex - 1;
    this.#last = firstIndex - 1;
    this.#floor = final?.index ?? 0;
    this.#floorTerm = final?.term ?? 0;
    this.#out = new EntryColumns(this.#floor + 1);
  }

  /** The log's last index so far. */
  get lastIndex(): number {
    return this.#last;
  }

  /** An entries record whose payload starts at `payload` in `buf`. */
  entries(file: string, buf: Uint8Array, dv: DataView, payload: number, payloadLength: number): void {
    if (payloadLength < ENTRIES_HEADER_SIZE) throw corrupt(file, payload, 'entries record is too short');
    const first = readU64(dv, payload);
    const count = dv.getUint32(payload + 8, true);
    if (first < 1 || count === 0)
      throw corrupt(file, payload, 'entries record has no entries or a bad first index');
    const snap = this.snapshot?.index ?? 0;
    if (first <= snap)
      throw corrupt(file, payload, `entries from ${first} would rewrite the snapshot at ${snap}`);
    if (first > this.#last + 1)
      throw corrupt(file, payload, `entries from ${first} leave a gap after ${this.#last}`);
    const out = this.#out;
    // §5.3: the new entries replace the conflicting suffix (position k is entry floor + 1 + k).
    if (first <= this.#last) out.truncate(Math.max(0, first - this.#floor - 1));
    if (first <= this.#base) this.#base = first - 1;
    const last = first + count - 1;
    this.#last = last;
    if (last <= this.#floor) return; // covered by the final snapshot: never decoded
    const end = payload + payloadLength;
    if (buf !== this.#buf) {
      this.#buf = buf;
      this.#bufNo = out.addBuffer(buf);
    }
    const bufNo = this.#bufNo;
    // Terms never decrease along the log (§5.3). out's last entry is the entry before the next
    // one pushed, so each push is checked against it; the first entry above the snapshot is
    // checked against the snapshot's term in finish() (an entry decoded here may yet be
    // superseded, and need not follow the final snapshot's term until then).
    let term = out.count > 0 ? out.term(out.count - 1) : 0;
    let p = payload + ENTRIES_HEADER_SIZE;
    for (let index = first; index <= last; index++) {
      if (p + ENTRY_HEADER_SIZE > end) throw corrupt(file, p, `entry ${index} runs past its record`);
      const length = dv.getUint32(p + 12, true);
      const dataAt = p + ENTRY_HEADER_SIZE;
      if (dataAt + length > end) throw corrupt(file, p, `entry ${index} runs past its record`);
      if (index > this.#floor) {
        const t = readU64(dv, p);
        const type = buf[p + 8];
        if (t < 1 || t < term) throw corrupt(file, p, `entry ${index} has term ${t} after term ${term}`);
        if (type !== 0 && type !== 1) throw corrupt(file, p, `entry ${index} has unknown type ${type}`);
        term = t;
        out.push(t, type === 1, bufNo, dataAt, length);
      }
      p = dataAt + length;
    }
  }

  marker(file: string, offset: number, m: SnapshotMarker, install: boolean): void {
    const current = this.snapshot;
    if (
      current !== undefined &&
      m.index === current.index &&
      m.term === current.term &&
      m.crc === current.crc
    ) {
      return; // the restatement at the start of a segment
    }
    if (current !== undefined && m.index <= current.index && !(m.index === 0 && current.index === 0)) {
      throw corrupt(file, offset, `snapshot marker at ${m.index} is not newer than ${current.index}`);
    }
    this.snapshot = m;
    if (install) {
      this.#out.truncate(0);
      this.#base = m.index;
      this.#last = m.index;
    } else if (m.index > this.#last) {
      throw corrupt(file, offset, `snapshot marker at ${m.index} is beyond the last entry ${this.#last}`);
    }
  }

  /**
   * The entries above the snapshot. `origin` names the first replayed file, blamed when entries
   * below it are missing.
   */
  finish(origin: string): EntryColumns {
    const snap = this.snapshot?.index ?? 0;
    if (snap !== this.#floor) throw corrupt(origin, 0, 'the last snapshot marker changed between two reads');
    if (this.#base > snap) {
      throw corrupt(
        origin,
        0,
        `entries ${snap + 1}..${this.#base} are missing (a segment before this one is gone)`,
      );
    }
    const out = this.#out;
    if (out.count > 0 && out.term(0) < this.#floorTerm) {
      throw corrupt(
        origin,
        0,
        `entry ${out.first} has term ${out.term(0)} after the snapshot's term ${this.#floorTerm}`,
      );
    }
    return out;
  }
}
