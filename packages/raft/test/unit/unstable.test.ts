import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { type Entry, type Snapshot, silentLogger, Unstable } from '@flotilla/raft';

const e = (index: number, term: number, size = 1): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(size),
});
const snap = (index: number, term: number): Snapshot => ({
  metadata: {
    index,
    term,
    confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  },
  data: new Uint8Array(0),
});
const idx = (ents: readonly Entry[]) => ents.map((x) => `${x.index}/${x.term}`);
const invariant = (err: unknown) => isFlotillaError(err, 'INVARIANT_VIOLATED');

function withEntries(offset: number, ...ents: Entry[]): Unstable {
  const u = new Unstable(offset, silentLogger);
  if (ents.length > 0) u.truncateAndAppend(ents);
  return u;
}

describe('Unstable', () => {
  test('first/last index and term come from entries or the snapshot', () => {
    const u = new Unstable(5, silentLogger);
    assert.equal(u.maybeFirstIndex(), undefined);
    assert.equal(u.maybeLastIndex(), undefined);
    assert.equal(u.maybeTerm(5), undefined);
    u.truncateAndAppend([e(5, 1), e(6, 2)]);
    assert.equal(u.maybeLastIndex(), 6);
    assert.equal(u.maybeTerm(6), 2);
    assert.equal(u.maybeTerm(4), undefined);
    assert.equal(u.maybeTerm(7), undefined);
    u.restore(snap(10, 3));
    assert.equal(u.maybeFirstIndex(), 11);
    assert.equal(u.maybeLastIndex(), 10);
    assert.equal(u.maybeTerm(10), 3);
    assert.equal(u.maybeTerm(9), undefined);
    assert.equal(u.length, 0);
  });

  test('nextEntries hands out each entry once; stableTo drops persisted ones', () => {
    const u = withEntries(5, e(5, 1), e(6, 1), e(7, 1));
    assert.equal(u.hasNextEntries(), true);
    assert.deepEqual(idx(u.nextEntries()), ['5/1', '6/1', '7/1']);
    u.acceptInProgress();
    assert.equal(u.hasNextEntries(), false);
    assert.deepEqual(u.nextEntries(), []);
    u.truncateAndAppend([e(8, 1)]);
    assert.deepEqual(idx(u.nextEntries()), ['8/1']);
    u.stableTo(6, 1);
    assert.equal(u.offset, 7);
    assert.equal(u.offsetInProgress, 8);
    assert.deepEqual(idx(u.slice(7, 9)), ['7/1', '8/1']);
    // Stale or mismatched reports are ignored.
    u.stableTo(6, 1);
    u.stableTo(8, 2);
    assert.equal(u.offset, 7);
    u.stableTo(8, 1);
    assert.equal(u.length, 0);
    assert.equal(u.offset, 9);
  });

  test('truncateAndAppend: append, replace, truncate; a gap is refused', () => {
    const u = withEntries(5, e(5, 1), e(6, 1), e(7, 1));
    u.acceptInProgress();
    u.truncateAndAppend([e(7, 2), e(8, 2)]);
    assert.deepEqual(idx(u.slice(5, 9)), ['5/1', '6/1', '7/2', '8/2']);
    assert.equal(u.offsetInProgress, 7, 'the overwritten entry must be handed out again');
    u.truncateAndAppend([e(4, 3), e(5, 3)]);
    assert.equal(u.offset, 4);
    assert.equal(u.offsetInProgress, 4);
    assert.deepEqual(idx(u.nextEntries()), ['4/3', '5/3']);
    assert.throws(() => u.truncateAndAppend([e(9, 3)]), invariant);
    assert.throws(() => u.appendOne(e(9, 3)), invariant);
    u.appendOne(e(6, 3));
    assert.equal(u.lastEntry()?.index, 6);
    // `from` skips a prefix of the input.
    u.truncateAndAppend([e(6, 3), e(7, 3)], 1);
    assert.deepEqual(idx(u.slice(4, 8)), ['4/3', '5/3', '6/3', '7/3']);
  });

  test('slice honours size limits and bounds', () => {
    const u = withEntries(1, e(1, 1, 10), e(2, 1, 10), e(3, 1, 10));
    assert.deepEqual(idx(u.slice(1, 4, 25)), ['1/1', '2/1']);
    assert.deepEqual(idx(u.slice(1, 4, 5)), ['1/1'], 'at least one entry');
    assert.deepEqual(idx(u.slice(1, 4, 0)), ['1/1'], '0 = exactly one entry');
    assert.deepEqual(idx(u.slice(2, 2)), []);
    assert.throws(() => u.slice(0, 2), invariant);
    assert.throws(() => u.slice(2, 5), invariant);
    assert.throws(() => u.slice(3, 2), invariant);
  });

  test('the snapshot is handed out once and dropped when persisted', () => {
    const u = new Unstable(1, silentLogger);
    u.restore(snap(7, 2));
    assert.equal(u.nextSnapshot()?.metadata.index, 7);
    u.acceptInProgress();
    assert.equal(u.nextSnapshot(), undefined);
    u.stableSnapTo(6);
    assert.notEqual(u.snapshot, undefined);
    u.stableSnapTo(7);
    assert.equal(u.snapshot, undefined);
    assert.equal(u.snapshotInProgress, false);
  });

  test('stableTo stays O(1) amortized over long runs (compacts the dead prefix)', () => {
    const u = new Unstable(1, silentLogger);
    for (let i = 1; i <= 5000; i++) {
      u.appendOne(e(i, 1));
      if (i % 3 === 0) u.stableTo(i - 1, 1);
    }
    assert.equal(u.offset, 4998);
    assert.deepEqual(idx(u.slice(4998, 5001)), ['4998/1', '4999/1', '5000/1']);
  });
});
