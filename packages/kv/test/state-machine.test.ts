import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCommand, encodeCommand, type KvCommand, type KvResult, KvStateMachine } from '@flotilla/kv';
import type { LessorEvent } from '@flotilla/lease';
import { b, compact, del, expire, grant, put, renew, revoke, s } from './helpers/commands.js';

/** Applies commands at indexes 1, 2, ... (or from `start`) and returns the results. */
function run(sm: KvStateMachine, cmds: readonly KvCommand[], start = sm.appliedIndex + 1): KvResult[] {
  return cmds.map((c, i) => sm.apply(encodeCommand(c), start + i));
}

function failed(r: KvResult | undefined): { code: string; revision: number } {
  assert.ok(r !== undefined && r.type === 'failed', `expected a failed result, got ${JSON.stringify(r)}`);
  return r;
}

describe('KvStateMachine: KV commands', () => {
  test('put, delete and txn produce revisions and etcd-shaped results', () => {
    const sm = new KvStateMachine();
    const [p1, p2, d, t] = run(sm, [
      put('a', '1'),
      put('a', '2', { prevKv: true }),
      del('a'),
      {
        type: 'txn',
        request: {
          compare: [{ key: b('a'), target: 'version', result: 'equal', value: 0 }],
          success: [{ put: { key: b('a'), value: b('3') } }, { range: { key: b('a') } }],
          failure: [],
        },
      },
    ]);
    assert.deepEqual(p1, { type: 'put', revision: 2, put: { revision: 2 } });
    assert.ok(p2?.type === 'put');
    assert.equal(p2.revision, 3);
    assert.equal(s(p2.put.prevKv?.value), '1');
    assert.ok(d?.type === 'deleteRange');
    assert.equal(d.deleteRange.deleted, 1);
    assert.equal(d.revision, 4);
    assert.ok(t?.type === 'txn');
    assert.equal(t.txn.succeeded, true);
    assert.equal(t.revision, 5);
    assert.equal(s(sm.store.range('a').kvs[0]?.value), '3');
    assert.equal(sm.appliedIndex, 4);
  });

  test('deterministic failures are results, never throws, and change nothing', () => {
    const sm = new KvStateMachine();
    run(sm, [put('a', '1')]);
    const before = sm.snapshot();
    const results = run(sm, [
      put('b', 'x', { lease: 99 }), // LEASE_NOT_FOUND
      {
        type: 'txn',
        request: {
          success: [{ put: { key: b('k'), value: b('1') } }, { put: { key: b('k'), value: b('2') } }],
        },
      }, // DUPLICATE_KEY
      compact(50), // FUTURE_REVISION
      {
        type: 'put',
        key: b('zz'),
        value: new Uint8Array(),
        lease: 0,
        prevKv: false,
        ignoreValue: true,
        ignoreLease: false,
      }, // KEY_NOT_FOUND
      revoke(5), // LEASE_NOT_FOUND
      renew(5), // LEASE_NOT_FOUND
    ]);
    assert.deepEqual(
      results.map((r) => failed(r).code),
      [
        'LEASE_NOT_FOUND',
        'DUPLICATE_KEY',
        'FUTURE_REVISION',
        'KEY_NOT_FOUND',
        'LEASE_NOT_FOUND',
        'LEASE_NOT_FOUND',
      ],
    );
    for (const r of results) assert.equal(r.revision, 2, 'a failed result carries the current revision');
    // Only the applied index moved (it is part of the snapshot); the state is the same.
    const after = new KvStateMachine();
    after.restore(sm.snapshot());
    const old = new KvStateMachine();
    old.restore(before);
    assert.deepEqual(after.store.hashKV(), old.store.hashKV());
    run(sm, [compact(2)]);
    assert.equal(failed(run(sm, [compact(1)])[0]).code, 'COMPACTED');
  });

  test('a txn of the wrong shape fails deterministically with INVALID_ARGUMENT', () => {
    const sm = new KvStateMachine();
    const bad = { type: 'txn', request: { success: [{ put: { key: 42 } }] } } as unknown as KvCommand;
    assert.equal(failed(run(sm, [bad])[0]).code, 'INVALID_ARGUMENT');
  });

  test('apply refuses an index at or below the applied index', () => {
    const sm = new KvStateMachine();
    sm.apply(encodeCommand(put('a', '1')), 5);
    assert.throws(() => sm.apply(encodeCommand(put('a', '1')), 5), { code: 'INVALID_ARGUMENT' });
  });
});

