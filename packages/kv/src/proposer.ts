/**
 * Proposing a command and telling the caller, truthfully, what became of it.
 *
 * Every member accepts every write: the replica runs with proposal forwarding on, so a
 * follower's proposal travels to the leader inside Raft (etcd-io/raft's `MsgProp`) and its
 * result comes back when the entry is applied here. `NOT_LEADER` therefore never reaches a
 * caller.
 *
 * The outcome rules (Jepsen's ok / fail / info):
 * - applied here: resolved with the state machine's result (a `failed` result is turned into
 *   a typed rejection by the caller: it certainly did not change anything);
 * - `PROPOSAL_DROPPED` (Raft refused it, or another entry won its index): it certainly did not
 *   happen, so it is proposed again (after waiting for a leader) until the deadline;
 * - the deadline passed, the signal fired, or the node stopped while an attempt was in flight:
 *   the entry may still be committed and applied later → `OUTCOME_UNKNOWN`, never a plain
 *   failure;
 * - the deadline passed (or the signal fired) before any attempt could be in flight: it
 *   certainly did not happen → `TIMEOUT` / `ABORTED`.
 */
import { isFlotillaError } from '@flotilla/errors';
import type { Clock, Replica } from '@flotilla/replica';
import { KvError } from './errors.js';
import type { KvResult } from './state-machine.js';

/** The replica codes after which a proposal's outcome is unknown. */
const UNKNOWN_OUTCOME = new Set(['TIMEOUT', 'ABORTED', 'STOPPED']);
/** The replica codes after which a proposal certainly did not happen and may be retried. */
const RETRYABLE = new Set(['PROPOSAL_DROPPED', 'NOT_LEADER']);

/** What the proposer needs from the node. */
export interface ProposerHost {
  readonly replica: Replica<KvResult>;
  readonly clock: Clock;
  readonly tickMs: number;
  /** Throws `STOPPED` / `UNAVAILABLE` when the node cannot take requests (nothing proposed). */
  checkOpen(): void;
}

/** Proposes encoded commands with the outcome rules above. */
export class Proposer {
  readonly #host: ProposerHost;

  constructor(host: ProposerHost) {
    this.#host = host;
  }

  /**
   * Proposes `data` and resolves with its result once applied on this member.
   *
   * @throws KvError `OUTCOME_UNKNOWN`, `TIMEOUT`, `ABORTED`, `STOPPED`, `UNAVAILABLE`.
   */
  async propose(data: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<KvResult> {
    const { replica } = this.#host;
    const { result } = await this.run(
      (remaining) => replica.propose(data, { timeoutMs: remaining, ...(signal ? { signal } : {}) }),
      timeoutMs,
      signal,
    );
    return result;
  }

  /**
   * Runs `attempt` (one proposal to the replica, given the time left) with the outcome rules
   * above: retried while Raft certainly dropped it, `OUTCOME_UNKNOWN` once it may be in flight.
   * Other errors (such as `CONF_CHANGE_REJECTED`) pass through unchanged.
   */
  async run<T>(
    attempt: (remainingMs: number) => Promise<T>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const { clock } = this.#host;
    const deadline = clock.now() + timeoutMs;
    for (let attempts = 0; ; attempts++) {
      this.#host.checkOpen();
      if (signal?.aborted === true) {
        throw new KvError('ABORTED', 'aborted before the request was proposed', { cause: signal.reason });
      }
      const remaining = deadline - clock.now();
      if (remaining <= 0) {
        throw new KvError(
          'TIMEOUT',
          `request timed out after ${timeoutMs} ms without being proposed (no leader)`,
          {
            details: { attempts },
          },
        );
      }
      try {
        return await attempt(remaining);
      } catch (err) {
        if (isFlotillaError(err) && RETRYABLE.has(err.code)) {
          await this.#waitForLeader(deadline, signal);
          continue;
        }
        if (isFlotillaError(err) && UNKNOWN_OUTCOME.has(err.code)) {
          throw new KvError(
            'OUTCOME_UNKNOWN',
            `the outcome of the request is unknown (${err.code}): it may have been applied, or may still be`,
            { cause: err },
          );
        }
        throw err;
      }
    }
  }

  /**
   * Waits until a leader is known (or one tick, when one is: a transfer or a full queue made
   * Raft refuse), the deadline passes, or the signal fires. Never rejects.
   */
  #waitForLeader(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    const { replica, clock, tickMs } = this.#host;
    const left = Math.max(0, deadline - clock.now());
    const wait = replica.leaderId === undefined ? left : Math.min(left, tickMs);
    return new Promise<void>((resolve) => {
      let timer: unknown;
      const done = (): void => {
        clock.clearTimeout(timer);
        replica.off('leader', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      timer = clock.setTimeout(done, wait);
      if (replica.leaderId === undefined) replica.once('leader', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
