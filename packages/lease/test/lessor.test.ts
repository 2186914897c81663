import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  applyCheckpoints,
  applyRevoke,
  DEFAULT_MIN_TTL,
  Lessor,
  type LessorEvent,
  MAX_LEASE_TTL,
  minTtlForElectionTimeout,
  normalizeTtl,
} from '@flotilla/lease';
import { MvccStore, type WatchResponse } from '@flotilla/mvcc';
import fc from 'fast-check';
import { code, newLessor, text } from './helpers.js';

test('grant creates a lease; timeToLive, leases, lookup, has and size report it', () => {
  const { lessor } = newLessor();
  assert.deepEqual(lessor.grant(7, 30), { id: 7, grantedTtl: 30, remainingMs: 0 });
  lessor.grant(3, 10);
  assert.equal(lessor.size, 2);
  assert.equal(lessor.has(7), true);
  assert.equal(lessor.has(8), false);
  assert.deepEqual(lessor.lookup(3), { id: 3, grantedTtl: 10, remainingMs: 0 });
  assert.equal(lessor.lookup(4), undefined);
  assert.deepEqual(
    lessor.leases().map((l) => l.id),
    [3, 7],
  );
  assert.deepEqual(lessor.timeToLive(7), { id: 7, grantedTtl: 30, remainingMs: 0, keys: [] });
});

test('TTL rules (etcd 3.4): below the minimum is raised, above the maximum and malformed are INVALID_TTL', () => {
  const { lessor } = newLessor({ minTtlSeconds: 5 });
  assert.equal(lessor.minTtl, 5);
  assert.equal(lessor.grant(1, 1).grantedTtl, 5);
  assert.equal(lessor.grant(2, 0).grantedTtl, 5);
  assert.equal(lessor.grant(3, 5).grantedTtl, 5);
  assert.equal(lessor.grant(4, 6).grantedTtl, 6);
  assert.equal(lessor.grant(5, MAX_LEASE_TTL).grantedTtl, MAX_LEASE_TTL);
  for (const bad of [
    MAX_LEASE_TTL + 1,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '10',
    null,
    undefined,
  ]) {
    assert.throws(() => lessor.grant(99, bad as number), code('INVALID_TTL'), String(bad));
  }
  assert.equal(lessor.has(99), false, 'a refused grant changes nothing');
  assert.equal(newLessor().lessor.minTtl, DEFAULT_MIN_TTL);
  assert.equal(normalizeTtl(1, 2), 2);
  assert.equal(minTtlForElectionTimeout(1000), 2);
  assert.equal(minTtlForElectionTimeout(5000), 8);
  assert.equal(minTtlForElectionTimeout(100), 1);
  assert.throws(() => minTtlForElectionTimeout(0), code('INVALID_ARGUMENT'));
  for (const bad of [0, 1.5, -1, MAX_LEASE_TTL + 1, Number.NaN]) {
    assert.throws(() => newLessor({ minTtlSeconds: bad }), code('INVALID_ARGUMENT'), String(bad));
  }
});

test('ids must be positive safe integers; duplicates are LEASE_EXISTS; unknown ids LEASE_NOT_FOUND', () => {
  const { lessor } = newLessor();
  for (const bad of [0, -1, 1.5, 2 ** 53, Number.NaN, '1', undefined]) {
    assert.throws(() => lessor.grant(bad as number, 10), code('INVALID_ARGUMENT'), String(bad));
    assert.throws(() => lessor.revoke(bad as number), code('INVALID_ARGUMENT'), String(bad));
  }
  lessor.grant(1, 10);
  assert.throws(() => lessor.grant(1, 20), code('LEASE_EXISTS'));
  assert.equal(lessor.lookup(1)?.grantedTtl, 10, 'the duplicate grant changed nothing');
  assert.throws(() => lessor.revoke(2), code('LEASE_NOT_FOUND'));
  assert.throws(() => lessor.timeToLive(2), code('LEASE_NOT_FOUND'));
  assert.throws(() => lessor.checkpoint(2, 100), code('LEASE_NOT_FOUND'));
  assert.throws(() => lessor.attach(2, 'k'), code('LEASE_NOT_FOUND'));
  assert.throws(() => lessor.detach(2, 'k'), code('LEASE_NOT_FOUND'));
  assert.throws(() => new Lessor({} as MvccStore), code('INVALID_ARGUMENT'));
  assert.throws(() => new Lessor(null as unknown as MvccStore), code('INVALID_ARGUMENT'));
  // The one-object form.
  const both = new Lessor({ store: new MvccStore(), minTtlSeconds: 7 });
  assert.equal(both.grant(1, 1).grantedTtl, 7);
});

