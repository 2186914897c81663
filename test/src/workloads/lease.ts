/**
 * The lease workload: each client process grants a lease, puts one key under it, then for a
 * while keeps it alive (a keep-alive every TTL/3, or deliberately none so it expires) and reads
 * the key; finally revokes it, or lets it expire and reads the key again. The client-pause
 * nemesis stops a process (and its keep-alives) past its TTL.
 *
 * History (the lease checker's format): `grant` `{ttl}` → ok `{lease, ttl}`; `put`
 * `{key, value, lease}`; `keepalive` `{lease}` → ok `{lease, ttl}` (`fail` with error
 * `LEASE_NOT_FOUND` when the lease is gone); `revoke` `{lease}`; `read` `[key, v | null]`. One key
 * per lease (`lease/<id>`). Judged by the lease checker: no lease seen gone before its TTL
 * elapsed since the last successful keep-alive was sent, no key of a gone lease readable.
 */
import type { Workload, WorkloadHost } from './types.js';
import { Worker } from './worker.js';

/** Knobs of {@link leaseWorkload}. */
export interface LeaseWorkloadOptions {
  /** TTL asked for, in seconds. */
  readonly ttlS: number;
  readonly clients?: number;
}

const dec = new TextDecoder();

/** The lease workload (see the module notes). */
export function leaseWorkload(options: LeaseWorkloadOptions): Workload {
  const clients = options.clients ?? 8;
  let nextValue = 0;
  return {
    name: 'lease',
    checkers: ['lease'],
    async run(host: WorkloadHost): Promise<void> {
      const ttlMs = options.ttlS * 1000;
      const loop = async (slot: number): Promise<void> => {
        const w = new Worker(host, slot);
        while (!host.stopping) {
          let id = 0;
          let ttl = options.ttlS;
          const g = await w.op('grant', { ttl: options.ttlS }, async (api) => {
            const r = await api.grant(options.ttlS);
            id = r.id;
            ttl = r.ttl;
            return { type: 'ok', value: { lease: r.id, ttl: r.ttl } };
          });
          if (g.type !== 'ok') {
            await w.sleep(20);
            continue;
          }
          const key = `lease/${id}`;
          const value = ++nextValue;
          const put = await w.op('put', { key, value, lease: id }, async (api) => {
            await api.put(key, String(value), { lease: id });
            return { type: 'ok' };
          });
          const read = (): Promise<unknown> =>
            w.op(
              'read',
              [key, null],
              async (api) => {
                const r = await api.get(key);
                const kv = r.kvs[0];
                return { type: 'ok', value: [key, kv === undefined ? null : Number(dec.decode(kv.value))] };
              },
              { readOnly: true },
            );
          if (put.type === 'ok') {
            // Keep it alive (or not) for a while, reading the key now and then.
            const keepAlive = w.rng.chance(0.7);
            const until = w.clock.now() + ttlMs * (0.5 + w.rng.next() * 2);
            while (w.clock.now() < until && !host.stopping) {
              await w.sleep((ttl * 1000) / 3);
              if (keepAlive) {
                const k = await w.op('keepalive', { lease: id }, async (api) => {
                  const r = await api.keepAliveOnce(id);
                  return { type: 'ok', value: { lease: id, ttl: r.ttl } };
                });
                if (k.type === 'fail' && k.error === 'LEASE_NOT_FOUND') break;
              }
              await read();
            }
            if (w.rng.chance(0.5)) {
              await w.op('revoke', { lease: id }, async (api) => {
                await api.revoke(id);
                return { type: 'ok' };
              });
            } else if (!host.stopping) {
              await w.sleep(ttlMs * (0.5 + w.rng.next()));
            }
            await read();
          }
        }
      };
      await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
    },
    async finish(): Promise<void> {},
  };
}
