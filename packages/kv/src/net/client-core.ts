/**
 * The machinery under `KvClient`: one connection in use at a time, failover to the next
 * endpoint (round robin, with backoff while none answers), the calls waiting for a connection,
 * the deadline sweep, and the streams (watches, keep-alives, downloads) that re-open on
 * whichever connection comes next. The outcome rules of a single call are in `client-call.ts`.
 */
import type { RequestOptions } from '../api.js';
import { bag, checkRequestOptions } from '../requests.js';
import { Call, type CallHost } from './client-call.js';
import { ClientConnection } from './client-connection.js';
import type { StreamOwner } from './client-watch.js';
import { netError } from './errors.js';
import type { Method } from './protocol.js';
import type { KvClientTlsOptions } from './tls.js';

/** How often deadlines are checked, in ms (a request may outlive its deadline by this much). */
const SWEEP_MS = 25;
/** Backoff while no endpoint answers, and before re-sending what a member refused. */
const BACKOFF_MIN_MS = 25;
const BACKOFF_MAX_MS = 1000;
/** Deadline of the status probe of a member suspected of having no leader. */
const PROBE_TIMEOUT_MS = 1000;

/** The client's settings, checked and with defaults (see `KvClientOptions`). */
export interface CoreOptions {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  readonly dialTimeoutMs: number;
  readonly tls: KvClientTlsOptions | undefined;
  readonly clusterId: string | undefined;
  readonly maxResponseBytes: number;
}

/** Something that runs on whatever connection the client has (watches, keep-alives, downloads). */
export interface Attachable {
  attach(conn: ClientConnection): void;
  /** Stops it (the client closes). */
  cancel?(): void;
  /** Fails it (the client closes). */
  abort?(err: Error): void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connections, failover, calls and streams of one client (see the module notes). */
export class ClientCore implements CallHost, StreamOwner<Attachable> {
  readonly #o: CoreOptions;
  #conn: ClientConnection | undefined;
  /** Every connection not yet closed (the current one and any still draining). */
  readonly #conns = new Set<ClientConnection>();
  /** Index of the endpoint to try next. */
  #next = 0;
  #dialing = false;
  #closed = false;
  /** Calls not on any connection right now. */
  readonly #waiting = new Set<Call>();
  /** Every call not yet settled. */
  readonly #active = new Set<Call>();
  #sweep: NodeJS.Timeout | undefined;
  /** Streams alive, and those waiting for a connection. */
  readonly #streams = new Set<Attachable>();
  readonly #detached = new Set<Attachable>();
  /** Connections being checked by {@link suspect}. */
  readonly #suspects = new Set<ClientConnection>();

  private constructor(o: CoreOptions) {
    this.#o = o;
  }

