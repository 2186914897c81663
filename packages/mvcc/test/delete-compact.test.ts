import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MvccStore } from '@flotilla/mvcc';
import { kv, readable, rejects, s } from './helpers.js';

describe('deleteRange', () => {
  test('deletes a key or a range at one revision and reports the count', () => {
    const store = new MvccStore();
    store.put('a', '1');
    store.put('b', '2');
    store.put('c', '3');
    assert.deepEqual(store.deleteRange('a', 'c'), { deleted: 2, prevKvs: [], revision: 5 });
    assert.deepEqual(
      store.range('\0', '\0').kvs.map((x) => s(x.key)),
      ['c'],
    );
    assert.deepEqual(store.deleteRange('c'), { deleted: 1, prevKvs: [], revision: 6 });
  });

  test('deleting nothing creates no revision and reports the current one', () => {
    const store = new MvccStore();
    store.put('a', '1');
    assert.deepEqual(store.deleteRange('zz'), { deleted: 0, prevKvs: [], revision: 2 });
    assert.deepEqual(store.deleteRange('b', 'a'), { deleted: 0, prevKvs: [], revision: 2 });
    assert.equal(store.revision, 2);
  });

  test('prevKv returns the deleted versions in key order', () => {
    const store = new MvccStore();
    store.put('b', '2');
    store.put('a', '1');
    assert.deepEqual(readable(store.deleteRange('\0', '\0', { prevKv: true })), {
      deleted: 2,
      prevKvs: [
        { key: 'a', value: '1', createRevision: 3, modRevision: 3, version: 1, lease: 0 },
        { key: 'b', value: '2', createRevision: 2, modRevision: 2, version: 1, lease: 0 },
      ],
      revision: 4,
    });
  });

  test('a deleted key starts a new generation when put again; the old one stays readable', () => {
    const store = new MvccStore();
    store.put('k', 'v1'); // 2
    store.put('k', 'v2'); // 3
    store.deleteRange('k'); // 4
    store.put('k', 'v3'); // 5
    assert.deepEqual(kv(store.range('k').kvs[0] ?? assert.fail()), {
      key: 'k',
      value: 'v3',
      createRevision: 5,
      modRevision: 5,
      version: 1,
      lease: 0,
    });
    assert.equal(store.range('k', undefined, { revision: 4 }).count, 0);
    assert.equal(store.range('k', undefined, { revision: 3 }).kvs[0]?.version, 2);
  });

  test('bad arguments', () => {
    const store = new MvccStore();
    store.put('a', '1');
    rejects(store, () => store.deleteRange(''), 'EMPTY_KEY');
    rejects(store, () => store.deleteRange('a', undefined, { prevKv: 'yes' as never }), 'INVALID_ARGUMENT');
    rejects(store, () => store.deleteRange('a', undefined, 'x' as never), 'INVALID_ARGUMENT');
  });
});

describe('compact', () => {
  test('compact(0) and compact(1) succeed on a fresh store (etcd 3.4), then repeat fails', () => {
    const store = new MvccStore();
    store.compact(0);
    assert.equal(store.compactRevision, 0);
    store.compact(1);
    assert.equal(store.compactRevision, 1);
    rejects(store, () => store.compact(1), 'COMPACTED');
    rejects(store, () => store.compact(0), 'COMPACTED');
  });

  test('a negative revision is COMPACTED on a fresh store (etcd), one above current is FUTURE_REVISION', () => {
    const store = new MvccStore();
    rejects(store, () => store.compact(-1), 'COMPACTED');
    rejects(store, () => store.compact(2), 'FUTURE_REVISION');
    rejects(store, () => store.compact(undefined as never), 'INVALID_ARGUMENT');
    rejects(store, () => store.compact(1.5), 'INVALID_ARGUMENT');
  });

  test("keeps each key's newest version at or below the revision; older reads fail", () => {
    const store = new MvccStore();
    store.put('a', '1'); // 2
    store.put('a', '2'); // 3
    store.put('b', '1'); // 4
    store.put('a', '3'); // 5
    store.compact(4);
    assert.equal(store.compactRevision, 4);
    assert.deepEqual(
      store.range('\0', '\0', { revision: 4 }).kvs.map((x) => `${s(x.key)}=${s(x.value)}@${x.modRevision}`),
      ['a=2@3', 'b=1@4'],
    );
    assert.deepEqual(
      store.range('\0', '\0').kvs.map((x) => `${s(x.key)}=${s(x.value)}`),
      ['a=3', 'b=1'],
    );
    rejects(store, () => store.range('a', undefined, { revision: 3 }), 'COMPACTED');
    rejects(store, () => store.compact(4), 'COMPACTED');
    rejects(store, () => store.compact(3), 'COMPACTED');
    store.compact(5);
    assert.equal(store.range('a', undefined, { revision: 5 }).kvs[0]?.version, 3);
  });

  test('a deletion at or below the revision is forgotten; a later one is kept', () => {
    const store = new MvccStore();
    store.put('a', '1'); // 2
    store.deleteRange('a'); // 3
    store.put('b', '1'); // 4
    store.deleteRange('b'); // 5
    store.compact(4);
    assert.equal(store.range('b', undefined, { revision: 4 }).count, 1);
    assert.equal(store.range('b').count, 0);
    assert.equal(store.range('a', undefined, { revision: 4 }).count, 0);
    // Recreating a forgotten key starts a fresh generation.
    store.put('a', 'again');
    assert.deepEqual(kv(store.range('a').kvs[0] ?? assert.fail()), {
      key: 'a',
      value: 'again',
      createRevision: 6,
      modRevision: 6,
      version: 1,
      lease: 0,
    });
  });

  test('repeated compactions keep reads at every retained revision intact', () => {
    const store = new MvccStore();
    const expected = new Map<number, string[]>();
    for (let i = 0; i < 40; i++) {
      const key = `k${i % 5}`;
      if (i % 7 === 3) store.deleteRange(key);
      else store.put(key, `v${i}`);
      expected.set(
        store.revision,
        store.range('\0', '\0').kvs.map((x) => `${s(x.key)}=${s(x.value)}`),
      );
      if (i % 9 === 8) store.compact(store.revision - 3);
    }
    for (const [rev, want] of expected) {
      if (rev < store.compactRevision) continue;
      assert.deepEqual(
        store.range('\0', '\0', { revision: rev }).kvs.map((x) => `${s(x.key)}=${s(x.value)}`),
        want,
        `at revision ${rev}`,
      );
    }
  });
});
