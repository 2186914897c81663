import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { prefixEnd } from '@flotilla/mvcc';
import { KvSim, seedFor } from './helpers/kv-sim.js';

const str = (u: Uint8Array | undefined): string | undefined =>
  u === undefined ? undefined : Buffer.from(u).toString();

describe('KV operations on a 3-member cluster', () => {
  let sim: KvSim;
  before(async () => {
    sim = await KvSim.create({ seed: seedFor(11) });
    await sim.waitForLeader();
  });
  after(() => sim.close());

  test('put, get and delete from every member, with etcd headers', async () => {
    for (const [i, n] of sim.nodes().entries()) {
      const put = await sim.settle(n.put(`k${i}`, `v${i}`));
      assert.equal(put.header.memberId, n.id);
      assert.ok(put.header.raftTerm >= 1);
      const got = await sim.settle(n.get(`k${i}`));
      assert.equal(str(got.kvs[0]?.value), `v${i}`);
      assert.equal(got.header.revision, put.header.revision);
      assert.equal(got.kvs[0]?.modRevision, put.revision);
    }
    const n = sim.follower();
    const prev = await sim.settle(n.put('k0', 'again', { prevKv: true }));
    assert.equal(str(prev.prevKv?.value), 'v0');
    const del = await sim.settle(n.delete('k', { rangeEnd: prefixEnd('k'), prevKv: true }));
    assert.equal(del.deleted, 3);
    assert.deepEqual(
      del.prevKvs.map((kv) => str(kv.key)),
      ['k0', 'k1', 'k2'],
    );
    const none = await sim.settle(n.delete('nothing'));
    assert.equal(none.deleted, 0);
    assert.equal(none.header.revision, del.header.revision, 'deleting nothing creates no revision');
  });

  test('range options: prefix, limit, sort, count, keys only, an older revision', async () => {
    const n = sim.follower();
    const first = await sim.settle(n.put('r/a', '1'));
    await sim.settle(n.put('r/b', '22'));
    await sim.settle(n.put('r/c', '333'));
    const all = await sim.settle(n.get('r/', { rangeEnd: prefixEnd('r/') }));
    assert.equal(all.count, 3);
    const page = await sim.settle(n.get('r/', { rangeEnd: prefixEnd('r/'), limit: 2, sortOrder: 'descend' }));
    assert.deepEqual(
      page.kvs.map((kv) => str(kv.key)),
      ['r/c', 'r/b'],
    );
    assert.equal(page.more, true);
    const count = await sim.settle(n.get('r/', { rangeEnd: prefixEnd('r/'), countOnly: true }));
    assert.equal(count.count, 3);
    assert.equal(count.kvs.length, 0);
    const keys = await sim.settle(n.get('r/', { rangeEnd: prefixEnd('r/'), keysOnly: true }));
    assert.equal(keys.kvs[0]?.value.byteLength, 0);
    const old = await sim.settle(n.get('r/', { rangeEnd: prefixEnd('r/'), revision: first.revision }));
    assert.equal(old.count, 1);
    const future = await sim.rejection(n.get('r/a', { revision: 10_000 }));
    assert.equal(future.code, 'FUTURE_REVISION');
  });

  test('transactions: compare-and-swap, failure branch, nested txn, read-only txn', async () => {
    const n = sim.follower();
    await sim.settle(n.put('cas', 'old'));
    const swap = await sim.settle(
      n.txn({
        compare: [{ key: 'cas', target: 'value', result: 'equal', value: 'old' }],
        success: [{ put: { key: 'cas', value: 'new' } }, { range: { key: 'cas' } }],
        failure: [],
      }),
    );
    assert.equal(swap.succeeded, true);
    const seen = swap.responses[1];
    assert.ok(seen !== undefined && 'range' in seen);
    assert.equal(str(seen.range.kvs[0]?.value), 'new');
    const lost = await sim.settle(
      n.txn({
        compare: [{ key: 'cas', target: 'value', result: 'equal', value: 'old' }],
        success: [{ put: { key: 'cas', value: 'never' } }],
        failure: [
          {
            txn: {
              compare: [{ key: 'cas', target: 'version', result: 'greater', value: 0 }],
              success: [{ put: { key: 'nested', value: 'yes' } }],
            },
          },
        ],
      }),
    );
    assert.equal(lost.succeeded, false);
    assert.equal(str((await sim.settle(n.get('nested'))).kvs[0]?.value), 'yes');
    // A read-only txn is served by ReadIndex and creates no revision.
    const before = await sim.settle(n.get('cas'));
    const ro = await sim.settle(
      n.txn({ success: [{ range: { key: 'cas' } }, { txn: { success: [{ range: { key: 'nested' } }] } }] }),
    );
    assert.equal(ro.succeeded, true);
    assert.equal(ro.header.revision, before.header.revision);
    assert.equal(ro.header.memberId, n.id);
    // A deterministic failure at apply time: a key written twice.
    const dup = await sim.rejection(
      n.txn({ success: [{ put: { key: 'd', value: '1' } }, { put: { key: 'd', value: '2' } }] }),
    );
    assert.equal(dup.code, 'DUPLICATE_KEY');
    const ignored = await sim.rejection(n.put('missing', '', { ignoreValue: true }));
    assert.equal(ignored.code, 'KEY_NOT_FOUND');
    const noLease = await sim.rejection(n.put('x', 'y', { lease: 123456 }));
    assert.equal(noLease.code, 'LEASE_NOT_FOUND');
  });

  test('compaction applies on every member; reads below it fail COMPACTED', async () => {
    const n = sim.follower();
    const a = await sim.settle(n.put('c', '1'));
    await sim.settle(n.put('c', '2'));
    const c = await sim.settle(n.compact(a.revision + 1));
    assert.ok(c.header.revision >= a.revision + 1);
    for (const m of sim.nodes()) {
      await sim.runUntil(() => m.stateMachine.store.compactRevision === a.revision + 1, {
        what: 'compaction everywhere',
      });
      const err = await sim.rejection(m.get('c', { revision: a.revision }));
      assert.equal(err.code, 'COMPACTED');
    }
    assert.equal((await sim.rejection(n.compact(a.revision))).code, 'COMPACTED');
    assert.equal((await sim.rejection(n.compact(1_000_000))).code, 'FUTURE_REVISION');
  });

  test('bad requests get a typed error and propose nothing', async () => {
    const n = sim.follower();
    const applied = n.replica.appliedIndex;
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => n.put('', 'v'), 'EMPTY_KEY'],
      [() => n.put(42 as unknown as string, 'v'), 'INVALID_ARGUMENT'],
      [() => n.put('k', { no: 1 } as unknown as string), 'INVALID_ARGUMENT'],
      [() => n.put('k', 'v', { lease: -1 }), 'INVALID_ARGUMENT'],
      [() => n.put('k', 'v', { ignoreValue: true }), 'VALUE_PROVIDED'],
      [() => n.put('k', '', { ignoreLease: true, lease: 5 }), 'LEASE_PROVIDED'],
      [() => n.put('k', 'v', { timeoutMs: -5 }), 'INVALID_ARGUMENT'],
      [() => n.put('k', 'v', 'opts' as unknown as object), 'INVALID_ARGUMENT'],
      [() => n.get('k', { sortOrder: 'sideways' as 'none' }), 'INVALID_ARGUMENT'],
      [() => n.get('k', { limit: 1.5 }), 'INVALID_ARGUMENT'],
      [() => n.get('k', { serializable: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT'],
      [() => n.delete(''), 'EMPTY_KEY'],
      [() => n.txn({ success: [{ put: { key: '' } }] }), 'EMPTY_KEY'],
      [() => n.txn({ success: [{}] } as never), 'INVALID_ARGUMENT'],
      [
        () => n.txn({ compare: [{ key: 'a', target: 'nope', result: 'equal', value: 1 }] } as never),
        'INVALID_ARGUMENT',
      ],
      [
        () => n.txn({ compare: [{ key: 'a', target: 'value', result: 'equal', value: 1 }] } as never),
        'INVALID_ARGUMENT',
      ],
      [() => n.txn(undefined as never), 'INVALID_ARGUMENT'],
      [() => n.compact(-1), 'INVALID_ARGUMENT'],
      [() => n.grant(1.5), 'INVALID_TTL'],
      [() => n.grant(-1), 'INVALID_TTL'],
      [() => n.grant(10, { id: 0 }), 'INVALID_ARGUMENT'],
      [() => n.revoke(0), 'INVALID_ARGUMENT'],
      [() => n.keepAliveOnce(-3), 'INVALID_ARGUMENT'],
      [() => n.timeToLive(1, { keys: 'y' as unknown as boolean }), 'INVALID_ARGUMENT'],
    ];
    for (const [call, code] of cases) {
      const err = await sim.rejection(call());
      assert.equal(err.code, code, err.message);
    }
    assert.equal(n.replica.appliedIndex, applied, 'nothing was proposed');
  });
});

describe('request limits (etcd defaults, configurable)', () => {
  test('defaults: 1.5 MiB request, 128 ops per txn branch', async () => {
    const sim = await KvSim.create({ seed: seedFor(12), ids: [1] });
    const n = await sim.waitForLeader();
    assert.equal(n.limits.maxRequestBytes, 1.5 * 1024 * 1024);
    assert.equal(n.limits.maxTxnOps, 128);
    const big = new Uint8Array(1.5 * 1024 * 1024);
    assert.equal((await sim.rejection(n.put('k', big))).code, 'REQUEST_TOO_LARGE');
    const ok = await sim.settle(n.put('k', new Uint8Array(1024 * 1024)));
    assert.ok(ok.revision > 1);
    const ops = Array.from({ length: 129 }, (_, i) => ({ put: { key: `k${i}`, value: 'v' } }));
    assert.equal((await sim.rejection(n.txn({ success: ops }))).code, 'TOO_MANY_OPS');
    const fine = await sim.settle(n.txn({ success: ops.slice(0, 128) }));
    assert.equal(fine.responses.length, 128);
    await sim.close();
  });

  test('configured limits on keys, values, requests and txn ops', async () => {
    const sim = await KvSim.create({
      seed: seedFor(13),
      ids: [1],
      node: { maxKeyBytes: 8, maxValueBytes: 16, maxRequestBytes: 200, maxTxnOps: 2 },
    });
    const n = await sim.waitForLeader();
    const applied = n.replica.appliedIndex;
    assert.equal((await sim.rejection(n.put('123456789', 'v'))).code, 'KEY_TOO_LARGE');
    assert.equal((await sim.rejection(n.get('k', { rangeEnd: '123456789' }))).code, 'KEY_TOO_LARGE');
    assert.equal((await sim.rejection(n.put('k', 'x'.repeat(17)))).code, 'VALUE_TOO_LARGE');
    const ops = [0, 1].map((i) => ({ put: { key: `k${i}`, value: 'x'.repeat(16) } }));
    const cmp = [{ key: 'k', target: 'value' as const, result: 'equal' as const, value: 'x'.repeat(16) }];
    assert.equal(
      (await sim.rejection(n.txn({ compare: [...cmp, ...cmp, ...cmp], success: [] }))).code,
      'TOO_MANY_OPS',
    );
    assert.equal(
      (await sim.rejection(n.txn({ compare: [...cmp, ...cmp], success: ops, failure: ops }))).code,
      'REQUEST_TOO_LARGE',
    );
    assert.equal(n.replica.appliedIndex, applied);
    await sim.close();
  });
});
