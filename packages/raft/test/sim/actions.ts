import { isFlotillaError } from '@flotilla/errors';
import type { RawNode } from '@flotilla/raft';
import type { SimCluster } from './cluster.js';
import type { SimNode } from './node.js';

/**
 * The simulation's actions besides ticking and delivering: host work, client requests, and the
 * faults (crashes, restarts, partitions, transfers, compactions). Each draws what it needs from
 * the cluster's PRNG, so a seed replays exactly.
 */

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Host work on a random live node: take its Ready or persist a pending one. */
export function hostWork(c: SimCluster): boolean {
  const live = c.live();
  if (live.length === 0) return false;
  const n = c.rng.pick(live);
  const raft = n.raft as RawNode;
  if (n.pending.length > 0 && (n.awaitingAdvance || c.rng.chance(0.5))) {
    c.persist(n);
    return true;
  }
  if (n.awaitingAdvance || !raft.hasReady()) return false;
  c.takeReady(n, c.rng.chance(c.profile.pPersistNow));
  return true;
}

export function propose(c: SimCluster): void {
  const live = c.live();
  if (live.length === 0) return;
  const lead = c.leader();
  const n = lead !== undefined && c.rng.chance(0.7) ? lead.n : c.rng.pick(live);
  const data = `p${c.seed}.${c.nextData++}`;
  c.counts.proposals++;
  try {
    (n.raft as RawNode).propose(enc(data));
    if (c.traceSink !== undefined) c.trace(`propose ${data} on ${n.id}`);
  } catch (err) {
    if (!isFlotillaError(err, 'PROPOSAL_DROPPED')) throw err;
    if (c.traceSink !== undefined) c.trace(`propose ${data} on ${n.id}: dropped`);
  }
}

export function readIndex(c: SimCluster): void {
  const live = c.live();
  if (live.length === 0) return;
  const n = c.rng.pick(live);
  const ctx = `r${c.seed}.${c.nextData++}`;
  let committedNow = 0;
  for (const o of c.live()) committedNow = Math.max(committedNow, (o.raft as RawNode).status().commit);
  c.inv.readRequested(ctx, committedNow);
  c.counts.reads++;
  (n.raft as RawNode).readIndex(enc(ctx));
  if (c.traceSink !== undefined) c.trace(`readIndex ${ctx} on ${n.id} (committed ${committedNow})`);
}

export function crash(c: SimCluster, n: SimNode): void {
  c.crash(n);
}

export function restart(c: SimCluster, n: SimNode): void {
  if (c.broken === 'ackBeforePersist') n.loseUnsyncedWrites();
  if (c.broken === 'forgetVote') {
    const hs = n.storage.initialState().hardState;
    n.storage.setHardState({ ...hs, vote: 0 });
  }
  n.incarnation++;
  n.reload();
  c.inv.restored(n.id, n.incarnation, n.smIndex);
  n.raft = c.newRawNode(n, n.smIndex);
  c.trace(`restart ${n.id} (applied ${n.smIndex}, log ${n.log.firstIndex()}..${n.log.lastIndex()})`);
}

/** Splits the live members into two groups, or isolates one. */
export function partition(c: SimCluster): void {
  const ids = c.live().map((n) => n.id);
  if (ids.length < 2) return;
  c.groups.clear();
  if (c.rng.chance(0.5)) {
    c.groups.set(c.rng.pick(ids), 1);
  } else {
    // A random non-trivial split.
    const minority = c.rng.int(1, Math.floor(ids.length / 2) + 1);
    const shuffled = [...ids].sort(() => c.rng.next() - 0.5);
    for (const id of shuffled.slice(0, minority)) c.groups.set(id, 1);
  }
  c.counts.partitions++;
  c.trace(`partition ${[...c.groups.keys()].join(',')} | rest`);
}

export function heal(c: SimCluster): void {
  c.groups.clear();
  c.trace('heal');
}

export function transfer(c: SimCluster): void {
  const lead = c.leader();
  if (lead === undefined) return;
  const voters = lead.s.config.voters.filter((id) => id !== lead.n.id);
  if (voters.length === 0) return;
  const to = c.rng.pick(voters);
  c.counts.transfers++;
  c.trace(`transfer ${lead.n.id} -> ${to}`);
  (lead.n.raft as RawNode).transferLeader(to);
}

/** The host snapshots its state machine at its applied index and compacts part of the log. */
export function compact(c: SimCluster, n: SimNode): void {
  if (!n.up || n.pending.length > 0) return;
  const s = n.storage;
  if (n.smIndex <= s.snapshot().metadata.index || n.smIndex > s.lastIndex()) return;
  s.createSnapshot(n.smIndex, n.confState, n.snapshotData());
  const keep = c.rng.int(0, 8);
  const upTo = n.smIndex - keep;
  if (upTo >= s.firstIndex()) s.compact(upTo);
  c.counts.snapshots++;
  c.trace(`snapshot ${n.id} at ${n.smIndex}, log from ${s.firstIndex()}`);
}

/** Takes a snapshot at the applied index if it is newer than the stored one (no compaction). */
export function refreshSnapshot(n: SimNode): void {
  const s = n.storage;
  if (!n.up || n.pending.length > 0) return;
  if (n.smIndex <= s.snapshot().metadata.index || n.smIndex > s.lastIndex()) return;
  s.createSnapshot(n.smIndex, n.confState, n.snapshotData());
}
