import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { ReplicaError } from '@flotilla/replica';
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

test('stop(): pending requests reject with STOPPED, later calls too; stop is idempotent', async () => {
  const cluster = await counterCluster(801);
  const leader = await cluster.waitForLeader();
  cluster.isolate(leader.id);
  const pending = assert.rejects(leader.propose(add(1)), (err) => {
    assert.ok(isFlotillaError(err, 'STOPPED'));
    assert.match(err.message, /outcome is unknown/);
    return true;
  });
  const read = assert.rejects(leader.readIndex(), (err) => isFlotillaError(err, 'STOPPED'));
  const change = assert.rejects(leader.addLearner(9, 'x'), (err) => isFlotillaError(err, 'STOPPED'));
  await cluster.run(10);
  const stopping = leader.stop();
  assert.equal(leader.stop(), stopping);
  await cluster.settle(stopping);
  await Promise.all([pending, read, change]);
  assert.equal(leader.status().state, 'stopped');
  await assert.rejects(leader.propose(add(1)), (err) => isFlotillaError(err, 'STOPPED'));
  await assert.rejects(leader.readIndex(), (err) => isFlotillaError(err, 'STOPPED'));
  await assert.rejects(leader.transferLeadership(2), (err) => isFlotillaError(err, 'STOPPED'));
  assert.throws(
    () => leader.campaign(),
    (err) => isFlotillaError(err, 'STOPPED'),
  );
  await cluster.close();
});

test('a proposal resolved before stop() is durable: it is there after a restart', async () => {
  const cluster = await counterCluster(802, { ids: [1] });
  const leader = await cluster.waitForLeader();
  const r = await cluster.settle(leader.propose(add(4)));
  await cluster.stop(1);
  const back = await cluster.start(1);
  assert.ok(back.appliedIndex >= r.index);
  assert.equal(counterOf(cluster, 1).value, 4);
  await cluster.close();
});

/**
 * A disk fault (a failed fsync) on a member stops it: it emits 'error' with STORAGE_FAILED,
 * rejects its pending requests with STOPPED, and acknowledges nothing that was not durable;
 * the others carry on and nothing acknowledged is lost.
 */
test('a failed fsync stops the member safely; the cluster carries on (several seeds)', async () => {
  await forEachSeed(seeds(6, 810), async (seed) => {
    const cluster = await counterCluster(seed);
    const leader = await cluster.waitForLeader();
    const victim = seed % 2 === 0 ? leader.id : (cluster.ids.find((id) => id !== leader.id) as number);
    const errors: ReplicaError[] = [];
    cluster.replica(victim).on('error', (e) => errors.push(e));
    const acked = new Map<number, number>();
    const rejected: string[] = [];
    let v = 0;
    cluster.fs(victim).failNextSync();
    for (let step = 0; step < 40; step++) {
      const l = cluster.leader();
      if (l !== undefined) {
        for (let k = 0; k < 3; k++) {
          const value = ++v;
          l.propose(add(value), { timeoutMs: 2000 }).then(
            (r) => acked.set(r.index, value),
            (e: ReplicaError) => rejected.push(e.code),
          );
        }
      }
      await cluster.run(5);
    }
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, 'STORAGE_FAILED');
    assert.ok(!cluster.up().includes(victim), 'the failed member is down');
    const l = await cluster.waitForLeader();
    const final = await cluster.settle(l.propose(add(0)));
    await waitApplied(cluster, final.index);
    for (const id of cluster.up()) {
      const log = new Map(counterOf(cluster, id).log);
      for (const [index, value] of acked) assert.equal(log.get(index), value);
    }
    if (victim === leader.id) assert.ok(rejected.includes('STOPPED'));
    // The member comes back from its files (it acknowledged nothing it had not made durable).
    await cluster.start(victim);
    await waitApplied(cluster, final.index);
    assertLogsAgree(cluster);
    await cluster.close();
  });
});

test('a failed snapshot write stops the member with STORAGE_FAILED', async () => {
  const cluster = await counterCluster(820, { replica: { snapshotEvery: 5 } });
  const leader = await cluster.waitForLeader();
  const victim = cluster.ids.find((id) => id !== leader.id) as number;
  cluster
    .fs(victim)
    .setFaultHook((op) => (op.kind === 'create' && op.path.includes('snap') ? { fail: 'EIO' } : undefined));
  await cluster.settle(Promise.all(Array.from({ length: 10 }, () => leader.propose(add(1)))));
  await cluster.runUntil(() => cluster.errors.length > 0);
  assert.equal(cluster.errors[0]?.id, victim);
  assert.equal(cluster.errors[0]?.error.code, 'STORAGE_FAILED');
  await cluster.close();
});

test('a state machine that throws stops its member with APPLY_FAILED', async () => {
  class Picky extends Counter {
    override apply(command: Uint8Array, index: number): number {
      if (command[3] === 13) throw new Error('unlucky command');
      return super.apply(command, index);
    }
  }
  const cluster = await SimCluster.create<number>({ seed: 830, stateMachine: () => new Picky() });
  const leader = await cluster.waitForLeader();
  const p = assert.rejects(leader.propose(add(13)), (err) => isFlotillaError(err, 'STOPPED'));
  await cluster.runUntil(() => cluster.errors.some((e) => e.id === leader.id));
  await p;
  // The followers fail too once they learn the entry is committed (each applies it alike).
  await cluster.run(1000);
  assert.ok(cluster.errors.every((e) => e.error.code === 'APPLY_FAILED'));
  assert.match(cluster.errors[0]?.error.message ?? '', /unlucky command/);
  assert.equal(leader.status().state, 'failed');
  await cluster.close();
});

test('a throwing event listener is logged and does not stop the replica', async () => {
  const logged: string[] = [];
  const cluster = await SimCluster.create<number>({
    seed: 840,
    stateMachine: () => new Counter(),
    logger: {
      debug() {},
      info() {},
      warn() {},
      error: (m) => logged.push(m),
    },
  });
  for (const id of cluster.ids) {
    cluster.replica(id).on('applied', () => {
      throw new Error('listener bug');
    });
  }
  const leader = await cluster.waitForLeader();
  const r = await cluster.settle(leader.propose(add(1)));
  assert.equal(r.result, 1);
  assert.ok(logged.some((m) => m.includes("'applied' listener threw")));
  await cluster.close();
});