  /**
   * Connects to the first endpoint that answers (in the given order), within `timeoutMs`.
   *
   * @throws KvError `UNAVAILABLE` when no endpoint could be reached or every one refused the
   *   handshake (the message names each endpoint's reason).
   */
  static async connect(o: CoreOptions): Promise<ClientCore> {
    const core = new ClientCore(o);
    const errors: string[] = [];
    const deadline = performance.now() + o.timeoutMs;
    for (let i = 0; i < o.endpoints.length; i++) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      try {
        core.#adopt(await core.#dial(i, Math.min(left, o.dialTimeoutMs)));
        return core;
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    throw netError('UNAVAILABLE', `no endpoint could be reached: ${errors.join('; ') || 'timed out'}`, {
      endpoints: o.endpoints.join(','),
    });
  }

  /** The default deadline of a request. */
  get timeoutMs(): number {
    return this.#o.timeoutMs;
  }

  /** The connection in use, if it can take requests. */
  get connection(): ClientConnection | undefined {
    return this.#conn?.usable === true ? this.#conn : undefined;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  // -- connections -------------------------------------------------------------------------------

  #dial(index: number, timeoutMs: number): Promise<ClientConnection> {
    this.#next = (index + 1) % this.#o.endpoints.length;
    return ClientConnection.dial({
      endpoint: this.#o.endpoints[index] as string,
      tls: this.#o.tls,
      clusterId: this.#o.clusterId,
      maxFrameBytes: this.#o.maxResponseBytes,
      timeoutMs,
    });
  }

  /** Makes `conn` the connection in use: what waits is sent, detached streams re-open. */
  #adopt(conn: ClientConnection): void {
    conn.listen({
      goaway: (c) => this.#giveUp(c),
      closed: (c) => {
        this.#conns.delete(c);
        this.#giveUp(c);
      },
    });
    this.#conns.add(conn);
    this.#conn = conn;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const call of waiting) if (!call.settled) call.sendOn(conn);
    const streams = [...this.#detached];
    this.#detached.clear();
    for (const s of streams) s.attach(conn);
  }

  /** Stops using `conn` for anything new and finds another connection if something waits. */
  #giveUp(conn: ClientConnection): void {
    conn.retire();
    if (this.#conn === conn) this.#conn = undefined;
    if (conn.waiters.size === 0) conn.closeWhenIdle();
    this.#ensureConnection();
  }

  #ensureConnection(): void {
    if (this.#closed || this.#dialing || this.#conn?.usable === true) return;
    if (this.#waiting.size === 0 && this.#detached.size === 0) return;
    this.#dialing = true;
    void this.#dialLoop();
  }

  async #dialLoop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    try {
      while (!this.#closed && (this.#waiting.size > 0 || this.#detached.size > 0)) {
        for (let n = 0; n < this.#o.endpoints.length; n++) {
          let conn: ClientConnection;
          try {
            conn = await this.#dial(this.#next, this.#o.dialTimeoutMs);
          } catch {
            continue;
          }
          if (this.#closed) {
            conn.destroy();
            return;
          }
          this.#adopt(conn);
          return;
        }
        await sleep(backoff);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    } finally {
      this.#dialing = false;
    }
  }

  /** `CallHost`: send `call` again, through another member than `avoid` if it refused. */
  retry(call: Call, avoid: ClientConnection | undefined): void {
    if (this.#closed) {
      call.fail(netError('STOPPED', 'the client is closed'));
      return;
    }
    if (avoid !== undefined && avoid === this.#conn && !avoid.closed) {
      // The member refused to serve: move off it, after a pause so a cluster that is down
      // everywhere is not hammered.
      this.#giveUp(avoid);
      this.#waiting.add(call);
      setTimeout(() => this.#ensureConnection(), BACKOFF_MIN_MS);
      return;
    }
    const conn = this.#conn;
    if (conn?.usable === true) call.sendOn(conn);
    else {
      this.#waiting.add(call);
      this.#ensureConnection();
    }
  }

  /** `StreamOwner`: re-open `s` on the next connection (off `avoid` if it refused). */
  reattach(s: Attachable, avoid: ClientConnection | undefined): void {
    if (this.#closed) return;
    if (avoid !== undefined && avoid === this.#conn && !avoid.closed) this.#giveUp(avoid);
    const conn = this.#conn;
    if (conn?.usable === true) s.attach(conn);
    else {
      this.#detached.add(s);
      this.#ensureConnection();
    }
  }

  /** Starts a stream on the current connection, or as soon as there is one. */
  startStream<T extends Attachable>(s: T): T {
    this.#streams.add(s);
    const conn = this.#conn;
    if (conn?.usable === true) s.attach(conn);
    else {
      this.#detached.add(s);
      this.#ensureConnection();
    }
    return s;
  }

  #stopSweep(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  /** `CallHost`: the call settled. */
  done(call: Call): void {
    this.#active.delete(call);
    this.#waiting.delete(call);
    if (this.#active.size === 0) this.#stopSweep();
  }

  /**
   * `CallHost`: a request through `conn` ran out of time. A member that is up but cut off from
   * the quorum would keep its clients forever (every request times out there): ask it for its
   * status, and move to another member if it knows no leader or does not answer in time.
   */
  suspect(conn: ClientConnection): void {
    if (this.#closed || this.#suspects.has(conn) || conn !== this.#conn || !conn.usable) return;
    this.#suspects.add(conn);
    const verdict = (leaderless: boolean): void => {
      this.#suspects.delete(conn);
      if (leaderless && conn === this.#conn) this.#giveUp(conn);
    };
    const probe = new Call(
      this,
      'status',
      {},
      true,
      PROBE_TIMEOUT_MS,
      undefined,
      (r) => verdict((r as { leader?: unknown }).leader === 0),
      () => verdict(true),
    );
    this.#track(probe);
    probe.sendOn(conn);
  }

  /** Watches `call`'s deadline. */
  #track(call: Call): void {
    this.#active.add(call);
    this.#sweep ??= setInterval(() => {
      const now = performance.now();
      for (const c of this.#active) c.expireIfDue(now);
    }, SWEEP_MS);
  }

  /** `StreamOwner`: the stream ended for good. */
  removed(s: Attachable): void {
    this.#streams.delete(s);
    this.#detached.delete(s);
  }

  // -- calls -------------------------------------------------------------------------------------

  /** Sends one unary request with the outcome rules of `client-call.ts`. */
  call<T>(
    method: Method,
    body: unknown,
    idempotent: boolean,
    options: RequestOptions | undefined,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(netError('STOPPED', 'the client is closed'));
    let timeoutMs = this.#o.timeoutMs;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const r = checkRequestOptions(bag(options, `${method} options`));
      if (r.timeoutMs !== undefined) timeoutMs = r.timeoutMs;
      signal = r.signal;
      if (signal?.aborted === true) {
        return Promise.reject(netError('ABORTED', `the ${method} was aborted before it was sent`));
      }
    }
    return new Promise<T>((resolve, reject) => {
      const call = new Call(
        this,
        method,
        body,
        idempotent,
        timeoutMs,
        signal,
        resolve as (r: unknown) => void,
        reject,
      );
      if (call.settled) return;
      this.#track(call);
      const conn = this.#conn;
      if (conn?.usable === true) call.sendOn(conn);
      else {
        this.#waiting.add(call);
        this.#ensureConnection();
      }
    });
  }

  // -- lifecycle ---------------------------------------------------------------------------------

  /**
   * Closes: streams end, requests not yet answered reject (`OUTCOME_UNKNOWN` for a write that
   * was sent, `STOPPED` otherwise), connections close. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams]) {
      s.cancel?.();
      s.abort?.(netError('STOPPED', 'the client is closed'));
    }
    this.#streams.clear();
    this.#detached.clear();
    this.#conn = undefined;
    // Settle what is in flight as a lost connection would (retries are over: the client is closed).
    for (const call of [...this.#active]) call.abandon('the client was closed');
    for (const c of [...this.#conns]) c.destroy();
    this.#stopSweep();
  }
}
