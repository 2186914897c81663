import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  type Entry,
  MemoryStorage,
  RaftError,
  RaftLog,
  type Snapshot,
  type Storage,
  silentLogger,
} from '@flotilla/raft';

const e = (index: number, term: number, size = 1): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(size),
});
const terms = (...ts: number[]): Entry[] => ts.map((t, i) => e(i + 1, t));
const idx = (ents: readonly Entry[] | undefined) => (ents ?? []).map((x) => `${x.index}/${x.term}`);
const invariant = (err: unknown) => isFlotillaError(err, 'INVARIANT_VIOLATED');
const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

/** A log whose first `stable` entries are in storage and the rest unstable. */
function log(ents: Entry[], stable = ents.length, maxApplying = Number.POSITIVE_INFINITY): RaftLog {
  const s = new MemoryStorage();
  s.append(ents.slice(0, stable));
  const l = new RaftLog(s, maxApplying, silentLogger);
  if (stable < ents.length) l.append(ents.slice(stable));
  return l;
}

describe('RaftLog', () => {
  test('term, matchTerm and the cached last entry over storage + unstable', () => {
    const l = log(terms(1, 1, 2, 3), 2);
    assert.equal(l.lastIndex(), 4);
    assert.equal(l.lastTerm(), 3);
    assert.equal(l.firstIndex(), 1);
    assert.equal(l.term(0), 0);
    assert.equal(l.term(2), 1);
    assert.equal(l.term(3), 2);
    assert.equal(l.term(5), undefined);
    assert.ok(l.matchTerm(4, 3));
    assert.ok(!l.matchTerm(4, 2));
  });

  test('term is undefined below the compaction point; the seam term is kept', () => {
    const s = new MemoryStorage();
    s.append(terms(1, 1, 2, 2, 3));
    s.compact(3);
    const l = new RaftLog(s, Number.POSITIVE_INFINITY, silentLogger);
    assert.equal(l.firstIndex(), 4);
    assert.equal(l.term(3), 2);
    assert.equal(l.term(2), undefined);
    assert.equal(l.slice(2, 4, Number.POSITIVE_INFINITY), undefined, 'compacted');
    assert.equal(l.committed, 3, 'the snapshot is committed and applied');
    assert.equal(l.applied, 3);
  });

  test('isUpToDate (§5.4.1): higher last term wins, then longer log', () => {
    const l = log(terms(1, 2, 2));
    assert.ok(l.isUpToDate(3, 2));
    assert.ok(l.isUpToDate(4, 2));
    assert.ok(!l.isUpToDate(2, 2));
    assert.ok(l.isUpToDate(1, 3));
    assert.ok(!l.isUpToDate(9, 1));
  });

  test('findConflict: 0 when all present, the first new index, or the first conflict', () => {
    const l = log(terms(1, 2, 3));
    assert.equal(l.findConflict([]), 0);
    assert.equal(l.findConflict([e(1, 1), e(2, 2)]), 0);
    assert.equal(l.findConflict([e(2, 2), e(3, 3), e(4, 4)]), 4);
    assert.equal(l.findConflict([e(2, 2), e(3, 4)]), 3);
  });

  test('findConflictByTerm skips every entry with a higher term (fast back-off)', () => {
    // index: 1 2 3 4 5 6 7 / terms 1 1 2 2 3 3 3
    const l = log(terms(1, 1, 2, 2, 3, 3, 3));
    assert.deepEqual(l.findConflictByTerm(7, 2), { index: 4, term: 2 });
    assert.deepEqual(l.findConflictByTerm(7, 3), { index: 7, term: 3 });
    assert.deepEqual(l.findConflictByTerm(7, 0), { index: 0, term: 0 });
    assert.deepEqual(l.findConflictByTerm(5, 1), { index: 2, term: 1 });
    const s = new MemoryStorage();
    s.append(terms(1, 1, 2, 2, 3, 3, 3));
    s.compact(5);
    const c = new RaftLog(s, Number.POSITIVE_INFINITY, silentLogger);
    assert.deepEqual(c.findConflictByTerm(7, 2), { index: 4, term: 0 }, 'hit the compacted prefix');
  });

  test('maybeAppend: consistency check, conflict truncation, commit to min(leaderCommit, last new)', () => {
    const l = log(terms(1, 2, 3));
    assert.equal(l.maybeAppend(3, 2, 3, [e(4, 4)]), -1, 'prev term mismatch');
    assert.equal(l.maybeAppend(4, 3, 3, []), -1, 'prev index missing');
    assert.equal(l.maybeAppend(3, 3, 2, [e(4, 4), e(5, 4)]), 5);
    assert.equal(l.committed, 2);
    assert.equal(l.maybeAppend(2, 2, 9, [e(3, 3)]), 3, 'already present: no truncation');
    assert.equal(l.lastIndex(), 5);
    assert.equal(l.committed, 3, 'commit capped by the last new index of this message');
    assert.equal(l.maybeAppend(3, 3, 3, [e(4, 5)]), 4);
    assert.equal(l.lastIndex(), 4);
    assert.equal(l.lastTerm(), 5);
    assert.throws(() => l.maybeAppend(1, 1, 3, [e(2, 9)]), invariant, 'conflict at or below commit');
  });

  test('append refuses to overwrite committed entries; commitTo refuses beyond last', () => {
    const l = log(terms(1, 1, 1));
    l.commitTo(2);
    l.commitTo(1);
    assert.equal(l.committed, 2, 'never decreases');
    assert.throws(() => l.append([e(2, 2)]), invariant);
    assert.throws(
      () => l.commitTo(4),
      (err) => invariant(err) && /corrupted, truncated, or lost/.test((err as Error).message),
    );
    assert.equal(l.append([]), 3);
    assert.equal(l.append([e(3, 2)]), 3);
    assert.equal(l.lastTerm(), 2);
  });

  test('maybeCommit only commits an entry of the given term (§5.4.2)', () => {
    const l = log(terms(1, 1, 2));
    assert.equal(l.maybeCommit(2, 2), false);
    assert.equal(l.maybeCommit(3, 0), false);
    assert.equal(l.maybeCommit(3, 2), true);
    assert.equal(l.maybeCommit(3, 2), false);
    assert.equal(l.committed, 3);
  });

  test('slice spans storage and unstable and honours size limits (at least one entry; 0 = one)', () => {
    const ents = [e(1, 1, 10), e(2, 1, 10), e(3, 1, 10), e(4, 1, 10), e(5, 1, 10)];
    const l = log(ents, 3);
    assert.deepEqual(idx(l.slice(1, 6, Number.POSITIVE_INFINITY)), ['1/1', '2/1', '3/1', '4/1', '5/1']);
    assert.deepEqual(idx(l.slice(2, 5, 30)), ['2/1', '3/1', '4/1']);
    assert.deepEqual(idx(l.slice(2, 5, 25)), ['2/1', '3/1']);
    assert.deepEqual(idx(l.slice(3, 6, 15)), ['3/1'], 'an unstable entry is not added past the limit');
    assert.deepEqual(idx(l.slice(1, 6, 0)), ['1/1']);
    assert.deepEqual(idx(l.slice(4, 6, 0)), ['4/1']);
    assert.deepEqual(idx(l.slice(2, 2, 5)), []);
    assert.deepEqual(idx(l.entries(6, 5)), []);
    assert.throws(() => l.slice(1, 7, 5), invariant);
    assert.throws(() => l.slice(3, 2, 5), invariant);
    assert.deepEqual(idx(l.allEntries()), ['1/1', '2/1', '3/1', '4/1', '5/1']);
  });

  test('storage errors: UNAVAILABLE inside the log is an invariant violation, others propagate', () => {
    const s = new MemoryStorage();
    s.append(terms(1, 1, 1));
    const broken: Storage = {
      initialState: () => s.initialState(),
      entries: () => {
        throw new RaftError('UNAVAILABLE', 'lost');
      },
      term: (i) => {
        if (i === 2) throw new Error('disk on fire');
        return s.term(i);
      },
      firstIndex: () => s.firstIndex(),
      lastIndex: () => s.lastIndex(),
      snapshot: () => s.snapshot(),
    };
    const l = new RaftLog(broken, Number.POSITIVE_INFINITY, silentLogger);
    assert.throws(() => l.slice(1, 3, 10), invariant);
    assert.throws(() => l.term(2), /disk on fire/);
  });

  test('committed entries are handed out once, paginated by the applying budget', () => {
    const ents = [e(1, 1, 10), e(2, 1, 10), e(3, 1, 10), e(4, 1, 10)];
    const l = log(ents, 4, 25);
    assert.equal(l.hasNextCommittedEnts(true), false);
    l.commitTo(4);
    assert.equal(l.hasNextCommittedEnts(true), true);
    const a = l.nextCommittedEnts(true);
    assert.deepEqual(idx(a), ['1/1', '2/1']);
    l.acceptApplying(2, 20, true);
    assert.equal(l.hasNextCommittedEnts(true), false, 'paused: the page was cut short');
    assert.deepEqual(l.nextCommittedEnts(true), []);
    l.appliedTo(2, 20);
    assert.deepEqual(idx(l.nextCommittedEnts(true)), ['3/1', '4/1']);
    l.acceptApplying(4, 20, true);
    l.appliedTo(4, 20);
    assert.equal(l.applied, 4);
    assert.throws(() => l.appliedTo(3, 0), invariant, 'applied never goes back');
    assert.throws(() => l.appliedTo(5, 0), invariant, 'nor beyond commit');
    assert.throws(() => l.acceptApplying(4, 0, true), invariant, 'entries are handed out once');
  });

  test('a zero applying budget hands out one entry per Ready; unstable entries wait when not allowed', () => {
    const l = log(terms(1, 1, 1), 1, 0);
    l.commitTo(3);
    assert.deepEqual(idx(l.nextCommittedEnts(true)), ['1/1']);
    l.acceptApplying(1, 1, true);
    assert.equal(l.hasNextCommittedEnts(true), false);
    l.appliedTo(1, 1);
    assert.deepEqual(idx(l.nextCommittedEnts(false)), [], 'entries 2, 3 are not persisted');
    assert.deepEqual(idx(l.nextCommittedEnts(true)), ['2/1']);
  });

  test('restore replaces the log with a snapshot and hides committed entries until it is persisted', () => {
    const l = log(terms(1, 1, 1));
    l.commitTo(2);
    const s: Snapshot = { metadata: { index: 10, term: 4, confState: cs }, data: new Uint8Array() };
    l.restore(s);
    assert.equal(l.committed, 10);
    assert.equal(l.lastIndex(), 10);
    assert.equal(l.lastTerm(), 4);
    assert.equal(l.firstIndex(), 11);
    assert.equal(l.snapshot(), s);
    assert.ok(l.hasNextOrInProgressSnapshot());
    assert.equal(l.hasNextCommittedEnts(true), false);
    assert.equal(l.nextUnstableSnapshot(), s);
    l.acceptUnstable();
    assert.equal(l.nextUnstableSnapshot(), undefined);
    l.stableSnapTo(10);
    assert.equal(l.hasNextOrInProgressSnapshot(), false);
    assert.throws(() => l.restore({ ...s, metadata: { ...s.metadata, index: 5 } }), invariant);
  });

  test('scan pages through a range and can stop early', () => {
    const l = log([e(1, 1, 5), e(2, 1, 5), e(3, 1, 5), e(4, 1, 5)]);
    const pages: string[][] = [];
    assert.equal(
      l.scan(1, 5, 10, (p) => {
        pages.push(idx(p));
        return false;
      }),
      false,
    );
    assert.deepEqual(pages, [
      ['1/1', '2/1'],
      ['3/1', '4/1'],
    ]);
    assert.equal(
      l.scan(1, 5, 5, (p) => p[0]?.index === 2),
      true,
    );
  });
});
