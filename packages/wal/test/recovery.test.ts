import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '@flotilla/raft';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import { code, ent, ents, hex, hs, memoryLogger, snap, viewOf } from './helpers.js';
import { readSegment } from './spec-reader.js';

/** Small segments: with the simulated disk, recovery reads whole (preallocated) segments. */
const SEG = 64 * 1024;
const DIR = '/data/r1';
const segs = (fs: SimFileSystem) => fs.names(DIR).filter((n) => n.endsWith('.wal'));
const snaps = (fs: SimFileSystem) => fs.names(DIR).filter((n) => n.endsWith('.snap'));

describe('open and reopen', () => {
  test('a new directory gets one segment; reopening it gives an empty log', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(segs(fs), ['0000000000000001-0000000000000001.wal']);
    assert.equal(rs.storage.lastIndex(), 0);
    assert.deepEqual(rs.hardState, { term: 0, vote: 0, commit: 0 });
    assert.equal(rs.snapshot, undefined);
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.equal(again.storage.lastIndex(), 0);
    await again.close();
  });

  test('entries, hard state and entry types survive a reopen byte for byte', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    const data = new Uint8Array([0, 1, 2, 255]);
    await rs.save({
      hardState: hs(1, 1, 0),
      entries: [ent(1, 1, data), { ...ent(2, 1), type: 'confChange' }],
      mustSync: true,
    });
    await rs.save({ hardState: hs(2, 3, 2), entries: [ent(3, 2, new Uint8Array(0))], mustSync: true });
    const before = viewOf(rs);
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(viewOf(again), before);
    assert.equal(hex(again.storage.entries(1, 2)[0]?.data ?? new Uint8Array()), '000102ff');
    assert.equal(again.storage.entries(2, 3)[0]?.type, 'confChange');
    assert.deepEqual(again.hardState, hs(2, 3, 2));
    await again.close();
  });

  test('bad options are refused with WAL_INVALID_ARGUMENT', async () => {
    const fs = new SimFileSystem();
    await assert.rejects(openReplicaStorage('', { fs }), code('WAL_INVALID_ARGUMENT'));
    await assert.rejects(openReplicaStorage(DIR, { fs, segmentBytes: 0 }), code('WAL_INVALID_ARGUMENT'));
    await assert.rejects(openReplicaStorage(DIR, { fs, segmentBytes: 1.5 }), code('WAL_INVALID_ARGUMENT'));
  });

  test('a directory open elsewhere is WAL_LOCKED until closed or the holder crashes', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await assert.rejects(openReplicaStorage(DIR, { fs, segmentBytes: SEG }), code('WAL_LOCKED'));
    await rs.close();
    const second = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    fs.crash({ rng: seededRandom(1) });
    const third = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    // The crashed "process" is fenced off: its calls fail and touch nothing of the new one's.
    const files = fs.names(DIR).map((n) => [n, hex(fs.peek(`${DIR}/${n}`))]);
    await assert.rejects(second.save({ entries: [ent(1, 1)], mustSync: true }), code('WAL_IO'));
    await assert.rejects(second.compact(0), code('WAL_IO'));
    await second.close();
    assert.deepEqual(
      fs.names(DIR).map((n) => [n, hex(fs.peek(`${DIR}/${n}`))]),
      files,
    );
    await third.close();
  });

  test('calls after close are WAL_CLOSED; close waits for pending saves and is idempotent', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    const pending = rs.save({ hardState: hs(1, 1, 0), entries: ents(1, 3, 1), mustSync: true });
    const closing = rs.close();
    await pending;
    await closing;
    await rs.close();
    await assert.rejects(rs.save({ entries: [], mustSync: true }), code('WAL_CLOSED'));
    await assert.rejects(rs.saveSnapshot(snap(1, 1)), code('WAL_CLOSED'));
    await assert.rejects(rs.compact(0), code('WAL_CLOSED'));
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.equal(again.storage.lastIndex(), 3);
    await again.close();
  });
});

