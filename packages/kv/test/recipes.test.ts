/**
 * Sessions, locks and elections from `@flotilla/lease`, bound to KV nodes of a cluster.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { KvLike, LockHandle } from '@flotilla/lease';
import { KvSim, seedFor } from './helpers/kv-sim.js';

describe('sessions, locks and elections over a cluster', () => {
  test('a lock is exclusive across members and its fencing tokens increase', async () => {
    const sim = await KvSim.create({ seed: seedFor(61) });
    await sim.waitForLeader();
    const [a, b, c] = sim.nodes();
    assert.ok(a && b && c);
    const asKvLike: KvLike = a; // a KvNode is a KvLike as it is: the recipes run on it directly
    assert.equal(asKvLike, a);
    const sa = await sim.settle(a.session({ ttl: 5 }));
    const sb = await sim.settle(b.session({ ttl: 5 }));
    const held = await sim.settle(a.lock('jobs', { session: sa }));
    let bHeld: LockHandle | undefined;
    const waiting = b.lock('jobs', { session: sb }).then((h) => {
      bHeld = h;
      return h;
    });
    await sim.run(1000);
    assert.equal(bHeld, undefined, 'b waits while a holds the lock');
    const guarded = await sim.settle(held.guard({ success: [{ put: { key: 'jobs-state', value: 'a' } }] }));
    assert.equal(guarded.succeeded, true);
    await sim.settle(held.unlock());
    const second = await sim.settle(waiting);
    assert.ok(second.fencingToken > held.fencingToken);
    // a's guard no longer writes: its lock is gone.
    const stale = await sim.settle(held.guard({ success: [{ put: { key: 'jobs-state', value: 'stale' } }] }));
    assert.equal(stale.succeeded, false);
    const state = await sim.settle(c.get('jobs-state'));
    assert.equal(Buffer.from(state.kvs[0]?.value ?? []).toString(), 'a');
    await sim.settle(second.unlock());
    await sim.settle(sa.close());
    await sim.settle(sb.close());
    await sim.close();
  });

  test("Jepsen's lock scenario: a waiter whose session expires gets LOCK_LOST, never the lock", async () => {
    const sim = await KvSim.create({ seed: seedFor(62) });
    await sim.waitForLeader();
    const [a, b] = sim.nodes();
    assert.ok(a && b);
    const sa = await sim.settle(a.session({ ttl: 30 }));
    // b's session sends no keep-alive in time: its lease expires on the cluster while it waits.
    const sb = await sim.settle(b.session({ ttl: 2, keepAliveIntervalMs: 60_000 }));
    const held = await sim.settle(a.lock('res', { session: sa }));
    let outcome: string | undefined;
    b.lock('res', { session: sb }).then(
      () => {
        outcome = 'granted';
      },
      (err: unknown) => {
        outcome = isFlotillaError(err) ? err.code : String(err);
      },
    );
    await sim.runUntil(() => outcome !== undefined || !sb.alive, { what: "b's session to expire" });
    await sim.run(3000);
    await sim.settle(held.unlock());
    await sim.runUntil(() => outcome !== undefined, { what: "b's lock attempt to end" });
    assert.equal(outcome, 'LOCK_LOST');
    await sim.settle(sa.close());
    await sim.close();
  });

  test('a waiter cut off from the cluster loses its session and gets LOCK_LOST after the holder unlocks', async () => {
    const sim = await KvSim.create({ seed: seedFor(63) });
    const leader = await sim.waitForLeader();
    const a = leader;
    const b = sim.follower();
    const sa = await sim.settle(a.session({ ttl: 30 }));
    const sb = await sim.settle(b.session({ ttl: 2 }));
    const held = await sim.settle(a.lock('res', { session: sa }));
    let outcome: string | undefined;
    b.lock('res', { session: sb }).then(
      () => {
        outcome = 'granted';
      },
      (err: unknown) => {
        outcome = isFlotillaError(err) ? err.code : String(err);
      },
    );
    await sim.run(200);
    sim.net.isolate(b.id); // b's keep-alives and watches stall: a paused or partitioned client
    await sim.runUntil(() => !sb.alive, { what: "b's session to end" });
    await sim.settle(held.unlock());
    await sim.run(3000);
    sim.net.heal();
    await sim.runUntil(() => outcome !== undefined, { what: "b's lock attempt to end" });
    assert.equal(outcome, 'LOCK_LOST');
    await sim.settle(sa.close());
    await sim.close();
  });

  test('an election: the first candidate leads, the next takes over when it resigns', async () => {
    const sim = await KvSim.create({ seed: seedFor(64) });
    await sim.waitForLeader();
    const [a, b] = sim.nodes();
    assert.ok(a && b);
    const sa = await sim.settle(a.session({ ttl: 10 }));
    const sb = await sim.settle(b.session({ ttl: 10 }));
    const ea = a.election('primary', { session: sa });
    const eb = b.election('primary', { session: sb });
    const first = await sim.settle(ea.campaign('node-a'));
    const second: { token?: number } = {};
    void eb.campaign('node-b').then((l) => {
      second.token = l.fencingToken;
    });
    await sim.run(500);
    assert.equal(second.token, undefined);
    const observed = await sim.settle(eb.leader());
    assert.equal(Buffer.from(observed.value).toString(), 'node-a');
    await sim.settle(ea.resign());
    await sim.runUntil(() => second.token !== undefined, { what: 'b to lead' });
    assert.ok((second.token ?? 0) > first.fencingToken);
    await sim.settle(sa.close());
    await sim.settle(sb.close());
    await sim.close();
  });
});
