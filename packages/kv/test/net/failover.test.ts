/**
 * Failover and the outcome rules over 127.0.0.1: a killed member's clients move on; idempotent
 * requests are retried; a write whose fate is unknown rejects OUTCOME_UNKNOWN (never a plain
 * failure); a write that certainly never left rejects TIMEOUT; every request has a deadline.
 *
 * Some tests serve a double around the real node whose `put`/`get` of keys under `hang/` never
 * answer on member 1: a request stuck inside a member, deterministically.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { KvNode } from '@flotilla/kv';
import type { KvServer } from '@flotilla/kv/client';
import { Cluster, until } from './helpers.js';

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isFlotillaError(err) ? err.code : `not a FlotillaError: ${String(err)}`;
  }
}

/** Member 1 never answers puts or gets of `hang/` keys; everything else is the real node. */
function hangOnMember1(node: KvNode): ConstructorParameters<typeof KvServer>[0] {
  const never = new Promise<never>(() => {});
  return new Proxy(node, {
    get(target, prop) {
      if (target.id === 1 && (prop === 'put' || prop === 'get')) {
        return (key: unknown, ...rest: unknown[]) =>
          typeof key === 'string' && key.startsWith('hang/')
            ? never
            : (target[prop] as (...a: unknown[]) => Promise<unknown>).call(target, key, ...rest);
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('failover and outcomes', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await Cluster.start({ wrap: hangOnMember1 });
    await cluster.leader();
  });
  after(() => cluster.close());

  test('deadlines: a stuck read times out (TIMEOUT), a stuck write is OUTCOME_UNKNOWN', async () => {
    const client = await cluster.client({ endpoints: [cluster.endpoint(1)] });
    assert.equal(await outcome(client.get('hang/r', { timeoutMs: 200 })), 'TIMEOUT');
    assert.equal(await outcome(client.put('hang/w', 'v', { timeoutMs: 200 })), 'OUTCOME_UNKNOWN');
    // Aborting behaves the same way: a sent write's fate is unknown, a read is just aborted.
    const ac = new AbortController();
    const w = outcome(client.put('hang/w2', 'v', { signal: ac.signal }));
    const r = outcome(client.get('hang/r2', { signal: ac.signal }));
    // One turn: the batch holding both requests is written to the socket (they are "sent").
    await new Promise((resolve) => setImmediate(resolve));
    ac.abort();
    assert.equal(await w, 'OUTCOME_UNKNOWN');
    assert.equal(await r, 'ABORTED');
    // The connection is still fine.
    assert.equal((await client.put('ok', 'v')).header.memberId, 1);
  });

  test('a killed member: in-flight writes are OUTCOME_UNKNOWN, in-flight reads are retried elsewhere', async () => {
    const client = await cluster.client({
      endpoints: [cluster.endpoint(1), cluster.endpoint(2), cluster.endpoint(3)],
    });
    assert.equal(client.memberId, 1);
    const acked = await client.put('before-kill', 'v');
    const stuckWrite = outcome(client.put('hang/write', 'v'));
    const stuckRead = client.get('hang/read');
    // Both were handed to member 1 (it answers everything else): wait until they are on the wire.
    await client.get('before-kill', { serializable: true });
    await cluster.kill(1);
    assert.equal(await stuckWrite, 'OUTCOME_UNKNOWN');
    const read = await stuckRead;
    assert.notEqual(read.header.memberId, 1);
    assert.notEqual(client.memberId, 1);
    // Nothing acknowledged was lost, and writes go on through the next member.
    assert.equal((await client.get('before-kill')).kvs[0]?.modRevision, acked.header.revision);
    const after = await client.put('after-kill', 'v');
    assert.ok(after.header.revision > acked.header.revision);
  });

  test('with every member down, a queued write certainly did nothing: TIMEOUT, and connect fails UNAVAILABLE', async () => {
    const client = await cluster.client({
      endpoints: [cluster.endpoint(2), cluster.endpoint(3)],
      dialTimeoutMs: 200,
    });
    const eps = cluster.endpoints;
    await cluster.kill(2);
    await cluster.kill(3);
    assert.equal(await outcome(client.put('never', 'v', { timeoutMs: 300 })), 'TIMEOUT');
    assert.equal(await outcome(client.get('never', { timeoutMs: 300 })), 'TIMEOUT');
    await assert.rejects(
      cluster.client({ endpoints: eps, timeoutMs: 500, dialTimeoutMs: 100 }),
      (err: unknown) => isFlotillaError(err, 'UNAVAILABLE'),
    );
    await client.close();
    assert.equal(await outcome(client.get('x')), 'STOPPED');
  });
});

describe('a member cut off from the quorum', () => {
  test('requests through it time out once, then the client moves to a member with a leader', async () => {
    const cluster = await Cluster.start();
    try {
      const leader = await cluster.leader();
      const [cut, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
      const client = await cluster.client({ endpoints: [cluster.endpoint(cut), cluster.endpoint(other)] });
      assert.equal(client.memberId, cut);
      // Partition: `cut` can reach no peer and no peer reaches it (its client port stays open).
      for (const m of cluster.members) {
        if (m.id === cut) for (const p of [leader, other]) m.transport?.removePeer(p);
        else m.transport?.removePeer(cut);
      }
      await until(() => cluster.node(cut).leaderId === undefined, 'the cut-off member to lose its leader');
      const first = await outcome(client.put('p/1', 'v', { timeoutMs: 300 }));
      assert.ok(first === 'TIMEOUT' || first === 'OUTCOME_UNKNOWN', first);
      // The client asked the member for its status, saw no leader, and let that connection go;
      // the next request goes to the next endpoint.
      await until(() => client.memberId !== cut, 'the client to leave the cut-off member');
      assert.equal((await client.put('p/2', 'v')).header.memberId, other);
    } finally {
      await cluster.close();
    }
  });
});

describe('graceful close of a member', () => {
  test('requests in flight finish, the client moves on (goaway), new requests go elsewhere', async () => {
    const cluster = await Cluster.start();
    try {
      await cluster.leader();
      const client = await cluster.client({ endpoints: [cluster.endpoint(1), cluster.endpoint(2)] });
      assert.equal(client.memberId, 1);
      const inflight = Array.from({ length: 20 }, (_, i) => client.put(`g/${i}`, 'v'));
      await cluster.member(1).server?.close();
      const results = await Promise.allSettled(inflight);
      for (const r of results) {
        // Answered by member 1 before it closed, or refused there (STOPPED) and sent to member 2.
        assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      }
      const next = await client.put('g/after', 'v');
      assert.equal(next.header.memberId, 2);
      await until(() => client.memberId === 2, 'the client to use member 2');
    } finally {
      await cluster.close();
    }
  });
});