describe('truncation of a conflicting suffix (§5.3)', () => {
  test('entries at an existing index replace it and everything after, live and after reopen', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 256 });
    await rs.save({ hardState: hs(1, 1, 2), entries: ents(1, 10, 1), mustSync: true });
    await rs.save({
      hardState: hs(2, 2, 2),
      entries: [ent(4, 2, 'new4'), ent(5, 2, 'new5')],
      mustSync: true,
    });
    assert.equal(rs.storage.lastIndex(), 5);
    assert.equal(rs.storage.term(4), 2);
    await rs.save({ entries: [ent(6, 2)], mustSync: true });
    const live = viewOf(rs);
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 256 });
    assert.deepEqual(viewOf(again), live);
    assert.deepEqual(
      again.storage.entries(1, 7).map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 2],
        [5, 2],
        [6, 2],
      ],
    );
    await again.close();
  });

  test('entries of an old term that were overwritten, then covered by a newer-term snapshot, recover', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 5), entries: ents(1, 10, 1), mustSync: true });
    await rs.save({ hardState: hs(2, 2, 8), entries: ents(6, 12, 2), mustSync: true });
    await rs.saveSnapshot(snap(8, 2));
    const live = viewOf(rs);
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(viewOf(again), live);
    assert.deepEqual(
      again.storage.entries(9, 13).map((e) => e.term),
      [2, 2, 2, 2],
    );
    await again.close();
  });

  test('a truncation reaching back into an older segment is replayed correctly', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 200 });
    for (let i = 1; i <= 12; i++)
      await rs.save({ hardState: hs(1, 1, 1), entries: [ent(i, 1)], mustSync: true });
    assert.ok(segs(fs).length >= 3);
    await rs.save({ hardState: hs(3, 2, 1), entries: [ent(2, 3, 'x')], mustSync: true });
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 200 });
    assert.deepEqual(
      again.storage.entries(1, 3).map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 3],
      ],
    );
    assert.equal(again.storage.lastIndex(), 2);
    await again.close();
  });
});

describe('segments', () => {
  test('the log rolls over to a new segment at segmentBytes; each segment names its first index', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 300 });
    for (let i = 1; i <= 20; i++) await rs.save({ entries: [ent(i, 1, 'x'.repeat(40))], mustSync: true });
    const names = segs(fs);
    assert.ok(names.length >= 5, `${names.length} segments`);
    for (const [k, name] of names.entries())
      assert.ok(name.startsWith((k + 1).toString(16).padStart(16, '0')));
    // No segment (but an oversized one) is longer than segmentBytes of data.
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 300 });
    assert.equal(again.storage.lastIndex(), 20);
    await again.close();
  });

  test('a save larger than a segment gets a segment of its own', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 128 });
    await rs.save({ entries: [ent(1, 1, 'a')], mustSync: true });
    await rs.save({ entries: [ent(2, 1, 'b'.repeat(1000)), ent(3, 1, 'c'.repeat(1000))], mustSync: true });
    await rs.save({ entries: [ent(4, 1, 'd')], mustSync: true });
    assert.equal(segs(fs).length, 3);
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 4096 });
    assert.equal(again.storage.lastIndex(), 4);
    assert.equal(again.storage.entries(3, 4)[0]?.data.byteLength, 1000);
    await again.close();
  });
});

