/**
 * The waiting line under a prefix that both `lock` and `Election` use (etcd's `concurrency`
 * recipes): each session owns one key `<prefix><leaseId>`, attached to its lease; keys are
 * served in createRevision order; the owner of the key with the smallest createRevision holds
 * the lock (or leads). That createRevision is the fencing token: revisions only grow, so a later
 * holder always has a larger token.
 *
 * Safety rests on one rule, the fix for the bug Jepsen found in etcd 3.4.3's lock service (a
 * waiter whose session expired while it waited was told it held the lock): the waiter is granted
 * only by ONE transaction that checks, atomically at one revision, that its own key still exists
 * with the createRevision it queued with AND that no key under the prefix is older. Watches only
 * say when to check again; they never grant anything.
 */
import { isFlotillaError } from '@flotilla/errors';
import type { Compare, KeyValue, TxnRequest, WatchResponse } from '@flotilla/mvcc';
import { prefixRangeEnd } from './bytes.js';
import { LeaseError } from './errors.js';
import type { KvLike, KvWatch, TxnResponse } from './kv-like.js';
import { onSessionEnd, type Session } from './session.js';

/** A session's key in the line. */
export interface QueueEntry {
  readonly key: Uint8Array;
  /** The key's createRevision: its place in the line, and the fencing token once served. */
  readonly createRevision: number;
  /** The revision of the key's latest put. */
  readonly modRevision: number;
  /** The key's value as stored. */
  readonly value: Uint8Array;
}

/** The line under `prefix` (a byte prefix that ends with "/"). */
export class Queue {
  readonly prefix: Uint8Array;
  readonly end: Uint8Array;

  constructor(
    readonly kv: KvLike,
    prefix: Uint8Array,
  ) {
    this.prefix = prefix;
    this.end = prefixRangeEnd(prefix);
  }

  /** The key `session` queues under: the prefix followed by the lease id in decimal. */
  keyOf(session: Session): Uint8Array {
    const id = new TextEncoder().encode(String(session.leaseId));
    const key = new Uint8Array(this.prefix.length + id.length);
    key.set(this.prefix, 0);
    key.set(id, this.prefix.length);
    return key;
  }

  /**
   * Creates the session's key with `value`, attached to its lease, unless it exists (then it is
   * reused: the session already stands in line). One transaction: "createRevision = 0" decides.
   */
  async enqueue(session: Session, value: Uint8Array): Promise<QueueEntry> {
    const key = this.keyOf(session);
    let resp: TxnResponse;
    try {
      resp = await this.kv.txn({
        compare: [{ key, target: 'createRevision', result: 'equal', value: 0 }],
        success: [{ put: { key, value, lease: session.leaseId } }],
        failure: [{ range: { key } }],
      });
    } catch (err) {
      // The store refuses a put naming a lease that no longer exists: the session is gone, even
      // if it has not noticed yet.
      if (isFlotillaError(err, 'LEASE_NOT_FOUND')) throw lost('the session lease no longer exists', err);
      throw err;
    }
    if (resp.succeeded) return { key, createRevision: resp.revision, modRevision: resp.revision, value };
    const kv = rangeKvs(resp.responses[0])[0];
    // Vanished between the compare and now is impossible (one txn); defensive all the same.
    if (kv === undefined) throw new LeaseError('LOCK_LOST', 'the queue key vanished while being created');
    return { key, createRevision: kv.createRevision, modRevision: kv.modRevision, value: kv.value };
  }

  /**
   * Waits until `entry` is first in line, then returns the revision of the transaction that
   * proved it. Rejects `LOCK_LOST` when the key vanished or the session ended, `ABORTED` when
   * `signal` fired; in both cases the key has been deleted (best effort for `LOCK_LOST`).
   */
  async waitForTurn(session: Session, entry: QueueEntry, signal?: AbortSignal): Promise<number> {
    const stop = new StopSignal(session, signal);
    let quietEnds = 0;
    try {
      for (;;) {
        stop.throwIfStopped();
        const check = await this.kv.txn(this.#checkTxn(entry));
        if (check.succeeded) {
          // Granted by the store. If the session gave up on its lease meanwhile the grant is
          // worthless (the lease is about to be revoked): never report it as a success.
          if (!session.alive) throw lost('the session ended');
          stop.throwIfStopped();
          return check.revision;
        }
        const own = rangeKvs(check.responses[0])[0];
        if (own === undefined || own.createRevision !== entry.createRevision) {
          throw lost('the waiting key was deleted (lease revoked or expired)');
        }
        const predecessor = rangeKvs(check.responses[1])[0];
        if (predecessor === undefined) {
          // Impossible with a linearizable KV (the compare and this read ran at one revision);
          // counted like a quiet watch so that a KV breaking that rule cannot make us spin.
          quietEnds++;
        } else {
          const woke = await this.#waitForDelete(predecessor.key, entry, check.revision + 1, stop);
          // A watch that ended without a delete (compaction, a broken stream) means "check
          // again"; if that keeps happening, back off on the session's clock instead of spinning.
          quietEnds = woke === 'deleted' ? 0 : quietEnds + 1;
        }
        if (quietEnds > 1) {
          const backoff = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (quietEnds - 2));
          const waited = await Promise.race([sleep(session, backoff), stop.promise]);
          if (waited instanceof LeaseError) throw waited;
        }
      }
    } catch (err) {
      // Leave the line: a dead waiter's key would otherwise block everyone behind it until its
      // lease expires. Guarded by createRevision so a newer key of the session is never touched.
      // An abort promises the key is gone when it rejects; a lost lock does not wait for the
      // store (the lease's revoke deletes the key anyway, and the store may be unreachable).
      const removing = this.remove(entry).catch(() => false);
      if (isFlotillaError(err, 'ABORTED')) await removing;
      throw err;
    } finally {
      stop.dispose();
    }
  }