describe('KvStateMachine: leases', () => {
  test('grant with id 0 takes the entry index, skipping ids in use', () => {
    const sm = new KvStateMachine({ minLeaseTtlSeconds: 5 });
    const [g1] = run(sm, [grant(12, 10)], 10); // explicit id 12 at index 10
    const [g2, g3] = run(sm, [grant(0, 1), grant(0, 30)], 12); // index 12 is taken → 13; index 13 → 14
    assert.deepEqual(g1, { type: 'leaseGrant', revision: 1, id: 12, ttl: 10 });
    assert.ok(g2?.type === 'leaseGrant' && g3?.type === 'leaseGrant');
    assert.equal(g2.id, 13);
    assert.equal(g2.ttl, 5, 'raised to the minimum TTL');
    assert.equal(g3.id, 14);
    assert.equal(failed(run(sm, [grant(12, 10)])[0]).code, 'LEASE_EXISTS');
  });

  test('revoke deletes the attached keys in one revision', () => {
    const sm = new KvStateMachine();
    run(sm, [grant(7, 10), put('x', '1', { lease: 7 }), put('y', '1', { lease: 7 }), put('z', '1')]);
    const [r] = run(sm, [revoke(7)]);
    assert.deepEqual(r, { type: 'leaseRevoke', revision: 5, deleted: 2 });
    assert.equal(sm.store.range('x').count, 0);
    assert.equal(sm.store.range('z').count, 1);
    assert.equal(sm.lessor.has(7), false);
    assert.equal(sm.leaseEpoch(7), 0);
  });

  test('a renewal clears the checkpoint, moves the epoch, and makes older expiries stale', () => {
    const sm = new KvStateMachine();
    run(sm, [grant(7, 10), put('x', '1', { lease: 7 })]); // indexes 1, 2
    assert.equal(sm.leaseEpoch(7), 1);
    run(sm, [{ type: 'leaseCheckpoint', checkpoints: [{ id: 7, remainingMs: 4000, epoch: 1 }] }]);
    assert.equal(sm.lessor.lookup(7)?.remainingMs, 4000);
    const [rn] = run(sm, [renew(7)]); // index 4
    assert.deepEqual(rn, { type: 'leaseRenew', revision: 2, id: 7, ttl: 10 });
    assert.equal(sm.lessor.lookup(7)?.remainingMs, 0, 'the checkpoint is cleared');
    assert.equal(sm.leaseEpoch(7), 4);
    // The leader's timer looked before the renewal (epoch 1): stale, ignored.
    const [e1, c1] = run(sm, [
      expire(7, 1),
      { type: 'leaseCheckpoint', checkpoints: [{ id: 7, remainingMs: 10, epoch: 1 }] },
    ]);
    assert.deepEqual(e1, { type: 'leaseExpire', revision: 2, revoked: false });
    assert.deepEqual(c1, { type: 'leaseCheckpoint', revision: 2, applied: 0 });
    assert.equal(sm.lessor.lookup(7)?.remainingMs, 0);
    // With the current epoch the expiry revokes.
    const [e2, e3] = run(sm, [expire(7, 4), expire(7, 4)]);
    assert.deepEqual(e2, { type: 'leaseExpire', revision: 3, revoked: true });
    assert.deepEqual(e3, { type: 'leaseExpire', revision: 3, revoked: false }, 'a duplicate is harmless');
    assert.equal(sm.store.range('x').count, 0);
  });

  test('a lease granted again under the same id is not hit by the old lease expiry', () => {
    const sm = new KvStateMachine();
    run(sm, [grant(7, 10), revoke(7), grant(7, 10)]); // epochs 1, then 3
    const [e] = run(sm, [expire(7, 1)]);
    assert.ok(e?.type === 'leaseExpire' && !e.revoked);
    assert.equal(sm.lessor.has(7), true);
  });

  test('lessorView reports applied renewals as grants (the timer restarts the TTL)', () => {
    const sm = new KvStateMachine();
    const events: LessorEvent['type'][] = [];
    const off = sm.lessorView().subscribe((e) => events.push(e.type));
    run(sm, [
      grant(7, 10),
      renew(7),
      { type: 'leaseCheckpoint', checkpoints: [{ id: 7, remainingMs: 5, epoch: 2 }] },
    ]);
    run(sm, [renew(7), revoke(7)]);
    off();
    run(sm, [grant(8, 10)]);
    assert.deepEqual(events, ['grant', 'grant', 'checkpoint', 'checkpoint', 'grant', 'revoke']);
    assert.deepEqual(sm.lessorView().lookup(8)?.grantedTtl, 10);
    assert.equal(sm.lessorView().leases().length, 1);
  });
});

describe('KvStateMachine: members', () => {
  test('publish and forget member attributes', () => {
    const sm = new KvStateMachine();
    run(sm, [
      { type: 'memberPublish', id: 2, name: 'n2', peerUrls: ['h:2380'], clientUrls: ['h:2379'] },
      { type: 'memberPublish', id: 1, name: 'n1', peerUrls: [], clientUrls: ['h:1'] },
      { type: 'memberForget', id: 2 },
    ]);
    assert.deepEqual([...sm.memberAttributes()], [[1, { name: 'n1', peerUrls: [], clientUrls: ['h:1'] }]]);
  });
});

