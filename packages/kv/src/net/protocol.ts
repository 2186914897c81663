/**
 * The client protocol of a Flotilla KV member: what travels between `KvClient` and `KvServer`.
 *
 * ```text
 * frame    = length: uint32 BE | payload: one msgpack value   (transport-tcp's framing and codec)
 * handshake: one frame each way, each at most 64 KiB
 *   client → server  { t: 'hello',   v, cluster?, maxFrameBytes }
 *   server → client  { t: 'welcome', v, cluster, member, maxFrameBytes, maxRequestBytes, maxStreams, maxInflight }
 *                 or { t: 'reject',  e: { code, message } }            then close
 * then every frame is an ARRAY of messages (all a side queued in one event-loop turn):
 *   client → server  { t: 'call',  id, m, a, d }   a unary request: method m, body a, deadline d ms
 *                    { t: 'open',  id, m, a }      opens a stream (watch, leaseKeepAlive, snapshot)
 *                    { t: 'send',  id, a }         one more request on an open stream (keep-alive)
 *                    { t: 'close', id }            closes a stream (etcd's WatchCancelRequest)
 *   server → client  { t: 'ok',    id, r }         a unary result (etcd's XxxResponse, with header)
 *                    { t: 'err',   id, e }         a unary failure, or a stream ended by an error
 *                    { t: 'item',  id, r }         one response on a stream
 *                    { t: 'end',   id }            a stream ended normally
 *                    { t: 'goaway', e, last }      closing: nothing with an id above last was started
 * ```
 *
 * Ids are chosen by the client, increasing on each connection (a goaway's `last` relies on it);
 * answers come in any order (pipelining). Bodies are etcd 3.4's v3 messages field by field
 * (camelCase, mvcc's types): {@link METHODS} lists which etcd RPC each method is, so a gRPC
 * front end can map onto the same node calls 1:1.
 */
import type { WatchRequest } from '@flotilla/mvcc';

/** Version of this protocol; a server refuses a client of another version. */
export const PROTOCOL_VERSION = 1;

/** Largest handshake frame either side accepts (a stranger cannot make a member allocate). */
export const HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;

/**
 * etcd lets a gRPC message exceed `--max-request-bytes` by this much (`grpcOverheadBytes`), so
 * a request at the limit still fits in a frame with its envelope. The server's default frame
 * limit is the node's `maxRequestBytes` plus this.
 */
export const FRAME_OVERHEAD_BYTES = 512 * 1024;

/** A client's default limit on one response frame (etcd's client allows up to 2 GiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024 * 1024;

/** Default most streams (watches, keep-alives, snapshots) open on one connection. */
export const DEFAULT_MAX_STREAMS = 1000;

/** Default most unary requests in flight on one connection. */
export const DEFAULT_MAX_INFLIGHT = 10_000;

/** The longest deadline a request may carry (one hour). */
export const MAX_DEADLINE_MS = 3_600_000;

/** How each unary method is treated by the client and which etcd RPC it is. */
export interface MethodInfo {
  /** etcd's service and RPC name. */
  readonly etcd: string;
  /**
   * True when sending the request twice has the effect of sending it once, so a client may
   * resend it after a lost connection. False for writes: their outcome is then unknown.
   */
  readonly idempotent: boolean;
}

/**
 * Every unary method, with its etcd RPC. `txn` is idempotent only when it cannot write; the
 * client decides that per request (see `isReadOnlyTxn`).
 */
export const METHODS = {
  range: { etcd: 'KV.Range', idempotent: true },
  put: { etcd: 'KV.Put', idempotent: false },
  deleteRange: { etcd: 'KV.DeleteRange', idempotent: false },
  txn: { etcd: 'KV.Txn', idempotent: false },
  compact: { etcd: 'KV.Compact', idempotent: false },
  leaseGrant: { etcd: 'Lease.LeaseGrant', idempotent: false },
  leaseRevoke: { etcd: 'Lease.LeaseRevoke', idempotent: false },
  // One keep-alive restarts the lease's TTL; a second one restarts it again: same effect.
  leaseKeepAlive: { etcd: 'Lease.LeaseKeepAlive', idempotent: true },
  leaseTimeToLive: { etcd: 'Lease.LeaseTimeToLive', idempotent: true },
  leaseLeases: { etcd: 'Lease.LeaseLeases', idempotent: true },
  memberList: { etcd: 'Cluster.MemberList', idempotent: true },
  memberAdd: { etcd: 'Cluster.MemberAdd', idempotent: false },
  memberRemove: { etcd: 'Cluster.MemberRemove', idempotent: false },
  memberPromote: { etcd: 'Cluster.MemberPromote', idempotent: false },
  status: { etcd: 'Maintenance.Status', idempotent: true },
} as const satisfies Record<string, MethodInfo>;

