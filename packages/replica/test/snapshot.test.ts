import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimCluster } from '@flotilla/replica/testing';
import {
  assertLogsAgree,
  counterCluster,
  counterOf,
  forEachSeed,
  seeds,
  waitApplied,
} from './helpers/cluster.js';
import { add, Counter } from './helpers/counter.js';

/** A counter that counts how often `apply` and `restore` ran in this incarnation. */
class CountingCounter extends Counter {
  applies = 0;
  restores = 0;
  override apply(command: Uint8Array, index: number): number {
    this.applies++;
    return super.apply(command, index);
  }
  override restore(data: Uint8Array): void {
    this.restores++;
    super.restore(data);
  }
}

test('snapshots are taken every snapshotEvery applied entries on every member', async () => {
  const cluster = await counterCluster(401, { replica: { snapshotEvery: 20, snapshotCatchUpEntries: 5 } });
  const taken = new Map<number, number[]>();
  for (const id of cluster.ids) {
    cluster.replica(id).on('snapshot', (index, kind) => {
      if (kind === 'taken') taken.set(id, [...(taken.get(id) ?? []), index]);
    });
  }
  const leader = await cluster.waitForLeader();
  // Five rounds of 25: a snapshot is considered after each applied batch, so at least one
  // per round.
  let last = 0;
  for (let round = 0; round < 5; round++) {
    const rs = await cluster.settle(Promise.all(Array.from({ length: 25 }, () => leader.propose(add(1)))));
    last = Math.max(...rs.map((r) => r.index));
    await waitApplied(cluster, last);
  }
  await cluster.run(50);
  for (const id of cluster.ids) {
    const indexes = taken.get(id) ?? [];
    assert.ok(indexes.length >= 4, `member ${id} took ${indexes.length} snapshots`);
    assert.ok((indexes[indexes.length - 1] as number) > last - 20);
    // Each one at least snapshotEvery entries after the previous.
    for (let i = 1; i < indexes.length; i++)
      assert.ok((indexes[i] as number) - (indexes[i - 1] as number) >= 20);
    assert.equal(cluster.replica(id).status().snapshotIndex, indexes[indexes.length - 1]);
  }
  await cluster.close();
});

test('a follower that fell behind the compacted log catches up by installing a snapshot', async () => {
  await forEachSeed(seeds(4, 410), async (seed) => {
    const cluster = await counterCluster(seed, { replica: { snapshotEvery: 20, snapshotCatchUpEntries: 5 } });
    const leader = await cluster.waitForLeader();
    const lagging = cluster.ids.find((id) => id !== leader.id) as number;
    const installed: number[] = [];
    cluster.replica(lagging).on('snapshot', (index, kind) => {
      if (kind === 'installed') installed.push(index);
    });
    cluster.isolate(lagging);
    const rs = await cluster.settle(
      Promise.all(Array.from({ length: 150 }, (_, i) => leader.propose(add(i)))),
    );
    const last = Math.max(...rs.map((r) => r.index));
    cluster.heal();
    await waitApplied(cluster, last);
    assert.ok(installed.length >= 1, 'the lagging member installed a snapshot');
    assert.equal(counterOf(cluster, lagging).value, counterOf(cluster, leader.id).value);
    assertLogsAgree(cluster);
    // It keeps replicating normally afterwards.
    const more = await cluster.settle(leader.propose(add(1)));
    await waitApplied(cluster, more.index);
    assertLogsAgree(cluster);
    await cluster.close();
  });
});

test('a restart restores the newest snapshot and applies only the entries after it', async () => {
  const counters = new Map<number, CountingCounter>();
  const cluster = await SimCluster.create<number>({
    seed: 420,
    stateMachine: (id) => {
      const c = new CountingCounter();
      counters.set(id, c);
      return c;
    },
    replica: { snapshotEvery: 25, snapshotCatchUpEntries: 10 },
  });
  const leader = await cluster.waitForLeader();
  const rs = await cluster.settle(Promise.all(Array.from({ length: 110 }, () => leader.propose(add(2)))));
  const last = Math.max(...rs.map((r) => r.index));
  await waitApplied(cluster, last);
  await cluster.run(50);
  const follower = cluster.ids.find((id) => id !== leader.id) as number;
  const snapshotIndex = cluster.replica(follower).status().snapshotIndex;
  assert.ok(snapshotIndex >= 100);
  await cluster.stop(follower);
  await cluster.start(follower);
  const fresh = counters.get(follower) as CountingCounter;
  assert.equal(fresh.restores, 1);
  assert.ok(
    fresh.applies <= last - snapshotIndex,
    `re-applied ${fresh.applies} entries after a snapshot at ${snapshotIndex}`,
  );
  assert.equal(fresh.value, 220);
  assertLogsAgree(cluster);
  await cluster.close();
});

test('a crash right after snapshots and compaction recovers the same state', async () => {
  await forEachSeed(seeds(4, 430), async (seed) => {
    const cluster = await counterCluster(seed, { replica: { snapshotEvery: 10, snapshotCatchUpEntries: 0 } });
    const leader = await cluster.waitForLeader();
    const rs = await cluster.settle(Promise.all(Array.from({ length: 60 }, () => leader.propose(add(1)))));
    const last = Math.max(...rs.map((r) => r.index));
    for (const id of cluster.ids) await cluster.crash(id);
    for (const id of cluster.ids) await cluster.start(id);
    const next = await cluster.waitForLeader();
    const final = await cluster.settle(next.propose(add(1)));
    assert.ok(final.index > last);
    await waitApplied(cluster, final.index);
    for (const id of cluster.ids) assert.equal(counterOf(cluster, id).value, 61);
    assertLogsAgree(cluster);
    await cluster.close();
  });
});
