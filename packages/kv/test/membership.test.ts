import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KvSim, seedFor } from './helpers/kv-sim.js';

describe('membership', () => {
  test('members() lists every member with its published name and URLs', async () => {
    const sim = await KvSim.create({ seed: seedFor(81) });
    await sim.waitForLeader();
    // Founders publish `member-<id>` by default; restart one with attributes to re-publish.
    await sim.stop(2);
    await sim.start(2, { node: { name: 'two', peerUrl: '10.0.0.2:2380', clientUrls: ['10.0.0.2:2379'] } });
    const n = sim.node(1);
    const attrs = n.stateMachine.memberAttributes();
    await sim.runUntil(() => attrs.get(2)?.name === 'two' && attrs.has(1) && attrs.has(3), {
      what: 'every member to publish',
    });
    const { members, header } = await sim.settle(n.members());
    assert.equal(header.memberId, 1);
    assert.deepEqual(
      members.map((m) => [m.id, m.name, m.peerUrls, m.clientUrls, m.isLearner]),
      [
        [1, 'member-1', [], [], false],
        [2, 'two', ['10.0.0.2:2380'], ['10.0.0.2:2379'], false],
        [3, 'member-3', [], [], false],
      ],
    );
    await sim.close();
  });

  test('add a learner, start it, promote it, remove a member', async () => {
    const sim = await KvSim.create({ seed: seedFor(82) });
    await sim.waitForLeader();
    const f = sim.follower();
    await sim.settle(f.put('before', 'join'));
    const added = await sim.settle(f.addMember('10.0.0.4:2380', { isLearner: true, id: 4 }));
    assert.deepEqual(added.member, {
      id: 4,
      name: '',
      peerUrls: ['10.0.0.4:2380'],
      clientUrls: [],
      isLearner: true,
    });
    assert.equal(added.members.length, 4);
    assert.equal((await sim.rejection(f.addMember('10.0.0.4:2380'))).code, 'MEMBER_EXISTS');
    assert.equal((await sim.rejection(f.addMember('10.0.0.9:2380', { id: 4 }))).code, 'MEMBER_EXISTS');
    const four = await sim.start(4, { join: true, node: { name: 'four', clientUrls: ['10.0.0.4:2379'] } });
    await sim.runUntil(() => four.stateMachine.store.range('before').count === 1, {
      what: 'the learner to catch up',
    });
    await sim.runUntil(() => f.stateMachine.memberAttributes().get(4)?.name === 'four', {
      what: 'the learner to publish',
    });
    // Only the leader can tell whether the learner caught up: a follower names it instead.
    const refused = await sim.rejection(f.promoteMember(4));
    assert.equal(refused.code, 'NOT_LEADER');
    const leader = sim.leader();
    assert.ok(leader !== undefined);
    assert.equal(refused.details?.leaderId, leader.id);
    const promoted = await sim.settle(leader.promoteMember(4));
    assert.equal(promoted.members.find((m) => m.id === 4)?.isLearner, false);
    assert.equal((await sim.rejection(leader.promoteMember(4))).code, 'MEMBER_NOT_LEARNER');
    assert.equal((await sim.rejection(f.promoteMember(99))).code, 'MEMBER_NOT_FOUND');
    assert.equal((await sim.rejection(f.removeMember(99))).code, 'MEMBER_NOT_FOUND');
    // Member 4 now votes: a write through it commits.
    const w = await sim.settle(four.put('via', 'four'));
    assert.ok(w.revision > 0);
    const victim = sim.nodes().find((n) => n !== f && n.id !== 4);
    assert.ok(victim !== undefined);
    const removed = await sim.settle(f.removeMember(victim.id));
    assert.deepEqual(
      removed.members.map((m) => m.id).sort(),
      [f.id, 4].concat(sim.ids.filter((id) => id !== victim.id && id !== f.id && id !== 4)).sort(),
    );
    await sim.runUntil(() => !f.stateMachine.memberAttributes().has(victim.id), {
      what: 'attributes forgotten',
    });
    const after = await sim.settle(four.put('after', 'removal'));
    assert.ok(after.revision > w.revision);
    await sim.close();
  });

  test('an added member without an id gets a derived one; bad arguments are refused', async () => {
    const sim = await KvSim.create({ seed: seedFor(83) });
    const leader = await sim.waitForLeader();
    const a = await sim.settle(leader.addMember('h:1', { isLearner: true }));
    assert.ok(Number.isSafeInteger(a.member.id) && a.member.id > 3);
    assert.equal((await sim.rejection(leader.addMember(''))).code, 'INVALID_ARGUMENT');
    assert.equal(
      (await sim.rejection(leader.addMember('h:2', { isLearner: 'yes' as never }))).code,
      'INVALID_ARGUMENT',
    );
    assert.equal((await sim.rejection(leader.removeMember(0))).code, 'INVALID_ARGUMENT');
    // The learner never started: it is far behind, so promoting it is refused on the leader.
    await sim.settle(leader.put('k', 'v'));
    assert.equal((await sim.rejection(leader.promoteMember(a.member.id))).code, 'LEARNER_NOT_READY');
    await sim.close();
  });
});
