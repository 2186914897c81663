/**
 * The API every way of reaching a Flotilla KV cluster offers: the in-process `KvNode`
 * (`createKvNode`) and the network `KvClient` implement {@link KvApi}, so code (and the
 * `@flotilla/lease` recipes, through `KvLike`) runs unchanged against either.
 *
 * Requests and results are `@flotilla/mvcc`'s types, which mirror etcd 3.4's v3 API messages
 * field by field; results add etcd's `ResponseHeader`. A later layer maps etcd's gRPC API onto
 * these 1:1, so keep them in step with etcd's `RangeRequest`, `PutRequest`, `TxnRequest`, ...
 *
 * Guarantees (Jepsen's terms): every KV operation and transaction is strictly serializable by
 * default (writes go through Raft; reads use ReadIndex, thesis §6.4, on any member); a read with
 * `serializable: true` reads the contacted member's local store and may be stale (sequentially
 * consistent per member). A request whose outcome cannot be known (a timeout after it may have
 * been proposed, a lost connection) rejects with code `OUTCOME_UNKNOWN`, never with a plain
 * failure, because it may have taken effect.
 */
import type {
  Election,
  ElectionOptions,
  LockHandle,
  LockOptions,
  Session,
  SessionOptions,
} from '@flotilla/lease';
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

/** etcd's `ResponseHeader`: who served a request, at which revision and term. */
export interface ResponseHeader {
  /** The store's revision when the request was served (for a write: the revision it created). */
  readonly revision: number;
  /** The Raft term of the member that served it. */
  readonly raftTerm: number;
  /** The id of the member that served it. */
  readonly memberId: number;
  /** The cluster's id (a string, as configured). */
  readonly clusterId?: string;
}

/** Every response carries a header. */
export interface WithHeader {
  readonly header: ResponseHeader;
}

/** Options shared by every request. */
export interface RequestOptions {
  /** Give up after this many milliseconds (default: the node's or client's request timeout). */
  readonly timeoutMs?: number;
  /** Abort the request; a write that may already be proposed then rejects `OUTCOME_UNKNOWN`. */
  readonly signal?: AbortSignal;
}

/** Options of {@link KvApi.get}: mvcc's range options, a range end, and the read's consistency. */
export interface GetOptions extends RangeOptions, RequestOptions {
  /** Same convention as mvcc's `RangeRequest.rangeEnd` (`"\0"`: every key ≥ key; see `prefixEnd`). */
  readonly rangeEnd?: Bytes;
  /**
   * Read the contacted member's local store without confirming leadership (may be stale).
   * Default false: linearizable (ReadIndex).
   */
  readonly serializable?: boolean;
}

/** Options of {@link KvApi.put}. */
export interface PutRequestOptions extends PutOptions, RequestOptions {}

/** Options of {@link KvApi.delete}. */
export interface DeleteOptions extends DeleteRangeOptions, RequestOptions {
  /** Same convention as mvcc's `RangeRequest.rangeEnd`. */
  readonly rangeEnd?: Bytes;
}

/** Answer to {@link KvApi.put} (etcd's `PutResponse`). */
export type PutResponse = PutResult & WithHeader;
/** Answer to {@link KvApi.get} (etcd's `RangeResponse`). */
export type RangeResponse = RangeResult & WithHeader;
/** Answer to {@link KvApi.delete} (etcd's `DeleteRangeResponse`). */
export type DeleteRangeResponse = DeleteRangeResult & WithHeader;
/** Answer to {@link KvApi.txn} (etcd's `TxnResponse`). */
export type TxnResponse = TxnResult & WithHeader;

/** Answer to {@link KvApi.compact} (etcd's `CompactionResponse`). */
export interface CompactResponse extends WithHeader {}

/** Answer to {@link KvApi.grant} (etcd's `LeaseGrantResponse`). */
export interface LeaseGrantResponse extends WithHeader {
  /** The lease id (chosen by the cluster unless the request named one). */
  readonly id: number;
  /** The TTL granted in seconds (the request's, raised to the cluster's minimum). */
  readonly ttl: number;
}

/** Answer to {@link KvApi.revoke} (etcd's `LeaseRevokeResponse`). */
export interface LeaseRevokeResponse extends WithHeader {}

/** Answer to {@link KvApi.keepAliveOnce} (etcd's `LeaseKeepAliveResponse`). */
export interface LeaseKeepAliveResponse extends WithHeader {
  readonly id: number;
  /** The TTL restarted, in seconds. An unknown or expired lease rejects `LEASE_NOT_FOUND`. */
  readonly ttl: number;
}

