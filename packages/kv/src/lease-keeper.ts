/**
 * The node's lease plumbing: the leader-only `LeaseTimer`, what it proposes, and how a member
 * answers "how long does this lease have left".
 *
 * The design (also in the README):
 * - The `Lessor` lives in the replicated state machine. The `LeaseTimer` runs on every member
 *   but is promoted only while this member leads; promoting extends every lease by the election
 *   timeout plus `leaseClockSkewMs` (keep-alives could not be served while there was no leader).
 * - Clock skew: every deadline the leader sets (grant, renewal, promotion) is `clockSkewMs`
 *   later than the TTL says, so a leader whose clock runs fast by up to that much over one TTL
 *   still never revokes a lease before its TTL has passed on the client's clock. (The timer
 *   sees each lease's TTL as `TTL + skew`; answers to clients keep the granted TTL.)
 * - Expiry: the timer hands expired ids to {@link LeaseKeeper}, which proposes `leaseExpire`
 *   stamped with the lease's epoch; checkpoints are proposed as `leaseCheckpoint`, stamped too.
 *   A stamp that no longer matches when applied (a renewal got in first) makes the command a
 *   no-op on every member, so a renewed lease is never revoked or shortened by a stale decision.
 * - Keep-alive: a `leaseRenew` command through Raft. Members have no channel but Raft, so this
 *   is how a keep-alive sent to any member reaches the leader's timer: when the leader applies
 *   it, the state machine's lessor view reports it as a (re)grant and the timer restarts the
 *   full TTL from that moment, which is after the client sent it.
 * - Remaining TTL: the leader's timer knows it exactly. A follower estimates it from what it
 *   applied: the full TTL from its grant or latest renewal, or the remaining time of its latest
 *   checkpoint, minus the time since this member applied that entry. A follower applies entries
 *   after the leader, so the estimate errs long by about the apply lag (and by any extension a
 *   new leader granted); it is informational, as etcd's own TTL answer is.
 */
import { type LeaseCheckpoint, type LeaseInfo, LeaseTimer, type LessorView } from '@flotilla/lease';
import type { Clock, Logger } from '@flotilla/replica';
import type { KvCommand } from './commands.js';
import type { KvStateMachine } from './state-machine.js';

/** Settings of a {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  readonly stateMachine: KvStateMachine;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Proposes a command through Raft; its failure is logged and retried by the timer. */
  readonly propose: (cmd: KvCommand) => Promise<unknown>;
  readonly electionTimeoutMs: number;
  readonly clockSkewMs: number;
  readonly checkpointIntervalMs: number;
}

/** Where a follower's remaining-TTL estimate starts: a clock reading and the ms left then. */
interface Basis {
  readonly at: number;
  readonly ms: number;
}

