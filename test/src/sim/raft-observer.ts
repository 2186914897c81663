/**
 * Feeds what the simulation can see of each member's Raft state into the Raft package's
 * invariant checker (`packages/raft/test/sim/invariants.ts`, reused as its README invites):
 * election safety, term monotonicity, agreement on the committed (applied) prefix, leader
 * completeness, state machine safety (the same entry applied at each index everywhere, each once
 * and in order) and equal store digests after equal indexes.
 *
 * What is observed, and why only that: a member's durable log (`ReplicaStorage.storage`) can lag
 * its Raft log in both directions (a truncation or new entries not yet fsynced), so entries are
 * read from it only up to the **applied** index, where storage and log agree (a follower applies
 * after its save; a leader applies early only entries durable before). Observation happens when
 * a member reports an applied batch and periodically.
 */
import type { KvNode } from '@flotilla/kv';
import type { Entry } from '@flotilla/raft';
import type { ReplicaStorage } from '@flotilla/wal';
import { InvariantViolation, RaftInvariants } from '../../../packages/raft/test/sim/invariants.js';

/** One member incarnation being observed. */
interface Watched {
  readonly id: number;
  readonly incarnation: number;
  readonly node: KvNode;
  readonly storage: ReplicaStorage;
  lastApplied: number;
  leaderTerm: number;
  readonly leaderChecked: Set<number>;
  lastDigestIndex: number;
  readonly off: () => void;
}

/** The Raft invariants' verdict on a run. */
export interface RaftVerdict {
  readonly valid: boolean;
  /** The first violation (the checker stops trusting the run after it). */
  readonly violation?: { readonly invariant: string; readonly message: string };
  readonly violations: number;
  readonly stats: { readonly leaders: number; readonly committed: number; readonly applied: number };
}

/** Observes members' Raft state for {@link RaftInvariants}. */
export class RaftObserver {
  readonly invariants = new RaftInvariants();
  readonly #watched = new Map<number, Watched>();
  #first: InvariantViolation | undefined;
  #count = 0;
  /** Simulated ms between two digests of one member's store (hashing costs O(history)). */
  private readonly digestEveryMs: number;
  readonly #now: () => number;
  readonly #lastDigestAt = new Map<number, number>();

  constructor(now: () => number, digestEveryMs = 50) {
    this.#now = now;
    this.digestEveryMs = digestEveryMs;
  }

  /** Starts observing incarnation `incarnation` of member `id` (just started). */
  attach(id: number, incarnation: number, node: KvNode, storage: ReplicaStorage): void {
    this.detach(id);
    const onApplied = (): void => this.observe(id);
    const onSnapshot = (_index: number, kind: string): void => {
      if (kind === 'installed') this.#guard(() => this.#resync(id));
    };
    node.replica.on('applied', onApplied);
    node.replica.on('snapshot', onSnapshot);
    const w: Watched = {
      id,
      incarnation,
      node,
      storage,
      lastApplied: node.replica.appliedIndex,
      leaderTerm: 0,
      leaderChecked: new Set(),
      lastDigestIndex: -1,
      off: () => {
        node.replica.off('applied', onApplied);
        node.replica.off('snapshot', onSnapshot);
      },
    };
    this.#watched.set(id, w);
    // Restarted: its state machine was rebuilt at the applied index it recovered.
    this.#guard(() => this.invariants.restored(id, incarnation, w.lastApplied));
    this.observe(id);
  }

  /** Stops observing member `id` (crashed, stopped or removed). */
  detach(id: number): void {
    const w = this.#watched.get(id);
    if (w === undefined) return;
    w.off();
    if (w.leaderTerm > 0) this.invariants.leaderGone(w.leaderTerm);
    this.#watched.delete(id);
  }

  /** Observes every attached member. */
  observeAll(): void {
    for (const id of this.#watched.keys()) this.observe(id);
  }

  /** Observes member `id` now. */
  observe(id: number): void {
    const w = this.#watched.get(id);
    if (w === undefined) return;
    this.#guard(() => this.#observe(w));
  }

  /** Compares the store digests of every attached member that reached `index` exactly. */
  digestAll(): void {
    for (const w of this.#watched.values()) this.#guard(() => this.#digest(w, true));
  }

  /** The verdict so far. */
  verdict(): RaftVerdict {
    const s = this.invariants.stats;
    const stats = { leaders: s.leaders, committed: s.committed, applied: s.applied };
    if (this.#first === undefined) return { valid: true, violations: 0, stats };
    return {
      valid: false,
      violation: { invariant: this.#first.invariant, message: this.#first.message },
      violations: this.#count,
      stats,
    };
  }

  #observe(w: Watched): void {
    const inv = this.invariants;
    const st = w.node.replica.status();
    if (st.state !== 'running') return;
    const applied = st.applied;
    const read = this.#reader(w, applied);
    inv.status(w.id, w.incarnation, st.term, st.raftState, applied);
    inv.commit(w.id, w.incarnation, st.term, applied, read);
    if (st.raftState === 'leader') {
      if (w.leaderTerm !== 0 && w.leaderTerm !== st.term) inv.leaderGone(w.leaderTerm);
      w.leaderTerm = st.term;
      // Leader completeness, once per term, as soon as its applied log covers every commit.
      if (!w.leaderChecked.has(st.term) && applied >= inv.maxCommitted) {
        w.leaderChecked.add(st.term);
        inv.leaderLog(w.id, w.incarnation, st.term, w.storage.storage.firstIndex(), read);
      }
    } else if (w.leaderTerm !== 0) {
      inv.leaderGone(w.leaderTerm);
      w.leaderTerm = 0;
    }
    for (let i = w.lastApplied + 1; i <= applied; i++) {
      const e = read(i);
      if (e === undefined) {
        // Compacted under a snapshot: the state machine continues from there.
        inv.restored(w.id, w.incarnation, applied);
        break;
      }
      inv.applied(w.id, w.incarnation, e);
    }
    w.lastApplied = Math.max(w.lastApplied, applied);
    this.#digest(w, false);
  }

  /** A snapshot was installed: the applied index jumped. */
  #resync(id: number): void {
    const w = this.#watched.get(id);
    if (w === undefined) return;
    const applied = w.node.replica.appliedIndex;
    this.invariants.restored(w.id, w.incarnation, applied);
    w.lastApplied = applied;
  }

  #digest(w: Watched, force: boolean): void {
    const sm = w.node.stateMachine;
    const index = sm.appliedIndex;
    if (index === w.lastDigestIndex) return;
    const now = this.#now();
    if (!force && now - (this.#lastDigestAt.get(w.id) ?? Number.NEGATIVE_INFINITY) < this.digestEveryMs)
      return;
    this.#lastDigestAt.set(w.id, now);
    w.lastDigestIndex = index;
    const store = sm.store;
    this.invariants.state(w.id, index, `revision ${store.revision}, hash ${store.hashKV().hash}`);
  }

  /** Reads entry `i` of `w`'s durable log, for `i` up to `upTo` (see the module notes). */
  #reader(w: Watched, upTo: number): (i: number) => Entry | undefined {
    const s = w.storage.storage;
    return (i) => {
      if (i > upTo || i < s.firstIndex() || i > s.lastIndex()) return undefined;
      return s.entries(i, i + 1)[0];
    };
  }

  #guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      this.#count++;
      this.#first ??= err;
    }
  }
}
