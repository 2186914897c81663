/**
 * A toy "Raft" for the lease timer tests: N replicas, each a store + Lessor + LeaseTimer; one
 * shared log; a proposal from the current leader is appended and (by default) committed at once,
 * i.e. applied on every replica in log order. A proposal from a deposed leader is dropped, as
 * Raft would never commit it. `autoCommit = false` holds entries back to test retries and waits.
 */
import {
  applyCheckpoints,
  applyRevoke,
  type LeaseCheckpoint,
  LeaseTimer,
  type Lessor,
} from '@flotilla/lease';
import { ManualClock } from '@flotilla/lease/testing';
import type { MvccStore } from '@flotilla/mvcc';
import { newLessor } from './helpers.js';

export type Entry =
  | { readonly type: 'grant'; readonly id: number; readonly ttl: number }
  | { readonly type: 'revoke'; readonly id: number }
  | { readonly type: 'checkpoint'; readonly checkpoints: readonly LeaseCheckpoint[] }
  | { readonly type: 'put'; readonly key: string; readonly lease: number };

export interface Replica {
  readonly store: MvccStore;
  readonly lessor: Lessor;
  readonly timer: LeaseTimer;
  /** Revoke ids this replica's timer proposed, with the clock time. */
  readonly revokeAsks: Array<{ at: number; ids: readonly number[] }>;
}

export interface SimOptions {
  readonly replicas?: number;
  readonly checkpointIntervalMs?: number;
  readonly electionTimeoutMs?: number;
  readonly revokeRetryMs?: number;
  readonly checkpoints?: boolean;
  readonly minTtlSeconds?: number;
}

export class RaftSim {
  readonly clock = new ManualClock();
  readonly replicas: Replica[] = [];
  readonly log: Entry[] = [];
  /** Applied revokes: lease id → clock time of the apply. */
  readonly revokedAt = new Map<number, number>();
  leader = 0;
  autoCommit = true;
  #pending: Entry[] = [];
  #commitWaiters: Array<() => void> = [];

  constructor(options: SimOptions = {}) {
    const n = options.replicas ?? 3;
    for (let i = 0; i < n; i++) {
      const { store, lessor } = newLessor({ minTtlSeconds: options.minTtlSeconds ?? 1 });
      const revokeAsks: Replica['revokeAsks'] = [];
      const timer = new LeaseTimer({
        lessor,
        clock: this.clock,
        proposeRevoke: (ids) => {
          revokeAsks.push({ at: this.clock.now(), ids });
          for (const id of ids) this.propose(i, { type: 'revoke', id });
        },
        proposeCheckpoint:
          options.checkpoints === false
            ? undefined
            : (checkpoints) => this.propose(i, { type: 'checkpoint', checkpoints }),
        checkpointIntervalMs: options.checkpointIntervalMs ?? 1000,
        electionTimeoutMs: options.electionTimeoutMs ?? 1000,
        revokeRetryMs: options.revokeRetryMs ?? 3000,
      });
      this.replicas.push({ store, lessor, timer, revokeAsks });
    }
    this.primary.timer.promote();
  }

  get primary(): Replica {
    return this.replicas[this.leader] as Replica;
  }

  /**
   * Appends `entry` if `from` leads (else drops it). Resolves when it is committed and applied
   * (never, if dropped: callers that await must not propose from a follower).
   */
  propose(from: number, entry: Entry): Promise<void> {
    if (from !== this.leader) return new Promise(() => {});
    this.#pending.push(entry);
    const done = new Promise<void>((resolve) => this.#commitWaiters.push(resolve));
    if (this.autoCommit) this.commit();
    return done;
  }

  /** Commits and applies every pending entry on every replica, in order. */
  commit(): void {
    while (this.#pending.length > 0) {
      const entries = this.#pending.splice(0);
      for (const e of entries) {
        this.log.push(e);
        for (const r of this.replicas) apply(r, e);
        if (e.type === 'revoke' && !this.revokedAt.has(e.id)) this.revokedAt.set(e.id, this.clock.now());
      }
    }
    for (const w of this.#commitWaiters.splice(0)) w();
  }

  /** Drops every pending (uncommitted) entry, as a leader change can. */
  dropPending(): void {
    this.#pending = [];
  }

  grant(id: number, ttl: number): void {
    this.propose(this.leader, { type: 'grant', id, ttl });
  }

  /** Leadership moves to `next`: the old leader demotes; the new one promotes after `gapMs`. */
  async elect(next: number, gapMs = 0, extendMs?: number): Promise<void> {
    this.primary.timer.demote();
    this.dropPending();
    if (gapMs > 0) await this.clock.advance(gapMs);
    this.leader = next;
    this.primary.timer.promote(extendMs);
  }
}

function apply(r: Replica, e: Entry): void {
  switch (e.type) {
    case 'grant':
      r.lessor.grant(e.id, e.ttl);
      return;
    case 'revoke':
      applyRevoke(r.lessor, e.id);
      return;
    case 'checkpoint':
      applyCheckpoints(r.lessor, e.checkpoints);
      return;
    case 'put':
      r.store.put(e.key, 'v', { lease: e.lease });
      return;
  }
}
