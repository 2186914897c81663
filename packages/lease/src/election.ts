/**
 * Leader election, etcd's `concurrency.Election` recipe on the same waiting line as the lock
 * (`queue.ts`): candidates queue a key `<name>/<leaseId>` holding their value; the candidate
 * with the oldest key leads; its key's createRevision is its fencing token. Campaigning is
 * granted by the same one-transaction check as the lock, so a candidate whose session expired
 * while it waited is never told it won.
 */
import { Buffer } from 'node:buffer';
import { isFlotillaError } from '@flotilla/errors';
import type { KeyValue, TxnRequest, WatchResponse } from '@flotilla/mvcc';
import { toBytes } from './bytes.js';
import { LeaseError } from './errors.js';
import type { KvLike, TxnResponse } from './kv-like.js';
import { lockPrefix } from './lock.js';
import { Queue, type QueueEntry } from './queue.js';
import { Session } from './session.js';

/** Options of the {@link Election} constructor. */
export interface ElectionOptions {
  /** The session whose lease candidacy and leadership are attached to. */
  readonly session: Session;
}

/** A leader as campaign, leader and observe report it. */
export interface ElectionLeader {
  /** The leader's key, `<name>/<leaseId>`. */
  readonly key: Uint8Array;
  /** The value the leader campaigned with or last proclaimed. */
  readonly value: Uint8Array;
  /** The leader key's createRevision: larger for every later leader. */
  readonly fencingToken: number;
  /** The revision of the key's latest put (a proclaim changes it). */
  readonly modRevision: number;
  /** The leader's lease id. */
  readonly lease: number;
}

/** Options of {@link Election.campaign} and {@link Election.observe}. */
export interface ElectionWaitOptions {
  /** `campaign`: give up (`ABORTED`, key deleted). `observe`: end the iteration. */
  readonly signal?: AbortSignal;
}

/**
 * One participant's view of the election `name`.
 *
 * @example
 * ```ts
 * const election = new Election(kv, 'service/primary', { session });
 * const me = await election.campaign('10.0.0.7:8080'); // resolves once leading
 * await election.guard({ success: [{ put: { key: 'service/config', value: 'v2' } }] });
 * await election.resign();
 * ```
 */
export class Election {
  readonly session: Session;
  readonly #queue: Queue;
  /** Our line entry while campaigning or leading (etcd's `leaderKey`/`leaderRev`). */
  #entry: QueueEntry | undefined;
  #leading = false;

  constructor(kv: KvLike, name: string | Uint8Array, options: ElectionOptions) {
    if (typeof kv?.txn !== 'function' || typeof kv.watch !== 'function') {
      throw new LeaseError('INVALID_ARGUMENT', 'Election needs a KvLike');
    }
    if ((typeof name !== 'string' && !(name instanceof Uint8Array)) || name.length === 0) {
      throw new LeaseError('INVALID_ARGUMENT', 'election name must be a non-empty string or Uint8Array');
    }
    if (!(options?.session instanceof Session)) {
      throw new LeaseError('INVALID_ARGUMENT', 'Election needs { session }');
    }
    this.session = options.session;
    this.#queue = new Queue(kv, lockPrefix(name));
  }

  /**
   * Our key while we believe we lead (won a campaign, not resigned, session alive), else
   * undefined. A belief only: the store may already disagree; `guard()` asks the store.
   */
  get key(): Uint8Array | undefined {
    return this.#leading && this.session.alive ? this.#entry?.key : undefined;
  }

  /** Our fencing token (the leader key's createRevision) under the same condition as `key`. */
  get fencingToken(): number | undefined {
    return this.#leading && this.session.alive ? this.#entry?.createRevision : undefined;
  }

  /**
   * Stands for election with `value` and resolves once leading. If this session already stands
   * (an earlier campaign), its key is reused and its value updated.
   *
   * @throws LeaseError `LOCK_LOST` (session ended or key deleted while waiting: never a win),
   * `ABORTED` (signal; the key is deleted), `INVALID_ARGUMENT`.
   */
  async campaign(value: string | Uint8Array, options: ElectionWaitOptions = {}): Promise<ElectionLeader> {
    const bytes = toBytes(value);
    if (options.signal?.aborted === true) throw new LeaseError('ABORTED', 'aborted before campaigning');
    if (!this.session.alive) throw new LeaseError('LOCK_LOST', 'the session has already ended');
    let entry = await this.#queue.enqueue(this.session, bytes);
    this.#entry = entry;
    if (!Buffer.from(entry.value).equals(bytes)) {
      // Re-campaigning with another value (etcd: Campaign proclaims it).
      entry = await this.#put(entry, bytes);
    }
    try {
      await this.#queue.waitForTurn(this.session, entry, options.signal);
    } catch (err) {
      if (this.#entry === entry) this.#entry = undefined;
      throw err;
    }
    this.#leading = true;
    return {
      key: entry.key,
      value: entry.value,
      fencingToken: entry.createRevision,
      modRevision: entry.modRevision,
      lease: this.session.leaseId,
    };
  }

  /**
   * Changes the leader's value without an election (etcd `Proclaim`), guarded by the fencing
   * token.
   *
   * @throws LeaseError `NOT_LEADER` when not leading (or leadership was lost meanwhile).
   */
  async proclaim(value: string | Uint8Array): Promise<void> {
    const entry = this.#entry;
    if (!this.#leading || entry === undefined)
      throw new LeaseError('NOT_LEADER', 'not the leader: campaign first');
    await this.#put(entry, toBytes(value));
  }

  /**
   * Gives up leadership (or candidacy): deletes our key if it is still ours. The next candidate
   * in line takes over. A no-op when not campaigning.
   */
  async resign(): Promise<void> {
    const entry = this.#entry;
    this.#entry = undefined;
    this.#leading = false;
    if (entry !== undefined) await this.#queue.remove(entry);
  }

  /**
   * The current leader (the oldest key under the name).
   *
   * @throws LeaseError `NO_LEADER` when nobody is campaigning.
   */
  async leader(): Promise<ElectionLeader> {
    const resp = await this.#queue.kv.get(this.#queue.prefix, {
      rangeEnd: this.#queue.end,
      sortTarget: 'createRevision',
      sortOrder: 'ascend',
      limit: 1,
    });
    const kv = resp.kvs[0];
    if (kv === undefined) throw new LeaseError('NO_LEADER', 'no leader: nobody is campaigning');
    return leaderOf(kv);
  }

