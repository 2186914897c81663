import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { MvccError, MvccStore } from '@flotilla/mvcc';
import { b, kv, readable, rejects, s } from './helpers.js';

describe('put', () => {
  test('a fresh store is at revision 1; each put creates the next revision', () => {
    const store = new MvccStore();
    assert.equal(store.revision, 1);
    assert.equal(store.compactRevision, 0);
    assert.deepEqual(store.put('a', '1'), { revision: 2 });
    assert.deepEqual(store.put('b', '2'), { revision: 3 });
    assert.equal(store.revision, 3);
  });

  test('versions count puts since creation; createRevision stays; modRevision moves', () => {
    const store = new MvccStore();
    store.put('k', 'v1');
    store.put('k', 'v2');
    store.put('k', 'v3');
    assert.deepEqual(kv(store.range('k').kvs[0] ?? assert.fail()), {
      key: 'k',
      value: 'v3',
      createRevision: 2,
      modRevision: 4,
      version: 3,
      lease: 0,
    });
  });

  test('prevKv returns the previous version, and is absent (not undefined) for a new key', () => {
    const store = new MvccStore();
    const first = store.put('k', 'v1', { prevKv: true });
    assert.deepEqual(first, { revision: 2 });
    assert.equal('prevKv' in first, false);
    const second = store.put('k', 'v2', { prevKv: true });
    assert.deepEqual(readable(second), {
      revision: 3,
      prevKv: { key: 'k', value: 'v1', createRevision: 2, modRevision: 2, version: 1, lease: 0 },
    });
    assert.equal('prevKv' in store.put('k', 'v3'), false);
  });

  test('strings are UTF-8 encoded; Uint8Array keys and values are raw bytes', () => {
    const store = new MvccStore();
    store.put('é', 'ü');
    const [x] = store.range(new Uint8Array([0xc3, 0xa9])).kvs;
    assert.ok(x);
    assert.deepEqual([...x.key], [0xc3, 0xa9]);
    assert.deepEqual([...x.value], [0xc3, 0xbc]);
    assert.ok(x.key instanceof Uint8Array && x.value instanceof Uint8Array);
    store.put(b('\xff\x00'), b('\x80'));
    assert.equal(s(store.range(b('\xff\x00')).kvs[0]?.value ?? assert.fail()), '\x80');
    // The store copied the caller's bytes: mutating them later changes nothing.
    const key = b('m');
    const value = b('1');
    store.put(key, value);
    key[0] = 0x6e;
    value[0] = 0x32;
    assert.equal(s(store.range('m').kvs[0]?.value ?? assert.fail()), '1');
    assert.equal(store.range('n').count, 0);
  });

  test('large values and many results round-trip byte for byte', () => {
    const store = new MvccStore();
    const big = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);
    store.put('big', big);
    assert.deepEqual([...(store.range('big').kvs[0]?.value ?? [])], [...big]);
    // Enough medium values to use several result slabs; each result stays intact.
    for (let i = 0; i < 300; i++) store.put(`k${i}`, `${i}:${'v'.repeat(300)}`);
    const all = store.range('k', 'l').kvs;
    assert.equal(all.length, 300);
    for (const x of all) assert.equal(s(x.value).split(':')[0], s(x.key).slice(1));
  });

  test('results are fresh copies: mutating one does not reach the store', () => {
    const store = new MvccStore();
    store.put('k', 'value');
    const got = store.range('k').kvs[0] ?? assert.fail();
    got.value[0] = 0x58;
    assert.equal(s(store.range('k').kvs[0]?.value ?? assert.fail()), 'value');
  });

  test('empty values and a missing value in a txn put are allowed', () => {
    const store = new MvccStore();
    store.put('k', '');
    assert.equal(store.range('k').kvs[0]?.value.length, 0);
    store.txn({ success: [{ put: { key: 'j' } }] });
    assert.equal(store.range('j').kvs[0]?.version, 1);
  });

  test('leases: stored per key, replaced by a put without lease, kept with ignoreLease', () => {
    const store = new MvccStore();
    store.put('k', 'v', { lease: 7 });
    assert.equal(store.range('k').kvs[0]?.lease, 7);
    store.put('k', 'w', { ignoreLease: true });
    assert.equal(store.range('k').kvs[0]?.lease, 7);
    store.put('k', 'x');
    assert.equal(store.range('k').kvs[0]?.lease, 0);
  });

  test('ignoreValue keeps the value and bumps version and modRevision', () => {
    const store = new MvccStore();
    store.put('k', 'keep', { lease: 1 });
    assert.deepEqual(store.put('k', '', { ignoreValue: true, lease: 2 }), { revision: 3 });
    assert.deepEqual(kv(store.range('k').kvs[0] ?? assert.fail()), {
      key: 'k',
      value: 'keep',
      createRevision: 2,
      modRevision: 3,
      version: 2,
      lease: 2,
    });
  });

  test('errors come in etcd order: EMPTY_KEY, VALUE_PROVIDED, LEASE_PROVIDED, KEY_NOT_FOUND', () => {
    const store = new MvccStore();
    rejects(store, () => store.put('', 'v', { ignoreValue: true, ignoreLease: true, lease: 1 }), 'EMPTY_KEY');
    rejects(
      store,
      () => store.put('k', 'v', { ignoreValue: true, ignoreLease: true, lease: 1 }),
      'VALUE_PROVIDED',
    );
    rejects(
      store,
      () => store.put('k', '', { ignoreValue: true, ignoreLease: true, lease: 1 }),
      'LEASE_PROVIDED',
    );
    rejects(store, () => store.put('k', '', { ignoreValue: true }), 'KEY_NOT_FOUND');
    rejects(store, () => store.put('k', 'v', { ignoreLease: true }), 'KEY_NOT_FOUND');
    rejects(store, () => store.put(new Uint8Array(0), 'v'), 'EMPTY_KEY');
    assert.equal(store.revision, 1);
  });

  test('a deleted key counts as missing for ignoreValue', () => {
    const store = new MvccStore();
    store.put('k', 'v');
    store.deleteRange('k');
    rejects(store, () => store.put('k', '', { ignoreValue: true }), 'KEY_NOT_FOUND');
  });

  test('the leaseExists hook refuses unknown leases (before KEY_NOT_FOUND on a plain put)', () => {
    const store = new MvccStore({ leaseExists: (id) => id === 5 });
    store.put('k', 'v', { lease: 5 });
    rejects(store, () => store.put('k', 'v', { lease: 6 }), 'LEASE_NOT_FOUND');
    rejects(store, () => store.put('missing', '', { ignoreValue: true, lease: 6 }), 'LEASE_NOT_FOUND');
    rejects(store, () => store.put('missing', '', { ignoreValue: true, lease: 5 }), 'KEY_NOT_FOUND');
    // Without the hook any lease id is stored: attaching is the lease package's job.
    const free = new MvccStore();
    free.put('k', 'v', { lease: 123456789 });
    assert.equal(free.range('k').kvs[0]?.lease, 123456789);
  });

  test('bad types are INVALID_ARGUMENT and change nothing', () => {
    const store = new MvccStore();
    const bad = (x: unknown): never => x as never;
    rejects(store, () => store.put(bad(1), 'v'), 'INVALID_ARGUMENT');
    rejects(store, () => store.put('k', bad(null)), 'INVALID_ARGUMENT');
    rejects(store, () => store.put('k', 'v', bad('opts')), 'INVALID_ARGUMENT');
    rejects(store, () => store.put('k', 'v', { lease: -1 }), 'INVALID_ARGUMENT');
    rejects(store, () => store.put('k', 'v', { lease: 1.5 }), 'INVALID_ARGUMENT');
    rejects(store, () => store.put('k', 'v', { prevKv: bad('yes') }), 'INVALID_ARGUMENT');
    rejects(store, () => store.put('k', 'v', bad([])), 'INVALID_ARGUMENT');
  });

  test('errors are MvccError and FlotillaError with a stable code', () => {
    const store = new MvccStore();
    try {
      store.put('', 'v');
      assert.fail('expected a throw');
    } catch (err) {
      assert.ok(err instanceof MvccError);
      assert.ok(isFlotillaError(err, 'EMPTY_KEY'));
      assert.equal(err.name, 'MvccError');
    }
  });

  test('constructor options are validated', () => {
    const bad = (x: unknown): never => x as never;
    assert.throws(() => new MvccStore(bad(null)), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => new MvccStore({ watchBufferEvents: 0 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => new MvccStore({ leaseExists: bad(1) }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => new MvccStore({ schedule: bad('now') }), { code: 'INVALID_ARGUMENT' });
  });
});
