/**
 * A client process of a workload: it invokes one operation at a time through the history
 * recorder, sends its requests to the members the host offers, enforces a client-side deadline,
 * and turns each outcome into Jepsen's `ok` / `fail` / `info`:
 *
 * - `fail` only when the operation certainly did not take effect: it was never sent (the member
 *   was down, or held the request while paused until the deadline), the server said so with a
 *   definite error (`TIMEOUT`, `LEASE_NOT_FOUND`, a failed compare, ...), or it was a read;
 * - `info` when it may have: `OUTCOME_UNKNOWN`, or the client's own deadline passed after the
 *   request was sent. The process is then retired and the worker continues under a fresh
 *   process id, as Jepsen does (the request may still take effect later).
 *
 * Everything waits on the worker's own clock, so a paused client process (the client-pause
 * nemesis) stops between any two steps, as a stopped process would.
 */
import { isFlotillaError } from '@flotilla/errors';
import type { Random } from '@flotilla/raft';
import type { JsonValue } from '../history/types.js';
import type { ClientApi, ClientClock, Endpoint, WorkloadHost } from './types.js';

/** How an operation ended (the completion event's fields). */
export type Completion =
  | { readonly type: 'ok'; readonly value?: JsonValue; readonly revision?: number }
  | { readonly type: 'fail' | 'info'; readonly value?: JsonValue; readonly error?: string };

/** Thrown when a request was given up before it was sent (it certainly did not happen). */
export class NotSentError extends Error {
  readonly code = 'NOT_SENT';
}

/** Tracks whether any request of one operation left the client, and cancels held ones. */
interface CallContext {
  sent: boolean;
  cancelled: boolean;
  /** Resolves when the operation is given up. */
  readonly cancel: Promise<void>;
  fire(): void;
}

function newContext(): CallContext {
  let fire = (): void => {};
  const cancel = new Promise<void>((resolve) => {
    fire = resolve;
  });
  const ctx: CallContext = {
    sent: false,
    cancelled: false,
    cancel,
    fire: () => {
      ctx.cancelled = true;
      fire();
    },
  };
  return ctx;
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: ClientClock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}

/** One logical client (Jepsen's worker thread): one process id at a time. */
export class Worker {
  readonly slot: number;
  readonly clock: ClientClock;
  readonly rng: Random;
  private readonly host: WorkloadHost;
  #process: number;
  #lastOpAt = Number.NaN;
  #spins = 0;

  constructor(host: WorkloadHost, slot: number) {
    this.host = host;
    this.slot = slot;
    this.#process = slot;
    this.clock = host.clientClock();
    this.rng = host.rng.fork();
  }

  /** The process id this worker records under now. */
  get process(): number {
    return this.#process;
  }

  /** Sleeps on the worker's clock (longer if the process is paused meanwhile). */
  sleep(ms: number): Promise<void> {
    return sleep(this.clock, ms);
  }

  /** Waits while the process is paused. */
  async running(): Promise<void> {
    while (this.clock.paused) await sleep(this.clock, 0);
  }