describe('snapshots and compaction', () => {
  test('saveSnapshot keeps the log, becomes storage.snapshot(), and recovery starts after it', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 256 });
    await rs.save({ hardState: hs(1, 1, 8), entries: ents(1, 10, 1), mustSync: true });
    await rs.saveSnapshot(snap(6, 1, 'state@6'));
    assert.equal(rs.snapshot?.metadata.index, 6);
    assert.equal(rs.storage.snapshot().metadata.index, 6);
    assert.equal(rs.storage.firstIndex(), 1, 'entries stay until compact');
    assert.deepEqual(snaps(fs), ['0000000000000001-0000000000000006.snap']);
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 256 });
    assert.equal(again.snapshot?.metadata.index, 6);
    assert.equal(Buffer.from(again.snapshot?.data ?? []).toString(), 'state@6');
    assert.deepEqual(again.snapshot?.metadata.confState.voters, [1, 2, 3]);
    assert.equal(again.storage.firstIndex(), 7);
    assert.equal(again.storage.lastIndex(), 10);
    await again.close();
  });

  test("a leader's snapshot (save with snapshot) replaces the whole log", async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 2), entries: ents(1, 5, 1), mustSync: true });
    await rs.save({ snapshot: snap(20, 3), entries: [ent(21, 3)], hardState: hs(3, 2, 20), mustSync: true });
    assert.equal(rs.storage.firstIndex(), 21);
    assert.equal(rs.storage.lastIndex(), 21);
    assert.equal(rs.storage.term(20), 3);
    const live = viewOf(rs);
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(viewOf(again), live);
    await again.close();
  });

  test('compact drops whole segments below the snapshot, older snapshot files, and storage entries', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 200 });
    for (let i = 1; i <= 30; i++)
      await rs.save({ hardState: hs(1, 1, i), entries: [ent(i, 1)], mustSync: true });
    await rs.saveSnapshot(snap(10, 1));
    await rs.saveSnapshot(snap(20, 1));
    const before = segs(fs);
    await rs.compact(20);
    const after = segs(fs);
    assert.ok(after.length < before.length, 'segments were dropped');
    assert.deepEqual(after, before.slice(before.length - after.length), 'only the oldest ones');
    assert.deepEqual(snaps(fs), ['0000000000000001-0000000000000014.snap']);
    assert.equal(rs.storage.firstIndex(), 21);
    // Every segment left has entries above 20, except that the first may start at or below it.
    const firstLeft = Number.parseInt(after[1]?.split('-')[1]?.slice(0, 16) ?? '0', 16);
    assert.ok(firstLeft - 1 > 20);
    await rs.compact(20); // again: nothing to do
    await rs.compact(5); // lower: nothing to do
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 200 });
    assert.equal(again.storage.firstIndex(), 21);
    assert.equal(again.storage.lastIndex(), 30);
    assert.deepEqual(again.hardState, hs(1, 1, 30));
    await again.close();
  });

  test('compaction beyond the newest durable snapshot is refused and changes nothing', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 200 });
    await rs.save({ hardState: hs(1, 1, 5), entries: ents(1, 9, 1), mustSync: true });
    await assert.rejects(rs.compact(3), code('WAL_INVALID_ARGUMENT'));
    await assert.rejects(rs.compact(-1), code('WAL_INVALID_ARGUMENT'));
    await rs.saveSnapshot(snap(4, 1));
    await assert.rejects(rs.compact(5), code('WAL_INVALID_ARGUMENT'));
    await rs.compact(4);
    assert.equal(rs.storage.firstIndex(), 5);
    await rs.close();
  });
});

