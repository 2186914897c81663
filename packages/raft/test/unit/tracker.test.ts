import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Changer, EMPTY_TRACKER_CONFIG, type NodeId, ProgressTracker } from '@flotilla/raft';

function tracker(voters: NodeId[], learners: NodeId[] = []): ProgressTracker {
  const t = new ProgressTracker(4, Number.POSITIVE_INFINITY);
  let cur = { config: EMPTY_TRACKER_CONFIG, progress: new Map() };
  const step = (c: Parameters<Changer['simple']>[0]) => {
    cur = new Changer({
      config: cur.config,
      progress: cur.progress,
      lastIndex: 1,
      maxInflight: 4,
      maxInflightBytes: Number.POSITIVE_INFINITY,
    }).simple(c);
  };
  for (const id of voters) step([{ type: 'addNode', nodeId: id }]);
  for (const id of learners) step([{ type: 'addLearner', nodeId: id }]);
  t.setConfig(cur.config, cur.progress);
  return t;
}

describe('ProgressTracker', () => {
  test('committed is the quorum match index; learners do not count', () => {
    const t = tracker([1, 2, 3], [4]);
    assert.deepEqual(t.ids, [1, 2, 3, 4]);
    const set = (id: NodeId, match: number) => {
      const pr = t.progress.get(id);
      if (pr) pr.match = match;
    };
    set(1, 5);
    set(2, 4);
    set(3, 1);
    set(4, 100);
    assert.equal(t.committed(), 4);
    assert.equal(t.isSingleton(), false);
    assert.deepEqual(t.voterNodes(), [1, 2, 3]);
    assert.deepEqual(t.confState(), {
      voters: [1, 2, 3],
      learners: [4],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    });
    assert.equal(tracker([7]).isSingleton(), true);
  });

  test('votes: first vote counts; learners ignored in the tally', () => {
    const t = tracker([1, 2, 3], [4]);
    t.recordVote(1, true);
    t.recordVote(1, false);
    t.recordVote(4, true);
    assert.deepEqual(t.tallyVotes(), { granted: 1, rejected: 0, result: 'pending' });
    t.recordVote(2, false);
    t.recordVote(3, false);
    assert.deepEqual(t.tallyVotes(), { granted: 1, rejected: 2, result: 'lost' });
    t.resetVotes();
    assert.deepEqual(t.tallyVotes(), { granted: 0, rejected: 0, result: 'pending' });
  });

  test('quorumActive counts recently active voters', () => {
    const t = tracker([1, 2, 3], [4]);
    for (const pr of t.progress.values()) pr.recentActive = false;
    const active = (id: NodeId) => {
      const pr = t.progress.get(id);
      if (pr) pr.recentActive = true;
    };
    active(1);
    active(4);
    assert.equal(t.quorumActive(), false);
    active(3);
    assert.equal(t.quorumActive(), true);
  });
});