test('puts attach and detach keys; the store is the only record of which keys a lease has', () => {
  const { store, lessor } = newLessor();
  lessor.grant(1, 10);
  lessor.grant(2, 10);
  store.put('a', '1', { lease: 1 });
  store.put('b', '1', { lease: 1 });
  store.put('c', '1', { lease: 2 });
  assert.deepEqual(lessor.timeToLive(1).keys.map(text), ['a', 'b']);
  store.put('b', '2'); // a put without lease detaches
  store.put('c', '2', { lease: 1 }); // a put with another lease moves the key
  store.deleteRange('a'); // a delete forgets
  assert.deepEqual(lessor.timeToLive(1).keys.map(text), ['c']);
  assert.deepEqual(lessor.timeToLive(2).keys, []);
  assert.throws(() => store.put('d', '1', { lease: 3 }), code('LEASE_NOT_FOUND'));
});

test('attach and detach are puts that keep the value; both refuse missing or foreign keys', () => {
  const { store, lessor } = newLessor();
  lessor.grant(1, 10);
  lessor.grant(2, 10);
  store.put('k', 'v');
  const before = store.revision;
  assert.deepEqual(lessor.attach(1, 'k'), { revision: before + 1 });
  const kv = store.range('k').kvs[0];
  assert.equal(kv?.lease, 1);
  assert.equal(text(kv?.value ?? new Uint8Array()), 'v');
  assert.throws(() => lessor.attach(1, 'missing'), code('KEY_NOT_FOUND'));
  assert.throws(() => lessor.detach(2, 'k'), code('KEY_NOT_FOUND'));
  assert.throws(() => lessor.detach(1, 'missing'), code('KEY_NOT_FOUND'));
  assert.equal(store.revision, before + 1, 'refused attach/detach wrote nothing');
  assert.deepEqual(lessor.detach(1, 'k'), { revision: before + 2 });
  assert.equal(store.range('k').kvs[0]?.lease, 0);
  assert.equal(text(store.range('k').kvs[0]?.value ?? new Uint8Array()), 'v');
  assert.deepEqual(lessor.timeToLive(1).keys, []);
});

test('revoke deletes every attached key in ONE revision and nothing else', async () => {
  const { store, lessor } = newLessor();
  lessor.grant(1, 10);
  lessor.grant(2, 10);
  for (const k of ['x/3', 'x/1', 'x/2']) store.put(k, 'v', { lease: 1 });
  store.put('y', 'v', { lease: 2 });
  store.put('z', 'v');
  const start = store.revision + 1;
  const stream = store.watch({ key: '\0', rangeEnd: '\0', startRevision: start });
  const res = lessor.revoke(1);
  assert.equal(res.revision, start, 'one new revision');
  assert.equal(store.revision, start);
  assert.deepEqual(res.keys.map(text), ['x/1', 'x/2', 'x/3']);
  assert.equal(lessor.has(1), false);
  assert.deepEqual(
    store.range('\0', '\0').kvs.map((kv) => text(kv.key)),
    ['y', 'z'],
  );
  const first = await stream.next();
  stream.cancel();
  const resp = first.value as WatchResponse;
  assert.deepEqual(
    resp.events.map((e) => [e.type, text(e.kv.key), e.kv.modRevision]),
    [
      ['delete', 'x/1', start],
      ['delete', 'x/2', start],
      ['delete', 'x/3', start],
    ],
  );
  // A lease without keys: no revision at all.
  assert.deepEqual(lessor.revoke(2).keys.map(text), ['y']);
  lessor.grant(3, 10);
  const rev = store.revision;
  assert.deepEqual(lessor.revoke(3), { id: 3, revision: rev, keys: [] });
  assert.equal(store.revision, rev);
  assert.throws(() => lessor.revoke(3), code('LEASE_NOT_FOUND'));
});

