/**
 * `KvClient`: the `KvApi` of a Flotilla KV cluster from another process, over the client
 * protocol (`protocol.ts`).
 *
 * Not leader-aware, on purpose: every member serves every request (writes are forwarded to the
 * leader inside Raft, reads use ReadIndex where they land), so the client talks to ONE member
 * at a time and only moves when it must: the connection is lost, the member is shutting down
 * (`goaway`), or the member says it cannot serve (`STOPPED`, `UNAVAILABLE`). It then tries the
 * next endpoint in the list (round robin), backing off while none answers.
 *
 * What a caller is told is decided per request by `client-call.ts` (retries for idempotent
 * requests, `OUTCOME_UNKNOWN` for a write whose fate cannot be known); watches resume without
 * gap or duplicate (`client-watch.ts`); every request has a deadline (`timeoutMs`, default 5 s,
 * etcd's client default).
 */
import {
  Election,
  type ElectionOptions,
  type LockHandle,
  type LockOptions,
  lock,
  Session,
  type SessionOptions,
} from '@flotilla/lease';
import type { Bytes, TxnRequest, WatchRequest } from '@flotilla/mvcc';
import type {
  CompactResponse,
  DeleteOptions,
  DeleteRangeResponse,
  GetOptions,
  KvApi,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  Member,
  MemberListResponse,
  PutRequestOptions,
  PutResponse,
  RangeResponse,
  RequestOptions,
  StatusResponse,
  TxnResponse,
} from '../api.js';
import { invalid } from '../errors.js';
import { bag, checkRequestOptions } from '../requests.js';
import { isReadOnlyTxn } from '../txn-read.js';
import { parseEndpoint } from './client-connection.js';
import { ClientCore } from './client-core.js';
import { KeepAliveStream } from './client-keep-alive.js';
import { type SnapshotData, SnapshotDownload } from './client-snapshot.js';
import { ClientWatch } from './client-watch.js';
import { netError } from './errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, HANDSHAKE_MAX_FRAME_BYTES, METHODS, type Method } from './protocol.js';
import { checkClientTls, type KvClientTlsOptions } from './tls.js';

/** Options of {@link KvClient.connect}. */
export interface KvClientOptions {
  /** Members' client addresses, `host:port` (IPv6 as `[::1]:2379`). Tried in this order. */
  readonly endpoints: readonly string[];
  /** Default deadline of every request, in ms. Default 5,000 (etcd's client). */
  readonly timeoutMs?: number;
  /** Give up dialling one endpoint after this many ms. Default 2,000 (etcdctl's dial timeout). */
  readonly dialTimeoutMs?: number;
  /** Connect with TLS. */
  readonly tls?: KvClientTlsOptions;
  /** Refuse members of another cluster (the member checks it in the handshake). */
  readonly clusterId?: string;
  /** Largest response frame accepted, in bytes. Default 1 GiB. */
  readonly maxResponseBytes?: number;
}

const RANGE_FIELDS = [
  'rangeEnd',
  'revision',
  'limit',
  'sortOrder',
  'sortTarget',
  'serializable',
  'keysOnly',
  'countOnly',
  'minModRevision',
  'maxModRevision',
  'minCreateRevision',
  'maxCreateRevision',
] as const;
const PUT_FIELDS = ['lease', 'prevKv', 'ignoreValue', 'ignoreLease'] as const;

/** `base` plus the fields of `o` named in `names` that are set. */
function withFields(
  base: Record<string, unknown>,
  o: Record<string, unknown>,
  names: readonly string[],
): Record<string, unknown> {
  for (const n of names) if (o[n] !== undefined) base[n] = o[n];
  return base;
}

/**
 * A client of a Flotilla KV cluster (see the module notes). Implements `KvApi`, so the
 * `@flotilla/lease` recipes (sessions, locks with fencing tokens, elections) work over it.
 *
 * @example
 * ```ts
 * const client = await KvClient.connect({ endpoints: ['127.0.0.1:2379', '127.0.0.1:22379'] });
 * await client.put('config/db', 'postgres://db-1');
 * const { kvs } = await client.get('config/', { rangeEnd: prefixEnd('config/') });
 * for await (const resp of client.watch({ key: 'config/db' })) console.log(resp.events);
 * await client.close();
 * ```
 */
export class KvClient implements KvApi {
  readonly #core: ClientCore;
  #nextWatchId = 1;

  private constructor(core: ClientCore) {
    this.#core = core;
  }