describe('bad input changes nothing', () => {
  test('each bad call is WAL_INVALID_ARGUMENT and the log stays as it was', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(2, 1, 3), entries: [ent(1, 1), ent(2, 2), ent(3, 2)], mustSync: true });
    await rs.saveSnapshot(snap(2, 2));
    const before = viewOf(rs);
    const bad: Array<() => Promise<void>> = [
      () => rs.save({ entries: [ent(5, 2)], mustSync: true }), // gap
      () => rs.save({ entries: [ent(4, 2), ent(6, 2)], mustSync: true }), // not contiguous
      () => rs.save({ entries: [ent(4, 3), ent(5, 2)], mustSync: true }), // term goes down
      () => rs.save({ entries: [ent(4, 1)], mustSync: true }), // below the term before it
      () => rs.save({ entries: [ent(2, 3)], mustSync: true }), // rewrites the snapshot
      () => rs.save({ entries: [{ ...ent(4, 2), data: 'x' as unknown as Uint8Array }], mustSync: true }),
      () => rs.save({ entries: [{ ...ent(4, 2), type: 'weird' as 'normal' }], mustSync: true }),
      () => rs.save({ entries: [ent(0, 2)], mustSync: true }),
      () => rs.save({ entries: 'no' as unknown as [], mustSync: true }),
      () => rs.save({ entries: [], mustSync: 'yes' as unknown as boolean }),
      () => rs.save(null as unknown as { entries: []; mustSync: true }),
      () => rs.save({ entries: [], hardState: { term: -1, vote: 0, commit: 0 }, mustSync: true }),
      () => rs.save({ entries: [], snapshot: snap(1, 1), mustSync: true }), // older snapshot
      () =>
        rs.save({
          entries: [],
          snapshot: { metadata: snap(9, 2).metadata, data: [] as unknown as Uint8Array },
          mustSync: true,
        }),
      () => rs.saveSnapshot(snap(2, 2)), // not newer
      () => rs.saveSnapshot(snap(7, 2)), // beyond the log
      () => rs.saveSnapshot(snap(3, 1)), // the log has term 2 there
      () =>
        rs.saveSnapshot({
          metadata: { ...snap(3, 2).metadata, confState: { voters: [0] } as never },
          data: new Uint8Array(),
        }),
    ];
    for (const [i, call] of bad.entries())
      await assert.rejects(call(), code('WAL_INVALID_ARGUMENT'), `bad call ${i}`);
    assert.deepEqual(viewOf(rs), before);
    await rs.save({ entries: [ent(4, 2)], mustSync: true });
    await rs.close();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(
      again.storage.entries(3, 5).map((e) => [e.index, e.term]),
      [
        [3, 2],
        [4, 2],
      ],
    );
    await again.close();
  });
});

describe('repairs a crash can require', () => {
  test('a torn last frame is cut off, reported, and cleared on disk', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 4096 });
    await rs.save({ hardState: hs(1, 1, 1), entries: ents(1, 3, 1), mustSync: true });
    await rs.close();
    const [name] = segs(fs);
    const path = `${DIR}/${name}`;
    const end = lastNonZero(fs.peek(path));
    // Bytes of a half-written frame after the last one: a frame header whose length runs past them.
    const at = ((end + 7) & ~7) + 64;
    fs.damage(path, (c) => {
      c.set([1, 2, 3, 4, 0x40, 0, 0, 0, 9, 9, 9, 9, 0x46, 0x52, 0x41, 0x4d, 7, 7, 7], at);
      return c;
    });
    const logger = memoryLogger();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 4096, logger });
    assert.equal(again.storage.lastIndex(), 3);
    assert.match(logger.messages.join('\n'), /torn tail/);
    assert.equal(lastNonZero(fs.peek(path)), end, 'the torn bytes were cleared');
    await again.save({ entries: [ent(4, 1)], mustSync: true });
    await again.close();
    const third = await openReplicaStorage(DIR, { fs, segmentBytes: 4096, logger });
    assert.equal(third.storage.lastIndex(), 4);
    assert.equal(logger.messages.length, 1);
    await third.close();
  });

  test('a segment cut interrupted before the seal is undone', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 160 });
    await rs.save({ hardState: hs(1, 1, 1), entries: ents(1, 2, 1), mustSync: true });
    // Crash right when the old segment's seal is written: the new segment exists, the seal does not.
    let writes = 0;
    fs.setFaultHook((op) =>
      op.kind === 'write' && op.path.endsWith('.wal') && ++writes === 1 ? { crash: 'before' } : undefined,
    );
    await assert.rejects(rs.save({ entries: ents(3, 8, 1), mustSync: true }), code('WAL_IO'));
    fs.clearFaults();
    const logger = memoryLogger();
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: 160, logger });
    assert.equal(again.storage.lastIndex(), 2);
    assert.match(logger.messages.join('\n'), /interrupted segment cut/);
    assert.equal(segs(fs).length, 1);
    await again.save({ entries: ents(3, 8, 1), mustSync: true });
    assert.equal(segs(fs).length, 2);
    await again.close();
  });

  test('temp files and snapshot files the WAL never recorded are removed', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 2), entries: ents(1, 2, 1), mustSync: true });
    await rs.close();
    for (const name of ['0000000000000001-0000000000000009.snap', 'x.snap.tmp', 'notes.txt']) {
      const h = await fs.create(`${DIR}/${name}`);
      await h.write(new Uint8Array([1, 2, 3]), 0);
      await h.close();
    }
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.deepEqual(
      fs.names(DIR).filter((n) => !n.endsWith('.wal') && !n.endsWith('.wal.tmp')),
      ['notes.txt'],
    );
    await again.close();
  });

  test('recovery makes what it read durable (a process crash leaves data only in the page cache)', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    await rs.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1), mustSync: true });
    await rs.save({ hardState: hs(1, 1, 2), entries: [], mustSync: false }); // written, not synced
    await rs.close(); // the process exits; the machine stays up
    const again = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.equal(again.hardState.commit, 2);
    fs.crash({ rng: seededRandom(3), writes: 'drop' }); // then the power fails
    const third = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    assert.equal(third.hardState.commit, 2, 'what recovery returned had been made durable');
    await third.close();
  });
});

