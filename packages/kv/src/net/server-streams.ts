/**
 * The server's streams, each multiplexed on a client connection under the id the client chose:
 *
 * - **watch** (etcd's `Watch.Watch`): the node's watch, pumped to the socket. The first item is
 *   `{ created: true, revision }` naming the revision the watch starts after (a watch "from now"
 *   is pinned to the current revision + 1 here, so a client that must resume elsewhere knows
 *   exactly where). Then every `WatchResponse`, in order. The pump takes the next response only
 *   when the socket has drained: a slow client makes the node's watch fall back to catching up
 *   from history (mvcc) instead of growing a buffer here.
 * - **leaseKeepAlive** (etcd's `Lease.LeaseKeepAlive`): every `send` is one keep-alive; each is
 *   answered by an item `{ id, ttl, header }`, `ttl: 0` when the lease no longer exists (etcd).
 * - **snapshot** (etcd's `Maintenance.Snapshot`): a header item `{ size, memberId, revision }`,
 *   then `{ chunk }` items, then the end.
 *
 * A stream that ends because the member stopped ends with an `err` of code `STOPPED`, which a
 * client takes as "resume on another member".
 */
import { isFlotillaError } from '@flotilla/errors';
import type { WatchRequest } from '@flotilla/mvcc';
import type { KvApi, KvWatch } from '../api.js';
import { KvError } from '../errors.js';
import { toWireError } from './errors.js';
import type { SnapshotHeader, WatchCreated, WireError } from './protocol.js';

/** What a stream needs from its connection. */
export interface StreamHost {
  /** Queues a stream item. */
  item(r: unknown): void;
  /** Ends the stream normally (once). */
  end(): void;
  /** Ends the stream with an error (once). */
  fail(e: WireError): void;
  /** True while the socket's buffer is over its high-water mark. */
  readonly needsDrain: boolean;
  /** Resolves once the socket drained (or closed). */
  drained(): Promise<void>;
  /** Largest chunk a frame to this client may carry. */
  readonly maxChunkBytes: number;
}

/** The node as the streams use it. */
export interface StreamNode extends KvApi {
  readonly id: number;
  readonly stateMachine: {
    readonly store: { readonly revision: number };
    snapshot(): Uint8Array;
  };
}

/** One open stream. */
export interface ServerStream {
  /** A further request on the stream (keep-alives). */
  send(a: unknown): void;
  /** The client closed the stream, or the connection is going: stop quietly. */
  close(): void;
}

function field(a: unknown, name: string): unknown {
  return typeof a === 'object' && a !== null && Object.hasOwn(a, name)
    ? (a as Record<string, unknown>)[name]
    : undefined;
}

/**
 * The code when a canceled watch response means the member stopped or failed (the node's
 * `STOPPED: ...` / `UNAVAILABLE: ...` reasons) rather than the watch itself ending.
 */
function memberGone(reason: string | undefined): 'STOPPED' | 'UNAVAILABLE' | undefined {
  if (reason?.startsWith('STOPPED:') === true) return 'STOPPED';
  if (reason?.startsWith('UNAVAILABLE:') === true) return 'UNAVAILABLE';
  return undefined;
}

const WATCH_FIELDS = ['key', 'rangeEnd', 'startRevision', 'prevKv', 'filters', 'progressNotify'] as const;

/** Starts a watch stream (see the module notes). */
export function openWatch(node: StreamNode, a: unknown, host: StreamHost): ServerStream {
  const req: Record<string, unknown> = {};
  for (const n of WATCH_FIELDS) {
    const v = field(a, n);
    if (v !== undefined) req[n] = v;
  }
  // Pin "from now" to a revision so the client can resume after it (same semantics: only
  // changes after the current revision). A request with a bad startRevision is left as it is:
  // the node answers it with a canceled response.
  const asked = req.startRevision;
  let after: number;
  if (asked === undefined || asked === 0) {
    after = node.stateMachine.store.revision;
    req.startRevision = after + 1;
  } else {
    after = typeof asked === 'number' && Number.isSafeInteger(asked) && asked > 0 ? asked - 1 : 0;
  }
  const created: WatchCreated = { created: true, revision: after, memberId: node.id };
  host.item(created);
  let watch: KvWatch;
  try {
    watch = node.watch(req as unknown as WatchRequest);
  } catch (err) {
    host.fail(toWireError(err));
    return { send() {}, close() {} };
  }
  let closed = false;
  void (async () => {
    let canceled = false;
    try {
      for await (const resp of watch) {
        if (closed) return;
        const gone = resp.canceled === true ? memberGone(resp.cancelReason) : undefined;
        if (gone !== undefined) {
          // Not the watch's end: this member cannot serve it any more. The client resumes it
          // on another member from its last revision.
          host.fail({ code: gone, message: resp.cancelReason ?? gone });
          return;
        }
        host.item(resp);
        if (resp.canceled === true) canceled = true;
        if (host.needsDrain) await host.drained();
      }
    } catch (err) {
      if (!closed) host.fail(toWireError(err));
      return;
    }
    if (closed) return;
    if (canceled) host.end();
    else host.fail({ code: 'STOPPED', message: `member ${node.id} stopped serving the watch` });
  })();
  return {
    send() {},
    close() {
      closed = true;
      watch.cancel();
    },
  };
}

/** Starts a keep-alive stream for the lease `a.id` (see the module notes). */
export function openKeepAlive(node: StreamNode, a: unknown, host: StreamHost): ServerStream {
  const id = field(a, 'id');
  let closed = false;
  return {
    send() {
      if (closed) return;
      node.keepAliveOnce(id as number).then(
        (r) => {
          if (!closed) host.item(r);
        },
        (err: unknown) => {
          if (closed) return;
          if (isFlotillaError(err, 'LEASE_NOT_FOUND')) {
            host.item({ id, ttl: 0 });
            return;
          }
          closed = true;
          host.fail(toWireError(err));
        },
      );
    },
    close() {
      closed = true;
    },
  };
}

/** Streams this member's state machine snapshot (see the module notes). */
export function openSnapshot(node: StreamNode, host: StreamHost): ServerStream {
  let closed = false;
  let data: Uint8Array;
  try {
    data = node.stateMachine.snapshot();
  } catch (err) {
    host.fail(toWireError(err instanceof Error ? err : new KvError('UNAVAILABLE', String(err))));
    return { send() {}, close() {} };
  }
  const header: SnapshotHeader = {
    size: data.byteLength,
    memberId: node.id,
    revision: node.stateMachine.store.revision,
  };
  host.item(header);
  void (async () => {
    for (let at = 0; at < data.byteLength; at += host.maxChunkBytes) {
      if (closed) return;
      host.item({ chunk: data.subarray(at, Math.min(data.byteLength, at + host.maxChunkBytes)) });
      if (host.needsDrain) await host.drained();
    }
    if (!closed) host.end();
  })();
  return {
    send() {},
    close() {
      closed = true;
    },
  };
}
