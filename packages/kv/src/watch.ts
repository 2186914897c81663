/**
 * Watches on a node: etcd's semantics over this member's local mvcc store, which is fed as
 * committed entries are applied here (so a follower's watch lags the leader by its apply lag,
 * never skipping or reordering anything).
 *
 * - Default start = now: without `startRevision` only changes after the current revision are
 *   reported. With an older retained revision, history is replayed first, then the watch
 *   continues live with no gap (mvcc's guarantee). Below the compacted revision, the watch ends
 *   with a `canceled` response carrying `compactRevision`.
 * - A request mvcc refuses (wrong types) ends with a `canceled` response and a `cancelReason`
 *   instead of throwing, as etcd reports a watch it could not create.
 * - When this member installs a snapshot from the leader, its store object is replaced. Each
 *   watch then moves to the new store, restarting at one past the last revision it delivered:
 *   no gap, no duplicate. (If the snapshot's store is compacted past that point, the watch ends
 *   `canceled` with `compactRevision`, as a slow etcd watcher would.)
 * - Back-pressure: a response is held until the consumer takes it; mvcc queues up to its
 *   buffer and then catches the watch up from history, so a slow consumer costs no memory
 *   beyond the buffer and loses nothing.
 */
import type { MvccStore, Watcher, WatchRequest, WatchResponse } from '@flotilla/mvcc';
import type { KvWatch } from './api.js';

type Result = IteratorResult<WatchResponse, undefined>;
const DONE: Result = Object.freeze({ value: undefined, done: true });

/** One watch of a node (see the module notes). Single consumer. */
export class NodeWatch implements KvWatch, AsyncIterableIterator<WatchResponse> {
  readonly id: number;
  readonly #request: WatchRequest;
  readonly #onEnd: (w: NodeWatch) => void;
  #inner: Watcher | undefined;
  /** Every change up to this revision has been handed to this watch (queued or taken). */
  #lastRevision = 0;
  readonly #queue: Array<{ resp: WatchResponse; release: () => void }> = [];
  readonly #waiters: Array<(r: Result) => void> = [];
  /** No more responses will be queued (canceled by the caller, or a canceled response came). */
  #ended = false;
  /** The caller canceled: nothing more is yielded, not even queued responses. */
  #closed = false;

  /**
   * A watch of `request` on `source` (a store), or a watch that could not be created (`source`
   * names why: it yields one canceled response). `onEnd` is called once when it ends, however.
   */
  constructor(
    id: number,
    request: WatchRequest,
    source: MvccStore | { readonly failure: string; readonly revision: number },
    onEnd: (w: NodeWatch) => void,
  ) {
    this.id = id;
    this.#request = request;
    this.#onEnd = onEnd;
    if ('failure' in source) {
      this.#deliver({ events: [], revision: source.revision, canceled: true, cancelReason: source.failure });
    } else {
      this.#attach(source, undefined);
    }
  }

  /** True once no more responses will be produced. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The store was replaced (snapshot install): continue there after the last delivered revision. */
  moveTo(store: MvccStore): void {
    if (this.#ended) return;
    this.#inner?.cancel();
    this.#inner = undefined;
    this.#attach(store, this.#lastRevision + 1);
  }

  #attach(store: MvccStore, startRevision: number | undefined): void {
    const req = startRevision === undefined ? this.#request : { ...this.#request, startRevision };
    if (startRevision === undefined) {
      const asked = this.#request.startRevision;
      // What "already delivered" means before anything arrives: everything before the start.
      this.#lastRevision = typeof asked === 'number' && asked > 0 ? asked - 1 : store.revision;
    }
    try {
      this.#inner = store.watch(req, (resp) => this.#deliver(resp));
    } catch (err) {
      // mvcc throws only for a request of the wrong shape: report it the way etcd does.
      const reason =
        err instanceof Error ? `${(err as { code?: string }).code ?? 'ERROR'}: ${err.message}` : String(err);
      this.#deliver({ events: [], revision: store.revision, canceled: true, cancelReason: reason });
    }
  }

  #deliver(resp: WatchResponse): void | Promise<void> {
    if (this.#ended) return;
    if (resp.revision > this.#lastRevision) this.#lastRevision = resp.revision;
    let held: Promise<void> | undefined;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter({ value: resp, done: false });
    else held = new Promise<void>((release) => this.#queue.push({ resp, release }));
    // A canceled response is the last one: it is still yielded, then the iteration ends.
    if (resp.canceled === true) this.#end();
    return held;
  }

  next(): Promise<Result> {
    const head = this.#queue.shift();
    if (head !== undefined) {
      head.release();
      return Promise.resolve({ value: head.resp, done: false });
    }
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<Result> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  /**
   * Ends the watch from the node's side (the member stopped or failed): a last `canceled`
   * response with `reason` is still yielded, then the iteration ends. No-op once ended.
   */
  abort(reason: string, revision: number): void {
    if (this.#ended) return;
    this.#inner?.cancel();
    this.#inner = undefined;
    this.#deliver({ events: [], revision, canceled: true, cancelReason: reason });
  }

  /** Stops the watch; pending and later `next()` calls end (`done: true`). Idempotent. */
  cancel(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end();
    for (const q of this.#queue.splice(0)) q.release();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #end(): void {
    if (!this.#ended) {
      this.#ended = true;
      this.#inner?.cancel();
      this.#inner = undefined;
      this.#onEnd(this);
    }
    // Waiters exist only while nothing is queued: they all end.
    for (const w of this.#waiters.splice(0)) w(DONE);
  }
}
