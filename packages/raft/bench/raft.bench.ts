/**
 * Quick private throughput check of the Raft core (the full benchmark lives elsewhere): three
 * RawNodes in one process over MemoryStorage, every message delivered synchronously, proposals of
 * 128-byte payloads in batches. Prints committed entries per second (counted on the leader's
 * applied entries) and single-proposal round trips per second. Figures are noisy on a shared
 * machine; nothing here fails on a timing.
 *
 *   node scripts/bench.mjs packages/raft
 */
import { MemoryStorage, type NetworkMessage, type NodeId, RawNode } from '@flotilla/raft';

interface Member {
  node: RawNode;
  storage: MemoryStorage;
  applied: number;
}

function cluster(ids: NodeId[]): Map<NodeId, Member> {
  const m = new Map<NodeId, Member>();
  for (const id of ids) {
    const storage = new MemoryStorage();
    const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, maxInflightMsgs: 256 });
    node.bootstrap(ids);
    m.set(id, { node, storage, applied: 0 });
  }
  return m;
}

/** Handles Readies and delivers messages until quiet; returns entries applied by `counted`. */
function pump(members: Map<NodeId, Member>): void {
  let queue: NetworkMessage[] = [];
  for (;;) {
    let busy = false;
    for (const mem of members.values()) {
      const node = mem.node;
      while (node.hasReady()) {
        busy = true;
        const rd = node.ready();
        if (rd.snapshot !== undefined) mem.storage.applySnapshot(rd.snapshot);
        if (rd.entries.length > 0) mem.storage.append(rd.entries);
        if (rd.hardState !== undefined) mem.storage.setHardState(rd.hardState);
        for (const msg of rd.messages) queue.push(msg);
        mem.applied += rd.committedEntries.length;
        node.advance();
      }
    }
    if (queue.length === 0 && !busy) return;
    const q = queue;
    queue = [];
    for (const msg of q) members.get(msg.to)?.node.step(msg);
  }
}

function compact(members: Map<NodeId, Member>): void {
  for (const mem of members.values()) {
    const applied = mem.node.status().applied;
    const keep = applied - 1000;
    if (keep > mem.storage.firstIndex()) mem.storage.compact(keep);
  }
}

/** CPU seconds of this process (user + system): less sensitive than wall time to other load. */
function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function batched(batch: number, seconds: number): { rate: number; cpuRate: number; entries: number } {
  const members = cluster([1, 2, 3]);
  pump(members);
  const leader = members.get(1) as Member;
  leader.node.campaign();
  pump(members);
  const payload = new Uint8Array(128).fill(7);
  const start = leader.applied;
  const t0 = performance.now();
  const c0 = cpu();
  let rounds = 0;
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < batch; i++) leader.node.propose(payload);
    pump(members);
    // Compact every ~16k entries, as a host keeping a bounded in-memory tail would.
    rounds += batch;
    if (rounds >= 16384) {
      rounds = 0;
      compact(members);
    }
  }
  const dt = (performance.now() - t0) / 1000;
  const dc = cpu() - c0;
  const n = leader.applied - start;
  return { rate: n / dt, cpuRate: n / dc, entries: n };
}

function roundTrips(seconds: number): number {
  const members = cluster([1, 2, 3]);
  pump(members);
  const leader = members.get(1) as Member;
  leader.node.campaign();
  pump(members);
  const payload = new Uint8Array(128);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    leader.node.propose(payload);
    pump(members);
    n++;
    if (n % 4096 === 0) compact(members);
  }
  return n / ((performance.now() - t0) / 1000);
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
for (const batch of [256, 1024, 4096]) {
  batched(batch, 0.5); // warm-up
  const { rate, cpuRate, entries } = batched(batch, 2);
  console.log(
    `batched proposals (batch ${batch}, 128 B): ${fmt(rate)} committed entries/s wall, ${fmt(cpuRate)} per CPU-second (${fmt(entries)} entries)`,
  );
}
roundTrips(0.5);
console.log(`single-proposal round trips: ${fmt(roundTrips(2))} /s`);
