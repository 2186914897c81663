import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Replica, SimClock, silentLogger } from '@flotilla/replica';
import { MemoryNetwork } from '@flotilla/replica/testing';
import { openReplicaStorage, type ReplicaStorage, type SaveRequest, SimFileSystem } from '@flotilla/wal';
import {
  assertLogsAgree,
  counterCluster,
  counterOf,
  forEachSeed,
  seeds,
  waitApplied,
} from './helpers/cluster.js';
import { add, Counter } from './helpers/counter.js';

/** `rs`, recording every `save` it is asked for. */
function recording(rs: ReplicaStorage): { storage: ReplicaStorage; saves: SaveRequest[] } {
  const saves: SaveRequest[] = [];
  const storage: ReplicaStorage = {
    get storage() {
      return rs.storage;
    },
    get hardState() {
      return rs.hardState;
    },
    get snapshot() {
      return rs.snapshot;
    },
    save: (rd) => {
      saves.push({ ...rd, entries: [...rd.entries] });
      return rs.save(rd);
    },
    saveSnapshot: (snap) => rs.saveSnapshot(snap),
    compact: (index) => rs.compact(index),
    close: () => rs.close(),
  };
  return { storage, saves };
}

test('a Ready that only moves the commit index writes nothing; the next save carries it, and stop() writes it', async () => {
  const fs = new SimFileSystem();
  const { storage, saves } = recording(await openReplicaStorage('/r', { fs }));
  const counter = new Counter();
  const r = await Replica.create({
    id: 1,
    peers: [1],
    storage,
    stateMachine: counter,
    transport: new MemoryNetwork({ seed: 1, clock: new SimClock() }).transport(1),
    clock: new SimClock(),
    logger: silentLogger,
  });
  const elected = new Promise<void>((resolve) => r.once('leader', () => resolve()));
  r.campaign();
  await elected;
  let last = 0;
  for (let n = 1; n <= 5; n++) last = (await r.propose(add(n))).index;
  assert.equal(counter.value, 15);
  // No save of a lone commit index (Raft says no fsync is needed, and nothing waits for it).
  const commitOnly = saves.filter((s) => s.entries.length === 0 && s.snapshot === undefined && !s.mustSync);
  assert.deepEqual(commitOnly, []);
  // Each proposal's entries carry the commit index the previous proposal reached.
  const withEntries = saves.filter((s) => s.entries.length > 0);
  for (const s of withEntries.slice(-4)) {
    const first = s.entries[0]?.index as number;
    assert.equal(s.hardState?.commit, first - 1, `the save of entry ${first} carries commit ${first - 1}`);
  }
  // The newest commit index is not durable yet...
  assert.ok(storage.hardState.commit < last);
  await r.stop();
  // ...until a graceful stop writes it: a restart replays everything that was applied.
  const again = await openReplicaStorage('/r', { fs });
  assert.equal(again.hardState.commit, last);
  const replayed = new Counter();
  const r2 = await Replica.create({
    id: 1,
    storage: again,
    stateMachine: replayed,
    transport: new MemoryNetwork({ seed: 2, clock: new SimClock() }).transport(1),
    clock: new SimClock(),
    logger: silentLogger,
  });
  assert.equal(replayed.value, 15);
  await r2.stop();
});

test('a snapshot taken while the newest commit index is unsaved survives a power loss (many seeds)', async () => {
  await forEachSeed(seeds(4, 1200), async (seed) => {
    const cluster = await counterCluster(seed, { replica: { snapshotEvery: 1, snapshotCatchUpEntries: 1 } });
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader.id) as number;
    let taken = 0;
    cluster.replica(follower).on('snapshot', (_index, kind) => {
      if (kind === 'taken') taken++;
    });
    let last = 0;
    // Sequential writes: every commit reaches the follower alone, in an `app` that moves nothing
    // but its commit index, and (snapshotEvery 1) the follower takes a snapshot right after
    // applying it, with that commit index not yet written. Without writing it first, the crash
    // below leaves a snapshot above the stored commit index, and the restart fails.
    for (let n = 1; n <= 10; n++) last = (await cluster.settle(leader.propose(add(n)))).index;
    await waitApplied(cluster, last);
    assert.ok(taken > 0, 'the follower took snapshots');
    await cluster.run(5);
    await cluster.crash(follower);
    // Recovery refuses a stored commit index below the snapshot's (INVARIANT_VIOLATED): the
    // replica wrote it before the snapshot.
    await cluster.start(follower);
    await cluster.settle(leader.propose(add(100)));
    await waitApplied(cluster, last + 1);
    assert.equal(counterOf(cluster, follower).value, 155);
    assertLogsAgree(cluster);
    assert.deepEqual(cluster.errors, []);
    await cluster.close();
  });
});

test('stop() lets a snapshot being saved finish (and its compaction), and reports no error', async () => {
  const fs = new SimFileSystem();
  const rs = await openReplicaStorage('/r', { fs });
  // The snapshot's save waits for `open()`, so stop() comes while it is in flight.
  let open = (): void => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let saving = false;
  const storage: ReplicaStorage = {
    get storage() {
      return rs.storage;
    },
    get hardState() {
      return rs.hardState;
    },
    get snapshot() {
      return rs.snapshot;
    },
    save: (rd) => rs.save(rd),
    saveSnapshot: (snap) => {
      saving = true;
      return gate.then(() => rs.saveSnapshot(snap));
    },
    compact: (index) => rs.compact(index),
    close: () => rs.close(),
  };
  const errors: Error[] = [];
  const r = await Replica.create({
    id: 1,
    peers: [1],
    storage,
    stateMachine: new Counter(),
    transport: new MemoryNetwork({ seed: 1, clock: new SimClock() }).transport(1),
    clock: new SimClock(),
    logger: silentLogger,
    snapshotEvery: 1,
    snapshotCatchUpEntries: 0,
  });
  r.on('error', (err) => errors.push(err));
  const elected = new Promise<void>((resolve) => r.once('leader', () => resolve()));
  r.campaign();
  await elected;
  await r.propose(add(7));
  assert.ok(saving, 'a snapshot is being saved');
  const stopped = r.stop();
  await new Promise((resolve) => setImmediate(resolve));
  open();
  await stopped;
  assert.deepEqual(errors, []);
  const again = await openReplicaStorage('/r', { fs });
  assert.ok(again.snapshot !== undefined, 'the snapshot is durable');
  assert.ok(again.snapshot.metadata.index <= again.hardState.commit);
  await again.close();
});
