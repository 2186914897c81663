import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { seededRandom } from '@flotilla/raft';
import type { MembershipResult } from '@flotilla/replica';
import {
  assertLogsAgree,
  counterCluster,
  counterOf,
  forEachSeed,
  seeds,
  waitApplied,
} from './helpers/cluster.js';
import { add } from './helpers/counter.js';

test('add a learner, promote it, remove a founder: each call resolves once applied', async () => {
  const cluster = await counterCluster(501);
  const leader = await cluster.waitForLeader();
  await cluster.settle(leader.propose(add(5)));
  await cluster.start(4); // not a founder: starts empty and waits to be added
  assert.equal(cluster.replica(4).status().config.voters.length, 0);

  const learner = await cluster.settle(leader.addLearner(4, 'mem://4'));
  assert.deepEqual(learner.confState.learners, [4]);
  assert.deepEqual(leader.status().members.learners, [4]);
  assert.equal(leader.status().addresses[4], 'mem://4');
  await waitApplied(cluster, learner.index);
  assert.equal(counterOf(cluster, 4).value, 5, 'the learner received the log');

  const promoted = await cluster.settle(leader.promoteLearner(4));
  assert.deepEqual([...promoted.confState.voters].sort(), [1, 2, 3, 4]);
  assert.deepEqual(promoted.confState.learners, []);

  const victim = cluster.ids.find((id) => id !== leader.id && id !== 4) as number;
  const removed = await cluster.settle(leader.removeMember(victim));
  assert.ok(!removed.confState.voters.includes(victim));
  await cluster.stop(victim);
  // The remaining three (one of them the new member) keep committing.
  const r = await cluster.settle(leader.propose(add(1)));
  await waitApplied(cluster, r.index);
  assert.equal(counterOf(cluster, 4).value, 6);
  assertLogsAgree(cluster);
  await cluster.close();
});

test('a second change while one is pending, or removing the last voter, is CONF_CHANGE_REJECTED', async () => {
  const cluster = await counterCluster(502, { ids: [1] });
  const leader = await cluster.waitForLeader();
  await assert.rejects(cluster.settle(leader.removeMember(1)), (err) =>
    isFlotillaError(err, 'CONF_CHANGE_REJECTED'),
  );
  const first = leader.addLearner(2, 'mem://2');
  await assert.rejects(leader.addLearner(3, 'mem://3'), (err) =>
    isFlotillaError(err, 'CONF_CHANGE_REJECTED'),
  );
  await cluster.settle(first);
  await cluster.close();
});

test('a removed leader steps down and the others elect a new one', async () => {
  const cluster = await counterCluster(503);
  const leader = await cluster.waitForLeader();
  const done = await cluster.settle(leader.removeMember(leader.id));
  assert.ok(!done.confState.voters.includes(leader.id));
  await cluster.runUntil(() => {
    const l = cluster.leader();
    return l !== undefined && l.id !== leader.id;
  });
  const next = cluster.leader();
  assert.ok(next !== undefined && next.id !== leader.id);
  await cluster.settle(next.propose(add(1)));
  await cluster.close();
});

test('joint consensus under load: two voters replaced in one change, no acknowledged write lost', async () => {
  await forEachSeed(seeds(4, 510), async (seed) => {
    const cluster = await counterCluster(seed);
    const rng = seededRandom(seed);
    const leader = await cluster.waitForLeader();
    await cluster.start(4);
    await cluster.start(5);
    const out = cluster.ids.filter((id) => id !== leader.id && id <= 3);
    const acked = new Map<number, number>();
    let v = 0;
    let result: MembershipResult | undefined;
    let after = 0;
    // Proposals keep flowing before, while the cluster goes through C_old,new to C_new, and after.
    for (let step = 0; result === undefined || after < 30; step++) {
      assert.ok(step < 2000, 'the joint change completes');
      if (step === 30) {
        leader
          .changeMembership([
            { type: 'addVoter', id: 4, address: 'mem://4' },
            { type: 'addVoter', id: 5, address: 'mem://5' },
            { type: 'remove', id: out[0] as number },
            { type: 'remove', id: out[1] as number },
          ])
          .then((r) => {
            result = r;
          });
      }
      if (result !== undefined) after++;
      const l = cluster.leader();
      if (l !== undefined) {
        const value = ++v;
        l.propose(add(value), { timeoutMs: 2000 }).then(
          (r) => acked.set(r.index, value),
          () => {},
        );
      }
      await cluster.run(rng.int(1, 5));
    }
    const cs = (result as NonNullable<typeof result>).confState;
    assert.deepEqual([...cs.voters].sort(), [leader.id, 4, 5].sort());
    assert.deepEqual(cs.votersOutgoing, [], 'the joint configuration was left');
    for (const id of out) await cluster.stop(id);
    const l = await cluster.waitForLeader();
    const final = await cluster.settle(l.propose(add(0)));
    await waitApplied(cluster, final.index);
    for (const id of cluster.up()) {
      const log = new Map(counterOf(cluster, id).log);
      for (const [index, value] of acked)
        assert.equal(log.get(index), value, `member ${id} lost ${value}@${index}`);
    }
    assert.ok(acked.size > 10);
    assertLogsAgree(cluster);
    await cluster.close();
  });
});

test('addresses of added members survive restarts and compaction (snapshot envelope)', async () => {
  const cluster = await counterCluster(520, { replica: { snapshotEvery: 10, snapshotCatchUpEntries: 0 } });
  const leader = await cluster.waitForLeader();
  await cluster.start(4);
  const added = await cluster.settle(leader.addVoter(4, 'mem://four'));
  await waitApplied(cluster, added.index);
  // Push the conf change far behind the newest snapshot, so a restart only sees it there.
  for (let i = 0; i < 3; i++)
    await cluster.settle(Promise.all(Array.from({ length: 15 }, () => leader.propose(add(1)))));
  const follower = cluster.ids.find((id) => id !== leader.id && id !== 4) as number;
  await cluster.runUntil(() => cluster.replica(follower).status().snapshotIndex > added.index);
  await cluster.crash(follower);
  const back = await cluster.start(follower);
  assert.equal(back.status().addresses[4], 'mem://four');
  assert.deepEqual([...back.status().members.voters].sort(), [1, 2, 3, 4]);
  // A member joining now catches up by snapshot and learns the address book from it.
  await cluster.start(5);
  const five = await cluster.settle(leader.addLearner(5, 'mem://five'));
  await waitApplied(cluster, five.index);
  assert.equal(cluster.replica(5).status().addresses[4], 'mem://four');
  assert.equal(cluster.replica(5).status().addresses[5], 'mem://five');
  await cluster.close();
});

test('membership changes from a follower are forwarded when forwardProposals is on', async () => {
  const cluster = await counterCluster(530, { replica: { forwardProposals: true } });
  const leader = await cluster.waitForLeader();
  await cluster.runUntil(() => cluster.ids.every((id) => cluster.replica(id).leaderId === leader.id));
  const follower = cluster.replica(cluster.ids.find((id) => id !== leader.id) as number);
  await cluster.start(4);
  const r = await cluster.settle(follower.addLearner(4, 'mem://4'));
  assert.deepEqual(r.confState.learners, [4]);
  await cluster.close();
});
