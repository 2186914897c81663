/**
 * What the network layer costs on top of the node: the same operations called directly on an
 * in-process member and through `KvClient` → TCP (127.0.0.1) → `KvServer` → the same member,
 * for a 1-member cluster (fsync on, real disk in a temp dir) and a 3-member one (members in
 * this process, TCP between them). Sequential latency (one request at a time) and pipelined
 * throughput (256 puts in flight, 64 reads in flight). Run with
 * `node scripts/bench.mjs packages/kv` (figures are noisy on a shared machine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKvNode, type KvApi, type KvNode } from '@flotilla/kv';
import { KvClient, KvServer } from '@flotilla/kv/client';
import { silentLogger } from '@flotilla/replica';
import { createTcpTransport, type TcpTransport } from '@flotilla/transport-tcp';

const VALUE = new Uint8Array(256).fill(0x78);
const KEYS = Array.from({ length: 1000 }, (_, i) => `bench/${String(i).padStart(6, '0')}`);

async function cluster(
  size: number,
): Promise<{ nodes: KvNode[]; servers: KvServer[]; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-net-bench-'));
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const ts: TcpTransport[] = ids.map((id) =>
    createTcpTransport({
      id,
      listen: { host: '127.0.0.1', port: 0 },
      peers: {},
      clusterId: 'b',
      logger: silentLogger,
    }),
  );
  const nodes = await Promise.all(
    ids.map((id, i) =>
      createKvNode({
        id,
        peers: ids,
        dataDir: join(dir, `m${id}`),
        transport: ts[i] as TcpTransport,
        logger: silentLogger,
      }),
    ),
  );
  for (const a of ts) for (const b of ts) if (a !== b) a.addPeer(b.id, b.address);
  while (!nodes.some((n) => n.isLeader)) await new Promise((r) => setTimeout(r, 20));
  const servers = nodes.map((n) => new KvServer(n, { port: 0, logger: silentLogger }));
  await Promise.all(servers.map((s) => s.start()));
  return {
    nodes,
    servers,
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function pct(sorted: number[], p: number): string {
  return (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(2);
}

/** `conc` workers run `op` for `ms`; returns ops/s and latency percentiles. */
async function closedLoop(conc: number, ms: number, op: (i: number) => Promise<unknown>): Promise<string> {
  const lat: number[] = [];
  const end = performance.now() + ms;
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await op(n++);
        lat.push(performance.now() - s);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const us = ((cpu.user + cpu.system) / lat.length).toFixed(0);
  return `${String(Math.round(lat.length / wall)).padStart(7)} ops/s  p50 ${pct(lat, 0.5)} ms  p99 ${pct(lat, 0.99)} ms  ${us} µs CPU/op (whole process)`;
}

async function run(label: string, kv: KvApi, leaderKv: KvApi): Promise<void> {
  for (const k of KEYS) await leaderKv.put(k, VALUE);
  console.log(
    `  ${label.padEnd(28)} seq put    ${await closedLoop(1, 2000, (i) => kv.put(KEYS[i % 1000] as string, VALUE))}`,
  );
  console.log(
    `  ${label.padEnd(28)} put ×256   ${await closedLoop(256, 3000, (i) => kv.put(KEYS[i % 1000] as string, VALUE))}`,
  );
  console.log(
    `  ${label.padEnd(28)} get ×64    ${await closedLoop(64, 2000, (i) => kv.get(KEYS[i % 1000] as string))}`,
  );
  console.log(
    `  ${label.padEnd(28)} serial ×64 ${await closedLoop(64, 2000, (i) => kv.get(KEYS[i % 1000] as string, { serializable: true }))}`,
  );
}

for (const size of [1, 3]) {
  console.log(`\n${size} member(s), all in this process:`);
  const c = await cluster(size);
  try {
    const leader = c.nodes.find((n) => n.isLeader) as KvNode;
    const li = c.nodes.indexOf(leader);
    await run('direct (leader node)', leader, leader);
    const client = await KvClient.connect({ endpoints: [(c.servers[li] as KvServer).address] });
    await run('KvClient → leader', client, leader);
    await client.close();
    if (size > 1) {
      const fi = li === 0 ? 1 : 0;
      const fclient = await KvClient.connect({ endpoints: [(c.servers[fi] as KvServer).address] });
      await run('KvClient → follower', fclient, leader);
      await fclient.close();
    }
  } finally {
    await c.close();
  }
}
