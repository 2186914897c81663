import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { type ConfState, type Entry, MemoryStorage } from '@flotilla/raft';

const ent = (index: number, term: number, data = ''): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(data),
});
const cs: ConfState = {
  voters: [1, 2, 3],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

function storageWith(...ents: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(ents);
  return s;
}

const code = (c: string) => (err: unknown) => isFlotillaError(err, c);

describe('MemoryStorage', () => {
  test('a new storage is empty: first 1, last 0, term(0) = 0', () => {
    const s = new MemoryStorage();
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.deepEqual(s.entries(1, 1), []);
    assert.deepEqual(s.initialState().hardState, { term: 0, vote: 0, commit: 0 });
    assert.throws(() => s.term(1), code('UNAVAILABLE'));
  });

  test('append, entries and term, including size limits that always return one entry', () => {
    const s = storageWith(ent(1, 1, 'aa'), ent(2, 1, 'bb'), ent(3, 2, 'cc'));
    assert.equal(s.lastIndex(), 3);
    assert.deepEqual(
      s.entries(1, 4).map((e) => e.index),
      [1, 2, 3],
    );
    assert.deepEqual(
      s.entries(1, 4, 4).map((e) => e.index),
      [1, 2],
    );
    assert.deepEqual(
      s.entries(1, 4, 0).map((e) => e.index),
      [1],
    );
    assert.equal(s.term(3), 2);
    assert.throws(() => s.entries(1, 5), code('UNAVAILABLE'));
  });

  test('append truncates a conflicting suffix and refuses a gap without changing anything', () => {
    const s = storageWith(ent(1, 1), ent(2, 1), ent(3, 1));
    s.append([ent(2, 2), ent(3, 2), ent(4, 2)]);
    assert.deepEqual(
      s.entries(1, 5).map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 2],
        [3, 2],
        [4, 2],
      ],
    );
    assert.throws(() => s.append([ent(6, 2)]), code('UNAVAILABLE'));
    assert.equal(s.lastIndex(), 4);
  });

  test('compact keeps the term at the seam and refuses to go backwards', () => {
    const s = storageWith(ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 3));
    s.compact(2);
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.term(2), 1);
    assert.throws(() => s.term(1), code('COMPACTED'));
    assert.throws(() => s.entries(2, 4), code('COMPACTED'));
    assert.throws(() => s.compact(2), code('COMPACTED'));
    assert.throws(() => s.compact(9), code('UNAVAILABLE'));
    // Appending entries that overlap the compacted prefix keeps only the new part.
    s.append([ent(2, 1), ent(3, 2), ent(4, 4), ent(5, 4)]);
    assert.deepEqual(
      s.entries(3, 6).map((e) => [e.index, e.term]),
      [
        [3, 2],
        [4, 4],
        [5, 4],
      ],
    );
    // Appending only compacted entries is a no-op.
    s.append([ent(1, 1)]);
    assert.equal(s.lastIndex(), 5);
  });

  test('createSnapshot and applySnapshot', () => {
    const s = storageWith(ent(1, 1), ent(2, 1), ent(3, 2));
    const snap = s.createSnapshot(2, cs, new Uint8Array([7]));
    assert.deepEqual(snap.metadata, { index: 2, term: 1, confState: cs });
    assert.equal(s.snapshot(), snap);
    assert.deepEqual(s.initialState().confState, cs);
    assert.throws(() => s.createSnapshot(2, cs, new Uint8Array()), code('SNAP_OUT_OF_DATE'));
    assert.throws(() => s.createSnapshot(9, cs, new Uint8Array()), code('UNAVAILABLE'));

    const t = new MemoryStorage();
    t.applySnapshot({ metadata: { index: 10, term: 4, confState: cs }, data: new Uint8Array([1]) });
    assert.equal(t.firstIndex(), 11);
    assert.equal(t.lastIndex(), 10);
    assert.equal(t.term(10), 4);
    assert.throws(
      () => t.applySnapshot({ metadata: { index: 9, term: 4, confState: cs }, data: new Uint8Array() }),
      code('SNAP_OUT_OF_DATE'),
    );
    t.append([ent(11, 4)]);
    assert.equal(t.lastIndex(), 11);
  });

  test('setHardState is reported by initialState', () => {
    const s = new MemoryStorage();
    s.setHardState({ term: 3, vote: 2, commit: 1 });
    assert.deepEqual(s.initialState().hardState, { term: 3, vote: 2, commit: 1 });
  });
});