  /**
   * Waits for the delete of `ahead` (the key just before ours), watching from revision `from`
   * (right after the check, so no delete can slip between the check and the watch). Our own key
   * is watched too: its delete throws `LOCK_LOST` at once. Resolves `'ended'` when the watch on
   * `ahead` ended without a delete.
   */
  async #waitForDelete(
    ahead: Uint8Array,
    entry: QueueEntry,
    from: number,
    stop: StopSignal,
  ): Promise<'deleted' | 'ended'> {
    const aheadWatch = this.kv.watch({ key: ahead, startRevision: from, filters: ['noPut'] });
    const ownWatch = this.kv.watch({ key: entry.key, startRevision: from, filters: ['noPut'] });
    try {
      const what = await Promise.race([
        firstDelete(aheadWatch),
        // Our own key's watch ending quietly is no reason to look again: only its delete is.
        firstDelete(ownWatch).then((r) =>
          r === 'deleted' ? ('lost' as const) : new Promise<never>(() => {}),
        ),
        stop.promise,
      ]);
      if (what === 'lost') throw lost('the waiting key was deleted (lease revoked or expired)');
      if (what instanceof LeaseError) throw what;
      return what;
    } finally {
      aheadWatch.cancel();
      ownWatch.cancel();
    }
  }

  /** Deletes `entry`'s key if it is still that generation (createRevision unchanged). */
  async remove(entry: QueueEntry): Promise<boolean> {
    const resp = await this.kv.txn({
      compare: [{ key: entry.key, target: 'createRevision', result: 'equal', value: entry.createRevision }],
      success: [{ deleteRange: { key: entry.key } }],
    });
    return resp.succeeded;
  }

  /** The compare that makes `entry` the holder; see the module comment. */
  ownerCompare(entry: QueueEntry): Compare[] {
    return [{ key: entry.key, target: 'createRevision', result: 'equal', value: entry.createRevision }];
  }

  /**
   * One transaction: own key with the same createRevision, and every key under the prefix at
   * least as young as it (`createRevision > mine - 1`). On failure it reads the own key and the
   * youngest key older than it (etcd's `WithLastCreate` + `WithMaxCreateRev(myRev - 1)`): the
   * only one worth watching, so a delete wakes one waiter, not the whole line.
   */
  #checkTxn(entry: QueueEntry): TxnRequest {
    const rev = entry.createRevision;
    return {
      compare: [
        ...this.ownerCompare(entry),
        { key: this.prefix, rangeEnd: this.end, target: 'createRevision', result: 'greater', value: rev - 1 },
      ],
      success: [],
      failure: [
        { range: { key: entry.key } },
        {
          range: {
            key: this.prefix,
            rangeEnd: this.end,
            maxCreateRevision: rev - 1,
            sortTarget: 'createRevision',
            sortOrder: 'descend',
            limit: 1,
          },
        },
      ],
    };
  }
}

/** The kvs of a range response inside a txn response (empty when it is not one). */
export function rangeKvs(op: unknown): readonly KeyValue[] {
  if (typeof op === 'object' && op !== null && 'range' in op) {
    return (op as { range: { kvs: KeyValue[] } }).range.kvs;
  }
  return [];
}

/** First and largest delay between checks when watches keep ending without an event. */
const BASE_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2000;

/** Resolves after `ms` on the session's clock. */
function sleep(session: Session, ms: number): Promise<void> {
  return new Promise((resolve) => {
    session.clock.setTimeout(resolve, ms);
  });
}

/** Resolves on the watch's first delete event, or when it ends without one. */
async function firstDelete(watch: KvWatch): Promise<'deleted' | 'ended'> {
  for await (const resp of watch as AsyncIterable<WatchResponse>) {
    if (resp.events.some((e) => e.type === 'delete')) return 'deleted';
    if (resp.canceled === true) return 'ended';
  }
  return 'ended';
}

function lost(why: string, cause?: unknown): LeaseError {
  return new LeaseError('LOCK_LOST', `lost the lock while waiting: ${why}`, { cause });
}

/** Session end and abort, as one promise that resolves with the error to throw. */
class StopSignal {
  readonly promise: Promise<LeaseError>;
  #error: LeaseError | undefined;
  #resolve: (e: LeaseError) => void = () => {};
  readonly #unsubscribe: () => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#stop(new LeaseError('ABORTED', 'aborted while waiting for the lock'));

  constructor(session: Session, signal: AbortSignal | undefined) {
    this.promise = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.#signal = signal;
    if (signal?.aborted === true) this.#onAbort();
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#unsubscribe = onSessionEnd(session, () => this.#stop(lost('the session ended')));
  }

  throwIfStopped(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  dispose(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#unsubscribe();
  }

  #stop(error: LeaseError): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.#resolve(error);
  }
}
