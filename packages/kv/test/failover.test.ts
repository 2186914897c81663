/**
 * Crashes, stops and lost quorums: requests continue on a new leader; nothing acknowledged is
 * lost; a request whose outcome cannot be known says so (`OUTCOME_UNKNOWN`), and one that
 * certainly did not happen says that instead.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { KvNode } from '@flotilla/kv';
import { KvSim, seedFor } from './helpers/kv-sim.js';

type Outcome = { ok: true; revision: number } | { ok: false; code: string };

function track(p: Promise<{ header: { revision: number } }>): { get: () => Outcome | undefined } {
  let o: Outcome | undefined;
  p.then(
    (r) => {
      o = { ok: true, revision: r.header.revision };
    },
    (err: unknown) => {
      o = { ok: false, code: isFlotillaError(err) ? err.code : String(err) };
    },
  );
  return { get: () => o };
}

describe('failover', () => {
  test('the leader crashes: in-flight writes succeed or are OUTCOME_UNKNOWN, acknowledged ones survive, writes continue', async () => {
    const sim = await KvSim.create({ seed: seedFor(71), node: { requestTimeoutMs: 3000 } });
    const leader = await sim.waitForLeader();
    const acked: string[] = [];
    for (let i = 0; i < 10; i++) {
      await sim.settle(sim.nodes()[i % 3]?.put(`ack/${i}`, 'v') as Promise<unknown>);
      acked.push(`ack/${i}`);
    }
    // Writes in flight through every member when the leader loses power.
    // Some are still local, some appended on a few members, some committed: the crash comes
    // a few simulated milliseconds after they start.
    const inflight = sim.nodes().flatMap((n) => [0, 1, 2].map((j) => track(n.put(`fly/${n.id}/${j}`, 'v'))));
    await sim.run(3);
    await sim.crash(leader.id);
    await sim.runUntil(() => inflight.every((t) => t.get() !== undefined), {
      what: 'in-flight writes to end',
    });
    for (const t of inflight) {
      const o = t.get();
      assert.ok(
        o?.ok === true || o?.code === 'OUTCOME_UNKNOWN',
        `seed ${sim.seed}: in-flight write ended ${JSON.stringify(o)}`,
      );
    }
    const next = await sim.waitForLeader();
    assert.notEqual(next.id, leader.id);
    const f = sim.nodes().find((n) => n !== next) as KvNode;
    const after = await sim.settle(f.put('after', 'crash'));
    assert.ok(after.revision > 0);
    for (const key of acked) assert.equal((await sim.settle(f.get(key))).count, 1, `${key} was lost`);
    for (const t of inflight) {
      const o = t.get();
      if (o?.ok === true) assert.ok(o.revision > 0);
    }
    // The crashed member restarts from its disk and catches up.
    const back = await sim.start(leader.id);
    await sim.runUntil(() => back.stateMachine.store.revision === next.stateMachine.store.revision, {
      what: 'catch up',
    });
    assert.deepEqual(back.stateMachine.store.hashKV(), next.stateMachine.store.hashKV());
    assert.equal((await sim.settle(back.get('after'))).count, 1);
    await sim.close();
  });

  test('a write while no leader can be found times out as certainly not done (TIMEOUT)', async () => {
    const sim = await KvSim.create({ seed: seedFor(72) });
    await sim.waitForLeader();
    const f = sim.follower();
    sim.net.isolate(f.id);
    await sim.runUntil(() => f.leaderId === undefined, {
      what: 'the follower to lose its leader',
      maxMs: 10_000,
    });
    const err = await sim.rejection(f.put('k', 'v', { timeoutMs: 800 }));
    assert.equal(err.code, 'TIMEOUT');
    sim.net.heal();
    await sim.close();
  });

  test('a write on a leader that lost its quorum is OUTCOME_UNKNOWN', async () => {
    const sim = await KvSim.create({ seed: seedFor(73) });
    const leader = await sim.waitForLeader();
    for (const n of sim.nodes()) if (n !== leader) sim.net.isolate(n.id);
    const err = await sim.rejection(leader.put('k', 'v', { timeoutMs: 500 }));
    assert.equal(err.code, 'OUTCOME_UNKNOWN');
    sim.net.heal();
    await sim.close();
  });

  test('abort signals: before proposing → ABORTED; after → OUTCOME_UNKNOWN', async () => {
    const sim = await KvSim.create({ seed: seedFor(74) });
    const leader = await sim.waitForLeader();
    const early = new AbortController();
    early.abort();
    assert.equal((await sim.rejection(leader.put('k', 'v', { signal: early.signal }))).code, 'ABORTED');
    assert.equal((await sim.rejection(leader.get('k', { signal: early.signal }))).code, 'ABORTED');
    for (const n of sim.nodes()) if (n !== leader) sim.net.isolate(n.id);
    const late = new AbortController();
    const p = leader.put('k', 'v', { signal: late.signal });
    await sim.run(50);
    late.abort();
    assert.equal((await sim.rejection(p)).code, 'OUTCOME_UNKNOWN');
    sim.net.heal();
    await sim.close();
  });

  test('a stopped node rejects new requests with STOPPED and in-flight writes with OUTCOME_UNKNOWN', async () => {
    const sim = await KvSim.create({ seed: seedFor(75) });
    const leader = await sim.waitForLeader();
    for (const n of sim.nodes()) if (n !== leader) sim.net.isolate(n.id);
    const inflight = track(leader.put('k', 'v'));
    await sim.run(20);
    const stopping = leader.stop();
    assert.equal(leader.stopped, true);
    await sim.settle(stopping);
    await sim.runUntil(() => inflight.get() !== undefined);
    assert.deepEqual(inflight.get(), { ok: false, code: 'OUTCOME_UNKNOWN' });
    assert.equal((await sim.rejection(leader.put('k', 'v'))).code, 'STOPPED');
    assert.equal((await sim.rejection(leader.get('k'))).code, 'STOPPED');
    assert.equal((await sim.rejection(leader.get('k', { serializable: true }))).code, 'STOPPED');
    await sim.settle(leader.stop());
    sim.net.heal();
    await sim.close();
  });
});
