/**
 * Watches, in the shape of etcd's `watchableStore`.
 *
 * A watcher is either *synced* (it has been given every matching change up to the current
 * revision, so each new commit is queued to it as it happens) or *unsynced* (it is behind, and
 * catches up by reading the revision log from its position `minRev`). A watcher starts unsynced
 * when its start revision is at or below the current revision, and falls back to unsynced when
 * its queue is full (a slow listener), instead of blocking the writer or growing without bound.
 * Catching up, it moves back to synced in the same synchronous step that reads the log's last
 * record, so no commit can slip between the replay and the live stream: no gap, no duplicate.
 * If its position was compacted meanwhile, it is canceled with `compactRevision` (etcd's rule:
 * `minRev < compactRevision`).
 *
 * Delivery is asynchronous (through the injected `schedule`, a microtask by default), one
 * response at a time per watcher; a listener's returned promise holds back the next response.
 * A live response holds the events of exactly one revision; a catch-up response holds whole
 * revisions, up to the buffer size, like etcd's batches of unsynced events.
 */
import type { History } from './history.js';
import type { KeyIndex } from './key-index.js';
import { type KeyRev, liveAt } from './key-rev.js';
import { toKv } from './read.js';
import { type NWatch, scanEnd } from './requests.js';
import type { WatchEvent, Watcher, WatchListener, WatchResponse } from './types.js';

/** What the hub reads from the store. */
export interface WatchSource {
  /** The current revision. */
  readonly revision: number;
  /** The compacted revision (-1 if never compacted). */
  readonly compactMain: number;
  readonly history: History;
  readonly index: KeyIndex;
}

/**
 * - `synced`: in `byKey`/`ranged`; every matching change below `minRev` is queued or delivered,
 *   and `minRev` is the current revision + 1 (or a future start). Commits queue to it directly.
 * - `unsynced`: not in those sets; changes from `minRev` on are read from the revision log once
 *   its queue is empty. Never receives live responses, so nothing can be queued twice.
 * - `closing`: an invalid request whose one cancel response is queued.
 * - `canceled`: no further delivery, ever (the only terminal phase).
 */
type WatcherPhase = 'synced' | 'unsynced' | 'closing' | 'canceled';

/** One watch's state. Exposed to users only as a {@link Watcher}. */
class WatcherState implements Watcher {
  readonly id: number;
  readonly req: NWatch | undefined;
  /** Exclusive upper bound of a range watch (`null` unbounded); unused for a single key. */
  readonly bound: string | null;
  readonly listener: WatchListener;
  phase: WatcherPhase;
  /** The first revision this watcher has not been given (queued) yet. */
  minRev: number;
  /** Responses produced but not yet delivered, oldest first; whole revisions only. */
  readonly queue: WatchResponse[] = [];
  /** Total events in `queue`: what `bufferEvents` bounds. */
  queuedEvents = 0;
  /** A drain is scheduled. */
  scheduled = false;
  /** The listener's promise for the last response has not settled. */
  waiting = false;
  /** Events were queued since the last progress round (etcd sends progress only to idle ones). */
  sawEvents = false;
  private readonly hub: WatchHub;

  constructor(hub: WatchHub, id: number, req: NWatch | undefined, listener: WatchListener, minRev: number) {
    this.hub = hub;
    this.id = id;
    this.req = req;
    this.listener = listener;
    this.minRev = minRev;
    this.bound = req?.end === undefined ? null : scanEnd(req.end);
    this.phase = 'unsynced';
  }

  cancel(): void {
    this.hub.cancel(this);
  }

  /** Whether a change to `key` concerns this watch. */
  matches(key: string): boolean {
    const req = this.req;
    if (req === undefined) return false;
    if (req.end === undefined) return key === req.key;
    return key >= req.key && (this.bound === null || key < this.bound);
  }
}

/** A tombstone-or-put record as a watch event, with or without its previous version. */
function makeEvent(src: WatchSource, rec: KeyRev, withPrev: boolean): WatchEvent {
  const kv = toKv(rec);
  const type = rec.version === 0 ? 'delete' : 'put';
  if (!withPrev) return { type, kv };
  // etcd reads the key at modRevision - 1; a compacted revision yields nothing.
  const before = rec.main - 1;
  const prev = before < src.compactMain ? undefined : liveAt(src.index.head(rec.key), before);
  return prev === undefined ? { type, kv } : { type, kv, prevKv: toKv(prev) };
}

/** Options the hub takes from the store's options. */
export interface WatchHubOptions {
  readonly bufferEvents: number;
  readonly schedule: (task: () => void) => void;
  readonly onListenerError: (error: unknown, watchId: number) => void;
}