test('checkpoint records the remaining time; 0 clears it; bad values change nothing', () => {
  const { lessor } = newLessor();
  lessor.grant(1, 10);
  lessor.checkpoint(1, 4200);
  assert.equal(lessor.lookup(1)?.remainingMs, 4200);
  assert.equal(lessor.timeToLive(1).remainingMs, 4200);
  for (const bad of [-1, 1.5, Number.NaN, '5', 2 ** 53]) {
    assert.throws(() => lessor.checkpoint(1, bad as number), code('INVALID_ARGUMENT'), String(bad));
  }
  assert.equal(lessor.lookup(1)?.remainingMs, 4200);
  lessor.checkpoint(1, 0);
  assert.equal(lessor.lookup(1)?.remainingMs, 0);
});

test('applyRevoke and applyCheckpoints skip leases that are already gone (stale entries)', () => {
  const { store, lessor } = newLessor();
  lessor.grant(1, 10);
  lessor.grant(2, 10);
  store.put('k', 'v', { lease: 1 });
  assert.deepEqual(applyRevoke(lessor, 1)?.keys.map(text), ['k']);
  assert.equal(applyRevoke(lessor, 1), undefined);
  applyCheckpoints(lessor, [
    { id: 1, remainingMs: 5 },
    { id: 2, remainingMs: 7 },
  ]);
  assert.equal(lessor.lookup(2)?.remainingMs, 7);
  assert.throws(() => applyRevoke(lessor, 0), code('INVALID_ARGUMENT'));
  assert.throws(() => applyCheckpoints(lessor, [{ id: 2, remainingMs: -1 }]), code('INVALID_ARGUMENT'));
});

test('listeners see grant, revoke, checkpoint and restore in order; a throwing listener does not break the apply', () => {
  const { store, lessor } = newLessor();
  const seen: LessorEvent[] = [];
  const unsubscribe = lessor.subscribe((e) => seen.push(e));
  lessor.grant(1, 10);
  store.put('k', 'v', { lease: 1 });
  lessor.checkpoint(1, 500);
  const { revision } = lessor.revoke(1);
  lessor.restore(lessor.snapshot());
  unsubscribe();
  lessor.grant(2, 10);
  assert.deepEqual(seen, [
    { type: 'grant', lease: { id: 1, grantedTtl: 10, remainingMs: 0 } },
    { type: 'checkpoint', id: 1, remainingMs: 500 },
    { type: 'revoke', id: 1, revision },
    { type: 'restore' },
  ]);

  const reported: unknown[] = [];
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (fn) => {
    try {
      fn();
    } catch (err) {
      reported.push(err);
    }
  };
  try {
    lessor.subscribe(() => {
      throw new Error('observer bug');
    });
    assert.equal(lessor.grant(3, 10).id, 3);
  } finally {
    globalThis.queueMicrotask = original;
  }
  assert.equal(lessor.has(3), true);
  assert.equal((reported[0] as Error).message, 'observer bug');
});

