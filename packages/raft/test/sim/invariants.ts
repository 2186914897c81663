/**
 * Raft's safety properties (Raft paper §5.2–§5.4, Figure 3; thesis §6.4 for reads) as an
 * incremental checker that a test driver feeds with what it observes. It knows nothing about
 * how the cluster is driven — a RawNode simulation here, a whole replicated service in the
 * cross-package suite — so any harness that can report these events can reuse it.
 *
 * Usage: create one {@link RaftInvariants} per run and call, as things happen,
 *
 * - {@link RaftInvariants.status} whenever a node's term, role and commit index are observed
 *   (election safety, term and commit monotonicity);
 * - {@link RaftInvariants.stored} for every batch of entries a node writes to its log, with
 *   the term of the entry just before the batch (log matching);
 * - {@link RaftInvariants.commit} when a node's commit index is observed, with a way to read
 *   its log (commit monotonicity, agreement on committed entries, leader completeness);
 * - {@link RaftInvariants.leaderLog} when a node acting as leader of a term can show its log
 *   (leader completeness);
 * - {@link RaftInvariants.applied} for every entry a state machine applies, and
 *   {@link RaftInvariants.restored} when a state machine is rebuilt from a snapshot or restarts
 *   (state machine safety: same entry at each index everywhere, exactly once and in order), and
 *   {@link RaftInvariants.state} with a digest of the state after an index, when known (the
 *   same state after the same index everywhere, snapshots included);
 * - {@link RaftInvariants.readRequested} / {@link RaftInvariants.readServed} around each
 *   ReadIndex request (a read index covers every entry committed before the request).
 *
 * Every method throws {@link InvariantViolation} (naming the property, the nodes and the
 * indexes involved) the first time a property fails. Node "incarnations" distinguish a node's
 * lives across crashes: volatile state (commit index, state machine) may go back on restart,
 * never within one incarnation.
 */
import type { Entry, NodeId, StateType } from '@flotilla/raft';

/** The properties checked. */
export type InvariantName =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'apply-order'
  | 'commit-monotonicity'
  | 'term-monotonicity'
  | 'read-index-safety'
  | 'liveness';

/** Thrown when a property fails; `message` says what, where and when. */
export class InvariantViolation extends Error {
  readonly invariant: InvariantName;
  constructor(invariant: InvariantName, message: string) {
    super(`${invariant}: ${message}`);
    this.name = 'InvariantViolation';
    this.invariant = invariant;
  }
}

/** How the checker reads a node's log: the entry at `index`, or undefined when absent/compacted. */
export type LogReader = (index: number) => Entry | undefined;

/** A cheap 32-bit FNV-1a digest of an entry's payload (entries are compared by term, type and digest). */
export function payloadDigest(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i] as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The identity of an entry's content: two entries are "the same" when these are equal. */
export function entryKey(e: Entry): string {
  return `${e.term}:${e.type}:${e.data.length}:${payloadDigest(e.data)}`;
}

interface StoredEntry {
  readonly key: string;
  readonly prevTerm: number;
}

interface CommittedEntry {
  readonly term: number;
  readonly key: string;
  /** The lowest term of a node observed with this index committed: committed "in" that term. */
  commitTerm: number;
}

interface LeaderRecord {
  readonly node: NodeId;
  readonly incarnation: number;
  /** The leader's log while it is still leader of this term in this incarnation. */
  read: LogReader | undefined;
}

/** Incremental checker of Raft's safety properties; see the module documentation. */
export class RaftInvariants {
  /** term → the node that led it (election safety, over the whole history). */
  readonly #leaders = new Map<number, LeaderRecord>();
  /** `index:term` → the entry's content key and the term of the entry before it (log matching). */
  readonly #stored = new Map<string, StoredEntry>();
  /** index → the committed entry, as first observed. */
  readonly #committed = new Map<number, CommittedEntry>();
  /** Highest index ever observed committed anywhere. */
  #maxCommitted = 0;
  /** index → content key of the entry applied there (state machine safety). */
  readonly #appliedAt = new Map<number, string>();
  /** `node` → last applied index and incarnation (apply order). */
  readonly #lastApplied = new Map<NodeId, { incarnation: number; index: number }>();
  /** `node` → last observed term and commit index, per incarnation. */
  readonly #nodes = new Map<NodeId, { incarnation: number; term: number; commit: number }>();
  /** `node` → commit index up to which its committed entries were recorded, per incarnation. */
  readonly #recorded = new Map<NodeId, { incarnation: number; commit: number }>();
  /** index → digest of the state machine after applying it. */
  readonly #stateAt = new Map<number, string>();
  /** ReadIndex requests: ctx → highest index committed when it was requested. */
  readonly #reads = new Map<string, number>();
  /** Counters, for reporting what a run exercised. */
  readonly stats = { leaders: 0, committed: 0, applied: 0, readsServed: 0 };

