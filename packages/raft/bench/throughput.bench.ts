/**
 * Throughput of the Raft core (issue 3 §4): three RawNodes in one process over MemoryStorage,
 * every message delivered synchronously, the host duties done inline (persist, send, apply,
 * advance). Reports
 *
 * - batched proposals of 128-byte entries: committed entries per second (counted as the
 *   leader applies them), wall-clock and per CPU-second, for several batch sizes;
 * - allocations per committed entry: bytes allocated (V8's sampling heap profiler, counting
 *   objects already collected too) and the top allocation sites, plus the heap a committed but
 *   not yet compacted entry keeps alive on the three members;
 * - single-proposal round trips per second (propose one entry, run until the leader applies it).
 *
 * Floor: 1,000,000 committed entries/s batched. Figures are noisy on a shared machine (the
 * per-CPU-second rate is the steadier one); nothing here fails on a timing.
 *
 *   node scripts/bench.mjs packages/raft        (runs every packages/raft/bench/*.bench.ts)
 */
import { Session } from 'node:inspector/promises';
import { MemoryStorage, type NetworkMessage, type NodeId, RawNode } from '@flotilla/raft';

const PAYLOAD = 128;
const FLOOR = 1_000_000;

interface Member {
  readonly id: NodeId;
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  /** Entries this member applied. */
  applied: number;
  appliedIndex: number;
}

/** A bootstrapped 3-member cluster with member 1 elected. */
function newCluster(): Member[] {
  const ids = [1, 2, 3];
  const members = ids.map((id) => {
    const storage = new MemoryStorage();
    const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, maxInflightMsgs: 256 });
    node.bootstrap(ids);
    return { id, node, storage, applied: 0, appliedIndex: 0 };
  });
  settle(members);
  (members[0] as Member).node.campaign();
  settle(members);
  return members;
}

/**
 * The host loop, synchronously: every member handles its Readies (persist, queue messages, apply,
 * advance), then every queued message is delivered; until nothing is left.
 */
function settle(members: Member[]): void {
  let queue: NetworkMessage[] = [];
  for (;;) {
    for (const m of members) {
      while (m.node.hasReady()) {
        const rd = m.node.ready();
        if (rd.snapshot !== undefined) m.storage.applySnapshot(rd.snapshot);
        if (rd.entries.length > 0) m.storage.append(rd.entries);
        if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
        for (const msg of rd.messages) queue.push(msg);
        const n = rd.committedEntries.length;
        if (n > 0) {
          m.applied += n;
          m.appliedIndex = (rd.committedEntries[n - 1] as { index: number }).index;
        }
        m.node.advance();
      }
    }
    if (queue.length === 0) return;
    const q = queue;
    queue = [];
    for (const msg of q) (members[msg.to - 1] as Member).node.step(msg);
  }
}

/** The host's log compaction: keep the last `keep` applied entries on every member. */
function compact(members: Member[], keep: number): void {
  for (const m of members) {
    const upTo = m.appliedIndex - keep;
    if (upTo > m.storage.firstIndex()) m.storage.compact(upTo);
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Proposes `batch` entries per round on the leader and settles, until `entries` are applied. */
function runBatched(members: Member[], batch: number, entries: number, compactEvery: number): void {
  const leader = members[0] as Member;
  const payload = new Uint8Array(PAYLOAD).fill(0x61);
  const target = leader.applied + entries;
  let rounds = 0;
  while (leader.applied < target) {
    for (let i = 0; i < batch; i++) leader.node.propose(payload);
    settle(members);
    if (compactEvery > 0 && ++rounds % compactEvery === 0) compact(members, 1000);
  }
}

function batched(batch: number, seconds: number): { wall: number; cpu: number; entries: number } {
  const members = newCluster();
  runBatched(members, batch, 50_000, 16); // warm-up
  const leader = members[0] as Member;
  const start = leader.applied;
  const t0 = performance.now();
  const c0 = cpuSeconds();
  while (performance.now() - t0 < seconds * 1000) runBatched(members, batch, batch * 64, 16);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  const n = leader.applied - start;
  return { wall: n / wall, cpu: n / cpu, entries: n };
}

function roundTrips(seconds: number): number {
  const members = newCluster();
  const leader = members[0] as Member;
  const payload = new Uint8Array(PAYLOAD);
  for (let i = 0; i < 5000; i++) {
    leader.node.propose(payload);
    settle(members);
  }
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const before = leader.applied;
    leader.node.propose(payload);
    settle(members);
    if (leader.applied !== before + 1) throw new Error('the proposal did not commit in one settle');
    if (++n % 4096 === 0) compact(members, 1000);
  }
  return n / ((performance.now() - t0) / 1000);
}

interface SamplingNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: SamplingNode[];
}

/**
 * Bytes allocated per committed entry, from V8's sampling heap profiler with collected objects
 * included (so it counts garbage too, not only what survives), and the top allocation sites.
 */
async function allocations(batch: number, entries: number): Promise<{ perEntry: number; top: string[] }> {
  const members = newCluster();
  runBatched(members, batch, 20_000, 16);
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const before = (members[0] as Member).applied;
  runBatched(members, batch, entries, 16);
  const committed = (members[0] as Member).applied - before;
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
    profile: { head: SamplingNode };
  };
  session.disconnect();
  const sites = new Map<string, number>();
  let total = 0;
  const walk = (n: SamplingNode): void => {
    total += n.selfSize;
    if (n.selfSize > 0) {
      const f = n.callFrame;
      // Functions V8 inlined are counted in their caller, so sites name the outer function.
      const where = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/packages\//, 'packages/') || '(builtin)'}`;
      sites.set(where, (sites.get(where) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const top = [...sites.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([where, bytes]) => `${(bytes / committed).toFixed(1).padStart(7)} B/entry  ${where}`);
  return { perEntry: total / committed, top };
}

/** Heap kept alive per committed entry while the log is not compacted (three members). */
function retained(entries: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  const members = newCluster();
  gc();
  const before = process.memoryUsage().heapUsed;
  runBatched(members, 256, entries, 0);
  gc();
  return (process.memoryUsage().heapUsed - before) / entries;
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

console.log(
  `3 members in one process, synchronous delivery, ${PAYLOAD}-byte entries; floor ${fmt(FLOOR)} entries/s`,
);
let best = 0;
for (const batch of [64, 256, 1024]) {
  const r = batched(batch, 2);
  best = Math.max(best, r.wall);
  console.log(
    `batched (batch ${String(batch).padStart(4)}): ${fmt(r.wall).padStart(10)} committed entries/s wall, ${fmt(r.cpu).padStart(10)} per CPU-second (${fmt(r.entries)} entries)`,
  );
}
console.log(`floor ${best >= FLOOR ? 'met' : 'MISSED'}: best ${fmt(best)} entries/s`);
const alloc = await allocations(256, 200_000);
console.log(
  `allocated per committed entry (batch 256, sampled, all three members + host loop): ${fmt(alloc.perEntry)} B`,
);
for (const line of alloc.top) console.log(`  ${line}`);
const kept = retained(100_000);
console.log(
  `heap retained per committed, uncompacted entry (three members, payload shared): ${Number.isNaN(kept) ? 'n/a (run with --expose-gc)' : `${fmt(kept)} B`}`,
);
console.log(`single-proposal round trips: ${fmt(roundTrips(2))} /s`);
