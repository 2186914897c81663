import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { Replica } from '@flotilla/replica';
import {
  assertLogsAgree,
  counterCluster,
  counterOf,
  forEachSeed,
  seeds,
  waitApplied,
} from './helpers/cluster.js';
import { add } from './helpers/counter.js';

test('a leader is elected and every member learns it (several seeds)', async () => {
  await forEachSeed(seeds(5), async (seed) => {
    const cluster = await counterCluster(seed);
    const events: Array<[number, number, number]> = [];
    for (const id of cluster.ids)
      cluster.replica(id).on('leader', (lead, term) => events.push([id, lead, term]));
    const leader = await cluster.waitForLeader();
    await cluster.runUntil(() => cluster.ids.every((id) => cluster.replica(id).leaderId === leader.id), {
      what: 'every member knows the leader',
    });
    assert.equal(cluster.ids.filter((id) => cluster.replica(id).isLeader).length, 1);
    const term = leader.status().term;
    // Every member reported the same leader for the leader's term (election safety, §5.2).
    const inTerm = events.filter(([, , t]) => t === term);
    assert.ok(inTerm.length >= 3, 'each member emitted leader');
    assert.ok(inTerm.every(([, lead]) => lead === leader.id));
    await cluster.close();
  });
});

test('a proposal resolves with the state machine result once applied on the proposer', async () => {
  const cluster = await counterCluster(11);
  const leader = await cluster.waitForLeader();
  const first = await cluster.settle(leader.propose(add(5)));
  assert.equal(first.result, 5);
  // Applied, not just committed: the proposer's state machine already holds it.
  assert.ok(leader.appliedIndex >= first.index);
  assert.equal(counterOf(cluster, leader.id).value, 5);
  const second = await cluster.settle(leader.propose(add(7)));
  assert.deepEqual(second, { index: first.index + 1, result: 12 });
  await cluster.close();
});

test('many concurrent proposals are applied in the same order everywhere', async () => {
  await forEachSeed(seeds(3, 20), async (seed) => {
    const cluster = await counterCluster(seed);
    const leader = await cluster.waitForLeader();
    const results = await cluster.settle(
      Promise.all(Array.from({ length: 200 }, (_, i) => leader.propose(add(i + 1)))),
    );
    // Results are the running sums in log order: distinct, and the largest is the total.
    const sums = results.map((r) => r.result).sort((a, b) => a - b);
    assert.equal(new Set(sums).size, 200);
    assert.equal(sums[199], (200 * 201) / 2);
    await waitApplied(cluster, Math.max(...results.map((r) => r.index)));
    for (const id of cluster.ids) assert.equal(counterOf(cluster, id).value, (200 * 201) / 2);
    assertLogsAgree(cluster);
    await cluster.close();
  });
});

test('a follower refuses proposals with NOT_LEADER naming the leader (forwarding off)', async () => {
  const cluster = await counterCluster(3);
  const leader = await cluster.waitForLeader();
  await cluster.runUntil(() => cluster.ids.every((id) => cluster.replica(id).leaderId === leader.id));
  const follower = cluster.replica(cluster.ids.find((id) => id !== leader.id) as number);
  await assert.rejects(follower.propose(add(1)), (err) => {
    assert.ok(isFlotillaError(err, 'NOT_LEADER'));
    assert.equal(err.details.leaderId, leader.id);
    return true;
  });
  await assert.rejects(follower.addVoter(9, 'x'), (err) => isFlotillaError(err, 'NOT_LEADER'));
  await cluster.close();
});

test('with forwardProposals a follower forwards and resolves with the applied result', async () => {
  const cluster = await counterCluster(4, { replica: { forwardProposals: true } });
  const leader = await cluster.waitForLeader();
  await cluster.runUntil(() => cluster.ids.every((id) => cluster.replica(id).leaderId === leader.id));
  const follower = cluster.replica(cluster.ids.find((id) => id !== leader.id) as number);
  const r = await cluster.settle(follower.propose(add(3)));
  assert.equal(r.result, 3);
  assert.equal(counterOf(cluster, follower.id).value, 3);
  const many = await cluster.settle(Promise.all(Array.from({ length: 50 }, () => follower.propose(add(1)))));
  assert.equal(Math.max(...many.map((m) => m.result)), 53);
  await cluster.close();
});

