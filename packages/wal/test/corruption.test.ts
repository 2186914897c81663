/**
 * Damage every part of every file of a WAL directory (each byte gets a bit flipped, each file is
 * truncated at many offsets, each file is deleted) and check that recovery either refuses with
 * WAL_CORRUPT or returns a state the calls actually produced, never anything else. Only the last
 * frame of the last segment may be cut off (it is indistinguishable from a torn write); damage
 * anywhere else must be refused or have no effect.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import { ent, ents, hs, snap, type View, viewOf } from './helpers.js';
import { applyOp, EMPTY_VIEW, type Op, runOp } from './model.js';

const DIR = '/c';
const SEGMENT_BYTES = 400;

const OPS: Op[] = [
  { kind: 'save', rd: { hardState: hs(1, 1, 0), entries: ents(1, 3, 1), mustSync: true } },
  { kind: 'save', rd: { hardState: hs(1, 1, 3), entries: ents(4, 6, 1), mustSync: true } },
  { kind: 'save', rd: { hardState: hs(2, 2, 3), entries: ents(5, 6, 2), mustSync: true } }, // conflicting suffix
  { kind: 'snapshot', snap: snap(4, 1) },
  { kind: 'save', rd: { hardState: hs(2, 2, 8), entries: ents(7, 10, 2), mustSync: true } },
  { kind: 'compact', index: 4 },
  ...Array.from(
    { length: 6 },
    (_, k): Op => ({
      kind: 'save',
      rd: { hardState: hs(2, 2, 10 + k), entries: [ent(11 + k, 2, `entry ${11 + k}`)], mustSync: true },
    }),
  ),
  { kind: 'snapshot', snap: snap(12, 2) },
  { kind: 'compact', index: 12 },
  { kind: 'save', rd: { hardState: hs(3, 1, 18), entries: ents(17, 21, 3), mustSync: true } },
  {
    kind: 'save',
    rd: { snapshot: snap(30, 3), hardState: hs(3, 1, 30), entries: ents(31, 32, 3), mustSync: true },
  },
  ...Array.from(
    { length: 4 },
    (_, k): Op => ({
      kind: 'save',
      rd: { hardState: hs(3, 1, 31 + k), entries: [ent(33 + k, 3, `tail ${33 + k}`)], mustSync: true },
    }),
  ),
];

/** The files of the reference directory, and the views after each call. */
let files: Map<string, Uint8Array>;
let views: View[];
let full: string;
let beforeLast: string;
let lastSegment: string;

before(async () => {
  const fs = new SimFileSystem();
  const rs = await openReplicaStorage(DIR, { fs, segmentBytes: SEGMENT_BYTES });
  views = [EMPTY_VIEW];
  for (const op of OPS) {
    await runOp(rs, op);
    views.push(applyOp(views[views.length - 1] ?? EMPTY_VIEW, op));
  }
  assert.deepEqual(viewOf(rs), views[views.length - 1]);
  await rs.close();
  files = new Map(fs.names(DIR).map((n) => [n, fs.peek(`${DIR}/${n}`)]));
  full = JSON.stringify(views[views.length - 1]);
  beforeLast = JSON.stringify(views[views.length - 2]);
  lastSegment =
    [...files.keys()]
      .filter((n) => n.endsWith('.wal'))
      .sort()
      .pop() ?? '';
});

async function recoverWith(edit: (fs: SimFileSystem) => void): Promise<string> {
  const fs = new SimFileSystem();
  await fs.mkdir(DIR);
  for (const [name, content] of files) {
    const h = await fs.create(`${DIR}/${name}`);
    await h.write(content, 0);
    await h.sync();
    await h.close();
  }
  await fs.fsyncDir(DIR);
  edit(fs);
  try {
    const rs = await openReplicaStorage(DIR, {
      fs,
      segmentBytes: SEGMENT_BYTES,
      logger: { warn: () => undefined },
    });
    const got = JSON.stringify(viewOf(rs));
    await rs.close();
    return got;
  } catch (err) {
    if (isFlotillaError(err, 'WAL_CORRUPT')) return 'WAL_CORRUPT';
    throw err;
  }
}

