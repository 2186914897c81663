/**
 * Benchmarks of @flotilla/kv's in-process half. Run from the repository root:
 *
 *   node scripts/bench.mjs packages/kv        (= pnpm bench packages/kv)
 *
 * (1) the command codec and KvStateMachine.apply alone (puts of 256-byte values over 1,000
 * keys, etcd's benchmark shape); (2) a 3-member cluster in one process: MemoryNetwork, real
 * disks in a temp dir (fsync on, as etcd), the system clock; clients call the nodes directly
 * (no network client). Prints figures, never fails on a timing. Wall-clock figures are noisy on
 * the shared 2-core machines (and all three members share this one process).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKvNode, encodeCommand, type KvCommand, type KvNode, KvStateMachine } from '@flotilla/kv';
import { silentLogger } from '@flotilla/replica';
import { MemoryNetwork } from '@flotilla/replica/testing';

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const KEYS = 1000;
const VALUE = new Uint8Array(256).fill(0x61);
const keyOf = (i: number): Uint8Array =>
  new TextEncoder().encode(`key-${(i % KEYS).toString().padStart(6, '0')}`);
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const line = (label: string, text: string): void => console.log(`${label.padEnd(52)} ${text}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function codecAndApply(): void {
  const n = 200_000;
  const cmds: KvCommand[] = [];
  for (let i = 0; i < n; i++) {
    cmds.push({
      type: 'put',
      key: keyOf(i),
      value: VALUE,
      lease: 0,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    });
  }
  let t = performance.now();
  const encoded = cmds.map((c) => encodeCommand(c));
  line('encodeCommand(put, 256 B)', `${fmt(n / ((performance.now() - t) / 1000))} ops/s`);
  const sm = new KvStateMachine();
  t = performance.now();
  for (let i = 0; i < n; i++) sm.apply(encoded[i] as Uint8Array, i + 1);
  line('KvStateMachine.apply(put) incl. decode', `${fmt(n / ((performance.now() - t) / 1000))} ops/s`);
}

/** Runs `op` from `clients` concurrent loops for DURATION_MS; returns ops/s and latency percentiles. */
async function closedLoop(op: (i: number) => Promise<unknown>, clients: number): Promise<string> {
  const lat: number[] = [];
  let i = 0;
  const end = performance.now() + DURATION_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(i++);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const p = (q: number): string =>
    (lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0).toFixed(2);
  return `${fmt(lat.length / secs)} ops/s   p50 ${p(0.5)} ms   p99 ${p(0.99)} ms`;
}

async function cluster(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-kv-bench-'));
  const nodes: KvNode[] = [];
  try {
    const net = new MemoryNetwork({ seed: 1 });
    for (const id of [1, 2, 3]) {
      nodes.push(
        await createKvNode({
          id,
          peers: [1, 2, 3],
          dataDir: join(dir, `m${id}`),
          transport: net.transport(id),
          tickMs: 50,
          logger: silentLogger,
        }),
      );
    }
    const [first, second] = nodes as [KvNode, KvNode];
    first.replica.campaign();
    while (!first.isLeader) await sleep(10);
    line('sequential put, 1 client, leader', await closedLoop((i) => first.put(keyOf(i), VALUE), 1));
    line('put, 64 in flight, leader', await closedLoop((i) => first.put(keyOf(i), VALUE), 64));
    line('put, 256 in flight, leader', await closedLoop((i) => first.put(keyOf(i), VALUE), 256));
    line(
      'put, 256 in flight, follower (forwarded)',
      await closedLoop((i) => second.put(keyOf(i), VALUE), 256),
    );
    line('linearizable get, 64 in flight, follower', await closedLoop((i) => second.get(keyOf(i)), 64));
    line(
      'serializable get, 64 in flight, follower',
      await closedLoop((i) => second.get(keyOf(i), { serializable: true }), 64),
    );
    const cas = (i: number) =>
      first.txn({
        compare: [{ key: keyOf(i), target: 'version', result: 'greater', value: 0 }],
        success: [{ put: { key: keyOf(i), value: VALUE } }],
      });
    line('txn compare-and-swap, 64 in flight, leader', await closedLoop(cas, 64));
  } finally {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

codecAndApply();
await cluster();
