/**
 * Membership changes as etcd makes them: effective when applied, one at a time, simple or through
 * a joint configuration (thesis §4.3), learners, auto-leave, and stepping down when removed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  type ConfChange,
  decodeConfChange,
  encodeConfChange,
  MemoryStorage,
  type NodeId,
  RawNode,
} from '@flotilla/raft';
import { enc, Network, type NetworkOptions } from './helpers/network.js';
import { cs, TestNode } from './helpers/raft.js';

const invalid = (e: unknown) => isFlotillaError(e, 'INVALID_CONF_CHANGE');
const add = (nodeId: NodeId): ConfChange => ({ changes: [{ type: 'addNode', nodeId }] });
const remove = (nodeId: NodeId): ConfChange => ({ changes: [{ type: 'removeNode', nodeId }] });
const learner = (nodeId: NodeId): ConfChange => ({ changes: [{ type: 'addLearner', nodeId }] });

function cluster(ids: NodeId[] = [1, 2, 3], opts: NetworkOptions = {}): Network {
  const net = new Network(ids, opts);
  net.stabilize();
  net.campaign(1);
  return net;
}

describe('simple membership changes', () => {
  test('adding a member: effective when applied; the newcomer catches up from the log', () => {
    const net = cluster();
    net.propose(1, 'before');
    net.add(4);
    net.node(1).proposeConfChange(add(4));
    net.stabilize();
    net.propose(1, 'after');
    for (const id of [1, 2, 3, 4]) {
      assert.deepEqual(net.node(id).status().config.voters, [1, 2, 3, 4], `node ${id}`);
      assert.deepEqual(net.appliedData(id), ['before', 'after'], `node ${id}`);
    }
    assert.deepEqual(net.peer(4).confState?.voters, [1, 2, 3, 4]);
  });

  test('the configuration changes on apply, not on append', () => {
    const net = cluster();
    net.ignore('appResp');
    net.node(1).proposeConfChange(add(4));
    net.stabilize();
    assert.deepEqual(net.node(1).status().config.voters, [1, 2, 3], 'appended, not committed');
    net.recover();
    net.tickAll(1);
    assert.deepEqual(net.node(1).status().config.voters, [1, 2, 3, 4]);
  });

  test('removing a member: its messages no longer count', () => {
    const net = cluster();
    net.node(1).proposeConfChange(remove(3));
    net.stabilize();
    assert.deepEqual(net.node(1).status().config.voters, [1, 2]);
    assert.equal(net.node(1).status().progress?.has(3), false);
    net.isolate(3);
    net.propose(1, 'two of two');
    assert.deepEqual(net.appliedData(2), ['two of two']);
  });

  test('a removed leader steps down by default (stepDownOnRemoval) and the others elect a new one', () => {
    const net = cluster();
    net.node(1).proposeConfChange(remove(1));
    net.stabilize();
    assert.equal(net.node(1).status().raftState, 'follower');
    net.tickAll(25);
    const l = net.leader();
    assert.ok(l === 2 || l === 3, `leader ${l}`);
    net.propose(l, 'next');
    assert.deepEqual(net.appliedData(l === 2 ? 3 : 2), ['next']);
  });

  test('with stepDownOnRemoval off the removed leader keeps leading but refuses proposals', () => {
    const net = cluster([1, 2, 3], { config: { stepDownOnRemoval: false } });
    net.node(1).proposeConfChange(remove(1));
    net.stabilize();
    assert.equal(net.node(1).status().raftState, 'leader');
    assert.throws(
      () => net.node(1).propose(enc('x')),
      (e) => isFlotillaError(e, 'PROPOSAL_DROPPED'),
    );
  });

  test('one change at a time: a second change waits until the first is applied', () => {
    const net = cluster();
    net.ignore('appResp');
    net.node(1).proposeConfChange(add(4));
    assert.throws(() => net.node(1).proposeConfChange(add(5)), invalid);
    net.recover();
    net.tickAll(1);
    net.node(1).proposeConfChange(add(5));
    net.stabilize();
    assert.deepEqual(net.node(1).status().config.voters, [1, 2, 3, 4, 5]);
  });

  test('a new leader accepts no change before it applied its whole log', () => {
    const n = new TestNode(1, [1, 2, 3]);
    n.elect([2]);
    // pendingConfIndex = last index at election (0 here, nothing to apply): allowed right away.
    n.node.proposeConfChange(add(4));
    assert.throws(() => n.node.proposeConfChange(add(5)), invalid);
  });

  test('the leader refuses changes it can tell are invalid, appending nothing', () => {
    const solo = new TestNode(1, [1]);
    solo.node.campaign();
    solo.read();
    const last = solo.storage.lastIndex();
    assert.throws(() => solo.node.proposeConfChange(remove(1)), invalid, 'removing the last voter');
    assert.throws(() => solo.node.proposeConfChange({ changes: [] }), invalid, 'leaving a non-joint config');
    assert.throws(() => solo.node.proposeConfChange({ transition: 'explicit', changes: [] }), invalid);
    assert.throws(() => solo.node.proposeConfChange({ changes: [{ type: 'addNode', nodeId: -1 }] }), invalid);
    assert.throws(
      () => solo.node.proposeConfChange({ changes: [{ type: 'bogus' as 'addNode', nodeId: 2 }] }),
      invalid,
    );
    assert.throws(() => solo.node.proposeConfChange(null as unknown as ConfChange), invalid);
    solo.read();
    assert.equal(solo.storage.lastIndex(), last);
    solo.node.proposeConfChange({ transition: 'explicit', changes: [{ type: 'addNode', nodeId: 2 }] });
    solo.read();
    assert.deepEqual(solo.status().config.votersOutgoing, [1]);
    assert.throws(
      () =>
        solo.node.proposeConfChange({ transition: 'explicit', changes: [{ type: 'addNode', nodeId: 3 }] }),
      invalid,
      'entering a joint configuration twice',
    );
  });

  test('an invalid change forwarded by a follower becomes an empty entry at the leader', () => {
    const net = cluster();
    // Followers cannot tell; the leader replaces the change (the log stays consistent).
    net.node(2).proposeConfChange({ changes: [] });
    net.stabilize();
    const last = net.peer(1).storage.lastIndex();
    const e = net.peer(1).storage.entries(last, last + 1)[0];
    assert.deepEqual([e?.type, e?.data.length], ['normal', 0]);
    // A garbage conf change entry forwarded as a raw prop message is neutralized too.
    net.node(1).step({
      type: 'prop',
      from: 2,
      to: 1,
      term: 0,
      entries: [{ term: 0, index: 0, type: 'confChange', data: new Uint8Array([9, 9]) }],
    });
    net.stabilize();
    const e2 = net.peer(1).storage.entries(last + 1, last + 2)[0];
    assert.equal(e2?.type, 'normal');
    // A valid forwarded change is appended as a conf change.
    net.node(3).proposeConfChange(add(4));
    net.stabilize();
    assert.deepEqual(net.node(1).status().config.voters, [1, 2, 3, 4]);
  });

  test('applyConfChange refuses a change that does not apply, changing nothing', () => {
    const n = new TestNode(1, [1, 2]);
    assert.throws(() => n.node.applyConfChange({ changes: [] }), invalid);
    assert.throws(
      () =>
        n.node.applyConfChange({
          transition: 'explicit',
          changes: [
            { type: 'removeNode', nodeId: 1 },
            { type: 'removeNode', nodeId: 2 },
          ],
        }),
      invalid,
    );
    assert.deepEqual(n.status().config.voters, [1, 2]);
    // Node id 0 is a no-op: how an application cancels a committed change.
    assert.deepEqual(n.node.applyConfChange(add(0)).voters, [1, 2]);
  });
});

describe('joint consensus (thesis §4.3)', () => {
  test('explicit joint change: enter, both majorities needed, then leave with an empty change', () => {
    const net = cluster([1, 2, 3, 4], { peers: [1, 2, 3] });
    net.node(1).proposeConfChange({
      transition: 'explicit',
      changes: [
        { type: 'addNode', nodeId: 4 },
        { type: 'removeNode', nodeId: 3 },
      ],
    });
    net.stabilize();
    let s = net.node(1).status();
    assert.deepEqual(
      [s.config.voters, s.config.votersOutgoing, s.config.autoLeave],
      [[1, 2, 4], [1, 2, 3], false],
    );
    // 1 and 4 are a majority of the new config (1 2 4) but 1 alone is not one of the old (1 2 3).
    net.cut(1, 2);
    net.cut(1, 3);
    net.propose(1, 'needs both');
    assert.deepEqual(net.appliedData(1), []);
    net.recover();
    net.tickAll(1);
    assert.deepEqual(net.appliedData(1), ['needs both']);
    net.node(1).proposeConfChange({ changes: [] });
    net.stabilize();
    s = net.node(1).status();
    assert.deepEqual([s.config.voters, s.config.votersOutgoing], [[1, 2, 4], []]);
    assert.equal(s.progress?.has(3), false);
  });

  test('the joint commit rule: a majority of the incoming half alone does not commit', () => {
    const net = cluster([1, 2, 3, 4, 5], { peers: [1, 2, 3] });
    net.node(1).proposeConfChange({
      transition: 'explicit',
      changes: [
        { type: 'addNode', nodeId: 4 },
        { type: 'addNode', nodeId: 5 },
        { type: 'removeNode', nodeId: 2 },
        { type: 'removeNode', nodeId: 3 },
      ],
    });
    net.stabilize();
    assert.deepEqual(net.node(1).status().config.voters, [1, 4, 5]);
    net.cut(1, 2);
    net.cut(1, 3);
    net.propose(1, 'x');
    assert.deepEqual(net.appliedData(4), [], '1, 4, 5 agree but the outgoing (1 2 3) has only 1');
    net.recover();
    net.tickAll(1);
    assert.deepEqual(net.appliedData(4), ['x']);
  });

  test('auto-leave: a multi-change (or implicit) change is left by the leader on its own', () => {
    for (const transition of [undefined, 'implicit'] as const) {
      const net = cluster([1, 2, 3, 4], { peers: [1, 2, 3] });
      const cc: ConfChange = {
        changes: [
          { type: 'addNode', nodeId: 4 },
          { type: 'removeNode', nodeId: 3 },
        ],
        ...(transition === undefined ? {} : { transition }),
      };
      net.node(1).proposeConfChange(cc);
      net.stabilize();
      const s = net.node(1).status();
      assert.deepEqual(
        [s.config.voters, s.config.votersOutgoing, s.config.autoLeave],
        [[1, 2, 4], [], false],
        `${transition}`,
      );
      const ccs = net
        .peer(2)
        .applied.filter((e) => e.type === 'confChange')
        .map((e) => decodeConfChange(e.data).changes.length);
      assert.deepEqual(ccs.slice(-2), [2, 0], 'enter, then the automatic leave');
    }
  });

  test('a new leader finishes an auto-leave its predecessor did not', () => {
    const net = cluster([1, 2, 3, 4], { peers: [1, 2, 3] });
    net.hook = (m) =>
      !(
        m.from === 1 &&
        m.type === 'app' &&
        m.entries.some((e) => e.type === 'confChange' && decodeConfChange(e.data).changes.length === 0)
      );
    net.node(1).proposeConfChange({
      changes: [
        { type: 'addNode', nodeId: 4 },
        { type: 'removeNode', nodeId: 3 },
      ],
    });
    net.stabilize();
    net.isolate(1);
    net.hook = undefined;
    net.tickAll(30);
    // 1 (cut off, no CheckQuorum) still believes it leads; the others elected one of them.
    const l = [2, 3, 4].find((id) => net.node(id).status().raftState === 'leader') ?? 0;
    assert.ok(l !== 0);
    const s = net.node(l).status();
    assert.deepEqual([s.config.voters, s.config.votersOutgoing], [[1, 2, 4], []]);
  });

  test('demoting a voter in a joint change makes it a learner when the joint config is left', () => {
    const net = cluster();
    net.node(1).proposeConfChange({ transition: 'explicit', changes: [{ type: 'addLearner', nodeId: 3 }] });
    net.stabilize();
    let c = net.node(1).status().config;
    assert.deepEqual([c.voters, c.votersOutgoing, c.learnersNext, c.learners], [[1, 2], [1, 2, 3], [3], []]);
    net.node(1).proposeConfChange({ changes: [] });
    net.stabilize();
    c = net.node(1).status().config;
    assert.deepEqual([c.voters, c.learners, c.learnersNext], [[1, 2], [3], []]);
    assert.equal(net.node(1).status().progress?.get(3)?.isLearner, true);
  });

  test('a joint configuration survives a restart (restored from the ConfState)', () => {
    const conf = {
      voters: [1, 2, 4],
      learners: [],
      votersOutgoing: [1, 2, 3],
      learnersNext: [],
      autoLeave: true,
    };
    const storage = new MemoryStorage();
    storage.applySnapshot({ metadata: { index: 5, term: 2, confState: conf }, data: new Uint8Array() });
    const n = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
    assert.deepEqual(n.status().config, conf);
  });
});

describe('learners', () => {
  test('a learner receives the log and applies it but neither votes nor counts for commit', () => {
    const net = cluster([1, 2, 3], { peers: [1, 2] });
    net.node(1).proposeConfChange(learner(3));
    net.stabilize();
    assert.deepEqual(net.node(1).status().config.learners, [3]);
    assert.equal(net.node(1).status().progress?.get(3)?.isLearner, true);
    net.propose(1, 'l');
    assert.deepEqual(net.appliedData(3), ['l']);
    // Without 2, the learner's acknowledgement does not make a quorum.
    net.isolate(2);
    net.propose(1, 'no quorum');
    assert.deepEqual(net.appliedData(1), ['l']);
    net.recover();
    net.tickAll(1);
    // Promote it.
    net.node(1).proposeConfChange(add(3));
    net.stabilize();
    assert.deepEqual(net.node(1).status().config.voters, [1, 2, 3]);
    assert.equal(net.node(3).status().config.learners.length, 0);
  });

  test('a learner with a stale config still answers vote requests (it may have been promoted)', () => {
    const n = new TestNode(3, [1, 2], { learners: [3] });
    n.step({ type: 'vote', from: 1, to: 3, term: 2, index: 0, logTerm: 0, transfer: false });
    const resp = n.read().find((m) => m.type === 'voteResp');
    assert.equal(resp?.type === 'voteResp' && resp.reject, false);
  });

  test('a leader demoted to learner steps down', () => {
    const net = cluster();
    net.node(1).proposeConfChange({ transition: 'explicit', changes: [{ type: 'addLearner', nodeId: 1 }] });
    net.stabilize();
    assert.equal(net.node(1).status().raftState, 'leader', 'still an outgoing voter');
    net.node(1).proposeConfChange({ changes: [] });
    net.stabilize();
    assert.equal(net.node(1).status().raftState, 'follower');
    assert.deepEqual(net.node(1).status().config.learners, [1]);
  });
});

test('conf change entries carry encodeConfChange data', () => {
  const n = new TestNode(1, [1]);
  n.node.campaign();
  n.read();
  n.node.proposeConfChange({ changes: [{ type: 'addLearner', nodeId: 2 }], context: enc('addr') });
  n.read();
  const e = n.storage.entries(n.storage.lastIndex(), n.storage.lastIndex() + 1)[0];
  assert.equal(e?.type, 'confChange');
  assert.deepEqual(
    e?.data,
    encodeConfChange({ changes: [{ type: 'addLearner', nodeId: 2 }], context: enc('addr') }),
  );
  assert.deepEqual(n.status().config, cs([1], [2]));
});
