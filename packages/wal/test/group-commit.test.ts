import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '@flotilla/raft';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import { code, ent, ents, hs, viewOf } from './helpers.js';

/** Small segments: with the simulated disk, recovery reads whole (preallocated) segments. */
const SEG = 64 * 1024;
const DIR = '/g';

describe('group commit', () => {
  test('saves resolve in call order, and concurrent saves share one write and one fsync', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 0), entries: [], mustSync: true });
    const { writes, syncs } = { ...fs.stats };
    const order: number[] = [];
    const calls = [];
    for (let i = 1; i <= 50; i++)
      calls.push(rs.save({ entries: [ent(i, 1)], mustSync: true }).then(() => order.push(i)));
    await Promise.all(calls);
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, k) => k + 1),
    );
    assert.equal(fs.stats.writes - writes, 1, 'one write for the batch');
    assert.equal(fs.stats.syncs - syncs, 1, 'one fsync for the batch');
    assert.equal(rs.storage.lastIndex(), 50);
    await rs.close();
  });

  test('saves issued while an fsync is in flight are written together and share the next fsync', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 0), entries: [], mustSync: true });
    const later: Promise<void>[] = [];
    let syncing = 0;
    let seenInFirstSync = -1;
    fs.setFaultHook((op) => {
      if (op.kind === 'sync' && op.path.endsWith('.wal') && ++syncing === 1) {
        // The first batch is being fsynced: Raft must not see its entries in storage yet.
        seenInFirstSync = rs.storage.lastIndex();
        for (let i = 3; i <= 12; i++) later.push(rs.save({ entries: [ent(i, 1)], mustSync: true }));
      }
      return undefined;
    });
    const syncs = fs.stats.syncs;
    await rs.save({ entries: ents(1, 2, 1), mustSync: true });
    assert.equal(seenInFirstSync, 0, 'storage changes only after the fsync');
    assert.equal(rs.storage.lastIndex(), 2, 'and before the save resolves');
    await Promise.all(later);
    assert.equal(fs.stats.syncs - syncs, 2, 'the ten saves shared the second fsync');
    assert.equal(rs.storage.lastIndex(), 12);
    fs.clearFaults();
    await rs.close();
  });

  test('a save without mustSync is written but not fsynced; a later mustSync save makes it durable', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 0), entries: ents(1, 3, 1), mustSync: true });
    const syncs = fs.stats.syncs;
    await rs.save({ hardState: hs(1, 1, 2), entries: [], mustSync: false });
    assert.equal(fs.stats.syncs, syncs, 'no fsync');
    assert.deepEqual(rs.hardState, hs(1, 1, 2));
    await rs.save({ entries: [], mustSync: true }); // a barrier
    assert.equal(fs.stats.syncs, syncs + 1);
    fs.crash({ rng: seededRandom(5), writes: 'drop' });
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(again.hardState, hs(1, 1, 2));
    await again.close();
  });

  test('an fsync failure fails every pending and later call with WAL_IO; storage shows only acknowledged data', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1), mustSync: true });
    const acknowledged = viewOf(rs);
    fs.failNextSync();
    const results = await Promise.allSettled([
      rs.save({ entries: [ent(3, 1)], mustSync: true }),
      rs.save({ entries: [ent(4, 1)], mustSync: true }),
    ]);
    for (const r of results) assert.ok(r.status === 'rejected' && code('WAL_IO')(r.reason));
    assert.deepEqual(viewOf(rs), acknowledged);
    await assert.rejects(rs.save({ entries: [ent(3, 1)], mustSync: true }), code('WAL_IO'));
    await assert.rejects(
      rs.saveSnapshot({ metadata: { index: 1, term: 1, confState: viewOfConf() }, data: new Uint8Array() }),
      code('WAL_IO'),
    );
    await rs.close();
    // Reopening (even without a crash) gives the acknowledged state back.
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(viewOf(again), acknowledged);
    await again.save({ entries: [ent(3, 1)], mustSync: true });
    await again.close();
  });

  test('a failed or short write fails the batch with WAL_IO and recovery cuts the partial frame', async () => {
    for (const partialBytes of [0, 5, 40]) {
      const fs = new SimFileSystem();
      const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
      await rs.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1), mustSync: true });
      fs.setFaultHook((op) => (op.kind === 'write' ? { fail: 'ENOSPC', partialBytes } : undefined));
      await assert.rejects(rs.save({ entries: ents(3, 9, 1), mustSync: true }), code('WAL_IO'));
      fs.clearFaults();
      await rs.close();
      const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
      assert.equal(again.storage.lastIndex(), 2);
      await again.close();
    }
  });

  test('a crash drops only what was not acknowledged', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 0), entries: ents(1, 5, 1), mustSync: true });
    const pending = rs.save({ entries: ents(6, 9, 1), mustSync: true });
    fs.crash({ rng: seededRandom(11) });
    await assert.rejects(pending, code('WAL_IO'));
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.ok(again.storage.lastIndex() === 5 || again.storage.lastIndex() === 9);
    await again.close();
  });
});

function viewOfConf() {
  return { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}