test('bad arguments are refused with INVALID_ARGUMENT and nothing is proposed', async () => {
  const cluster = await counterCluster(5);
  const leader = await cluster.waitForLeader();
  const before = leader.status().commit;
  await assert.rejects(leader.propose('x' as unknown as Uint8Array), (err) =>
    isFlotillaError(err, 'INVALID_ARGUMENT'),
  );
  await assert.rejects(leader.propose(add(1), { timeoutMs: -1 }), (err) =>
    isFlotillaError(err, 'INVALID_ARGUMENT'),
  );
  await assert.rejects(leader.readIndex({ timeoutMs: 0 }), (err) => isFlotillaError(err, 'INVALID_ARGUMENT'));
  await assert.rejects(leader.changeMembership([]), (err) => isFlotillaError(err, 'INVALID_ARGUMENT'));
  await assert.rejects(leader.addVoter(0, 'x'), (err) => isFlotillaError(err, 'INVALID_ARGUMENT'));
  await assert.rejects(leader.addVoter(4, ''), (err) => isFlotillaError(err, 'INVALID_ARGUMENT'));
  await assert.rejects(
    leader.changeMembership([
      { type: 'remove', id: 2 },
      { type: 'remove', id: 2 },
    ]),
    (err) => isFlotillaError(err, 'INVALID_ARGUMENT'),
  );
  await assert.rejects(leader.transferLeadership(-1), (err) => isFlotillaError(err, 'INVALID_ARGUMENT'));
  await cluster.run(100);
  assert.equal(leader.status().commit, before);
  await cluster.close();
});

test('a proposal on a leader cut off from its quorum times out (outcome unknown) or is aborted', async () => {
  const cluster = await counterCluster(6);
  const leader = await cluster.waitForLeader();
  cluster.isolate(leader.id);
  const timedOut = leader.propose(add(1), { timeoutMs: 50 });
  await assert.rejects(cluster.settle(timedOut), (err) => {
    assert.ok(isFlotillaError(err, 'TIMEOUT'));
    assert.match(err.message, /outcome is unknown/);
    return true;
  });
  const ac = new AbortController();
  const aborted = leader.propose(add(1), { signal: ac.signal });
  ac.abort(new Error('client gave up'));
  await assert.rejects(
    aborted,
    (err) => isFlotillaError(err, 'ABORTED') && /outcome is unknown/.test(err.message),
  );
  // Aborted before it was proposed: refused at once.
  await assert.rejects(leader.propose(add(1), { signal: ac.signal }), (err) =>
    isFlotillaError(err, 'ABORTED'),
  );
  await cluster.close();
});

test('partition: the majority elects a new leader, the old one steps down and its unreplicated proposal is dropped', async () => {
  await forEachSeed(seeds(3, 30), async (seed) => {
    const cluster = await counterCluster(seed);
    const old = await cluster.waitForLeader();
    await cluster.settle(old.propose(add(1)));
    const others = cluster.ids.filter((id) => id !== old.id);
    cluster.partition([[old.id], others]);
    // Appended on the old leader only: it can never commit.
    const doomed = old.propose(add(100), { timeoutMs: 60_000 });
    let fresh: Replica<number> | undefined;
    await cluster.runUntil(
      () => {
        fresh = others.map((id) => cluster.replica(id)).find((r) => r.isLeader);
        return fresh !== undefined;
      },
      { what: 'a leader in the majority' },
    );
    const winner = fresh as Replica<number>;
    const committed = await cluster.settle(Promise.all([1, 2, 3].map(() => winner.propose(add(10)))));
    cluster.heal();
    await assert.rejects(cluster.settle(doomed), (err) => isFlotillaError(err, 'PROPOSAL_DROPPED'));
    await waitApplied(cluster, Math.max(...committed.map((c) => c.index)));
    await cluster.runUntil(() => !old.isLeader, { what: 'the old leader steps down' });
    for (const id of cluster.ids) assert.equal(counterOf(cluster, id).value, 31);
    assertLogsAgree(cluster);
    await cluster.close();
  });
});

test('the same seed replays the same run exactly', async () => {
  const trace = async (): Promise<string> => {
    const cluster = await counterCluster(77, { delayMs: [1, 9] });
    cluster.network.setDropRate(0.05);
    const leader = await cluster.waitForLeader();
    const out: string[] = [`leader ${leader.id} term ${leader.status().term} at ${cluster.clock.now()}`];
    const rs = await cluster.settle(
      Promise.all(Array.from({ length: 30 }, (_, i) => leader.propose(add(i)))),
    );
    out.push(rs.map((r) => `${r.index}:${r.result}`).join(','));
    await cluster.crash(leader.id);
    const next = await cluster.waitForLeader();
    out.push(`leader ${next.id} at ${cluster.clock.now()}`, JSON.stringify(cluster.network.stats()));
    await cluster.close();
    return out.join('\n');
  };
  assert.equal(await trace(), await trace());
});
