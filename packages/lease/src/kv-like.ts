/**
 * `KvLike`: the small KV surface sessions, locks and elections run on. Both the in-process
 * `KvNode` and the network `KvClient` of `@flotilla/kv` implement it, as does this package's
 * in-process test KV (`@flotilla/lease/testing`). Requests and results are `@flotilla/mvcc`'s
 * types (etcd's v3 messages), so an implementation is mostly a pass-through.
 *
 * Contract every implementation keeps (what the recipes rely on for safety):
 * - Linearizable: every call observes every write acknowledged before it started (a read on a
 *   follower goes through ReadIndex or the leader). `txn` is atomic at one revision.
 * - Errors reject with a `FlotillaError` whose `code` is stable; the recipes branch on
 *   `LEASE_NOT_FOUND` (the lease is gone); everything else is treated as transient.
 * - `watch` delivers every change after `startRevision`, in revision order, with no gaps and
 *   no duplicates; a watch that cannot continue ends with a `canceled` response (for example
 *   `compactRevision` set) rather than skipping events.
 */
import type {
  Bytes,
  DeleteRangeOptions,
  DeleteRangeResult,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  TxnRequest,
  TxnResult,
  WatchRequest,
  WatchResponse,
} from '@flotilla/mvcc';

/** etcd's `ResponseHeader`: where and at which revision a request was served. */
export interface ResponseHeader {
  /** The store's revision when the request was served. */
  readonly revision: number;
  /** The Raft term of the member that served it. */
  readonly raftTerm?: number;
  /** The id of the member that served it. */
  readonly memberId?: number | string;
  /** The id of the cluster. */
  readonly clusterId?: number | string;
}

/** Results may carry an etcd-style header; the recipes never need it. */
export interface WithHeader {
  readonly header?: ResponseHeader;
}

/** Options of {@link KvLike.get}: mvcc's range options plus the range end. */
export interface KvGetOptions extends RangeOptions {
  readonly rangeEnd?: Bytes;
}

/** Options of {@link KvLike.delete}: mvcc's delete options plus the range end. */
export interface KvDeleteOptions extends DeleteRangeOptions {
  readonly rangeEnd?: Bytes;
}

/** Answer to {@link KvLike.put}. */
export type PutResponse = PutResult & WithHeader;
/** Answer to {@link KvLike.get}. */
export type RangeResponse = RangeResult & WithHeader;
/** Answer to {@link KvLike.delete}. */
export type DeleteRangeResponse = DeleteRangeResult & WithHeader;
/** Answer to {@link KvLike.txn} (and to `LockHandle.guard`). */
export type TxnResponse = TxnResult & WithHeader;

/** Answer to {@link KvLike.grant} (etcd's `LeaseGrantResponse`). */
export interface LeaseGrantResponse extends WithHeader {
  /** The lease id (chosen by the server unless the request named one). */
  readonly id: number;
  /** The TTL granted in seconds (the request's, raised to the server's minimum). */
  readonly ttl: number;
}

/**
 * Answer to {@link KvLike.revoke} (etcd's `LeaseRevokeResponse`: only a header, whose revision is
 * the one that deleted the lease's keys, or the current one when it had none).
 */
export interface LeaseRevokeResponse extends WithHeader {}

/** Answer to {@link KvLike.keepAliveOnce} (etcd's `LeaseKeepAliveResponse`). */
export interface LeaseKeepAliveResponse extends WithHeader {
  readonly id: number;
  /** The TTL restarted, in seconds; always > 0 (an unknown lease rejects instead). */
  readonly ttl: number;
}

/** Answer to {@link KvLike.timeToLive} (etcd's `LeaseTimeToLiveResponse`). */
export interface LeaseTimeToLiveResponse extends WithHeader {
  readonly id: number;
  /** Remaining seconds (rounded up); -1 when the lease does not exist (etcd). */
  readonly ttl: number;
  /** The TTL granted in seconds; 0 when the lease does not exist. */
  readonly grantedTtl: number;
  /** The attached keys, when asked for with `keys: true` (else empty). */
  readonly keys: Uint8Array[];
}

/**
 * A running watch as an async iterable of responses. The iteration ends after a `canceled`
 * response or once {@link KvWatch.cancel} is called. (`@flotilla/mvcc`'s `WatchStream` has this
 * shape.) A remote implementation returns it at once and reports a failure to create the watch
 * as a `canceled` response.
 */
export interface KvWatch extends AsyncIterable<WatchResponse> {
  /** Stops the watch; idempotent. A pending iteration step then ends (`done: true`). */
  cancel(): void;
}

/**
 * The KV operations sessions, locks and elections use. Keep implementations thin: see the
 * module notes for the guarantees they must keep.
 */
export interface KvLike {
  /** etcd `Put`. */
  put(key: Bytes, value: Bytes, options?: PutOptions): Promise<PutResponse>;
  /**
   * etcd `Range`: the single `key`, or `[key, options.rangeEnd)` (mvcc's range-end convention).
   * Linearizable.
   */
  get(key: Bytes, options?: KvGetOptions): Promise<RangeResponse>;
  /** etcd `DeleteRange`: the single `key`, or `[key, options.rangeEnd)`. */
  delete(key: Bytes, options?: KvDeleteOptions): Promise<DeleteRangeResponse>;
  /** etcd `Txn`: atomically, at one revision. */
  txn(request: TxnRequest): Promise<TxnResponse>;
  /** etcd `Watch`. Use `startRevision` to resume exactly after a read. */
  watch(request: WatchRequest): KvWatch;
  /**
   * etcd `LeaseGrant`: a lease of `ttl` seconds, with id `options.id` if given (else the server
   * picks one). Rejects `LEASE_EXISTS`, `INVALID_TTL`.
   */
  grant(ttl: number, options?: { readonly id?: number }): Promise<LeaseGrantResponse>;
  /** etcd `LeaseRevoke`: deletes the lease and its keys. Rejects `LEASE_NOT_FOUND`. */
  revoke(id: number): Promise<LeaseRevokeResponse>;
  /** One etcd `LeaseKeepAlive` round trip. Rejects `LEASE_NOT_FOUND` when the lease is gone. */
  keepAliveOnce(id: number): Promise<LeaseKeepAliveResponse>;
  /** etcd `LeaseTimeToLive`. Never rejects for an unknown lease (`ttl: -1`). */
  timeToLive(id: number, options?: { readonly keys?: boolean }): Promise<LeaseTimeToLiveResponse>;
}
