// Adapter: Flotilla through its own client (`KvClient` of @flotilla/kv) for the shared etcd-compare
// load driver (/work/shared/bench/etcd-compare, see "Adapter interface" in its README).
//
// Session i talks to endpoints[i % n] only (one KvClient per session, pinned to one member and its
// one TCP connection, as the etcd3 adapter pins one gRPC connection per session). Every call has
// the deadline `options.deadlineMs` (default 5 s). Writes resolve once committed by a quorum whose
// members fsynced the entry and applied on the contacted member (Flotilla's write path), reads are
// ReadIndex (linearizable) or local (serializable) on the contacted member, exactly as with etcd.
//
// Runs inside load.mjs, which must be started with `--conditions=@flotilla/source --import tsx`
// inside the workspace (the TypeScript sources), or plain node once `pnpm build` made dist/.
import { isMainThread } from 'node:worker_threads';

// The driver's worker threads (--threads N) inherit the export condition but not tsx's loader
// hooks: register them in the thread before loading the TypeScript client.
if (!isMainThread && process.execArgv.some((a) => a.includes('@flotilla/source'))) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { KvClient } = await import('@flotilla/kv/client');

/** The first key after every key that starts with `prefix` (etcd's prefix range end). */
function prefixEnd(prefix) {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i] += 1;
      return out;
    }
  }
  return Buffer.from([0]);
}

const asBuffer = (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

export async function createAdapter({ endpoints, options = {} }) {
  if (!endpoints?.length) throw new Error('flotilla adapter: no endpoints');
  const deadlineMs = Number(options.deadlineMs ?? 5000);
  const sessions = [];

  async function statusOf(ep) {
    let c;
    try {
      c = await KvClient.connect({ endpoints: [ep], timeoutMs: 2000 });
      const s = await c.status();
      return {
        endpoint: ep,
        memberId: String(s.header.memberId),
        leader: String(s.leader),
        version: s.version,
        raftTerm: String(s.raftTerm),
        raftIndex: String(s.raftIndex),
        keys: s.keys,
      };
    } catch (e) {
      return { endpoint: ep, error: String(e?.message ?? e) };
    } finally {
      await c?.close();
    }
  }

  return {
    name: 'flotilla',
    endpoints,

    async info() {
      const members = await Promise.all(endpoints.map(statusOf));
      const leaderEp = members.find((m) => m.memberId && m.memberId === m.leader)?.endpoint ?? null;
      return {
        server: 'flotilla',
        version: members.find((m) => m.version)?.version ?? null,
        leader: leaderEp,
        members,
      };
    },

    async openSession(index) {
      const endpoint = endpoints[index % endpoints.length];
      const client = await KvClient.connect({ endpoints: [endpoint], timeoutMs: deadlineMs });
      const watches = new Set();
      const session = {
        endpoint,
        async put(key, value) {
          await client.put(key, value);
        },
        async get(key, { consistency = 'linearizable' } = {}) {
          const r = await client.get(
            key,
            consistency === 'serializable' ? { serializable: true } : undefined,
          );
          const kv = r.kvs[0];
          return kv === undefined ? null : asBuffer(kv.value);
        },
        async cas(key, expected, next) {
          const r = await client.txn({
            compare: [{ key, target: 'value', result: 'equal', value: expected }],
            success: [{ put: { key, value: next } }],
          });
          return r.succeeded;
        },
        async watchPrefix(prefix, onPut) {
          const w = client.watch({ key: prefix, rangeEnd: prefixEnd(prefix) });
          watches.add(w);
          // Resolve only once the member has the watch: every put committed after is reported.
          await w.ready;
          void (async () => {
            for await (const resp of w) {
              for (const e of resp.events) {
                if (e.type === 'put') onPut(asBuffer(e.kv.key).toString(), asBuffer(e.kv.value));
              }
            }
          })();
          return {
            async close() {
              watches.delete(w);
              w.cancel();
            },
          };
        },
        async close() {
          for (const w of watches) w.cancel();
          await client.close();
        },
      };
      sessions.push(session);
      return session;
    },

    async close() {
      for (const s of sessions.splice(0)) await s.close().catch(() => {});
    },
  };
}