describe('corruption', () => {
  test('the reference directory has several segments, a snapshot file and compacted history', () => {
    const names = [...files.keys()];
    assert.ok(names.filter((n) => n.endsWith('.wal')).length >= 3, names.join(' '));
    assert.ok(
      !names.includes('0000000000000001-0000000000000001.wal'),
      'the oldest segments were compacted away',
    );
    assert.ok(names.some((n) => n.endsWith('.snap')));
  });

  test('a flipped bit anywhere is refused, harmless, or (in the last frame only) cuts that frame', async () => {
    const outcomes = { corrupt: 0, unchanged: 0, cut: 0 };
    for (const [name, content] of files) {
      if (name.endsWith('.tmp')) continue;
      // Every byte holding data, and a sample of the preallocated zeros after it.
      let dataEnd = content.length;
      while (dataEnd > 0 && content[dataEnd - 1] === 0) dataEnd--;
      for (let byte = 0; byte < content.length; byte += byte < dataEnd + 16 ? 1 : 13) {
        const got = await recoverWith((fs) => fs.flipBit(`${DIR}/${name}`, byte * 8 + (byte % 8)));
        const where = `${name} byte ${byte}`;
        if (got === 'WAL_CORRUPT') outcomes.corrupt++;
        else if (got === full) outcomes.unchanged++;
        else {
          assert.equal(got, beforeLast, `${where}: recovered a state no call sequence produced`);
          assert.equal(name, lastSegment, `${where}: only the last segment's last frame may be cut`);
          outcomes.cut++;
        }
      }
    }
    assert.ok(
      outcomes.corrupt > 1000 && outcomes.cut > 0 && outcomes.unchanged > 0,
      JSON.stringify(outcomes),
    );
  });

  test('truncation is refused, or (in the last segment) leaves a state some prefix of the calls produced', async () => {
    const allowed = new Set(views.map((v) => JSON.stringify(v)));
    for (const [name, content] of files) {
      for (let size = 0; size < content.length; size += size < 64 ? 1 : 7) {
        const got = await recoverWith((fs) => fs.damage(`${DIR}/${name}`, (c) => c.subarray(0, size)));
        const where = `${name} cut to ${size}`;
        if (got === 'WAL_CORRUPT' || got === full) continue;
        assert.ok(allowed.has(got), `${where}: recovered a state no call sequence produced`);
        assert.equal(name, lastSegment, `${where}: only a cut of the last segment may lose data`);
      }
    }
  });

  test('a deleted segment or snapshot file is refused unless nothing recovery needs was in it', async () => {
    const segments = [...files.keys()].filter((n) => n.endsWith('.wal')).sort();
    const snapshots = [...files.keys()].filter((n) => n.endsWith('.snap'));
    const newestSnapshot = snapshots.sort((x, y) => x.slice(17).localeCompare(y.slice(17))).pop();
    for (const name of files.keys()) {
      const got = await recoverWith((fs) => fs.unlink(`${DIR}/${name}`));
      assert.ok(got === 'WAL_CORRUPT' || got === full, `${name}: never wrong data`);
      // A hole in the sequence, a lost last segment, a lost recorded snapshot: refused. (The
      // oldest segment may go: here the installed snapshot covers everything in it.)
      const needed = name === newestSnapshot || (name.endsWith('.wal') && name !== segments[0]);
      if (needed) assert.equal(got, 'WAL_CORRUPT', name);
      if (name.endsWith('.tmp')) assert.equal(got, full, name);
    }
    const allGone = await recoverWith((fs) => {
      for (const n of segments) fs.unlink(`${DIR}/${n}`);
    });
    assert.equal(allGone, 'WAL_CORRUPT', 'a snapshot without any segment');
  });
});
