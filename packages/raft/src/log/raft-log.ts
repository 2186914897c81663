import { isFlotillaError } from '@flotilla/errors';
import { RaftError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage.js';
import type { Entry, Snapshot } from '../types.js';
import { limitCount, NO_ENTRIES, payloadBytes } from './limit.js';
import { Unstable } from './unstable.js';

/** An index and the term it was found with (a conflict hint). */
export interface IndexTerm {
  readonly index: number;
  readonly term: number;
}

/**
 * A member's log as Raft sees it (etcd's raftLog): the persisted prefix in {@link Storage}, the
 * not-yet-persisted suffix in {@link Unstable}, and the three positions that move through it:
 *
 * ```
 *  snapshot   firstIndex            applied   applying   committed   unstable.offset   lastIndex
 *     |-----------|-------- storage ----|----------|-----------|------- unstable -------|
 * ```
 *
 * Invariants (asserted, `INVARIANT_VIOLATED`): `applied ≤ applying ≤ committed ≤ lastIndex`;
 * `committed` never decreases; entries at or below `committed` are never overwritten (§5.4:
 * a committed entry is in every future leader's log); entries are handed out for application
 * once, in order.
 *
 * The last index and term are cached: only this class changes them (append, snapshot restore),
 * because the host writes to Storage only what a Ready told it to.
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed (§5.3). */
  committed: number;
  /** Highest index handed to the host for application (in an accepted Ready). */
  applying: number;
  /** Highest index the host reported applied. Invariant: applied ≤ applying ≤ committed. */
  applied: number;
  /** Budget of payload bytes of entries being applied (commit pagination); 0 = one entry. */
  readonly maxApplyingEntsSize: number;
  /** Payload bytes handed out for application and not yet reported applied. */
  applyingEntsSize = 0;
  /** No more committed entries are handed out until some are applied. */
  applyingEntsPaused = false;
  #lastIndex: number;
  #lastTerm: number;
  readonly #logger: Logger;

  constructor(storage: Storage, maxApplyingEntsSize: number, logger: Logger) {
    this.storage = storage;
    this.#logger = logger;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1, logger);
    this.maxApplyingEntsSize = maxApplyingEntsSize;
    // Everything before the first index is covered by the snapshot, hence committed and applied.
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
    this.#lastIndex = last;
    this.#lastTerm = storage.term(last);
  }

  /** Index of the last entry (or of the snapshot when the log is empty). */
  lastIndex(): number {
    return this.#lastIndex;
  }

  /** Term of the last entry. */
  lastTerm(): number {
    return this.#lastTerm;
  }

  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /**
   * The term of entry `i`, or undefined when `i` is compacted away or beyond the last index. The
   * term at `firstIndex() - 1` (the snapshot's) is always known, for the log-matching check.
   */
  term(i: number): number | undefined {
    if (i === this.#lastIndex) return this.#lastTerm;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i > this.#lastIndex || i < this.firstIndex() - 1) return undefined;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (isFlotillaError(err, 'COMPACTED') || isFlotillaError(err, 'UNAVAILABLE')) return undefined;
      throw err;
    }
  }

  /** True when entry `index` exists with term `term` (the §5.3 consistency check). */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /**
   * §5.4.1: a candidate's log (last entry `index`/`term`) is at least as up-to-date as ours when
   * its last term is higher, or equal with an index at least as large.
   */
  isUpToDate(index: number, term: number): boolean {
    return term > this.#lastTerm || (term === this.#lastTerm && index >= this.#lastIndex);
  }

  /**
   * The follower's side of AppendEntries (§5.3): when our log has (`prevIndex`, `prevTerm`),
   * append `ents` (skipping the ones we already have, truncating at the first conflict), advance
   * the commit index to min(`leaderCommit`, last new index) and return the last new index.
   * Returns -1 when the consistency check fails.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): number {
    if (!this.matchTerm(prevIndex, prevTerm)) return -1;
    const lastNew = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftError(
          'INVARIANT_VIOLATED',
          `entry ${ci} conflicts with a committed entry (committed ${this.committed})`,
        );
      }
      this.append(ents, ci - (prevIndex + 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /**
   * Appends `ents[from..]` (which may overwrite a suffix) and returns the new last index. Never
   * overwrites at or below the commit index.
   */
  append(ents: readonly Entry[], from = 0): number {
    if (from >= ents.length) return this.#lastIndex;
    const first = ents[from] as Entry;
    if (first.index - 1 < this.committed) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `append after ${first.index - 1} would overwrite committed entries (committed ${this.committed})`,
      );
    }
    this.unstable.truncateAndAppend(ents, from);
    const last = ents[ents.length - 1] as Entry;
    this.#lastIndex = last.index;
    this.#lastTerm = last.term;
    return last.index;
  }

  /** Appends one entry right after the last (the leader's own proposals: no array, no checks of a suffix). */
  appendOne(e: Entry): void {
    this.unstable.appendOne(e);
    this.#lastIndex = e.index;
    this.#lastTerm = e.term;
  }

  /**
   * The index of the first entry of `ents` that is not in our log with the same term: 0 when we
   * have them all, the first new index when they extend the log, or the first conflicting index.
   * `ents` must be contiguous.
   */
  findConflict(ents: readonly Entry[]): number {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i] as Entry;
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.#lastIndex) {
          this.#logger.info(
            `found conflict at index ${e.index} [existing term: ${this.term(e.index) ?? 0}, conflicting term: ${e.term}]`,
          );
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * Fast back-off (§5.3, "the follower can include the term of the conflicting entry..."): the
   * largest index ≤ `index` whose term is ≤ `term`, with that term. Every entry in between has a
   * term above `term`, so it cannot match a log whose entry at `index` has term `term`, and the
   * leader can skip them all in one round trip. Returns term 0 when the lookup hits the
   * compacted prefix (the leader then falls back to the index alone).
   *
   * Example: our log has terms [1 1 2 2 3 3 3] at indexes 1..7; the leader probes (7, term 2).
   * Entries 5..7 have term 3 > 2 and cannot match, so the answer is index 4, term 2.
   */
  findConflictByTerm(index: number, term: number): IndexTerm {
    for (; index > 0; index--) {
      const t = this.term(index);
      if (t === undefined) return { index, term: 0 };
      if (t <= term) return { index, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** Entries not yet handed to the host for persistence. */
  nextUnstableEnts(): readonly Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  /** True when some entries are not yet persisted (handed out or not). */
  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.length > 0;
  }

  /** The highest index that may be handed out for application. */
  maxAppliableIndex(allowUnstable: boolean): number {
    if (allowUnstable) return this.committed;
    return Math.min(this.committed, this.unstable.offset - 1);
  }

  /**
   * Committed entries to hand out for application: from `applying + 1`, limited by the
   * pagination budget (at least one entry). None while a snapshot is pending (it must be applied
   * first) or while the budget is spent. `allowUnstable`: committed entries may be applied in the
   * same Ready that persists them (synchronous mode: the host persists before it applies).
   */
  nextCommittedEnts(allowUnstable: boolean): readonly Entry[] {
    if (this.applyingEntsPaused || this.unstable.snapshot !== undefined) return NO_ENTRIES;
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1;
    if (lo >= hi) return NO_ENTRIES;
    const budget =
      this.maxApplyingEntsSize === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : Math.max(this.maxApplyingEntsSize - this.applyingEntsSize, 0);
    const ents = this.slice(lo, hi, budget);
    if (ents === undefined) {
      throw new RaftError('INVARIANT_VIOLATED', `committed entries [${lo}, ${hi}) are compacted`);
    }
    return ents;
  }

  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingEntsPaused || this.unstable.snapshot !== undefined) return false;
    return this.applying + 1 <= this.maxAppliableIndex(allowUnstable);
  }

  /** The pending snapshot if not yet handed to the host. */
  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  /** True while a received snapshot is not yet persisted. */
  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** The latest snapshot: a pending one, else the storage's (which may throw `SNAPSHOT_TEMPORARILY_UNAVAILABLE`). */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /**
   * Raises the commit index to `toCommit` (never lowers it). Committing beyond the last index
   * means the log lost entries a quorum acknowledged: refused with `INVARIANT_VIOLATED`.
   */
  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return;
    if (this.#lastIndex < toCommit) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `commit ${toCommit} is out of range [last index ${this.#lastIndex}]. Was the raft log corrupted, truncated, or lost?`,
      );
    }
    this.committed = toCommit;
  }

  /**
   * The leader's commit rule (§5.4.2): commit `index` only if its entry is from the leader's
   * current term `term`; earlier-term entries are then committed indirectly (Log Matching).
   */
  maybeCommit(index: number, term: number): boolean {
    if (term !== 0 && index > this.committed && this.matchTerm(index, term)) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  /** The host applied everything up to `i` (`size` payload bytes of the handed-out entries). */
  appliedTo(i: number, size: number): void {
    if (this.committed < i || i < this.applied) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `applied ${i} is out of range [applied ${this.applied}, committed ${this.committed}]`,
      );
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
    this.applyingEntsSize = this.applyingEntsSize > size ? this.applyingEntsSize - size : 0;
    this.applyingEntsPaused =
      this.applying > this.applied && this.applyingEntsSize >= this.maxApplyingEntsSize;
  }

  /**
   * A Ready handed out committed entries up to `i` (`size` payload bytes). Pauses when the budget
   * is spent or the page was cut short, until the host reports them applied.
   */
  acceptApplying(i: number, size: number, allowUnstable: boolean): void {
    if (this.committed < i || i <= this.applying) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `applying ${i} is out of range [applying ${this.applying}, committed ${this.committed}]`,
      );
    }
    this.applying = i;
    this.applyingEntsSize += size;
    this.applyingEntsPaused =
      this.applyingEntsSize >= this.maxApplyingEntsSize || i < this.maxAppliableIndex(allowUnstable);
  }

  /** The host persisted entries up to (`index`, `term`). */
  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  /** The host persisted the snapshot at `index`. */
  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** A Ready was accepted: its unstable entries and snapshot are now in the host's hands. */
  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  /** Replaces the log by snapshot `s` (a follower behind the leader's compaction point, §7). */
  restore(s: Snapshot): void {
    this.#logger.info(
      `log [committed=${this.committed}, applied=${this.applied}, last=${this.#lastIndex}] restores snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
    );
    if (s.metadata.index < this.committed) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `snapshot ${s.metadata.index} is below commit ${this.committed}`,
      );
    }
    this.committed = s.metadata.index;
    this.unstable.restore(s);
    this.#lastIndex = s.metadata.index;
    this.#lastTerm = s.metadata.term;
  }

  /** Entries from `i` to the end, at most `maxSize` payload bytes; undefined when `i` is compacted. */
  entries(i: number, maxSize: number): readonly Entry[] | undefined {
    if (i > this.#lastIndex) return NO_ENTRIES;
    return this.slice(i, this.#lastIndex + 1, maxSize);
  }

  /** Every entry still in the log (for tests and descriptions). */
  allEntries(): readonly Entry[] {
    return this.entries(this.firstIndex(), Number.POSITIVE_INFINITY) ?? NO_ENTRIES;
  }

  /**
   * Calls `visit` with consecutive pages of entries `[lo, hi)`, each at most `pageSize` payload
   * bytes (at least one entry). Stops early when `visit` returns true; returns whether it did.
   */
  scan(lo: number, hi: number, pageSize: number, visit: (ents: readonly Entry[]) => boolean): boolean {
    while (lo < hi) {
      const ents = this.slice(lo, hi, pageSize);
      if (ents === undefined || ents.length === 0) {
        throw new RaftError('INVARIANT_VIOLATED', `no entries to scan in [${lo}, ${hi})`);
      }
      if (visit(ents)) return true;
      lo += ents.length;
    }
    return false;
  }

  /**
   * Entries `[lo, hi)` from storage and/or the unstable log, at most `maxSize` payload bytes but
   * at least one entry (`maxSize` 0 = exactly one). Undefined when `lo` is compacted.
   */
  slice(lo: number, hi: number, maxSize: number): readonly Entry[] | undefined {
    if (lo > hi || hi > this.#lastIndex + 1) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `slice [${lo}, ${hi}) out of bounds (last ${this.#lastIndex})`,
      );
    }
    if (lo < this.firstIndex()) return undefined;
    if (lo === hi) return NO_ENTRIES;
    const offset = this.unstable.offset;
    if (lo >= offset) return this.unstable.slice(lo, hi, maxSize);

    const cut = Math.min(hi, offset);
    let ents: Entry[];
    try {
      ents = this.storage.entries(lo, cut, maxSize === Number.POSITIVE_INFINITY ? undefined : maxSize);
    } catch (err) {
      if (isFlotillaError(err, 'COMPACTED')) return undefined;
      if (isFlotillaError(err, 'UNAVAILABLE')) {
        throw new RaftError('INVARIANT_VIOLATED', `entries [${lo}, ${cut}) are unavailable from storage`, {
          cause: err,
        });
      }
      throw err;
    }
    if (maxSize === 0 && ents.length > 1) ents.length = 1;
    if (hi <= offset || ents.length < cut - lo) return ents;
    // The storage part is complete; fill up from the unstable log if the budget allows.
    const size = payloadBytes(ents);
    if (size >= maxSize) return ents;
    const more = this.unstable.slice(offset, hi, maxSize - size);
    // `slice` returns at least one entry; drop it if it does not fit after the storage part.
    if (more.length === 1 && size + (more[0] as Entry).data.byteLength > maxSize) return ents;
    for (let i = 0; i < more.length; i++) ents.push(more[i] as Entry);
    return ents;
  }
}

/** Re-exported for modules that count sizes. */
export { limitCount, NO_ENTRIES, payloadBytes };
