import type { ReadState } from '@flotilla/raft';
import { PendingRequest } from './requests.js';

/** A `readIndex()` call waiting for its read index and then for the apply to reach it. */
export class ReadRequest extends PendingRequest<number> {
  constructor(resolve: (index: number) => void, reject: (err: unknown) => void, deadline: number) {
    super(resolve, reject, 'read barrier', deadline, false);
  }
}

/** One ReadIndex confirmation round: the requests it answers and when it was (re)sent. */
interface Round {
  readonly id: number;
  readonly waiters: ReadRequest[];
  sentAt: number;
}

/**
 * Linearizable read barriers by ReadIndex (thesis §6.4), batched.
 *
 * A round is one `RawNode.readIndex(ctx)`: the leader records its commit index as the read
 * index, confirms with one heartbeat round that it still leads (a follower forwards the request
 * to the leader and gets the answer back), and the answer comes out as a `ReadState` carrying
 * `ctx`. A request is served once this replica applied up to that read index: by then its state
 * reflects every write acknowledged before the request was made.
 *
 * Batching rule: every request made while no round is in flight joins the next round, and a
 * request made while a round is in flight waits for the round after it, never joining one
 * already sent, because that round's read index may have been fixed before the request was
 * made (which would let it miss a write acknowledged in between). So at most two rounds' worth
 * of requests are ever waiting, and N concurrent requests cost one round.
 *
 * A round's message can be lost (or no leader is known, in which case Raft drops the request
 * silently), so a round unanswered for `retryMs` is sent again under a new id, and a round
 * outstanding when the leader changes is sent again at once. Each request still has its own
 * deadline (the replica's `DeadlineQueue`).
 */
export class ReadBarrier {
  readonly #send: (ctx: Uint8Array) => void;
  readonly #retryMs: number;
  readonly #session: number;
  #nextId = 1;
  #round: Round | undefined;
  #startScheduled = false;
  /** Requests for the next round. */
  #queued: ReadRequest[] = [];
  /** Confirmed requests waiting for the apply index, sorted by read index. */
  #waitingApply: Array<{ index: number; waiters: ReadRequest[] }> = [];

  /**
   * `send(ctx)` issues a round (`RawNode.readIndex`); `retryMs` as above; `session` is the
   * replica's random session number, part of every context so that an answer addressed to a
   * previous incarnation of this replica (a forwarded request answered after a restart) can
   * never be taken for an answer to a round of this one.
   */
  constructor(send: (ctx: Uint8Array) => void, retryMs: number, session: number) {
    this.#send = send;
    this.#retryMs = retryMs;
    this.#session = session;
  }

  /** Number of requests not yet served (for status and tests). */
  get pending(): number {
    let n = this.#queued.length + (this.#round?.waiters.length ?? 0);
    for (const w of this.#waitingApply) n += w.waiters.length;
    return n;
  }

  /**
   * Adds a request. When no round is in flight one starts on the next microtask, so every
   * request made in the same synchronous burst shares it.
   */
  add(req: ReadRequest, now: number): void {
    this.#queued.push(req);
    if (this.#round !== undefined || this.#startScheduled) return;
    this.#startScheduled = true;
    queueMicrotask(() => {
      this.#startScheduled = false;
      if (this.#round === undefined && this.#queued.length > 0) this.#start(now);
    });
  }

  /** A ReadState came out of a Ready. `applied` is the replica's applied index now. */
  confirmed(rs: ReadState, applied: number, now: number): void {
    const round = this.#round;
    if (round === undefined || decodeRoundId(rs.requestCtx, this.#session) !== round.id) return; // a stale round
    this.#round = undefined;
    const live = round.waiters.filter((w) => !w.settled);
    if (applied >= rs.index) {
      for (const w of live) w.resolve(rs.index);
    } else if (live.length > 0) {
      this.#waitApply(rs.index, live);
    }
    if (this.#queued.length > 0) this.#start(now);
  }

  /** The applied index moved to `applied`: serve what waited for it. */
  applied(applied: number): void {
    const list = this.#waitingApply;
    if (list.length === 0 || (list[0] as { index: number }).index > applied) return;
    let n = 0;
    while (n < list.length && (list[n] as { index: number }).index <= applied) {
      const { index, waiters } = list[n] as { index: number; waiters: ReadRequest[] };
      for (const w of waiters) w.resolve(index);
      n++;
    }
    this.#waitingApply = list.slice(n);
  }

  /** Called every tick: re-sends a round unanswered for `retryMs`. */
  tick(now: number): void {
    const round = this.#round;
    if (round !== undefined && now - round.sentAt >= this.#retryMs) this.#resend(now);
  }

  /** A new leader is known: a round in flight was probably lost with the old one. */
  leaderChanged(now: number): void {
    if (this.#round !== undefined) this.#resend(now);
  }

  #start(now: number): void {
    const waiters = this.#queued;
    this.#queued = [];
    this.#round = { id: this.#nextId++, waiters, sentAt: now };
    this.#send(encodeRoundId(this.#session, this.#round.id));
  }

  /** Sends the round again under a new id (an answer to the old id is ignored). */
  #resend(now: number): void {
    const old = this.#round;
    if (old === undefined) return;
    const waiters = old.waiters.filter((w) => !w.settled);
    if (waiters.length === 0 && this.#queued.length === 0) {
      this.#round = undefined;
      return;
    }
    // Requests queued for the next round may join: the new round's read index is fixed after
    // they were made.
    for (const w of this.#queued) waiters.push(w);
    this.#queued = [];
    this.#round = { id: this.#nextId++, waiters, sentAt: now };
    this.#send(encodeRoundId(this.#session, this.#round.id));
  }

  #waitApply(index: number, waiters: ReadRequest[]): void {
    const list = this.#waitingApply;
    let i = list.length;
    while (i > 0 && (list[i - 1] as { index: number }).index > index) i--;
    list.splice(i, 0, { index, waiters });
  }
}

/** A round travels as a 16-byte context: the session, then the round id (float64 each). */
function encodeRoundId(session: number, id: number): Uint8Array {
  const ctx = new Uint8Array(16);
  const view = new DataView(ctx.buffer);
  view.setFloat64(0, session);
  view.setFloat64(8, id);
  return ctx;
}

/** The round id of a context of this session, or -1. */
function decodeRoundId(ctx: Uint8Array, session: number): number {
  if (ctx.byteLength !== 16) return -1;
  const view = new DataView(ctx.buffer, ctx.byteOffset, 16);
  return view.getFloat64(0) === session ? view.getFloat64(8) : -1;
}