/** Leader-side timer wiring and the remaining-TTL estimate of one member. */
export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  readonly #timer: LeaseTimer;
  readonly #basis = new Map<number, Basis>();
  readonly #unsubscribe: () => void;

  constructor(o: LeaseKeeperOptions) {
    this.#o = o;
    const view = o.stateMachine.lessorView();
    this.#timer = new LeaseTimer({
      lessor: o.clockSkewMs > 0 ? withMargin(view, o.clockSkewMs) : view,
      clock: o.clock,
      proposeRevoke: (ids) => this.#proposeExpiries(ids),
      proposeCheckpoint: (cps) => this.#proposeCheckpoints(cps),
      checkpointIntervalMs: o.checkpointIntervalMs,
      electionTimeoutMs: o.electionTimeoutMs,
    });
    this.#resetBasis();
    this.#unsubscribe = view.subscribe((event) => {
      const now = o.clock.now();
      switch (event.type) {
        case 'grant':
          this.#basis.set(event.lease.id, { at: now, ms: event.lease.grantedTtl * 1000 });
          return;
        case 'checkpoint': {
          // 0 clears a checkpoint (a renewal, which is reported as a grant right after).
          if (event.remainingMs > 0) this.#basis.set(event.id, { at: now, ms: event.remainingMs });
          return;
        }
        case 'revoke':
          this.#basis.delete(event.id);
          return;
        case 'restore':
          this.#resetBasis();
          return;
      }
    });
  }

  /** True while this member's timer is the primary (this member leads). */
  get isPrimary(): boolean {
    return this.#timer.isPrimary;
  }

  /** This member became leader: track deadlines, extended by election timeout + skew. */
  promote(): void {
    this.#timer.promote(this.#o.electionTimeoutMs + this.#o.clockSkewMs);
  }

  /** This member stopped leading: forget every deadline. */
  demote(): void {
    this.#timer.demote();
  }

  /**
   * Remaining ms of lease `id`: exact on the leader, estimated elsewhere (module notes).
   * Undefined when the lease is unknown here.
   */
  remainingMs(id: number): number | undefined {
    const lease = this.#o.stateMachine.lessor.lookup(id);
    if (lease === undefined) return undefined;
    const exact = this.#timer.remainingMs(id);
    // The leader's deadline includes the skew margin: never report more than the granted TTL.
    if (exact !== undefined) return Math.min(exact, lease.grantedTtl * 1000);
    const basis = this.#basis.get(id);
    if (basis === undefined) return lease.grantedTtl * 1000;
    return Math.min(lease.grantedTtl * 1000, Math.max(0, basis.ms - (this.#o.clock.now() - basis.at)));
  }

  /** Stops the timer and the subscriptions. Idempotent. */
  close(): void {
    this.#timer.close();
    this.#unsubscribe();
  }

  #resetBasis(): void {
    const now = this.#o.clock.now();
    this.#basis.clear();
    for (const lease of this.#o.stateMachine.lessor.leases()) {
      this.#basis.set(lease.id, {
        at: now,
        ms: lease.remainingMs > 0 ? lease.remainingMs : lease.grantedTtl * 1000,
      });
    }
  }

  /**
   * Expiries are stamped with the epoch the timer saw: the timer fires between applies, and both
   * its deadlines and the epochs change only inside apply, so they describe the same log prefix.
   */
  #proposeExpiries(ids: readonly number[]): Promise<unknown> {
    const sm = this.#o.stateMachine;
    return Promise.all(
      ids.map((id) => this.#send({ type: 'leaseExpire', id, epoch: sm.leaseEpoch(id) }, 'lease expiry')),
    );
  }

  #proposeCheckpoints(cps: readonly LeaseCheckpoint[]): Promise<unknown> {
    const sm = this.#o.stateMachine;
    const checkpoints = cps.map((c) => ({
      id: c.id,
      remainingMs: c.remainingMs,
      epoch: sm.leaseEpoch(c.id),
    }));
    return this.#send({ type: 'leaseCheckpoint', checkpoints }, 'lease checkpoint');
  }

  #send(cmd: KvCommand, what: string): Promise<unknown> {
    return this.#o.propose(cmd).catch((err: unknown) => {
      // The timer retries expiries after its retry interval; a lost checkpoint is superseded by
      // the next one. Nothing to do but say so.
      this.#o.logger.debug(`${what} not applied`, { error: String(err) });
      throw err;
    });
  }
}

/**
 * `view` as the leader's timer should see it with a skew margin: every lease's TTL is `marginMs`
 * longer (in fractional seconds, which is how the timer reads it). Grants, renewals (reported as
 * grants) and promotions then all set deadlines `marginMs` later; checkpoints measured against
 * those deadlines carry the margin to the next leader too, so it is never lost, only (safely)
 * counted again by the next promotion's extension.
 */
function withMargin(view: LessorView, marginMs: number): LessorView {
  const widen = (lease: LeaseInfo): LeaseInfo => ({
    ...lease,
    grantedTtl: lease.grantedTtl + marginMs / 1000,
  });
  return {
    leases: () => view.leases().map(widen),
    lookup: (id) => {
      const lease = view.lookup(id);
      return lease === undefined ? undefined : widen(lease);
    },
    subscribe: (listener) =>
      view.subscribe((event) =>
        listener(event.type === 'grant' ? { type: 'grant', lease: widen(event.lease) } : event),
      ),
  };
}