test('snapshot bytes are deterministic and round-trip, together with the store snapshot', () => {
  const a = newLessor();
  const b = newLessor();
  // Same leases, different order of operations: same bytes.
  a.lessor.grant(5, 10);
  a.lessor.grant(2, 20);
  a.lessor.checkpoint(5, 1234);
  b.lessor.grant(2, 20);
  b.lessor.grant(5, 10);
  b.lessor.checkpoint(5, 1234);
  assert.deepEqual(a.lessor.snapshot(), b.lessor.snapshot());

  a.store.put('k1', 'v', { lease: 5 });
  a.store.put('k2', 'v', { lease: 2 });
  const storeBytes = a.store.snapshot();
  const leaseBytes = a.lessor.snapshot();

  // A replica restores both: a new store object, and the Lessor re-pointed to it.
  const replica = newLessor();
  replica.lessor.grant(99, 10);
  const restored = MvccStore.restore(storeBytes, { leaseExists: (id) => replica.lessor.has(id) });
  replica.lessor.restore(leaseBytes, restored);
  assert.deepEqual(replica.lessor.leases(), a.lessor.leases());
  assert.deepEqual(replica.lessor.snapshot(), leaseBytes);
  assert.deepEqual(replica.lessor.timeToLive(5).keys.map(text), ['k1']);
  const res = replica.lessor.revoke(5);
  assert.deepEqual(res.keys.map(text), ['k1']);
  assert.equal(restored.range('k1').count, 0);
  assert.throws(() => replica.lessor.restore(leaseBytes, {} as MvccStore), code('INVALID_ARGUMENT'));
  // An empty lessor round-trips too.
  const empty = newLessor().lessor;
  replica.lessor.restore(empty.snapshot());
  assert.equal(replica.lessor.size, 0);
});

test('restore refuses garbage with CORRUPT_SNAPSHOT and changes nothing', () => {
  const { lessor } = newLessor();
  lessor.grant(1, 10);
  lessor.grant(2, 30);
  lessor.checkpoint(2, 999);
  const good = lessor.snapshot();
  const before = lessor.leases();
  const target = newLessor().lessor;
  target.grant(42, 10);
  const unchanged = (): void =>
    assert.deepEqual(target.leases(), [{ id: 42, grantedTtl: 10, remainingMs: 0 }]);

  // Every single-byte flip is detected.
  for (let i = 0; i < good.length; i++) {
    const bad = good.slice();
    bad[i] = (bad[i] as number) ^ 0x5a;
    assert.throws(() => target.restore(bad), code('CORRUPT_SNAPSHOT'), `flip at ${i}`);
  }
  // Every truncation is detected.
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => target.restore(good.subarray(0, n)), code('CORRUPT_SNAPSHOT'), `truncated to ${n}`);
  }
  for (const junk of [new Uint8Array(0), new Uint8Array(100), 'FLSE', null, [1, 2, 3]]) {
    assert.throws(() => target.restore(junk as Uint8Array), code('CORRUPT_SNAPSHOT'));
  }
  unchanged();
  assert.deepEqual(lessor.leases(), before);
});

test('restore refuses well-checksummed bytes that describe an invalid lease table', () => {
  /** Builds a snapshot from raw fields with a correct checksum. */
  const build = (
    records: Array<[bigint, bigint, bigint]>,
    version = 1,
    count = records.length,
  ): Uint8Array => {
    const out = new Uint8Array(9 + 24 * records.length + 4);
    const view = new DataView(out.buffer);
    out.set([0x46, 0x4c, 0x53, 0x45]);
    view.setUint8(4, version);
    view.setUint32(5, count);
    records.forEach(([id, ttl, rem], i) => {
      view.setBigUint64(9 + 24 * i, id);
      view.setBigUint64(17 + 24 * i, ttl);
      view.setBigUint64(25 + 24 * i, rem);
    });
    view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)));
    return out;
  };
  const { lessor } = newLessor();
  assert.doesNotThrow(() => lessor.restore(build([[1n, 10n, 0n]])));
  const cases: Array<[string, Uint8Array]> = [
    ['version', build([[1n, 10n, 0n]], 2)],
    ['count', build([[1n, 10n, 0n]], 1, 2)],
    [
      'descending ids',
      build([
        [2n, 10n, 0n],
        [1n, 10n, 0n],
      ]),
    ],
    [
      'duplicate ids',
      build([
        [2n, 10n, 0n],
        [2n, 10n, 0n],
      ]),
    ],
    ['id 0', build([[0n, 10n, 0n]])],
    ['unsafe id', build([[2n ** 60n, 10n, 0n]])],
    ['ttl 0', build([[1n, 0n, 0n]])],
    ['ttl too large', build([[1n, BigInt(MAX_LEASE_TTL) + 1n, 0n]])],
    ['unsafe remaining', build([[1n, 10n, 2n ** 63n]])],
  ];
  for (const [what, bytes] of cases)
    assert.throws(() => lessor.restore(bytes), code('CORRUPT_SNAPSHOT'), what);
  assert.deepEqual(lessor.leases(), [{ id: 1, grantedTtl: 10, remainingMs: 0 }]);
});

