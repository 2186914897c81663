import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertLogsAgree,
  counterCluster,
  counterOf,
  forEachSeed,
  seeds,
  waitApplied,
} from './helpers/cluster.js';
import { add } from './helpers/counter.js';

/**
 * A forwarded proposal travels in a `prop` message; a network that duplicates (or a proxy that
 * retries) makes the leader append it twice. Every member must apply it once, alike.
 */
test('forwarded proposals duplicated by the network are applied once (several seeds)', async () => {
  await forEachSeed(seeds(4, 900), async (seed) => {
    const cluster = await counterCluster(seed, { replica: { forwardProposals: true }, delayMs: [1, 8] });
    const leader = await cluster.waitForLeader();
    await cluster.runUntil(() => cluster.ids.every((id) => cluster.replica(id).leaderId === leader.id));
    cluster.network.setDuplicateRate(0.5);
    const followers = cluster.ids.filter((id) => id !== leader.id);
    const resolved = new Map<number, number>();
    const proposals: Array<Promise<unknown>> = [];
    for (let v = 1; v <= 200; v++) {
      const r = cluster.replica(followers[v % 2] as number);
      proposals.push(r.propose(add(v)).then((x) => resolved.set(v, x.index)));
    }
    await cluster.settle(Promise.allSettled(proposals));
    cluster.network.setDuplicateRate(0);
    const final = await cluster.settle(leader.propose(add(0)));
    await waitApplied(cluster, final.index);
    assert.ok((cluster.network.stats().duplicated.prop ?? 0) > 0, 'the network duplicated proposals');
    for (const id of cluster.ids) {
      const values = counterOf(cluster, id)
        .log.map(([, v]) => v)
        .filter((v) => v > 0);
      assert.equal(new Set(values).size, values.length, `member ${id} applied a command twice`);
      for (const [v, index] of resolved)
        assert.ok(counterOf(cluster, id).log.some(([i, x]) => i === index && x === v));
    }
    assert.equal(resolved.size, 200);
    assertLogsAgree(cluster);
    await cluster.close();
  });
});