  /** Highest index observed committed so far. */
  get maxCommitted(): number {
    return this.#maxCommitted;
  }

  /** Number of terms that had a leader. */
  get leaderTerms(): number {
    return this.#leaders.size;
  }

  /**
   * Node `node` was observed at `term` in `state` with commit index `commit`. Election safety
   * (§5.2, Figure 3): at most one leader per term, ever. Within one incarnation the term and
   * the commit index never decrease (Figure 2: currentTerm only grows; §5.3: committed entries
   * stay committed).
   */
  status(node: NodeId, incarnation: number, term: number, state: StateType, commit: number): void {
    const prev = this.#nodes.get(node);
    if (prev !== undefined && prev.incarnation === incarnation) {
      if (term < prev.term) {
        throw new InvariantViolation(
          'term-monotonicity',
          `node ${node} went from term ${prev.term} to ${term}`,
        );
      }
      if (commit < prev.commit) {
        throw new InvariantViolation(
          'commit-monotonicity',
          `node ${node} commit went from ${prev.commit} to ${commit}`,
        );
      }
    }
    this.#nodes.set(node, { incarnation, term, commit });
    if (commit > this.#maxCommitted) this.#maxCommitted = commit;
    if (state === 'leader') this.#leader(node, incarnation, term, undefined);
  }

  #leader(node: NodeId, incarnation: number, term: number, read: LogReader | undefined): void {
    const rec = this.#leaders.get(term);
    if (rec === undefined) {
      this.#leaders.set(term, { node, incarnation, read });
      this.stats.leaders++;
      return;
    }
    if (rec.node !== node) {
      throw new InvariantViolation(
        'election-safety',
        `term ${term} has two leaders: ${rec.node} and ${node}`,
      );
    }
    if (read !== undefined && rec.incarnation === incarnation) rec.read = read;
  }

  /**
   * Node `node` stored `entries` (contiguous) after an entry of term `prevTerm`. Log matching
   * (§5.3): an (index, term) pair identifies one entry content and one predecessor term across
   * every log and all time — a leader creates at most one entry per index in its term.
   */
  stored(node: NodeId, prevTerm: number, entries: readonly Entry[]): void {
    let prev = prevTerm;
    for (const e of entries) {
      const id = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const seen = this.#stored.get(id);
      if (seen === undefined) {
        this.#stored.set(id, { key, prevTerm: prev });
      } else if (seen.key !== key || seen.prevTerm !== prev) {
        throw new InvariantViolation(
          'log-matching',
          `node ${node} stores entry ${e.index} of term ${e.term} as ${key} after term ${prev}, ` +
            `elsewhere it is ${seen.key} after term ${seen.prevTerm}`,
        );
      }
      if (e.term < prev) {
        throw new InvariantViolation(
          'log-matching',
          `node ${node}: entry ${e.index} has term ${e.term} < previous ${prev}`,
        );
      }
      prev = e.term;
    }
  }

  /**
   * Node `node` (at `term`) has commit index `commit`, and `read` returns its log's entries.
   * Records the newly committed entries and checks that every node agrees on what is committed
   * at each index (the heart of state machine safety, §5.4.3) and that every leader of a later
   * term holds them (leader completeness, §5.4).
   */
  commit(node: NodeId, incarnation: number, term: number, commit: number, read: LogReader): void {
    this.status(node, incarnation, term, 'follower', commit);
    const prev = this.#recorded.get(node);
    const from = prev !== undefined && prev.incarnation === incarnation ? prev.commit + 1 : 1;
    if (prev === undefined || prev.incarnation !== incarnation || commit > prev.commit) {
      this.#recorded.set(node, { incarnation, commit });
    }
    for (let i = from; i <= commit; i++) {
      const e = read(i);
      const c = this.#committed.get(i);
      if (c === undefined) {
        // Entries below the node's snapshot are unreadable; they were committed earlier anyway.
        if (e === undefined) continue;
        this.#committed.set(i, { term: e.term, key: entryKey(e), commitTerm: term });
        this.stats.committed++;
        this.#checkLeadersHold(i, e.term, term);
        continue;
      }
      if (e !== undefined && (c.term !== e.term || c.key !== entryKey(e))) {
        throw new InvariantViolation(
          'state-machine-safety',
          `node ${node} considers entry ${i} of term ${e.term} committed, but ${i} was committed with term ${c.term}`,
        );
      }
      if (term < c.commitTerm) c.commitTerm = term;
    }
  }