  /**
   * Runs `req` as a transaction guarded by our leadership (like `LockHandle.guard`).
   *
   * @throws LeaseError `NOT_LEADER` when not leading.
   */
  guard(req: TxnRequest): Promise<TxnResponse> {
    const entry = this.#entry;
    if (!this.#leading || entry === undefined) {
      return Promise.reject(new LeaseError('NOT_LEADER', 'not the leader: campaign first'));
    }
    return this.#queue.kv.txn({
      compare: [...this.#queue.ownerCompare(entry), ...(req.compare ?? [])],
      success: req.success ?? [],
      failure: req.failure ?? [],
    });
  }

  /**
   * The leaders, in order, as they change: the current one first (if any), then each new leader
   * or new value (a proclaim). Every change is reported once, in revision order, with no gaps
   * (a compaction that cuts the watch resynchronises from the current state and can skip leaders
   * that came and went inside the compacted history). Periods without a leader are not
   * reported. Ends when `signal` fires or the loop is left.
   */
  observe(options: ElectionWaitOptions = {}): AsyncIterableIterator<ElectionLeader> {
    return observeLeaders(this.#queue, options.signal);
  }

  /** Puts `value` into our key if it is still this generation; updates `#entry`. */
  async #put(entry: QueueEntry, value: Uint8Array): Promise<QueueEntry> {
    let resp: TxnResponse | undefined;
    try {
      resp = await this.#queue.kv.txn({
        compare: this.#queue.ownerCompare(entry),
        success: [{ put: { key: entry.key, value, lease: this.session.leaseId } }],
      });
    } catch (err) {
      // Our lease is gone (the store refuses the put): so is our key.
      if (!isFlotillaError(err, 'LEASE_NOT_FOUND')) throw err;
    }
    if (resp === undefined || !resp.succeeded) {
      this.#entry = undefined;
      this.#leading = false;
      throw new LeaseError('NOT_LEADER', 'our election key is gone (session lost or resigned)');
    }
    const next: QueueEntry = { ...entry, value, modRevision: resp.revision };
    if (this.#entry === entry) this.#entry = next;
    return next;
  }
}

function leaderOf(kv: KeyValue): ElectionLeader {
  return {
    key: kv.key,
    value: kv.value,
    fencingToken: kv.createRevision,
    modRevision: kv.modRevision,
    lease: kv.lease,
  };
}

/** Keys by their bytes, for the candidate map. */
function id(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The oldest candidate of `candidates`, or undefined. */
function oldest(candidates: Map<string, KeyValue>): KeyValue | undefined {
  let best: KeyValue | undefined;
  for (const kv of candidates.values())
    if (best === undefined || kv.createRevision < best.createRevision) best = kv;
  return best;
}

/**
 * Keeps every candidate (read once, then followed by a watch from the next revision) and
 * reports the oldest each time a revision changes it. Applying a whole revision before looking
 * matters: a revoke deleting several keys at once must not report a transient leader.
 */
async function* observeLeaders(
  queue: Queue,
  signal: AbortSignal | undefined,
): AsyncGenerator<ElectionLeader> {
  let last: KeyValue | undefined;
  const changed = (now: KeyValue | undefined): now is KeyValue =>
    now !== undefined &&
    (last === undefined ||
      now.createRevision !== last.createRevision ||
      now.modRevision !== last.modRevision);
  while (!aborted(signal)) {
    const snap = await queue.kv.get(queue.prefix, { rangeEnd: queue.end });
    const candidates = new Map(snap.kvs.map((kv) => [id(kv.key), kv] as const));
    const first = oldest(candidates);
    if (changed(first)) {
      last = first;
      yield leaderOf(first);
    }
    const watch = queue.kv.watch({
      key: queue.prefix,
      rangeEnd: queue.end,
      startRevision: snap.revision + 1,
    });
    const onAbort = (): void => watch.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (aborted(signal)) watch.cancel(); // aborted during the read: the listener missed it
    try {
      for await (const resp of watch as AsyncIterable<WatchResponse>) {
        for (const group of byRevision(resp)) {
          for (const ev of group) {
            if (ev.type === 'put') candidates.set(id(ev.kv.key), ev.kv);
            else candidates.delete(id(ev.kv.key));
          }
          const now = oldest(candidates);
          if (changed(now)) {
            last = now;
            yield leaderOf(now);
          }
        }
        if (resp.canceled === true) break; // compacted: resynchronise from a fresh read
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      watch.cancel();
    }
  }
}

/** Read through a function so the compiler does not narrow it across awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** The events of a response split into one group per revision, in order. */
function byRevision(resp: WatchResponse): WatchResponse['events'][] {
  const groups: WatchResponse['events'][] = [];
  let rev = -1;
  for (const ev of resp.events) {
    if (ev.kv.modRevision !== rev) {
      groups.push([]);
      rev = ev.kv.modRevision;
    }
    groups[groups.length - 1]?.push(ev);
  }
  return groups;
}
