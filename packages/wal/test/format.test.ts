/**
 * The file format, checked against an independent reader written from the README (see
 * spec-reader.ts): if these pass, the README is enough for a tool to read a WAL directory.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import { crc32c } from '@node-rs/crc32';
import { ent, ents, hs, snap, viewOf } from './helpers.js';
import { readSegment, readSnapshotFile, type SpecSegment } from './spec-reader.js';

const DIR = '/f';

test('CRC32C is the Castagnoli CRC (check value of "123456789" is e3069283)', () => {
  assert.equal(crc32c(Buffer.from('123456789')).toString(16), 'e3069283');
});

describe('segments and snapshots as documented', () => {
  test('a WAL directory read back by the spec reader gives the same log as recovery', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs, segmentBytes: 300 });
    await rs.save({ hardState: hs(1, 1, 0), entries: ents(1, 6, 1), mustSync: true });
    await rs.save({
      entries: [{ ...ent(7, 1, new Uint8Array([0, 255])), type: 'confChange' }],
      mustSync: true,
    });
    await rs.saveSnapshot(snap(5, 1, 'five'));
    await rs.save({ hardState: hs(2, 2, 5), entries: [ent(7, 2, 'seven')], mustSync: true });
    for (let i = 8; i <= 14; i++)
      await rs.save({ hardState: hs(2, 2, i - 1), entries: [ent(i, 2)], mustSync: true });
    const view = viewOf(rs);
    await rs.close();

    const names = fs.names(DIR);
    const walNames = names.filter((n) => /^[0-9a-f]{16}-[0-9a-f]{16}\.wal$/.test(n));
    assert.ok(walNames.length >= 3, 'several segments');
    const segments: SpecSegment[] = walNames.map((n) => readSegment(fs.peek(`${DIR}/${n}`)));

    // Names repeat the header; each non-last segment ends with a seal; the chain runs across files.
    for (const [k, seg] of segments.entries()) {
      const [seqHex, firstHex] = (walNames[k] ?? '').replace('.wal', '').split('-');
      assert.equal(seg.seq, Number.parseInt(seqHex ?? '', 16));
      assert.equal(seg.firstIndex, Number.parseInt(firstHex ?? '', 16));
      assert.equal(seg.frames[0]?.prev, seg.headerCrc, 'the first frame chains to the header');
      const checkpoint = seg.frames[0]?.records.map((r) => r.type) ?? [];
      assert.ok(
        checkpoint[0] === 2 && checkpoint.every((t) => t === 2 || t === 3),
        'a checkpoint starts each segment',
      );
      const next = segments[k + 1];
      if (next !== undefined) {
        const last = seg.frames[seg.frames.length - 1];
        assert.deepEqual(last?.records, [{ type: 4, value: { nextSeq: next.seq } }]);
        assert.equal(next.prevTail, last?.crc, 'the next header carries the chain');
      }
      if (k > 0) assert.equal(seg.seq, (segments[k - 1]?.seq ?? 0) + 1, 'sequence numbers are contiguous');
    }

    // Replaying the records by the documented rules gives the same state.
    let hardState = { term: 0, vote: 0, commit: 0 };
    let snapshotMarker: { index: number; term: number; crc: number } | undefined;
    const log = new Map<number, { term: number; type: number; data: string }>();
    for (const seg of segments) {
      for (const frame of seg.frames) {
        for (const r of frame.records) {
          if (r.type === 1) {
            const v = r.value as {
              first: number;
              entries: Array<{ index: number; term: number; type: number; data: string }>;
            };
            for (const i of [...log.keys()]) if (i >= v.first) log.delete(i);
            for (const e of v.entries) log.set(e.index, e);
          } else if (r.type === 2) hardState = r.value as typeof hardState;
          else if (r.type === 3) {
            const m = r.value as { index: number; term: number; crc: number; install: boolean };
            snapshotMarker = m;
            if (m.install) log.clear();
          }
        }
      }
    }
    assert.deepEqual(hardState, view.hardState);
    assert.ok(snapshotMarker !== undefined);
    const snapName = `${snapshotMarker.term.toString(16).padStart(16, '0')}-${snapshotMarker.index.toString(16).padStart(16, '0')}.snap`;
    const file = readSnapshotFile(fs.peek(`${DIR}/${snapName}`));
    assert.equal(file.crc, snapshotMarker.crc, 'the marker names the exact file');
    assert.equal(file.meta.index, 5);
    assert.deepEqual(file.meta.confState, {
      voters: [1, 2, 3],
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    });
    assert.equal(Buffer.from(file.data, 'hex').toString(), 'five');
    const entries = [...log.values()]
      .map((e, k) => ({ ...e, index: [...log.keys()][k] ?? 0 }))
      .filter((e) => e.index > 5)
      .sort((a, b) => a.index - b.index)
      .map((e) => [e.index, e.term, e.type === 1 ? 'confChange' : 'normal', e.data]);
    assert.deepEqual(entries, view.entries);
  });

  test('header bytes: magic, version, size, sequence, first index, previous tail, checksum', async () => {
    const fs = new SimFileSystem();
    const rs = await openReplicaStorage(DIR, { fs });
    await rs.close();
    const b = fs.peek(`${DIR}/0000000000000001-0000000000000001.wal`);
    assert.deepEqual(
      [...b.subarray(0, 28)],
      [0x46, 0x57, 0x41, 0x4c, 1, 0, 32, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    const seg = readSegment(b);
    // The first segment's checkpoint: an empty hard state and no snapshot.
    assert.deepEqual(seg.frames[0]?.records, [{ type: 2, value: { term: 0, vote: 0, commit: 0 } }]);
    assert.equal(b.length, 64 * 1024 * 1024, 'preallocated to segmentBytes');
  });
});