export class WatchHub {
  private readonly src: WatchSource;
  private readonly opts: WatchHubOptions;
  private nextId = 1;
  private readonly all = new Map<number, WatcherState>();
  /** Synced single-key watchers by key. */
  private readonly byKey = new Map<string, Set<WatcherState>>();
  /** Synced range watchers (scanned linearly per change; etcd uses an interval tree). */
  private readonly ranged = new Set<WatcherState>();
  private syncedCount = 0;

  constructor(src: WatchSource, opts: WatchHubOptions) {
    this.src = src;
    this.opts = opts;
  }

  /** Number of watchers not canceled. */
  get size(): number {
    return this.all.size;
  }

  /** Starts a watch (see `MvccStore.watch`). `req` is a normalized request or a cancel reason. */
  watch(req: NWatch | { readonly cancelReason: string }, listener: WatchListener): Watcher {
    const id = this.nextId++;
    if (!('key' in req)) {
      const w = new WatcherState(this, id, undefined, listener, 0);
      w.phase = 'closing';
      this.all.set(id, w);
      this.push(w, {
        events: [],
        revision: this.src.revision,
        canceled: true,
        cancelReason: req.cancelReason,
      });
      return w;
    }
    const current = this.src.revision;
    const start = req.startRevision;
    const w = new WatcherState(this, id, req, listener, start === 0 ? current + 1 : start);
    this.all.set(id, w);
    if (w.minRev > current) this.sync(w);
    else this.kick(w);
    return w;
  }

  /** Stops `w`: nothing more is delivered to it. Idempotent. */
  cancel(w: WatcherState): void {
    if (w.phase === 'canceled') return;
    if (w.phase === 'synced') this.unsync(w);
    w.phase = 'canceled';
    w.queue.length = 0;
    w.queuedEvents = 0;
    this.all.delete(w.id);
  }

  private sync(w: WatcherState): void {
    const req = w.req;
    if (req === undefined) return;
    w.phase = 'synced';
    this.syncedCount++;
    if (req.end !== undefined) {
      this.ranged.add(w);
      return;
    }
    let set = this.byKey.get(req.key);
    if (set === undefined) {
      set = new Set();
      this.byKey.set(req.key, set);
    }
    set.add(w);
  }

  private unsync(w: WatcherState): void {
    const req = w.req;
    if (req === undefined) return;
    w.phase = 'unsynced';
    this.syncedCount--;
    if (req.end !== undefined) {
      this.ranged.delete(w);
      return;
    }
    const set = this.byKey.get(req.key);
    if (set === undefined) return;
    set.delete(w);
    if (set.size === 0) this.byKey.delete(req.key);
  }

  /**
   * Queues the changes of one committed revision to the synced watchers they concern. Called
   * by the store right after the commit, so the index and log already hold `changes`.
   */
  notify(changes: readonly KeyRev[], rev: number): void {
    if (this.syncedCount === 0) return;
    let batches: Map<WatcherState, WatchEvent[]> | undefined;
    // Events are built once per change (with and without prevKv) and shared by the watchers
    // that receive them.
    let plain: Map<KeyRev, WatchEvent> | undefined;
    let withPrev: Map<KeyRev, WatchEvent> | undefined;
    const add = (w: WatcherState, rec: KeyRev): void => {
      const req = w.req;
      if (req === undefined || rev < w.minRev) return;
      if (rec.version === 0 ? req.noDelete : req.noPut) return;
      let cache: Map<KeyRev, WatchEvent>;
      if (req.prevKv) {
        withPrev ??= new Map();
        cache = withPrev;
      } else {
        plain ??= new Map();
        cache = plain;
      }
      let ev = cache.get(rec);
      if (ev === undefined) {
        ev = makeEvent(this.src, rec, req.prevKv);
        cache.set(rec, ev);
      }
      batches ??= new Map();
      const list = batches.get(w);
      if (list === undefined) batches.set(w, [ev]);
      else list.push(ev);
    };
    for (const rec of changes) {
      const set = this.byKey.get(rec.key);
      if (set !== undefined) for (const w of set) add(w, rec);
      for (const w of this.ranged) if (w.matches(rec.key)) add(w, rec);
    }
    if (batches === undefined) return;
    for (const [w, events] of batches) this.queueLive(w, { events, revision: rev });
  }

  /** Queues a live response, or moves the watcher to unsynced when its buffer is full. */
  private queueLive(w: WatcherState, resp: WatchResponse): void {
    if (w.queue.length > 0 && w.queuedEvents + resp.events.length > this.opts.bufferEvents) {
      // Slow listener: stop queueing; once the queue drains it catches up from `resp.revision`.
      this.unsync(w);
      w.minRev = resp.revision;
      return;
    }
    w.minRev = resp.revision + 1;
    w.sawEvents = true;
    this.push(w, resp);
  }