  /**
   * Connects to the first endpoint that answers (in the given order).
   *
   * @throws KvError `INVALID_ARGUMENT` for bad options; `UNAVAILABLE` when no endpoint could be
   *   reached or every one refused the handshake (the message names each endpoint's reason).
   */
  static async connect(options: KvClientOptions): Promise<KvClient> {
    const o = bag(options, 'KvClient options') as unknown as KvClientOptions;
    if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
      throw invalid('endpoints must be a non-empty array of host:port strings');
    }
    for (const e of o.endpoints) {
      if (typeof e !== 'string') throw invalid('endpoints must be host:port strings');
      parseEndpoint(e);
    }
    const ms = (name: string, v: unknown): void => {
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
        throw invalid(`${name} must be a number of ms > 0, got ${String(v)}`);
      }
    };
    ms('timeoutMs', o.timeoutMs);
    ms('dialTimeoutMs', o.dialTimeoutMs);
    if (o.clusterId !== undefined && typeof o.clusterId !== 'string')
      throw invalid('clusterId must be a string');
    const mrb = o.maxResponseBytes;
    if (
      mrb !== undefined &&
      (typeof mrb !== 'number' || !Number.isSafeInteger(mrb) || mrb < HANDSHAKE_MAX_FRAME_BYTES)
    ) {
      throw invalid(`maxResponseBytes must be an integer ≥ ${HANDSHAKE_MAX_FRAME_BYTES}`);
    }
    const core = await ClientCore.connect({
      endpoints: [...o.endpoints],
      timeoutMs: o.timeoutMs ?? 5000,
      dialTimeoutMs: o.dialTimeoutMs ?? 2000,
      tls: checkClientTls(o.tls),
      clusterId: o.clusterId,
      maxResponseBytes: mrb ?? DEFAULT_MAX_RESPONSE_BYTES,
    });
    return new KvClient(core);
  }

  /** The endpoint currently used, or undefined while failing over. */
  get endpoint(): string | undefined {
    return this.#core.connection?.endpoint;
  }

  /** The member id behind {@link endpoint}, or undefined. */
  get memberId(): number | undefined {
    return this.#core.connection?.welcome.member;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#core.closed;
  }

  #call<T>(
    method: Method,
    body: unknown,
    idempotent: boolean,
    options: RequestOptions | undefined,
  ): Promise<T> {
    return this.#core.call(method, body, idempotent, options);
  }

  // -- KV ----------------------------------------------------------------------------------------

  /** etcd `Put` (see `KvApi.put`). Not retried once sent: `OUTCOME_UNKNOWN` if its fate is unknown. */
  async put(key: Bytes, value: Bytes, options?: PutRequestOptions): Promise<PutResponse> {
    const body =
      options === undefined
        ? { key, value }
        : withFields({ key, value }, bag(options, 'put options'), PUT_FIELDS);
    return this.#call('put', body, false, options);
  }

  /** etcd `Range` (see `KvApi.get`): linearizable unless `serializable`. Retried until its deadline. */
  async get(key: Bytes, options?: GetOptions): Promise<RangeResponse> {
    const body =
      options === undefined ? { key } : withFields({ key }, bag(options, 'get options'), RANGE_FIELDS);
    return this.#call('range', body, true, options);
  }

  /** etcd `DeleteRange` (see `KvApi.delete`). */
  async delete(key: Bytes, options?: DeleteOptions): Promise<DeleteRangeResponse> {
    const body =
      options === undefined
        ? { key }
        : withFields({ key }, bag(options, 'delete options'), ['rangeEnd', 'prevKv']);
    return this.#call('deleteRange', body, false, options);
  }

  /** etcd `Txn`. One that cannot write is retried like a read; one that can is not. */
  async txn(request: TxnRequest, options?: RequestOptions): Promise<TxnResponse> {
    let readOnly = false;
    try {
      readOnly = isReadOnlyTxn(request);
    } catch {
      // A malformed request: the member refuses it with INVALID_ARGUMENT.
    }
    return this.#call('txn', request, readOnly, options);
  }

  /** etcd `Compact`. */
  async compact(revision: number, options?: RequestOptions): Promise<CompactResponse> {
    return this.#call('compact', { revision }, METHODS.compact.idempotent, options);
  }

  // -- watch -------------------------------------------------------------------------------------

  /**
   * etcd `Watch`, resumed across failovers without gap or duplicate (see `client-watch.ts`).
   * Await `watch.ready` to know that every change committed from then on will be reported.
   */
  watch(request: WatchRequest): ClientWatch {
    const w = new ClientWatch(this.#nextWatchId++, request, this.#core);
    if (this.#core.closed) {
      w.cancel();
      return w;
    }
    return this.#core.startStream(w);
  }

  // -- leases ------------------------------------------------------------------------------------

  /** etcd `LeaseGrant`. Not retried once sent (a retry could grant a second lease). */
  async grant(
    ttlSeconds: number,
    options?: { readonly id?: number } & RequestOptions,
  ): Promise<LeaseGrantResponse> {
    const id = options?.id;
    return this.#call(
      'leaseGrant',
      id === undefined ? { ttl: ttlSeconds } : { ttl: ttlSeconds, id },
      false,
      options,
    );
  }

  /** etcd `LeaseRevoke`. */
  async revoke(id: number, options?: RequestOptions): Promise<LeaseRevokeResponse> {
    return this.#call('leaseRevoke', { id }, false, options);
  }

  /** One keep-alive (idempotent: retried). Rejects `LEASE_NOT_FOUND` when the lease is gone. */
  async keepAliveOnce(id: number, options?: RequestOptions): Promise<LeaseKeepAliveResponse> {
    return this.#call('leaseKeepAlive', { id }, true, options);
  }

  /**
   * Keeps the lease `id` alive over a keep-alive stream until cancelled or the lease is gone,
   * yielding every answer (see `client-keep-alive.ts`).
   */
  keepAlive(id: number, options?: { readonly intervalMs?: number }): KeepAliveStream {
    const every = options?.intervalMs;
    if (every !== undefined && (typeof every !== 'number' || !(every > 0))) {
      throw invalid('intervalMs must be a number of ms > 0');
    }
    const s = new KeepAliveStream(id, every, this.#core);
    if (this.#core.closed) {
      s.cancel();
      return s;
    }
    return this.#core.startStream(s);
  }

  /** etcd `LeaseTimeToLive`: `ttl: -1` when the lease does not exist. */
  async timeToLive(
    id: number,
    options?: { readonly keys?: boolean } & RequestOptions,
  ): Promise<LeaseTimeToLiveResponse> {
    const keys = options?.keys;
    return this.#call('leaseTimeToLive', keys === undefined ? { id } : { id, keys }, true, options);
  }

  /** etcd `LeaseLeases`. */
  async leases(options?: RequestOptions): Promise<LeaseLeasesResponse> {
    return this.#call('leaseLeases', {}, true, options);
  }

  // -- coordination recipes ----------------------------------------------------------------------

  /** A session (a lease kept alive by this client). */
  session(options?: SessionOptions): Promise<Session> {
    return Session.create(this, options);
  }

  /** A lock with a fencing token, held through this client. */
  lock(name: Bytes, options: LockOptions): Promise<LockHandle> {
    return lock(this, name, options);
  }

  /** An election through this client. */
  election(name: Bytes, options: ElectionOptions): Election {
    return new Election(this, name, options);
  }

  // -- cluster -----------------------------------------------------------------------------------

  /** etcd `Status` of the member this client talks to. */
  async status(options?: RequestOptions): Promise<StatusResponse> {
    return this.#call('status', {}, true, options);
  }

  /** etcd `MemberList`. */
  async members(options?: RequestOptions): Promise<MemberListResponse> {
    return this.#call('memberList', {}, true, options);
  }

  /** etcd `MemberAdd`. */
  async addMember(
    peerUrl: string,
    options?: { readonly isLearner?: boolean; readonly id?: number } & RequestOptions,
  ): Promise<MemberListResponse & { readonly member: Member }> {
    const o = bag(options, 'addMember options');
    return this.#call(
      'memberAdd',
      withFields({ peerUrls: [peerUrl] }, o, ['isLearner', 'id']),
      false,
      options,
    );
  }

  /** etcd `MemberRemove`. */
  async removeMember(id: number, options?: RequestOptions): Promise<MemberListResponse> {
    return this.#call('memberRemove', { id }, false, options);
  }

  /** etcd `MemberPromote`. */
  async promoteMember(id: number, options?: RequestOptions): Promise<MemberListResponse> {
    return this.#call('memberPromote', { id }, false, options);
  }

  /**
   * etcd `Maintenance.Snapshot`: the contacted member's state machine snapshot (the bytes
   * `KvStateMachine.restore` reads). Default deadline 60 s.
   */
  async snapshot(options?: { readonly timeoutMs?: number }): Promise<SnapshotData> {
    if (this.#core.closed) return Promise.reject(netError('STOPPED', 'the client is closed'));
    const r = checkRequestOptions(bag(options, 'snapshot options'));
    const d = new SnapshotDownload(this.#core, r.timeoutMs ?? Math.max(60_000, this.#core.timeoutMs));
    return this.#core.startStream(d).done;
  }

  // -- lifecycle ---------------------------------------------------------------------------------

  /**
   * Closes the client: watches and keep-alive streams end, requests not yet answered reject
   * (`OUTCOME_UNKNOWN` for a write that was sent, `STOPPED` otherwise), connections close.
   * Idempotent.
   */
  async close(): Promise<void> {
    this.#core.close();
  }
}
