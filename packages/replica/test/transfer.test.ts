import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { counterCluster, forEachSeed, seeds, waitApplied } from './helpers/cluster.js';
import { add } from './helpers/counter.js';

test('transferLeadership hands leadership to the named member (several seeds)', async () => {
  await forEachSeed(seeds(4, 700), async (seed) => {
    const cluster = await counterCluster(seed);
    const leader = await cluster.waitForLeader();
    const r = await cluster.settle(leader.propose(add(1)));
    await waitApplied(cluster, r.index);
    const target = cluster.ids.find((id) => id !== leader.id) as number;
    await cluster.settle(leader.transferLeadership(target));
    await cluster.runUntil(() => cluster.replica(target).isLeader, { what: 'the transferee leads' });
    assert.equal(leader.leaderId, target);
    assert.ok(!leader.isLeader);
    const w = await cluster.settle(cluster.replica(target).propose(add(2)));
    assert.equal(w.result, 3);
    await cluster.close();
  });
});

test('a follower forwards a transfer request; transferring to the current leader resolves at once', async () => {
  const cluster = await counterCluster(710);
  const leader = await cluster.waitForLeader();
  await cluster.runUntil(() => cluster.ids.every((id) => cluster.replica(id).leaderId === leader.id));
  const [a, b] = cluster.ids.filter((id) => id !== leader.id) as [number, number];
  await cluster.settle(cluster.replica(a).transferLeadership(leader.id));
  await cluster.settle(cluster.replica(a).transferLeadership(b));
  await cluster.runUntil(() => cluster.replica(b).isLeader);
  await cluster.close();
});

test('proposals during a transfer are dropped; a transfer that cannot complete times out', async () => {
  const cluster = await counterCluster(720);
  const leader = await cluster.waitForLeader();
  const target = cluster.ids.find((id) => id !== leader.id) as number;
  cluster.isolate(target);
  await cluster.settle(leader.propose(add(1))); // the target now lags behind
  const transfer = leader.transferLeadership(target, { timeoutMs: 100 });
  await assert.rejects(leader.propose(add(1)), (err) => isFlotillaError(err, 'PROPOSAL_DROPPED'));
  await assert.rejects(cluster.settle(transfer), (err) => isFlotillaError(err, 'TIMEOUT'));
  await assert.rejects(cluster.settle(leader.transferLeadership(99, { timeoutMs: 50 })), (err) =>
    isFlotillaError(err, 'TIMEOUT'),
  );
  // Raft gives up the transfer after an election timeout; proposals are accepted again.
  cluster.heal();
  await cluster.run(300);
  const l = await cluster.waitForLeader();
  await cluster.settle(l.propose(add(1)));
  await cluster.close();
});

test('campaign() starts an election at once', async () => {
  const cluster = await counterCluster(730);
  cluster.replica(2).campaign();
  const leader = await cluster.waitForLeader({ maxMs: 50 });
  assert.equal(leader.id, 2);
  // A no-op on the leader.
  leader.campaign();
  await cluster.run(50);
  assert.ok(leader.isLeader);
  await cluster.close();
});