  /**
   * Runs one operation: records the invoke, runs `body` against a client that sends each
   * request to a random available member, and records the completion (see the module notes).
   * At the deadline, requests not yet sent are given up and `signal` fires (for bodies that wait,
   * such as a lock). `readOnly` operations never end in `info` (a read that may or may not have
   * happened changed nothing). Returns the completion recorded.
   */
  async op(
    f: string,
    value: JsonValue,
    body: (api: ClientApi, signal: AbortSignal) => Promise<Completion>,
    options: { readonly readOnly?: boolean; readonly timeoutMs?: number; readonly endpoint?: Endpoint } = {},
  ): Promise<Completion> {
    await this.running();
    this.#checkSpin();
    const handle = this.host.recorder.invoke(this.#process, f, value);
    const ctx = newContext();
    const api = this.client(ctx, options.endpoint);
    const timeoutMs = options.timeoutMs ?? this.host.opTimeoutMs;
    let timer: unknown;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let completion: Completion;
    const abort = new AbortController();
    const running = body(api, abort.signal);
    // The body may settle after the deadline (its outcome is then ignored): never unhandled.
    running.catch(() => {});
    try {
      const r = await Promise.race([running, deadline]);
      if (r === 'timeout') {
        ctx.fire();
        abort.abort();
        completion = ctx.sent
          ? options.readOnly
            ? { type: 'fail', error: 'CLIENT_TIMEOUT' }
            : { type: 'info', error: 'CLIENT_TIMEOUT' }
          : { type: 'fail', error: 'NOT_SENT' };
      } else {
        completion = r;
      }
    } catch (err) {
      completion = classify(err, options.readOnly === true);
    } finally {
      this.clock.clearTimeout(timer);
    }
    // A paused process learns its outcome only once it runs again.
    await this.running();
    if (completion.type === 'ok') {
      handle.ok(completion.value, completion.revision === undefined ? {} : { revision: completion.revision });
    } else if (completion.type === 'fail') {
      handle.fail(completion.value, completion.error === undefined ? {} : { error: completion.error });
    } else {
      handle.info(completion.value, completion.error === undefined ? {} : { error: completion.error });
      this.#process = this.host.freshProcess();
    }
    return completion;
  }

  /**
   * A {@link ClientApi} for this worker: each request waits while the process is paused, goes to
   * `endpoint` (or a random available member), waits while that member is paused (giving up if
   * the operation is cancelled meanwhile), and its answer is taken only once the process runs.
   * Without `ctx`, nothing is tracked (background work such as a session's keep-alives).
   */
  client(ctx?: CallContext, endpoint?: Endpoint): ClientApi {
    const call = async <T>(use: (api: ClientApi) => Promise<T>): Promise<T> => {
      await this.running();
      const ep = endpoint ?? this.#pick();
      const ready = ep?.ready();
      if (ready !== undefined) await (ctx === undefined ? ready : Promise.race([ready, ctx.cancel]));
      if (ctx?.cancelled === true) throw new NotSentError('given up before it was sent');
      const api = ep?.api;
      if (api === undefined) throw new NotSentError('no member reachable');
      if (ctx !== undefined) ctx.sent = true;
      const result = await use(api);
      await this.running();
      return result;
    };
    return {
      put: (key, value, options) => call((a) => a.put(key, value, options)),
      get: (key, options) => call((a) => a.get(key, options)),
      delete: (key, options) => call((a) => a.delete(key, options)),
      txn: (request, options) => call((a) => a.txn(request, options)),
      grant: (ttl, options) => call((a) => a.grant(ttl, options)),
      revoke: (id, options) => call((a) => a.revoke(id, options)),
      keepAliveOnce: (id, options) => call((a) => a.keepAliveOnce(id, options)),
      timeToLive: (id, options) => call((a) => a.timeToLive(id, options)),
      watch: (request) => {
        const ep = endpoint ?? this.#pick();
        const api = ep?.api;
        if (api === undefined) throw new NotSentError('no member reachable');
        return api.watch(request);
      },
    };
  }

  /**
   * A workload loop that retries a failing operation without ever waiting would spin in
   * microtasks forever: simulated time could not advance and memory would grow until the
   * process dies. Fail loudly instead (a harness bug).
   */
  #checkSpin(): void {
    const now = this.clock.now();
    if (now !== this.#lastOpAt) {
      this.#lastOpAt = now;
      this.#spins = 0;
    } else if (++this.#spins > 1000) {
      throw new Error(
        `worker ${this.slot} ran 1000 operations without time passing (a loop that never waits)`,
      );
    }
  }

  #pick(): Endpoint | undefined {
    const eps = this.host.endpoints();
    return eps.length === 0 ? undefined : this.rng.pick(eps);
  }
}

/** The completion a thrown error means (see the module notes). */
export function classify(err: unknown, readOnly: boolean): Completion {
  if (err instanceof NotSentError) return { type: 'fail', error: 'NOT_SENT' };
  if (isFlotillaError(err)) {
    if (err.code === 'OUTCOME_UNKNOWN' && !readOnly) return { type: 'info', error: err.code };
    return { type: 'fail', error: err.code };
  }
  // Anything else is a bug (in the harness or in the system): fail the run loudly.
  throw err;
}
