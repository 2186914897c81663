import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { Progress } from '@flotilla/raft';

const make = (match: number, next: number, maxInflight = 4): Progress =>
  new Progress({
    match,
    next,
    maxInflight,
    maxInflightBytes: Number.POSITIVE_INFINITY,
    isLearner: false,
    recentActive: false,
  });

describe('Progress', () => {
  test('refuses match >= next', () => {
    assert.throws(
      () => make(5, 5),
      (e) => isFlotillaError(e, 'INVARIANT_VIOLATED'),
    );
  });

  test('probe pauses after one message with entries; replicate pipelines up to the window', () => {
    const p = make(0, 5, 2);
    assert.equal(p.state, 'probe');
    assert.equal(p.isPaused(), false);
    p.sentEntries(0, 0); // an empty probe does not pause
    assert.equal(p.isPaused(), false);
    p.sentEntries(3, 30);
    assert.equal(p.isPaused(), true);
    assert.equal(p.next, 5, 'probing does not advance next');

    assert.equal(p.maybeUpdate(4), true);
    p.becomeReplicate();
    assert.equal(p.next, 5);
    p.sentEntries(2, 2);
    assert.equal(p.next, 7);
    assert.equal(p.isPaused(), false);
    p.sentEntries(1, 1);
    assert.equal(p.next, 8);
    assert.equal(p.isPaused(), true, 'window of 2 is full');
    assert.equal(p.inflights.count, 2);
    assert.equal(p.maybeUpdate(6), true);
    p.inflights.freeLE(6);
    assert.equal(p.isPaused(), false);
    assert.match(p.toString(), /replicate match=6 next=8 inactive inflight=1/);
  });

  test('maybeUpdate ignores stale acks and keeps match < next', () => {
    const p = make(3, 4);
    assert.equal(p.maybeUpdate(2), false);
    assert.equal(p.maybeUpdate(3), false);
    assert.equal(p.maybeUpdate(9), true);
    assert.equal(p.match, 9);
    assert.equal(p.next, 10);
  });

  test('maybeDecrTo in replicate: stale rejections ignored, otherwise back to match+1', () => {
    const p = make(5, 6);
    p.becomeReplicate();
    p.sentEntries(4, 4); // next = 10
    assert.equal(p.maybeDecrTo(5, 5), false, 'rejection at or below match is stale');
    assert.equal(p.maybeDecrTo(9, 2), true);
    assert.equal(p.next, 6);
  });

  test('maybeDecrTo in probe: only the outstanding probe counts; next follows the hint but stays above match', () => {
    const p = make(2, 10);
    assert.equal(p.maybeDecrTo(8, 3), false, 'out-of-order rejection');
    p.msgAppFlowPaused = true;
    assert.equal(p.maybeDecrTo(9, 4), true);
    assert.equal(p.next, 5);
    assert.equal(p.msgAppFlowPaused, false);
    assert.equal(p.maybeDecrTo(4, 0), true);
    assert.equal(p.next, 3, 'never below match + 1');
  });

  test('snapshot state pauses everything; becomeProbe resumes after the snapshot', () => {
    const p = make(3, 4);
    p.becomeSnapshot(20);
    assert.equal(p.isPaused(), true);
    assert.equal(p.next, 21);
    assert.equal(p.pendingSnapshot, 20);
    assert.throws(
      () => p.sentEntries(1, 1),
      (e) => isFlotillaError(e, 'INVARIANT_VIOLATED'),
    );
    p.becomeProbe();
    assert.equal(p.state, 'probe');
    assert.equal(p.next, 21);
    p.becomeSnapshot(20);
    p.pendingSnapshot = 0; // a failed snapshot
    p.becomeProbe();
    assert.equal(p.next, 4);
  });

  test('canBumpCommit: the follower has entries beyond the commit index it was told', () => {
    const p = make(5, 6);
    p.setSentCommit(3);
    assert.equal(p.canBumpCommit(5), true);
    assert.equal(p.canBumpCommit(3), false);
    p.setSentCommit(5);
    assert.equal(p.canBumpCommit(6), false, 'nothing beyond what it was told');
  });

  test('clone copies state, and toString marks learners, pending snapshots and full windows', () => {
    const p = make(1, 2, 1);
    p.isLearner = true;
    p.recentActive = true;
    p.becomeReplicate();
    p.sentEntries(1, 1);
    const c = p.clone();
    assert.equal(c.inflights.count, 1);
    assert.equal(c.toString(), 'replicate match=1 next=3 learner paused inflight=1[full]');
    p.becomeSnapshot(9);
    assert.equal(p.toString(), 'snapshot match=1 next=10 learner paused pendingSnap=9');
  });
});