/** Answer to {@link KvApi.timeToLive} (etcd's `LeaseTimeToLiveResponse`). */
export interface LeaseTimeToLiveResponse extends WithHeader {
  readonly id: number;
  /** Remaining seconds; -1 when the lease does not exist (etcd). */
  readonly ttl: number;
  /** The TTL granted in seconds; 0 when the lease does not exist. */
  readonly grantedTtl: number;
  /** The attached keys when asked with `keys: true`, else empty. */
  readonly keys: Uint8Array[];
}

/** Answer to {@link KvApi.leases} (etcd's `LeaseLeasesResponse`). */
export interface LeaseLeasesResponse extends WithHeader {
  readonly leases: { readonly id: number }[];
}

/** A running watch: an async iterable of responses with a way to stop it. */
export interface KvWatch extends AsyncIterable<WatchResponse> {
  /** The watch's id (unique per node or client connection). */
  readonly id: number;
  /** Stops the watch; idempotent. A pending iteration step ends with `done: true`. */
  cancel(): void;
}

/** One member of the cluster (etcd's `Member`). */
export interface Member {
  readonly id: number;
  readonly name: string;
  /** Address peers use to reach it (`host:port`). */
  readonly peerUrls: string[];
  /** Addresses clients use (`host:port`); empty until the member has started. */
  readonly clientUrls: string[];
  readonly isLearner: boolean;
}

/** Answer to {@link KvApi.members} and the member-changing calls (etcd's `MemberListResponse`). */
export interface MemberListResponse extends WithHeader {
  readonly members: Member[];
}

/** Answer to {@link KvApi.status} (etcd's `StatusResponse`, plus Raft details). */
export interface StatusResponse extends WithHeader {
  readonly version: string;
  /** The leader's member id, 0 when none is known. */
  readonly leader: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly isLearner: boolean;
  /** Number of keys currently live. */
  readonly keys: number;
  /** Revision of the last compaction (0 if never). */
  readonly compactRevision: number;
  /** Errors the member reports (for example a stopped replica), empty when healthy. */
  readonly errors: string[];
}

/**
 * What both `KvNode` and `KvClient` offer. Every method returns a promise and rejects with a
 * `FlotillaError` whose `code` is stable (`NOT_LEADER` never leaks: members forward writes).
 */
export interface KvApi {
  // -- KV (etcd's KV service) ----------------------------------------------------------------
  put(key: Bytes, value: Bytes, options?: PutRequestOptions): Promise<PutResponse>;
  get(key: Bytes, options?: GetOptions): Promise<RangeResponse>;
  delete(key: Bytes, options?: DeleteOptions): Promise<DeleteRangeResponse>;
  txn(request: TxnRequest, options?: RequestOptions): Promise<TxnResponse>;
  compact(revision: number, options?: RequestOptions): Promise<CompactResponse>;

  // -- Watch (etcd's Watch service) ------------------------------------------------------------
  /**
   * Starts a watch. Without `startRevision` only changes after the current revision are
   * reported (etcd's default); with an older retained revision, history is replayed first.
   * A watch that cannot be created ends with a `canceled` response instead of throwing.
   */
  watch(request: WatchRequest): KvWatch;

  // -- Lease (etcd's Lease service) ------------------------------------------------------------
  grant(ttlSeconds: number, options?: { readonly id?: number } & RequestOptions): Promise<LeaseGrantResponse>;
  revoke(id: number, options?: RequestOptions): Promise<LeaseRevokeResponse>;
  keepAliveOnce(id: number, options?: RequestOptions): Promise<LeaseKeepAliveResponse>;
  timeToLive(
    id: number,
    options?: { readonly keys?: boolean } & RequestOptions,
  ): Promise<LeaseTimeToLiveResponse>;
  leases(options?: RequestOptions): Promise<LeaseLeasesResponse>;

  // -- Coordination recipes from @flotilla/lease, bound to this API ----------------------------
  session(options?: SessionOptions): Promise<Session>;
  lock(name: Bytes, options: LockOptions): Promise<LockHandle>;
  election(name: Bytes, options: ElectionOptions): Election;

  // -- Cluster (etcd's Cluster and Maintenance services) ---------------------------------------
  status(options?: RequestOptions): Promise<StatusResponse>;
  members(options?: RequestOptions): Promise<MemberListResponse>;
  addMember(
    peerUrl: string,
    options?: { readonly isLearner?: boolean; readonly id?: number } & RequestOptions,
  ): Promise<MemberListResponse & { readonly member: Member }>;
  removeMember(id: number, options?: RequestOptions): Promise<MemberListResponse>;
  promoteMember(id: number, options?: RequestOptions): Promise<MemberListResponse>;
}
