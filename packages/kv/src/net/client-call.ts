/**
 * One unary request of a `KvClient`, and the rules that decide what its caller is told
 * (Jepsen's ok / fail / info):
 *
 * - answered: resolved, or rejected with the member's typed error;
 * - the member says it cannot serve (`STOPPED`, `UNAVAILABLE`: the request was not started
 *   there): sent again through another member, within the same deadline;
 * - the connection is lost: a request never handed to the socket, or an idempotent one, is
 *   sent again on the next connection; a non-idempotent one that may have reached the server
 *   rejects `OUTCOME_UNKNOWN` — it may have been applied, so it must not be retried blindly nor
 *   reported as failed;
 * - the deadline passes (or the caller aborts): `TIMEOUT` (`ABORTED`) when the request certainly
 *   did nothing (never sent, or idempotent), `OUTCOME_UNKNOWN` for a write that was sent.
 *
 * The client's own deadline fires {@link LOCAL_GRACE_MS} after the one the server was given, so
 * the member's own verdict (a definite `TIMEOUT` for a write that never reached the log, say)
 * normally arrives first.
 */
import type { ClientConnection, Waiter } from './client-connection.js';
import { fromWireError, netError, TRY_ANOTHER_MEMBER } from './errors.js';
import { MAX_DEADLINE_MS, type Method, type ServerMessage } from './protocol.js';

/** How much longer than the server the client waits for a sent request's answer. */
export const LOCAL_GRACE_MS = 250;

/** What a call needs from its client. */
export interface CallHost {
  /** Send `call` again through a connection other than `avoid` (which is to be given up). */
  retry(call: Call, avoid: ClientConnection | undefined): void;
  /** The call settled. */
  done(call: Call): void;
  /** A request through `conn` ran out of time: check that its member still has a leader. */
  suspect(conn: ClientConnection): void;
}

/** A unary request in flight (see the module notes). */
export class Call implements Waiter {
  readonly method: Method;
  readonly body: unknown;
  readonly idempotent: boolean;
  /** `performance.now()` by which the answer is due. */
  readonly deadline: number;
  readonly #host: CallHost;
  readonly #resolve: (r: unknown) => void;
  readonly #reject: (e: Error) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  /** Where it was last sent and its ordinal there. */
  #conn: ClientConnection | undefined;
  #id = 0;
  #ordinal = 0;
  #settled = false;

  constructor(
    host: CallHost,
    method: Method,
    body: unknown,
    idempotent: boolean,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    resolve: (r: unknown) => void,
    reject: (e: Error) => void,
  ) {
    this.#host = host;
    this.method = method;
    this.body = body;
    this.idempotent = idempotent;
    this.deadline = performance.now() + timeoutMs;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = () => this.#giveUp('ABORTED');
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** True once resolved or rejected. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Sends the call on `conn` (its deadline counts down from now). */
  sendOn(conn: ClientConnection): void {
    this.#conn = conn;
    this.#id = conn.nextId();
    conn.waiters.set(this.#id, this);
    const d = Math.min(MAX_DEADLINE_MS, Math.max(1, Math.ceil(this.deadline - performance.now())));
    this.#ordinal = conn.queue({ t: 'call', id: this.#id, m: this.method, a: this.body, d });
  }

  /** True when the request may have reached a server (so a write's outcome is unknown). */
  #maybeSent(): boolean {
    const c = this.#conn;
    return c?.isWritten(this.#ordinal) === true;
  }

  receive(conn: ClientConnection, m: ServerMessage): void {
    if (this.#settled) return;
    if (m.t === 'ok') {
      this.#settle();
      this.#resolve(m.r);
      return;
    }
    if (m.t !== 'err') return;
    if (TRY_ANOTHER_MEMBER.has(m.e.code)) {
      // Refused before it started: another member may serve it.
      this.#conn = undefined;
      this.#host.retry(this, conn);
      return;
    }
    // A member cut off from the quorum answers TIMEOUT: have the client check it.
    if (m.e.code === 'TIMEOUT') this.#host.suspect(conn);
    this.fail(fromWireError(m.e, this.idempotent, conn.endpoint));
  }

  lost(conn: ClientConnection): void {
    if (this.#settled) return;
    if (!this.idempotent && this.#maybeSent()) {
      this.fail(
        netError(
          'OUTCOME_UNKNOWN',
          `the connection to ${conn.endpoint} was lost after the ${this.method} was sent: it may have been applied`,
          { endpoint: conn.endpoint },
        ),
      );
      return;
    }
    this.#conn = undefined;
    this.#host.retry(this, conn);
  }

  unprocessed(conn: ClientConnection): void {
    if (this.#settled) return;
    this.#conn = undefined;
    this.#host.retry(this, conn);
  }

  /** Called by the client's deadline sweep; true when the call expired (and was settled). */
  expireIfDue(now: number): boolean {
    if (this.#settled) return true;
    const sent = this.#maybeSent();
    if (now < this.deadline + (sent ? LOCAL_GRACE_MS : 0)) return false;
    const c = this.#conn;
    this.#giveUp('TIMEOUT');
    if (sent && c !== undefined) this.#host.suspect(c);
    return true;
  }

  #giveUp(code: 'TIMEOUT' | 'ABORTED'): void {
    if (this.#settled) return;
    const c = this.#conn;
    if (c !== undefined) c.waiters.delete(this.#id);
    const what = code === 'TIMEOUT' ? 'timed out' : 'was aborted';
    if (!this.idempotent && this.#maybeSent()) {
      this.fail(
        netError(
          'OUTCOME_UNKNOWN',
          `the ${this.method} ${what} after it was sent to ${c?.endpoint}: it may have been applied, or may still be`,
        ),
      );
      return;
    }
    this.fail(
      netError(
        code,
        this.idempotent
          ? `the ${this.method} ${what} (deadline or signal) without an answer`
          : `the ${this.method} ${what} before it was sent: it was not applied`,
      ),
    );
  }

  /**
   * Gives up on the call because the client closes: `OUTCOME_UNKNOWN` for a write that may have
   * been sent, `STOPPED` otherwise.
   */
  abandon(why: string): void {
    if (this.#settled) return;
    if (!this.idempotent && this.#maybeSent()) {
      this.fail(
        netError(
          'OUTCOME_UNKNOWN',
          `${why} while the ${this.method} was in flight: it may have been applied`,
        ),
      );
    } else {
      this.fail(netError('STOPPED', `${why} before the ${this.method} was answered`));
    }
  }

  /** Rejects with `err` (once). */
  fail(err: Error): void {
    if (this.#settled) return;
    this.#settle();
    this.#reject(err);
  }

  #settle(): void {
    this.#settled = true;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#host.done(this);
  }
}