  /** Entry `index` (term `entryTerm`) was committed in `commitTerm`: every leader of a later term must hold it. */
  #checkLeadersHold(index: number, entryTerm: number, commitTerm: number): void {
    for (const [t, rec] of this.#leaders) {
      if (t <= commitTerm || rec.read === undefined) continue;
      const e = rec.read(index);
      if (e !== undefined && e.term !== entryTerm) {
        throw new InvariantViolation(
          'leader-completeness',
          `entry ${index} (term ${entryTerm}) committed in term ${commitTerm}, but leader ${rec.node} of term ${t} has term ${e.term} there`,
        );
      }
    }
  }

  /**
   * Node `node` acts as leader of `term` and its log is `read`, covering indexes ≥ `firstIndex`.
   * Leader completeness (§5.4): every entry committed in an earlier term is in its log.
   */
  leaderLog(node: NodeId, incarnation: number, term: number, firstIndex: number, read: LogReader): void {
    this.#leader(node, incarnation, term, read);
    for (const [i, c] of this.#committed) {
      if (c.commitTerm >= term || i < firstIndex) continue;
      const e = read(i);
      if (e === undefined || e.term !== c.term) {
        throw new InvariantViolation(
          'leader-completeness',
          `leader ${node} of term ${term} lacks entry ${i} (term ${c.term}) committed in term ${c.commitTerm}` +
            (e === undefined ? '' : `; it has term ${e.term} there`),
        );
      }
    }
  }

  /** The leader of `term` lost leadership (or crashed): stop reading its log. */
  leaderGone(term: number): void {
    const rec = this.#leaders.get(term);
    if (rec !== undefined) rec.read = undefined;
  }

  /**
   * Node `node` applied `entry` to its state machine. State machine safety (§5.4.3): every node
   * applies the same entry at each index; each state machine applies each index exactly once,
   * in order, with no gap.
   */
  applied(node: NodeId, incarnation: number, entry: Entry): void {
    const last = this.#lastApplied.get(node);
    if (last !== undefined && last.incarnation === incarnation && entry.index !== last.index + 1) {
      throw new InvariantViolation(
        'apply-order',
        `node ${node} applied ${entry.index} after ${last.index} (exactly once, in order)`,
      );
    }
    this.#lastApplied.set(node, { incarnation, index: entry.index });
    const key = entryKey(entry);
    const seen = this.#appliedAt.get(entry.index);
    if (seen === undefined) {
      this.#appliedAt.set(entry.index, key);
      this.stats.applied++;
    } else if (seen !== key) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} applied ${key} at index ${entry.index}, another node applied ${seen}`,
      );
    }
    const c = this.#committed.get(entry.index);
    if (c !== undefined && c.key !== key) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} applied a non-committed entry at ${entry.index}`,
      );
    }
  }

  /**
   * Node `node`'s state machine holds state `digest` after applying index `index` (or after
   * installing a snapshot at `index`). Every state machine must be in the same state after the
   * same index (§5.4.3), snapshots included.
   */
  state(node: NodeId, index: number, digest: string): void {
    const seen = this.#stateAt.get(index);
    if (seen === undefined) this.#stateAt.set(index, digest);
    else if (seen !== digest) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} has state ${digest} after index ${index}, another node had ${seen}`,
      );
    }
  }

  /** Node `node`'s state machine was rebuilt at `index` (snapshot install or restart). */
  restored(node: NodeId, incarnation: number, index: number): void {
    this.#lastApplied.set(node, { incarnation, index });
  }

  /** A ReadIndex request `ctx` was made: remember what was committed by then. */
  readRequested(ctx: string, committedNow: number): void {
    this.#reads.set(ctx, Math.max(this.#maxCommitted, committedNow));
  }

  /**
   * ReadIndex request `ctx` was answered with read index `index` (thesis §6.4): it must cover
   * every entry committed before the request, or the read could miss a completed write.
   */
  readServed(node: NodeId, ctx: string, index: number): void {
    const needed = this.#reads.get(ctx);
    if (needed === undefined) return;
    if (index < needed) {
      throw new InvariantViolation(
        'read-index-safety',
        `read ${ctx} at node ${node} got read index ${index}, but ${needed} was committed before it was requested`,
      );
    }
    this.stats.readsServed++;
  }
}