describe('KvStateMachine: snapshots', () => {
  test('restore rebuilds store, leases, members and epochs, and emits restore', () => {
    const sm = new KvStateMachine();
    run(sm, [
      grant(7, 10),
      put('x', '1', { lease: 7 }),
      renew(7),
      { type: 'memberPublish', id: 1, name: 'n1', peerUrls: ['p'], clientUrls: ['c'] },
    ]);
    const copy = new KvStateMachine();
    let restored = 0;
    copy.on('restore', (store) => {
      restored++;
      assert.equal(store, copy.store);
    });
    copy.restore(sm.snapshot());
    assert.equal(restored, 1);
    assert.equal(copy.appliedIndex, 4);
    assert.deepEqual(copy.store.hashKV(), sm.store.hashKV());
    assert.deepEqual(copy.lessor.leases(), sm.lessor.leases());
    assert.equal(copy.leaseEpoch(7), 3);
    assert.deepEqual([...copy.memberAttributes()], [...sm.memberAttributes()]);
    // The restored lessor deletes keys in the restored store.
    run(copy, [revoke(7)]);
    assert.equal(copy.store.range('x').count, 0);
    // A put under a lease checks the restored lessor.
    assert.equal(failed(run(copy, [put('y', '1', { lease: 7 })])[0]).code, 'LEASE_NOT_FOUND');
    assert.deepEqual(Buffer.from(copy.snapshot()).equals(Buffer.from(copy.snapshot())), true);
  });

  test('a damaged snapshot is refused with CORRUPT_SNAPSHOT and changes nothing', () => {
    const sm = new KvStateMachine();
    run(sm, [put('a', '1'), grant(3, 5)]);
    const snap = sm.snapshot();
    const target = new KvStateMachine();
    run(target, [put('keep', 'me')]);
    const hash = target.store.hashKV();
    const flipped = Uint8Array.from(snap);
    flipped[10] = (flipped[10] ?? 0) ^ 0xff;
    for (const bad of [new Uint8Array(3), snap.subarray(0, snap.byteLength - 1), flipped]) {
      assert.throws(() => target.restore(bad), { code: 'CORRUPT_SNAPSHOT' });
    }
    assert.deepEqual(target.store.hashKV(), hash);
    assert.equal(target.lessor.size, 0);
  });
});

describe('command codec', () => {
  test('every command round-trips', () => {
    const cmds: KvCommand[] = [
      put('k', 'v', { lease: 3, prevKv: true }),
      {
        type: 'put',
        key: b('k'),
        value: new Uint8Array(),
        lease: 0,
        prevKv: false,
        ignoreValue: true,
        ignoreLease: true,
      },
      del('a', 'b'),
      { type: 'deleteRange', key: b('a'), rangeEnd: undefined, prevKv: false },
      {
        type: 'txn',
        request: { compare: [], success: [{ put: { key: b('a'), value: b('b') } }], failure: [] },
      },
      compact(9),
      grant(0, 60),
      revoke(4),
      renew(4),
      expire(4, 17),
      { type: 'leaseCheckpoint', checkpoints: [{ id: 4, remainingMs: 1500, epoch: 17 }] },
      { type: 'memberPublish', id: 3, name: 'n3', peerUrls: ['a:1'], clientUrls: ['a:2', 'a:3'] },
      { type: 'memberForget', id: 3 },
    ];
    // Bytes decode as Buffers (msgpackr): compare them as plain arrays.
    const plain = (v: unknown): unknown => {
      if (v instanceof Uint8Array) return [...v];
      if (Array.isArray(v)) return v.map(plain);
      if (typeof v !== 'object' || v === null) return v;
      return Object.fromEntries(
        Object.entries(v)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => [k, plain(x)]),
      );
    };
    for (const c of cmds) {
      const decoded = decodeCommand(encodeCommand(c));
      assert.deepEqual(plain(decoded), plain(c), c.type);
    }
  });

  test('corrupt or unknown commands are refused with CORRUPT_COMMAND, and apply throws', () => {
    const good = encodeCommand(put('k', 'v'));
    const newer = Uint8Array.from(good);
    newer[1] = 2; // [format, code, ...]: a format this member does not know
    const cases = [new Uint8Array([1]), newer, Uint8Array.from([1, 0xc1]), Uint8Array.from([1, 0x91, 0x63])];
    for (const data of cases) assert.throws(() => decodeCommand(data), { code: 'CORRUPT_COMMAND' });
    const wrongField = encodeCommand({ type: 'leaseRevoke', id: 1 });
    wrongField[wrongField.byteLength - 1] = 0xa1; // a string header where the id was
    assert.throws(() => decodeCommand(wrongField), { code: 'CORRUPT_COMMAND' });
    assert.throws(() => new KvStateMachine().apply(newer, 1), { code: 'CORRUPT_COMMAND' });
  });
});
