import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MvccStore, prefixEnd, type RangeOptions } from '@flotilla/mvcc';
import { b, kv, rejects, s } from './helpers.js';

/** A store with keys a, ab, b, c, d (values and versions chosen to make sorting visible). */
function fixture(): MvccStore {
  const store = new MvccStore();
  store.put('c', 'x'); // 2
  store.put('a', 'z'); // 3
  store.put('b', 'y'); // 4
  store.put('ab', 'y'); // 5
  store.put('d', 'w'); // 6
  store.put('c', 'x2'); // 7: c version 2
  return store;
}

const keys = (store: MvccStore, key: string, end?: string | Uint8Array, opts?: RangeOptions): string[] =>
  store.range(key, end, opts).kvs.map((x) => s(x.key));

describe('range', () => {
  test('range-end convention: single key, [key, end), "\\0" = to the end, "\\0"/"\\0" = all', () => {
    const store = fixture();
    assert.deepEqual(keys(store, 'a'), ['a']);
    assert.deepEqual(keys(store, 'a', 'b'), ['a', 'ab']);
    assert.deepEqual(keys(store, 'ab', '\0'), ['ab', 'b', 'c', 'd']);
    assert.deepEqual(keys(store, '\0', '\0'), ['a', 'ab', 'b', 'c', 'd']);
    assert.deepEqual(keys(store, 'c', 'b'), [], 'an end below the key selects nothing');
    assert.deepEqual(keys(store, 'a', ''), ['a'], 'an empty range end means a single key (protobuf)');
    assert.deepEqual(keys(store, 'zz'), []);
  });

  test('prefixEnd gives the range end of a prefix', () => {
    const store = fixture();
    assert.deepEqual(keys(store, 'a', prefixEnd('a')), ['a', 'ab']);
    assert.deepEqual(s(prefixEnd('a')), 'b');
    assert.deepEqual(s(prefixEnd(b('a\xff'))), 'b');
    assert.deepEqual(s(prefixEnd(b('\xff\xff'))), '\0');
    assert.deepEqual(s(prefixEnd('')), '\0');
    assert.throws(() => prefixEnd(3 as never), { code: 'INVALID_ARGUMENT' });
  });

  test('keys order by unsigned bytes, not by UTF-16 or signed bytes', () => {
    const store = new MvccStore();
    for (const k of ['\x7f', '\x80', '\xff', '\x01', 'a\x00', 'a']) store.put(b(k), '');
    assert.deepEqual(
      store.range(b('\x00'), b('\x00')).kvs.map((x) => s(x.key)),
      ['\x01', 'a', 'a\x00', '\x7f', '\x80', '\xff'],
    );
  });

  test('the result reports the current revision even for an old read', () => {
    const store = fixture();
    const old = store.range('c', undefined, { revision: 2 });
    assert.equal(old.revision, 7);
    assert.deepEqual(kv(old.kvs[0] ?? assert.fail()), {
      key: 'c',
      value: 'x',
      createRevision: 2,
      modRevision: 2,
      version: 1,
      lease: 0,
    });
    assert.deepEqual(keys(store, '\0', '\0', { revision: 4 }), ['a', 'b', 'c']);
    assert.deepEqual(keys(store, '\0', '\0', { revision: 1 }), []);
    assert.deepEqual(
      keys(store, '\0', '\0', { revision: -3 }),
      keys(store, '\0', '\0'),
      'negative = current',
    );
  });

  test('limit cuts kvs and sets more; count ignores limit', () => {
    const store = fixture();
    const r = store.range('\0', '\0', { limit: 2 });
    assert.deepEqual(
      r.kvs.map((x) => s(x.key)),
      ['a', 'ab'],
    );
    assert.equal(r.count, 5);
    assert.equal(r.more, true);
    const all = store.range('\0', '\0', { limit: 5 });
    assert.equal(all.more, false);
    assert.equal(store.range('\0', '\0', { limit: -1 }).kvs.length, 5, 'a negative limit is no limit');
  });

  test('countOnly: no kvs, more is false, count is the full range', () => {
    const store = fixture();
    assert.deepEqual(store.range('\0', '\0', { countOnly: true, limit: 1 }), {
      kvs: [],
      count: 5,
      more: false,
      revision: 7,
    });
  });

  test('keysOnly returns empty values', () => {
    const store = fixture();
    const r = store.range('a', 'b', { keysOnly: true });
    assert.deepEqual(
      r.kvs.map((x) => [s(x.key), x.value.length, x.version]),
      [
        ['a', 0, 1],
        ['ab', 0, 1],
      ],
    );
  });

  test('sorting: each target, both orders, ties keep key order in both directions', () => {
    const store = fixture();
    // values: a=z ab=y b=y c=x2 d=w; versions: c=2, others 1; create: c2 a3 b4 ab5 d6.
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'descend' }), ['d', 'c', 'b', 'ab', 'a']);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'ascend', sortTarget: 'value' }), [
      'd',
      'c',
      'ab',
      'b',
      'a',
    ]);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'descend', sortTarget: 'value' }), [
      'a',
      'ab',
      'b',
      'c',
      'd',
    ]);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'descend', sortTarget: 'version' }), [
      'c',
      'a',
      'ab',
      'b',
      'd',
    ]);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'ascend', sortTarget: 'version' }), [
      'a',
      'ab',
      'b',
      'd',
      'c',
    ]);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'ascend', sortTarget: 'createRevision' }), [
      'c',
      'a',
      'b',
      'ab',
      'd',
    ]);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'descend', sortTarget: 'modRevision' }), [
      'c',
      'd',
      'ab',
      'b',
      'a',
    ]);
  });

  test("a sort target with sortOrder 'none' sorts ascending (etcd 3.4)", () => {
    const store = fixture();
    assert.deepEqual(keys(store, '\0', '\0', { sortTarget: 'modRevision' }), ['a', 'b', 'ab', 'd', 'c']);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'none', sortTarget: 'key' }), [
      'a',
      'ab',
      'b',
      'c',
      'd',
    ]);
  });

  test("with sortOrder 'none', a sort target and a limit, only the first limit + 1 keys are sorted (etcd 3.4)", () => {
    const store = fixture();
    // modRevision: a=3 ab=5 b=4 c=7 d=6. etcd fetches a, ab (limit + 1, key order), sorts those.
    const r = store.range('\0', '\0', { sortTarget: 'modRevision', limit: 1 });
    assert.deepEqual(
      r.kvs.map((x) => s(x.key)),
      ['a'],
    );
    assert.deepEqual(keys(store, 'ab', '\0', { sortTarget: 'modRevision', limit: 2 }), ['b', 'ab']);
    assert.equal(store.range('ab', '\0', { sortTarget: 'modRevision', limit: 2 }).more, true);
    // An explicit order, or a min/max filter, makes etcd fetch and sort the whole range.
    assert.deepEqual(keys(store, 'ab', '\0', { sortOrder: 'ascend', sortTarget: 'modRevision', limit: 2 }), [
      'b',
      'ab',
    ]);
    assert.deepEqual(keys(store, '\0', '\0', { sortOrder: 'ascend', sortTarget: 'modRevision', limit: 1 }), [
      'a',
    ]);
    // createRevision: c=2 a=3 b=4 ab=5 d=6; the smallest of the range is c, beyond a and ab.
    assert.deepEqual(keys(store, '\0', '\0', { sortTarget: 'createRevision', limit: 1 }), ['a']);
    assert.deepEqual(
      keys(store, '\0', '\0', { sortOrder: 'ascend', sortTarget: 'createRevision', limit: 1 }),
      ['c'],
    );
    assert.deepEqual(keys(store, '\0', '\0', { sortTarget: 'createRevision', limit: 1, minModRevision: 1 }), [
      'c',
    ]);
  });

  test('sort happens before limit', () => {
    const store = fixture();
    const r = store.range('\0', '\0', { sortOrder: 'descend', sortTarget: 'createRevision', limit: 2 });
    assert.deepEqual(
      r.kvs.map((x) => s(x.key)),
      ['d', 'ab'],
    );
    assert.equal(r.more, true);
    assert.equal(r.count, 5);
  });

  test('min/max mod and create revision filters; count ignores them', () => {
    const store = fixture();
    const r = store.range('\0', '\0', { minModRevision: 4, maxModRevision: 6 });
    assert.deepEqual(
      r.kvs.map((x) => s(x.key)),
      ['ab', 'b', 'd'],
    );
    assert.equal(r.count, 5);
    assert.deepEqual(keys(store, '\0', '\0', { minCreateRevision: 3, maxCreateRevision: 4 }), ['a', 'b']);
    assert.deepEqual(
      keys(store, '\0', '\0', { maxModRevision: -1 }),
      [],
      'a negative bound filters everything',
    );
    const limited = store.range('\0', '\0', { minModRevision: 4, limit: 2 });
    assert.deepEqual(
      limited.kvs.map((x) => s(x.key)),
      ['ab', 'b'],
    );
    assert.equal(limited.more, true);
  });

  test('COMPACTED below the compacted revision, FUTURE_REVISION above the current one', () => {
    const store = fixture();
    store.compact(4);
    rejects(store, () => store.range('a', undefined, { revision: 3 }), 'COMPACTED');
    assert.deepEqual(
      keys(store, '\0', '\0', { revision: 4 }),
      ['a', 'b', 'c'],
      'reading at the compacted revision works',
    );
    rejects(store, () => store.range('a', undefined, { revision: 8 }), 'FUTURE_REVISION');
    assert.equal(store.range('a', undefined, { revision: 7 }).kvs.length, 1);
  });

  test('bad arguments', () => {
    const store = fixture();
    const bad = (x: unknown): never => x as never;
    rejects(store, () => store.range(''), 'EMPTY_KEY');
    rejects(store, () => store.range('', '\0'), 'EMPTY_KEY');
    rejects(store, () => store.range('a', bad(5)), 'INVALID_ARGUMENT');
    rejects(store, () => store.range('a', undefined, { sortOrder: bad('up') }), 'INVALID_ARGUMENT');
    rejects(store, () => store.range('a', undefined, { sortTarget: bad('size') }), 'INVALID_ARGUMENT');
    rejects(store, () => store.range('a', undefined, { limit: bad('1') }), 'INVALID_ARGUMENT');
    rejects(store, () => store.range('a', undefined, { revision: Number.NaN }), 'INVALID_ARGUMENT');
    rejects(store, () => store.range('a', undefined, { keysOnly: bad(1) }), 'INVALID_ARGUMENT');
  });
});
