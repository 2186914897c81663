import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { StateMachine } from '@flotilla/replica';
import { SimCluster } from '@flotilla/replica/testing';
import { counterCluster, counterOf, forEachSeed, seeds } from './helpers/cluster.js';
import { add, Counter } from './helpers/counter.js';

test('readIndex on the leader covers every acknowledged write', async () => {
  const cluster = await counterCluster(601);
  const leader = await cluster.waitForLeader();
  const w = await cluster.settle(leader.propose(add(9)));
  const index = await cluster.settle(leader.readIndex());
  assert.ok(index >= w.index);
  assert.ok(leader.appliedIndex >= index);
  await cluster.close();
});

test('readIndex on a follower: a write acknowledged by the leader is visible after it (several seeds)', async () => {
  await forEachSeed(seeds(5, 610), async (seed) => {
    const cluster = await counterCluster(seed);
    const leader = await cluster.waitForLeader();
    for (const id of cluster.ids.filter((i) => i !== leader.id)) {
      const w = await cluster.settle(leader.propose(add(1)));
      const index = await cluster.settle(cluster.replica(id).readIndex());
      assert.ok(index >= w.index, `read index ${index} < acknowledged write ${w.index}`);
      assert.ok(
        counterOf(cluster, id).log.some(([i]) => i === w.index),
        'the follower applied the write',
      );
    }
    await cluster.close();
  });
});

/** A counter whose `apply` can be held back, to make one member slow at applying. */
class GatedCounter implements StateMachine<number> {
  readonly counter = new Counter();
  gate: Promise<void> | undefined;
  apply(command: Uint8Array, index: number): number | Promise<number> {
    const gate = this.gate;
    if (gate === undefined) return this.counter.apply(command, index);
    return gate.then(() => this.counter.apply(command, index));
  }
  snapshot(): Uint8Array {
    return this.counter.snapshot();
  }
  restore(data: Uint8Array): void {
    this.counter.restore(data);
  }
}

test('readIndex waits until this member has applied the read index', async () => {
  const machines = new Map<number, GatedCounter>();
  const cluster = await SimCluster.create<number>({
    seed: 620,
    stateMachine: (id): StateMachine<number> => {
      const m = new GatedCounter();
      machines.set(id, m);
      return m;
    },
  });
  const leader = await cluster.waitForLeader();
  const slow = cluster.ids.find((id) => id !== leader.id) as number;
  const machine = machines.get(slow) as GatedCounter;
  let open = (): void => {};
  machine.gate = new Promise((resolve) => {
    open = resolve;
  });
  const w = await cluster.settle(leader.propose(add(5)));
  const read: { index?: number } = {};
  cluster
    .replica(slow)
    .readIndex()
    .then((i) => {
      read.index = i;
    });
  await cluster.run(200);
  assert.equal(read.index, undefined, 'not served before the write is applied here');
  assert.ok(cluster.replica(slow).appliedIndex < w.index);
  machine.gate = undefined;
  open();
  await cluster.runUntil(() => read.index !== undefined);
  assert.ok((read.index ?? 0) >= w.index);
  assert.equal(machine.counter.value, 5);
  await cluster.close();
});

test('concurrent reads on a follower share one confirmation round', async () => {
  const cluster = await counterCluster(630);
  const leader = await cluster.waitForLeader();
  await cluster.settle(leader.propose(add(1)));
  const follower = cluster.replica(cluster.ids.find((id) => id !== leader.id) as number);
  await cluster.run(50);
  const before = cluster.network.stats().sent.readIndex ?? 0;
  const reads = await cluster.settle(Promise.all(Array.from({ length: 100 }, () => follower.readIndex())));
  const rounds = (cluster.network.stats().sent.readIndex ?? 0) - before;
  assert.equal(rounds, 1, `${rounds} rounds for 100 concurrent reads`);
  assert.equal(new Set(reads).size, 1);
  // Calls made while a round is in flight wait for the next one (never join a round whose
  // index may predate them): two bursts, two rounds.
  const a = follower.readIndex();
  await cluster.run(1);
  const b = follower.readIndex();
  await cluster.settle(Promise.all([a, b]));
  assert.equal((cluster.network.stats().sent.readIndex ?? 0) - before, 3);
  await cluster.close();
});

test('a read round lost in the network is sent again', async () => {
  const cluster = await counterCluster(640, { replica: { readIndexRetryMs: 50 } });
  const leader = await cluster.waitForLeader();
  const follower = cluster.ids.find((id) => id !== leader.id) as number;
  cluster.network.cut(follower, leader.id);
  const read = cluster.replica(follower).readIndex();
  await cluster.run(20);
  cluster.network.uncut(follower, leader.id);
  const index = await cluster.settle(read);
  assert.ok(index > 0);
  assert.ok((cluster.network.stats().sent.readIndex ?? 0) >= 2, 'sent twice');
  await cluster.close();
});

test('readIndex without a quorum times out; with a signal it aborts', async () => {
  const cluster = await counterCluster(650);
  const leader = await cluster.waitForLeader();
  cluster.isolate(leader.id);
  await assert.rejects(cluster.settle(leader.readIndex({ timeoutMs: 100 })), (err) =>
    isFlotillaError(err, 'TIMEOUT'),
  );
  const ac = new AbortController();
  const r = leader.readIndex({ signal: ac.signal });
  ac.abort();
  await assert.rejects(r, (err) => isFlotillaError(err, 'ABORTED'));
  await assert.rejects(leader.readIndex({ signal: ac.signal }), (err) => isFlotillaError(err, 'ABORTED'));
  await cluster.close();
});
