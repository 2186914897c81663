import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AckedIndexer, JointConfig, MajorityConfig, type NodeId } from '@flotilla/raft';
import fc from 'fast-check';

const acked =
  (m: Record<number, number>): AckedIndexer =>
  (id) =>
    m[id];
const votes = (m: Record<number, boolean>) => (id: NodeId) => m[id];

describe('MajorityConfig', () => {
  test('committedIndex is the index a majority reached; missing acks count as 0', () => {
    const c = new MajorityConfig([1, 2, 3]);
    assert.equal(c.committedIndex(acked({ 1: 5, 2: 3, 3: 9 })), 5);
    assert.equal(c.committedIndex(acked({ 1: 5 })), 0);
    assert.equal(c.committedIndex(acked({ 1: 5, 2: 7 })), 5);
    const five = new MajorityConfig([1, 2, 3, 4, 5]);
    assert.equal(five.committedIndex(acked({ 1: 1, 2: 3, 3: 5, 4: 7, 5: 9 })), 5);
    const four = new MajorityConfig([1, 2, 3, 4]);
    // Four voters need three: the third largest.
    assert.equal(four.committedIndex(acked({ 1: 1, 2: 3, 3: 5, 4: 7 })), 3);
  });

  test('an empty configuration commits everything (∞) and wins every vote', () => {
    const c = new MajorityConfig();
    assert.equal(c.committedIndex(acked({})), Number.POSITIVE_INFINITY);
    assert.equal(c.voteResult(votes({})), 'won');
    assert.equal(c.toString(), '()');
  });

  test('voteResult: won with a majority, lost when impossible, pending otherwise', () => {
    const c = new MajorityConfig([3, 1, 2]);
    assert.deepEqual(c.ids, [1, 2, 3]);
    assert.equal(c.toString(), '(1 2 3)');
    assert.equal(c.voteResult(votes({})), 'pending');
    assert.equal(c.voteResult(votes({ 1: true })), 'pending');
    assert.equal(c.voteResult(votes({ 1: true, 2: true })), 'won');
    assert.equal(c.voteResult(votes({ 1: false, 2: false })), 'lost');
    assert.equal(c.voteResult(votes({ 1: true, 2: false })), 'pending');
    assert.equal(c.voteResult(votes({ 1: true, 2: false, 3: false })), 'lost');
    // Votes of non-members do not count.
    assert.equal(c.voteResult(votes({ 7: true, 8: true, 1: true })), 'pending');
  });

  test('committedIndex matches a naive sort on random inputs (differential)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 11 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 11, maxLength: 11 }),
        fc.array(fc.boolean(), { minLength: 11, maxLength: 11 }),
        (ids, idx, present) => {
          const m: Record<number, number> = {};
          ids.forEach((id, i) => {
            if (present[i]) m[id] = idx[i] as number;
          });
          const sorted = ids.map((id) => m[id] ?? 0).sort((a, b) => b - a);
          const naive = sorted[Math.floor(ids.length / 2)] as number;
          assert.equal(new MajorityConfig(ids).committedIndex(acked(m)), naive);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('JointConfig', () => {
  test('outside a change it behaves like the incoming config', () => {
    const j = new JointConfig(new MajorityConfig([1, 2, 3]));
    assert.equal(j.isJoint, false);
    assert.equal(j.committedIndex(acked({ 1: 4, 2: 4, 3: 1 })), 4);
    assert.equal(j.voteResult(votes({ 1: true, 2: true })), 'won');
    assert.equal(j.toString(), '(1 2 3)');
  });

  test('a joint config needs both majorities; committed is the minimum', () => {
    const j = new JointConfig(new MajorityConfig([1, 2, 4]), new MajorityConfig([1, 2, 3]));
    assert.equal(j.isJoint, true);
    assert.deepEqual(j.ids, [1, 2, 3, 4]);
    assert.ok(j.has(3) && j.has(4) && !j.has(5));
    assert.equal(j.toString(), '(1 2 4)&&(1 2 3)');
    // incoming: 1:9 2:1 4:8 → 8; outgoing: 1:9 2:1 3:2 → 2.
    assert.equal(j.committedIndex(acked({ 1: 9, 2: 1, 3: 2, 4: 8 })), 2);
    assert.equal(j.voteResult(votes({ 1: true, 4: true })), 'pending');
    assert.equal(j.voteResult(votes({ 1: true, 4: true, 3: true })), 'won');
    assert.equal(j.voteResult(votes({ 2: false, 3: false })), 'lost');
    assert.equal(j.voteResult(votes({ 2: false, 4: false, 1: true, 3: true })), 'lost');
  });
});
