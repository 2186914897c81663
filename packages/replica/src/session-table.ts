/**
 * Which proposals (session, seq) have been applied, so a proposal that reached the log twice
 * is applied once. A follower forwards a proposal to the leader in a `prop` message; a network
 * that duplicates messages (the in-memory network's `setDuplicateRate`, a proxy retrying) makes
 * the leader append it twice. Raft applies every *index* exactly once, but the command would run
 * twice; this table turns the second copy into a no-op. (A leader's own proposals cannot
 * duplicate: they are appended directly, not through the network.)
 *
 * Determinism is the whole point: every replica applies the same entries in the same order and
 * must make the same keep/skip decision, so the table is changed only by applying entries, is
 * saved in the replica's snapshots and restored with them, and every bound below is a function
 * of the log alone (never of time or of when a snapshot was taken).
 *
 * Per session: `floor` (every seq ≤ floor counts as seen) and the seen seqs above it. Seqs
 * normally arrive in order, so the set stays empty and the cost is one Map lookup per entry.
 * A forwarded proposal lost in the network leaves a gap that never fills; once more than
 * `MAX_GAP` seqs wait above a gap, the floor jumps over it (a proposal that turns up after
 * that many later ones from the same session is treated as a duplicate and not applied; its
 * proposer is told `PROPOSAL_DROPPED`). Sessions not seen for `PRUNE_DISTANCE` entries are
 * forgotten (checked every `PRUNE_EVERY` indexes); a session seen again after that starts from
 * floor 0 like a new one, and its gap is given up on as above.
 */
const MAX_GAP = 1024;
const PRUNE_EVERY = 4096;
const PRUNE_DISTANCE = 1_000_000;

interface SessionState {
  floor: number;
  /** Seen seqs above `floor + 1` (so never containing floor + 1). Undefined while empty. */
  above: Set<number> | undefined;
  /** Index of the last entry of this session: for pruning. */
  lastIndex: number;
}

/** The serialized form, for the snapshot envelope: [session, floor, lastIndex, above[]]. */
export type SessionTableData = Array<[number, number, number, number[]]>;

export class SessionTable {
  readonly #sessions = new Map<number, SessionState>();

  /**
   * Records that the entry at `index` carries (session, seq). Returns true when it was seen
   * before (the caller must skip it), false when it is new (and now recorded).
   */
  seen(session: number, seq: number, index: number): boolean {
    if (index % PRUNE_EVERY === 0) this.#prune(index);
    let s = this.#sessions.get(session);
    if (s === undefined) {
      // Sessions number their proposals from 1.
      s = { floor: 0, above: undefined, lastIndex: index };
      this.#sessions.set(session, s);
    }
    s.lastIndex = index;
    if (seq <= s.floor) return true;
    if (seq === s.floor + 1) {
      s.floor = seq;
      if (s.above !== undefined) this.#fold(s);
      return false;
    }
    if (s.above === undefined) s.above = new Set();
    else if (s.above.has(seq)) return true;
    s.above.add(seq);
    if (s.above.size > MAX_GAP) {
      // Give up on the gap below the smallest seq waiting above it.
      let min = Number.POSITIVE_INFINITY;
      for (const q of s.above) if (q < min) min = q;
      s.floor = min;
      s.above.delete(min);
      this.#fold(s);
    }
    return false;
  }

  /** Moves the floor over the seqs above it that are now contiguous with it. */
  #fold(s: SessionState): void {
    const above = s.above;
    if (above === undefined) return;
    while (above.delete(s.floor + 1)) s.floor++;
    if (above.size === 0) s.above = undefined;
  }

  #prune(index: number): void {
    for (const [session, s] of this.#sessions) {
      if (s.lastIndex + PRUNE_DISTANCE < index) this.#sessions.delete(session);
    }
  }

  /** The table as plain data, in a deterministic order (by session). */
  toData(): SessionTableData {
    const out: SessionTableData = [];
    for (const [session, s] of this.#sessions) {
      out.push([
        session,
        s.floor,
        s.lastIndex,
        s.above === undefined ? [] : [...s.above].sort((a, b) => a - b),
      ]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** Replaces the table's content with `data` (from a snapshot). */
  load(data: SessionTableData): void {
    this.#sessions.clear();
    for (const [session, floor, lastIndex, above] of data) {
      this.#sessions.set(session, {
        floor,
        lastIndex,
        above: above.length === 0 ? undefined : new Set(above),
      });
    }
  }

  /** Number of sessions tracked (for tests and status). */
  get size(): number {
    return this.#sessions.size;
  }
}
