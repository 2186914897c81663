/**
 * A lease kept alive over a keep-alive stream (etcd's `LeaseKeepAlive`): the client sends one
 * keep-alive on the stream every interval (a third of the TTL, as etcd's client) and yields
 * each answer. The iteration ends when the lease is gone (an answer with `ttl: 0`) or on
 * `cancel()`; it throws if the member refuses the stream for another reason. A lost connection
 * re-opens the stream on the next member (keep-alives are idempotent).
 */
import type { LeaseKeepAliveResponse } from '../api.js';
import type { ClientConnection, Waiter } from './client-connection.js';
import type { StreamOwner } from './client-watch.js';
import { fromWireError, TRY_ANOTHER_MEMBER } from './errors.js';
import type { ServerMessage } from './protocol.js';

type Result = IteratorResult<LeaseKeepAliveResponse, undefined>;
const DONE: Result = Object.freeze({ value: undefined, done: true });

/** Keep-alive stream (see the module notes). */
export class KeepAliveStream implements Waiter, AsyncIterableIterator<LeaseKeepAliveResponse> {
  /** The lease kept alive. */
  readonly leaseId: number;
  readonly #owner: StreamOwner<KeepAliveStream>;
  readonly #fixedIntervalMs: number | undefined;
  #intervalMs = 500;
  #conn: ClientConnection | undefined;
  #streamId = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #queue: LeaseKeepAliveResponse[] = [];
  readonly #waiters: Array<{ resolve: (r: Result) => void; reject: (e: Error) => void }> = [];
  #ended = false;
  #error: Error | undefined;

  constructor(leaseId: number, intervalMs: number | undefined, owner: StreamOwner<KeepAliveStream>) {
    this.leaseId = leaseId;
    this.#fixedIntervalMs = intervalMs;
    this.#owner = owner;
  }

  /** Opens the stream on `conn` and sends a keep-alive at once. */
  attach(conn: ClientConnection): void {
    if (this.#ended) return;
    this.#conn = conn;
    this.#streamId = conn.nextId();
    conn.waiters.set(this.#streamId, this);
    conn.queue({ t: 'open', id: this.#streamId, m: 'leaseKeepAlive', a: { id: this.leaseId } });
    this.#ping();
  }

  #ping(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const c = this.#conn;
    if (this.#ended || c === undefined || c.closed) return;
    c.queue({ t: 'send', id: this.#streamId });
  }

  receive(conn: ClientConnection, m: ServerMessage): void {
    if (this.#ended) return;
    if (m.t === 'item') {
      const r = m.r as LeaseKeepAliveResponse;
      if (!(r.ttl > 0)) {
        this.#end(undefined);
        return;
      }
      this.#push(r);
      this.#intervalMs = this.#fixedIntervalMs ?? Math.max(100, (r.ttl * 1000) / 3);
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#ping(), this.#intervalMs);
      return;
    }
    if (m.t === 'end') {
      this.#end(undefined);
      return;
    }
    if (m.t === 'err') {
      if (TRY_ANOTHER_MEMBER.has(m.e.code)) {
        this.#detach();
        this.#owner.reattach(this, conn);
        return;
      }
      this.#end(fromWireError(m.e, true, conn.endpoint));
    }
  }

  unprocessed(conn: ClientConnection): void {
    this.lost(conn);
  }

  lost(conn: ClientConnection): void {
    if (this.#ended) return;
    this.#detach();
    this.#owner.reattach(this, conn);
  }

  #detach(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#conn = undefined;
  }

  #push(r: LeaseKeepAliveResponse): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve({ value: r, done: false });
    else this.#queue.push(r);
  }

  next(): Promise<Result> {
    const head = this.#queue.shift();
    if (head !== undefined) return Promise.resolve({ value: head, done: false });
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  return(): Promise<Result> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops keeping the lease alive (the lease itself stays until its TTL runs out). Idempotent. */
  cancel(): void {
    if (this.#ended) return;
    const c = this.#conn;
    if (c !== undefined && !c.closed) {
      c.waiters.delete(this.#streamId);
      c.queue({ t: 'close', id: this.#streamId });
    }
    this.#end(undefined);
  }

  #end(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#detach();
    for (const w of this.#waiters.splice(0)) {
      if (error === undefined) w.resolve(DONE);
      else w.reject(error);
    }
    this.#owner.removed(this);
  }
}
