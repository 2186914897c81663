/**
 * KvClient against a real 3-member cluster over 127.0.0.1: every KvApi method round-trips with
 * the node's semantics, many requests share one connection and are answered out of order, and
 * the coordination recipes work over the network.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { KvClient } from '@flotilla/kv/client';
import { prefixEnd } from '@flotilla/mvcc';
import { Cluster } from './helpers.js';

const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString();

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isFlotillaError(err) ? err.code : `not a FlotillaError: ${String(err)}`;
  }
  return 'resolved';
}

describe('KvClient over TCP', () => {
  let cluster: Cluster;
  let client: KvClient;
  before(async () => {
    cluster = await Cluster.start();
    await cluster.leader();
    client = await cluster.client();
  });
  after(() => cluster.close());

  test('put, get, delete, txn and compact map onto the node', async () => {
    const put = await client.put('a/1', 'one');
    assert.ok(put.header.revision > 1);
    assert.equal(put.header.memberId, client.memberId);
    const prev = await client.put('a/1', 'uno', { prevKv: true });
    assert.equal(text(prev.prevKv?.value), 'one');
    await client.put('a/2', new Uint8Array([0, 1, 2]));
    const got = await client.get('a/', { rangeEnd: prefixEnd('a/') });
    assert.equal(got.count, 2);
    assert.equal(text(got.kvs[0]?.value), 'uno');
    assert.deepEqual([...(got.kvs[1]?.value ?? [])], [0, 1, 2]);
    const ser = await client.get('a/1', { serializable: true, keysOnly: true });
    assert.equal(ser.kvs[0]?.value.byteLength, 0);
    const txn = await client.txn({
      compare: [{ key: 'a/1', target: 'value', result: 'equal', value: 'uno' }],
      success: [{ put: { key: 'a/3', value: 'three' } }, { range: { key: 'a/1' } }],
      failure: [],
    });
    assert.equal(txn.succeeded, true);
    assert.equal(txn.responses.length, 2);
    const del = await client.delete('a/', { rangeEnd: prefixEnd('a/'), prevKv: true });
    assert.equal(del.deleted, 3);
    assert.equal(del.prevKvs.length, 3);
    const c = await client.compact(put.header.revision);
    assert.ok(c.header.revision >= put.header.revision);
    assert.equal(await code(client.get('a/1', { revision: put.header.revision - 1 })), 'COMPACTED');
  });

  test('bad requests get the node typed errors and change nothing', async () => {
    const before = (await client.get('x')).header.revision;
    assert.equal(await code(client.put('', 'v')), 'EMPTY_KEY');
    assert.equal(await code(client.put(42 as unknown as string, 'v')), 'INVALID_ARGUMENT');
    assert.equal(await code(client.put('k', 'v', { ignoreValue: true })), 'VALUE_PROVIDED');
    assert.equal(await code(client.get('k', { sortOrder: 'sideways' as 'ascend' })), 'INVALID_ARGUMENT');
    assert.equal(await code(client.txn({ success: 'nope' } as unknown as object)), 'INVALID_ARGUMENT');
    assert.equal(await code(client.revoke(-1)), 'INVALID_ARGUMENT');
    assert.equal(await code(client.put('k', 'v', { timeoutMs: -5 })), 'INVALID_ARGUMENT');
    assert.equal((await client.get('x')).header.revision, before);
  });

  test('pipelining: hundreds of requests in flight on one connection, answered out of order', async () => {
    const order: string[] = [];
    const slow = client.get('p/slow').then(() => order.push('linearizable'));
    const writes = Array.from({ length: 300 }, (_, i) => client.put(`p/${i}`, `v${i}`));
    const reads = Array.from({ length: 50 }, () =>
      client.get('p/none', { serializable: true }).then(() => order.push('serializable')),
    );
    const results = await Promise.all(writes);
    await Promise.all([slow, ...reads]);
    // Each write got its own revision; serializable reads did not wait behind the ReadIndex read.
    assert.equal(new Set(results.map((r) => r.header.revision)).size, 300);
    assert.notEqual(order[0], 'linearizable');
    const all = await client.get('p/', { rangeEnd: prefixEnd('p/'), countOnly: true });
    assert.equal(all.count, 300);
  });

  test('leases, keep-alives and time-to-live', async () => {
    const lease = await client.grant(5);
    assert.ok(lease.id > 0);
    await client.put('l/k', 'v', { lease: lease.id });
    const ka = await client.keepAliveOnce(lease.id);
    assert.equal(ka.id, lease.id);
    const ttl = await client.timeToLive(lease.id, { keys: true });
    assert.equal(ttl.grantedTtl, 5);
    assert.deepEqual(
      ttl.keys.map((k) => text(k)),
      ['l/k'],
    );
    assert.ok((await client.leases()).leases.some((l) => l.id === lease.id));
    const stream = client.keepAlive(lease.id, { intervalMs: 20 });
    let n = 0;
    for await (const r of stream) {
      assert.equal(r.id, lease.id);
      if (++n === 3) break;
    }
    await client.revoke(lease.id);
    assert.equal((await client.get('l/k')).count, 0);
    assert.equal((await client.timeToLive(lease.id)).ttl, -1);
    assert.equal(await code(client.keepAliveOnce(lease.id)), 'LEASE_NOT_FOUND');
  });

  test('a watch replays history from an old revision and then follows live changes', async () => {
    const first = await client.put('w/a', '1');
    await client.put('w/b', '2');
    const w = client.watch({ key: 'w/', rangeEnd: prefixEnd('w/'), startRevision: first.header.revision });
    await w.ready;
    const live = await client.put('w/c', '3');
    const seen: string[] = [];
    for await (const resp of w) {
      for (const e of resp.events) seen.push(`${e.type} ${text(e.kv.key)}@${e.kv.modRevision}`);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, [
      `put w/a@${first.header.revision}`,
      `put w/b@${first.header.revision + 1}`,
      `put w/c@${live.header.revision}`,
    ]);
  });

  test('status, members and snapshot', async () => {
    const st = await client.status();
    assert.equal(st.header.memberId, client.memberId);
    assert.ok(st.leader > 0);
    const ms = await client.members();
    assert.deepEqual(
      ms.members.map((m) => m.id),
      [1, 2, 3],
    );
    const snap = await client.snapshot();
    assert.ok(snap.data.byteLength > 0);
    assert.equal(snap.memberId, client.memberId);
  });

  test('sessions, locks with fencing tokens and elections work through the client', async () => {
    const s1 = await client.session({ ttl: 5 });
    const s2 = await client.session({ ttl: 5 });
    const l1 = await client.lock('locks/a', { session: s1 });
    const waiting = client.lock('locks/a', { session: s2 });
    await l1.unlock();
    const l2 = await waiting;
    assert.ok(l2.fencingToken > l1.fencingToken);
    const stale = await l1.guard({ success: [{ put: { key: 'locks/a-data', value: 'stale' } }] });
    assert.equal(stale.succeeded, false);
    await l2.unlock();
    const e = client.election('elections/a', { session: s1 });
    const me = await e.campaign('me');
    assert.equal(text(me.value), 'me');
    await e.resign();
    await s1.close();
    await s2.close();
  });
});