describe('frames that must never be replayed', () => {
  async function threeFrames(
    fs: SimFileSystem,
  ): Promise<{ path: string; frames: Array<{ at: number; end: number }> }> {
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG });
    for (let i = 1; i <= 3; i++)
      await rs.save({ hardState: hs(1, 1, i - 1), entries: [ent(i, 1, 'z'.repeat(600))], mustSync: true });
    await rs.close();
    const [name] = fs.names(DIR).filter((n) => n.endsWith('.wal'));
    const path = `${DIR}/${name}`;
    const seg = readSegment(fs.peek(path));
    const frames = seg.frames.map((f, k) => ({
      at: f.offset,
      end: seg.frames[k + 1]?.offset ?? lastNonZero(fs.peek(path)),
    }));
    return { path, frames };
  }

  test('a valid frame copied from elsewhere (a stale frame) is refused, even at the tail', async () => {
    const fs = new SimFileSystem();
    const { path, frames } = await threeFrames(fs);
    const [, first, , third] = frames;
    assert.ok(first !== undefined && third !== undefined);
    fs.damage(path, (c) => {
      c.set(c.slice(first.at, first.end), (third.end + 7) & ~7);
      return c;
    });
    await assert.rejects(openReplicaStorage(DIR, { fs, segmentBytes: SEG }), (err: unknown) => {
      assert.ok(code('WAL_CORRUPT')(err));
      assert.match(String(err), /stale frame/);
      return true;
    });
  });

  test('a hole of zeros where a frame was (a lost page) followed by a valid frame is a torn tail', async () => {
    const fs = new SimFileSystem();
    const { path, frames } = await threeFrames(fs);
    const second = frames[2];
    assert.ok(second !== undefined);
    fs.damage(path, (c) => c.fill(0, second.at, second.end));
    const logger = memoryLogger();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEG, logger });
    assert.equal(rs.storage.lastIndex(), 1, 'cut at the hole: the frames after it were never synced');
    assert.match(logger.messages.join('\n'), /torn tail/);
    await rs.close();
  });

  test('a damaged frame followed by valid frames, without a hole, is corruption', async () => {
    const fs = new SimFileSystem();
    const { path, frames } = await threeFrames(fs);
    const second = frames[2];
    assert.ok(second !== undefined);
    fs.flipBit(path, (second.at + 100) * 8);
    await assert.rejects(openReplicaStorage(DIR, { fs, segmentBytes: SEG }), (err: unknown) => {
      assert.ok(code('WAL_CORRUPT')(err));
      assert.match(String(err), new RegExp(`offset ${second.at}`));
      return true;
    });
  });
});

function lastNonZero(b: Uint8Array): number {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return n;
}