test('property: random grants, puts, checkpoints and revokes match a model; snapshots round-trip', () => {
  const op = fc.oneof(
    fc.record({
      t: fc.constant('grant' as const),
      id: fc.integer({ min: 1, max: 6 }),
      ttl: fc.integer({ min: 0, max: 20 }),
    }),
    fc.record({
      t: fc.constant('put' as const),
      key: fc.integer({ min: 0, max: 9 }),
      id: fc.integer({ min: 0, max: 6 }),
    }),
    fc.record({ t: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 9 }) }),
    fc.record({
      t: fc.constant('checkpoint' as const),
      id: fc.integer({ min: 1, max: 6 }),
      ms: fc.nat(30_000),
    }),
    fc.record({ t: fc.constant('revoke' as const), id: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ t: fc.constant('snapshot' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      let { store, lessor } = newLessor({ minTtlSeconds: 3 });
      const leases = new Map<number, { ttl: number; rem: number }>();
      const keyLease = new Map<string, number>();
      for (const o of ops) {
        switch (o.t) {
          case 'grant':
            if (leases.has(o.id)) {
              assert.throws(() => lessor.grant(o.id, o.ttl), code('LEASE_EXISTS'));
            } else {
              lessor.grant(o.id, o.ttl);
              leases.set(o.id, { ttl: Math.max(3, o.ttl), rem: 0 });
            }
            break;
          case 'put': {
            const k = `k${o.key}`;
            if (o.id !== 0 && !leases.has(o.id)) {
              assert.throws(() => store.put(k, 'v', { lease: o.id }), code('LEASE_NOT_FOUND'));
            } else {
              store.put(k, 'v', { lease: o.id });
              if (o.id === 0) keyLease.delete(k);
              else keyLease.set(k, o.id);
            }
            break;
          }
          case 'delete':
            store.deleteRange(`k${o.key}`);
            keyLease.delete(`k${o.key}`);
            break;
          case 'checkpoint': {
            const l = leases.get(o.id);
            if (l === undefined) assert.throws(() => lessor.checkpoint(o.id, o.ms), code('LEASE_NOT_FOUND'));
            else {
              lessor.checkpoint(o.id, o.ms);
              l.rem = o.ms;
            }
            break;
          }
          case 'revoke': {
            if (!leases.has(o.id)) {
              assert.throws(() => lessor.revoke(o.id), code('LEASE_NOT_FOUND'));
              break;
            }
            const expected = [...keyLease]
              .filter(([, id]) => id === o.id)
              .map(([k]) => k)
              .sort();
            const rev = store.revision;
            const res = lessor.revoke(o.id);
            assert.deepEqual(res.keys.map(text), expected);
            assert.equal(res.revision, expected.length > 0 ? rev + 1 : rev);
            for (const k of expected) keyLease.delete(k);
            leases.delete(o.id);
            break;
          }
          case 'snapshot': {
            // What a follower installing a snapshot ends up with.
            const fresh = newLessor({ minTtlSeconds: 3 });
            const restoredStore = MvccStore.restore(store.snapshot(), {
              leaseExists: (id) => fresh.lessor.has(id),
            });
            fresh.lessor.restore(lessor.snapshot(), restoredStore);
            store = restoredStore;
            lessor = fresh.lessor;
            break;
          }
        }
        assert.deepEqual(
          lessor.leases(),
          [...leases]
            .sort(([a], [b]) => a - b)
            .map(([id, l]) => ({ id, grantedTtl: l.ttl, remainingMs: l.rem })),
        );
        for (const [id] of leases) {
          const keys = [...keyLease]
            .filter(([, lid]) => lid === id)
            .map(([k]) => k)
            .sort();
          assert.deepEqual(lessor.timeToLive(id).keys.map(text), keys);
        }
      }
    }),
    { numRuns: 200 },
  );
});
