/**
 * The lock workload (Jepsen's etcd lock test, with fencing): client processes hold sessions
 * (leases kept alive on the process's clock) and repeatedly take one lock with
 * `@flotilla/lease`'s `lock`, write to a simulated external resource while holding it, and
 * release it. The resource (a `FencedResource`) keeps the highest fencing token it accepted and
 * refuses lower ones; every attempt is logged to `lock.jsonl` with the token and the decision.
 * The client-pause nemesis stops a process (its keep-alives with it) so its lease expires under
 * it, as a GC pause would: another process gets the lock, and the paused one wakes up still
 * believing it holds it. Its late writes must bounce off the resource.
 *
 * History: `acquire` `{lock, session}` → ok `{lock, session, token}` with `revision` = the
 * revision of the last answer the lock recipe saw before reporting success (its granting
 * check); `release` `{lock, session, token}`. Session revocations the cluster knows of are
 * logged by the host. Judged by the lock checker.
 */
import { isFlotillaError } from '@flotilla/errors';
import { type LockHandle, lock, Session } from '@flotilla/lease';
import { armLockFaults, FencedResource, type LockFaults } from '@flotilla/lease/testing';
import type { WatchResponse } from '@flotilla/mvcc';
import type { ClientApi, Workload, WorkloadHost } from './types.js';
import { NotSentError, Worker } from './worker.js';

/** Knobs of {@link lockWorkload}. */
export interface LockWorkloadOptions {
  /** Session TTL in seconds. */
  readonly ttlS: number;
  readonly clients?: number;
  /** Test-only faults of the lock recipe, armed on every client. */
  readonly faults?: LockFaults;
}

const LOCK = 'lock/a';
const RESOURCE = 'file-a';

/**
 * A `ClientApi` over `api` that remembers the revision of the last answer it passed on (txn and
 * range headers, watch responses): for a lock, the revision at which it was granted.
 */
function tracking(api: ClientApi): { api: ClientApi; last: () => number } {
  let last = 0;
  const saw = (r: number | undefined): void => {
    if (r !== undefined && r > last) last = r;
  };
  return {
    last: () => last,
    api: {
      put: (key, value, o) => api.put(key, value, o),
      delete: (key, o) => api.delete(key, o),
      grant: (ttl, o) => api.grant(ttl, o),
      revoke: (id, o) => api.revoke(id, o),
      keepAliveOnce: (id, o) => api.keepAliveOnce(id, o),
      timeToLive: (id, o) => api.timeToLive(id, o),
      get: async (key, o) => {
        const r = await api.get(key, o);
        saw(r.header.revision);
        return r;
      },
      txn: async (req, o) => {
        const r = await api.txn(req, o);
        saw(r.header.revision);
        return r;
      },
      watch: (req) => {
        const inner = api.watch(req);
        return {
          id: inner.id,
          cancel: () => inner.cancel(),
          async *[Symbol.asyncIterator](): AsyncGenerator<WatchResponse> {
            for await (const resp of inner as AsyncIterable<WatchResponse>) {
              saw(resp.revision);
              yield resp;
            }
          },
        };
      },
    },
  };
}

/** The lock workload (see the module notes). */
export function lockWorkload(options: LockWorkloadOptions): Workload {
  const clients = options.clients ?? 5;
  const resource = new FencedResource<number>();
  return {
    name: 'lock',
    checkers: ['lock'],
    async run(host: WorkloadHost): Promise<void> {
      const off = host.onLeaseRevoked?.((r) => host.lockLog.push({ type: 'session-revoked', ...r }));
      const loop = async (slot: number): Promise<void> => {
        const w = new Worker(host, slot);
        let session: Session | undefined;
        while (!host.stopping) {
          if (session === undefined || !session.alive) {
            session = await openSession(w, options.ttlS);
            if (session === undefined) continue;
          }
          const s = session;
          let held: LockHandle | undefined;
          const acquired = await w.op(
            'acquire',
            { lock: LOCK, session: s.leaseId },
            async (api, signal) => {
              const t = tracking(api);
              if (options.faults !== undefined) armLockFaults(t.api, options.faults);
              held = await lock(t.api, LOCK, { session: s, signal });
              return {
                type: 'ok',
                value: { lock: LOCK, session: s.leaseId, token: held.fencingToken },
                revision: t.last(),
              };
            },
            { timeoutMs: options.ttlS * 2000 },
          );
          if (acquired.type !== 'ok' || held === undefined) {
            await w.sleep(10 + w.rng.next() * 40);
            // An acquire that may have succeeded may have left our key in line: revoke the
            // session (its key goes with it) and start afresh.
            if (acquired.type === 'info') {
              void s.close().catch(() => {});
              session = undefined;
            }
            continue;
          }
          const h: LockHandle = held;
          for (let i = w.rng.int(1, 4); i > 0; i--) {
            await w.sleep(5 + w.rng.next() * 40);
            const accepted = resource.write(h.fencingToken, w.process);
            host.lockLog.push({
              type: 'access',
              time: host.nowNs(),
              process: w.process,
              resource: RESOURCE,
              token: h.fencingToken,
              accepted,
            });
          }
          const released = await w.op(
            'release',
            { lock: LOCK, session: s.leaseId, token: h.fencingToken },
            async () => {
              await h.unlock();
              return { type: 'ok' };
            },
          );
          // Not known released: the session may still hold the lock, and locking again with it
          // would return the same key and token (a lock is held once per session). Start afresh.
          if (released.type !== 'ok' || w.rng.chance(0.2)) {
            void s.close().catch(() => {});
            session = undefined;
          }
        }
        await session?.close().catch(() => {});
      };
      await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
      off?.();
    },
    async finish(): Promise<void> {},
  };
}

/** A new session on the worker's clock (keep-alives through any member), or undefined. */
async function openSession(w: Worker, ttlS: number): Promise<Session | undefined> {
  try {
    return await Session.create(w.client(), { ttl: ttlS, clock: w.clock });
  } catch (err) {
    if (!isFlotillaError(err) && !(err instanceof NotSentError)) throw err;
    await w.sleep(20);
    return undefined;
  }
}
