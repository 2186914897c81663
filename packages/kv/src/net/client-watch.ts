/**
 * A watch through a `KvClient`, which survives the loss of its member.
 *
 * The client remembers the last revision it has received for the watch (`after`: every
 * matching change up to it has been handed to this watch): first the revision the member
 * pinned the watch to when it acknowledged it (`created`), then each response's `revision`
 * (mvcc never splits a revision across responses, and a response's revision means "everything
 * up to here"). When the connection is lost, or the member stops, the watch is re-created on
 * the next member with `startRevision = after + 1`: no gap and no duplicate, whichever member
 * serves it and however far behind it is (a member behind simply waits for that revision).
 * If that revision has been compacted there, the watch ends with a canceled response carrying
 * `compactRevision`, as etcd's does.
 *
 * Responses wait in memory until the consumer takes them (the connection is shared, so a slow
 * consumer cannot be allowed to stall it).
 */
import type { WatchRequest, WatchResponse } from '@flotilla/mvcc';
import type { KvWatch } from '../api.js';
import type { ClientConnection, Waiter } from './client-connection.js';
import { TRY_ANOTHER_MEMBER } from './errors.js';
import type { ServerMessage, WatchCreated } from './protocol.js';

type Result = IteratorResult<WatchResponse, undefined>;
const DONE: Result = Object.freeze({ value: undefined, done: true });

/** What a watch needs from its client. */
export interface StreamOwner<T> {
  /** Re-open `s` on another connection than `avoid` (which is given up) as soon as there is one. */
  reattach(s: T, avoid: ClientConnection | undefined): void;
  /** `s` ended for good. */
  removed(s: T): void;
}

function isCreated(r: unknown): r is WatchCreated {
  return typeof r === 'object' && r !== null && (r as { created?: unknown }).created === true;
}

/** A resumable watch (see the module notes). Single consumer. */
export class ClientWatch implements KvWatch, Waiter, AsyncIterableIterator<WatchResponse> {
  readonly id: number;
  /** Resolves once a member has acknowledged the watch (changes committed after are reported). */
  readonly ready: Promise<void>;
  readonly #request: WatchRequest;
  readonly #owner: StreamOwner<ClientWatch>;
  #markReady: () => void = () => {};
  /** Every matching change up to this revision has been received (undefined: not yet created). */
  #after: number | undefined;
  #conn: ClientConnection | undefined;
  #streamId = 0;
  readonly #queue: WatchResponse[] = [];
  readonly #waiters: Array<(r: Result) => void> = [];
  #ended = false;

  constructor(id: number, request: WatchRequest, owner: StreamOwner<ClientWatch>) {
    this.id = id;
    this.#request = request;
    this.#owner = owner;
    this.ready = new Promise<void>((resolve) => {
      this.#markReady = resolve;
    });
  }

  /** True once no more responses will come. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The revision the watch would resume after (undefined before it was first created). */
  get resumeAfter(): number | undefined {
    return this.#after;
  }

  /** Opens the watch on `conn`, resuming after the last revision received. */
  attach(conn: ClientConnection): void {
    if (this.#ended) return;
    this.#conn = conn;
    this.#streamId = conn.nextId();
    conn.waiters.set(this.#streamId, this);
    const a =
      this.#after === undefined ? this.#request : { ...this.#request, startRevision: this.#after + 1 };
    conn.queue({ t: 'open', id: this.#streamId, m: 'watch', a });
  }

  receive(conn: ClientConnection, m: ServerMessage): void {
    if (this.#ended) return;
    switch (m.t) {
      case 'item': {
        const r = m.r;
        if (isCreated(r)) {
          if (this.#after === undefined) this.#after = r.revision;
          this.#markReady();
          return;
        }
        this.#onResponse(r as WatchResponse);
        return;
      }
      case 'end':
        this.#end();
        return;
      case 'err':
        if (TRY_ANOTHER_MEMBER.has(m.e.code)) {
          this.#conn = undefined;
          this.#owner.reattach(this, conn);
          return;
        }
        this.#push({
          events: [],
          revision: this.#after ?? 0,
          canceled: true,
          cancelReason: `${m.e.code}: ${m.e.message}`,
        });
        this.#end();
        return;
      default:
        return;
    }
  }

  unprocessed(conn: ClientConnection): void {
    this.lost(conn);
  }

  lost(conn: ClientConnection): void {
    if (this.#ended) return;
    this.#conn = undefined;
    this.#owner.reattach(this, conn);
  }

  #onResponse(resp: WatchResponse): void {
    const after = this.#after ?? 0;
    // Resuming at after + 1 makes these impossible; dropping them keeps "no duplicate" true even
    // against a member that got it wrong.
    const events =
      resp.events.length > 0 && (resp.events[0]?.kv.modRevision ?? 0) <= after
        ? resp.events.filter((e) => e.kv.modRevision > after)
        : resp.events;
    if (resp.revision > after) this.#after = resp.revision;
    this.#markReady();
    if (events.length === 0 && resp.events.length > 0 && resp.canceled !== true) return;
    this.#push(events === resp.events ? resp : { ...resp, events });
    if (resp.canceled === true) this.#end();
  }

  #push(resp: WatchResponse): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w({ value: resp, done: false });
    else this.#queue.push(resp);
  }

  next(): Promise<Result> {
    const head = this.#queue.shift();
    if (head !== undefined) return Promise.resolve({ value: head, done: false });
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<Result> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops the watch (the member is told); pending and later `next()` calls end. Idempotent. */
  cancel(): void {
    if (this.#ended) return;
    const c = this.#conn;
    if (c !== undefined && !c.closed) {
      c.waiters.delete(this.#streamId);
      c.queue({ t: 'close', id: this.#streamId });
    }
    this.#queue.length = 0;
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#conn = undefined;
    this.#markReady();
    for (const w of this.#waiters.splice(0)) w(DONE);
    this.#owner.removed(this);
  }
}