/** A unary method name. */
export type Method = keyof typeof METHODS;

/** Stream kinds: etcd's `Watch.Watch`, `Lease.LeaseKeepAlive` and `Maintenance.Snapshot`. */
export const STREAMS = ['watch', 'leaseKeepAlive', 'snapshot'] as const;
/** A stream kind. */
export type StreamKind = (typeof STREAMS)[number];

/** True when `m` names a unary method. */
export function isMethod(m: unknown): m is Method {
  return typeof m === 'string' && Object.hasOwn(METHODS, m);
}

/** True when `m` names a stream kind. */
export function isStreamKind(m: unknown): m is StreamKind {
  return typeof m === 'string' && (STREAMS as readonly string[]).includes(m);
}

/** An error as it crosses the wire: a stable code, a message, plain details. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

// -- Handshake -------------------------------------------------------------------------------

/** The client's first frame. */
export interface Hello {
  readonly t: 'hello';
  readonly v: number;
  /** The cluster the client expects; absent: any. */
  readonly cluster?: string;
  /** Largest frame the client accepts from the server. */
  readonly maxFrameBytes: number;
}

/** The server's answer to an acceptable hello. */
export interface Welcome {
  readonly t: 'welcome';
  readonly v: number;
  /** The server's cluster id, or null when it has none configured. */
  readonly cluster: string | null;
  /** The member id behind this endpoint. */
  readonly member: number;
  /** Largest frame the server accepts: the client splits batches and refuses bigger requests. */
  readonly maxFrameBytes: number;
  /** The node's request limit (etcd's `--max-request-bytes`). */
  readonly maxRequestBytes: number;
  readonly maxStreams: number;
  readonly maxInflight: number;
}

/** The server's refusal; the connection closes after it. */
export interface Reject {
  readonly t: 'reject';
  readonly e: WireError;
}

// -- After the handshake ---------------------------------------------------------------------

/** A unary request. */
export interface CallMessage {
  readonly t: 'call';
  readonly id: number;
  readonly m: Method;
  readonly a: unknown;
  /** Milliseconds the client still waits for the answer; the server uses it as the node's timeout. */
  readonly d: number;
}

/** Opens a stream. */
export interface OpenMessage {
  readonly t: 'open';
  readonly id: number;
  readonly m: StreamKind;
  readonly a: unknown;
}

/** One more request on an open stream (a keep-alive). */
export interface SendMessage {
  readonly t: 'send';
  readonly id: number;
  readonly a?: unknown;
}

/** Closes a stream. */
export interface CloseMessage {
  readonly t: 'close';
  readonly id: number;
}

/** What a client sends after the handshake. */
export type ClientMessage = CallMessage | OpenMessage | SendMessage | CloseMessage;

/** A unary result. */
export interface OkMessage {
  readonly t: 'ok';
  readonly id: number;
  readonly r: unknown;
}

/** A unary failure, or a stream that ended with an error. */
export interface ErrMessage {
  readonly t: 'err';
  readonly id: number;
  readonly e: WireError;
}

/** One response on a stream. */
export interface ItemMessage {
  readonly t: 'item';
  readonly id: number;
  readonly r: unknown;
}

/** A stream ended normally. */
export interface EndMessage {
  readonly t: 'end';
  readonly id: number;
}

/**
 * The server closes the connection after the requests in flight (HTTP/2's GOAWAY): it started
 * no request or stream with an id above `last` and will start none, so the client may send
 * those again elsewhere — writes included, they certainly did not happen.
 */
export interface GoawayMessage {
  readonly t: 'goaway';
  readonly e: WireError;
  /** The highest request or stream id the server started (-1: none). */
  readonly last: number;
}

/** What a server sends after the handshake. */
export type ServerMessage = OkMessage | ErrMessage | ItemMessage | EndMessage | GoawayMessage;

// -- Stream bodies ---------------------------------------------------------------------------

/**
 * The first item of every watch stream (etcd's `WatchResponse.created`): the revision the watch
 * starts after, so a client that loses the connection before any event resumes exactly there.
 */
export interface WatchCreated {
  readonly created: true;
  /** Every change up to this revision is excluded; the watch reports from `revision + 1`. */
  readonly revision: number;
  /** The member serving the watch. */
  readonly memberId: number;
}

/** The body of a watch stream's `open` (etcd's `WatchCreateRequest`). */
export type WatchCreateRequest = WatchRequest;

/** First item of a snapshot stream: how many bytes follow, in chunks. */
export interface SnapshotHeader {
  readonly size: number;
  readonly memberId: number;
  /** The revision of the store the snapshot holds. */
  readonly revision: number;
}