  private push(w: WatcherState, resp: WatchResponse): void {
    w.queue.push(resp);
    w.queuedEvents += resp.events.length;
    this.kick(w);
  }

  private kick(w: WatcherState): void {
    if (w.scheduled || w.waiting) return;
    w.scheduled = true;
    this.opts.schedule(() => this.drain(w));
  }

  /** Delivers queued responses in order; an unsynced watcher with an empty queue catches up. */
  private drain(w: WatcherState): void {
    w.scheduled = false;
    // Invariant: at most one response is with the listener at a time (`waiting` while its
    // promise is pending), and responses leave in queue order, so revisions arrive in order.
    while (w.phase !== 'canceled' && !w.waiting) {
      let resp = w.queue.shift();
      let fromHistory = false;
      if (resp !== undefined) {
        w.queuedEvents -= resp.events.length;
      } else if (w.phase === 'unsynced') {
        resp = this.catchUp(w);
        fromHistory = true;
      }
      if (resp === undefined) return;
      // A cancel response is the last: the watcher leaves every set before the listener runs,
      // so a write the listener makes cannot reach it.
      if (resp.canceled === true) this.finish(w);
      let result: void | Promise<void>;
      try {
        // The listener may write to the store or cancel watches (this one included): both only
        // change queues and phases, which the loop re-reads.
        result = w.listener(resp);
      } catch (err) {
        this.fail(w, err);
        return;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        // Back-pressure: nothing more is delivered until the listener's promise settles; writes
        // meanwhile fill the queue, and past `bufferEvents` the watcher turns unsynced.
        w.waiting = true;
        result.then(
          () => {
            w.waiting = false;
            this.drain(w);
          },
          (err: unknown) => {
            w.waiting = false;
            this.fail(w, err);
          },
        );
        return;
      }
      // Yield between catch-up batches so a host scheduler can interleave other work.
      if (fromHistory) {
        this.kick(w);
        return;
      }
    }
  }

  /** Marks `w` canceled once its final (canceled) response is being delivered. */
  private finish(w: WatcherState): void {
    if (w.phase === 'synced') this.unsync(w);
    w.phase = 'canceled';
    this.all.delete(w.id);
  }

  private fail(w: WatcherState, err: unknown): void {
    this.cancel(w);
    this.opts.onListenerError(err, w.id);
  }

  /**
   * Reads the next batch of history for an unsynced watcher (queue empty). Returns the batch,
   * a cancel response when its position was compacted, or undefined when nothing matched and it
   * is synced again.
   */
  private catchUp(w: WatcherState): WatchResponse | undefined {
    const src = this.src;
    if (w.minRev < src.compactMain) {
      return { events: [], revision: src.revision, compactRevision: src.compactMain, canceled: true };
    }
    const req = w.req;
    const log = src.history;
    const n = log.length;
    const limit = this.opts.bufferEvents;
    const events: WatchEvent[] = [];
    // `scannedTo`: every log record with main <= scannedTo has been looked at for this watcher.
    let scannedTo = w.minRev - 1;
    let i = log.firstAtOrAfter(w.minRev);
    for (; i < n; i++) {
      const rec = log.at(i);
      if (rec === undefined) break;
      // Stop only between revisions, so one revision's events are never split.
      if (rec.main !== scannedTo && events.length >= limit) break;
      scannedTo = rec.main;
      if (req === undefined || !w.matches(rec.key)) continue;
      if (rec.version === 0 ? req.noDelete : req.noPut) continue;
      events.push(makeEvent(src, rec, req.prevKv));
    }
    // Reaching the end of the log means every revision up to the current one was scanned; a
    // revision that changed nothing matching still counts, so the position is the current one.
    if (i >= n) scannedTo = src.revision;
    w.minRev = scannedTo + 1;
    // The seam: back in the synced sets within the same synchronous step that read the last
    // record, so the next commit is queued live and none was missed or will be read twice.
    if (w.minRev > src.revision) this.sync(w);
    return events.length === 0 ? undefined : { events, revision: scannedTo };
  }

  /**
   * Sends a progress response (no events, the current revision) to every synced watcher that
   * asked for progress notifications and has received no events since the previous call: etcd's
   * periodic progress notification, driven by the host's clock instead of a timer.
   */
  notifyProgress(): void {
    const revision = this.src.revision;
    for (const w of this.all.values()) {
      if (w.req?.progressNotify !== true) continue;
      const idle = !w.sawEvents;
      w.sawEvents = false;
      if (idle && w.phase === 'synced' && w.queue.length === 0) {
        this.push(w, { events: [], revision, progress: true });
      }
    }
  }
}
