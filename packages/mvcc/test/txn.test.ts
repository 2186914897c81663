import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Compare, MvccStore, type TxnResult } from '@flotilla/mvcc';
import { readable, rejects, s } from './helpers.js';

/** Whether a single compare holds on `store` (runs a txn with no ops: no revision). */
function holds(store: MvccStore, c: Compare): boolean {
  const before = store.revision;
  const r = store.txn({ compare: [c], success: [], failure: [] });
  assert.equal(store.revision, before);
  return r.succeeded;
}

describe('txn', () => {
  test('success ops run when every compare holds, failure ops otherwise', () => {
    const store = new MvccStore();
    store.put('k', 'v');
    const ok = store.txn({
      compare: [{ key: 'k', target: 'value', result: 'equal', value: 'v' }],
      success: [{ put: { key: 'k', value: 'w' } }],
      failure: [{ put: { key: 'k', value: 'x' } }],
    });
    assert.deepEqual(ok, { succeeded: true, responses: [{ put: { revision: 3 } }], revision: 3 });
    const ko = store.txn({
      compare: [{ key: 'k', target: 'value', result: 'equal', value: 'v' }],
      success: [{ put: { key: 'k', value: 'w2' } }],
      failure: [{ range: { key: 'k' } }],
    });
    assert.equal(ko.succeeded, false);
    assert.equal(ko.revision, 3, 'a txn that writes nothing creates no revision');
    assert.equal(s(store.range('k').kvs[0]?.value ?? assert.fail()), 'w');
  });

  test('all writes share one revision; reads see earlier writes of the txn', () => {
    const store = new MvccStore();
    store.put('a', '1'); // 2
    const r = store.txn({
      success: [
        { range: { key: 'a' } },
        { put: { key: 'b', value: '2' } },
        { range: { key: '\0', rangeEnd: '\0' } },
        { deleteRange: { key: 'a', prevKv: true } },
        { put: { key: 'c', value: '3', prevKv: true } },
        { range: { key: '\0', rangeEnd: '\0', countOnly: true } },
      ],
    });
    assert.deepEqual(readable(r), {
      succeeded: true,
      responses: [
        // Before the txn's first write, a range reports the old revision...
        {
          range: {
            kvs: [{ key: 'a', value: '1', createRevision: 2, modRevision: 2, version: 1, lease: 0 }],
            count: 1,
            more: false,
            revision: 2,
          },
        },
        { put: { revision: 3 } },
        // ...and after it, the txn's new revision.
        {
          range: {
            kvs: [
              { key: 'a', value: '1', createRevision: 2, modRevision: 2, version: 1, lease: 0 },
              { key: 'b', value: '2', createRevision: 3, modRevision: 3, version: 1, lease: 0 },
            ],
            count: 2,
            more: false,
            revision: 3,
          },
        },
        {
          deleteRange: {
            deleted: 1,
            prevKvs: [{ key: 'a', value: '1', createRevision: 2, modRevision: 2, version: 1, lease: 0 }],
            revision: 3,
          },
        },
        { put: { revision: 3 } },
        { range: { kvs: [], count: 2, more: false, revision: 3 } },
      ],
      revision: 3,
    });
    assert.equal(store.revision, 3);
  });

  test('a delete of nothing before any write reports the old revision', () => {
    const store = new MvccStore();
    store.put('a', '1');
    const r = store.txn({
      success: [{ deleteRange: { key: 'zz' } }, { put: { key: 'b' } }, { deleteRange: { key: 'zz' } }],
    });
    assert.deepEqual(r.responses, [
      { deleteRange: { deleted: 0, prevKvs: [], revision: 2 } },
      { put: { revision: 3 } },
      { deleteRange: { deleted: 0, prevKvs: [], revision: 3 } },
    ]);
  });

  test('compare targets and results', () => {
    const store = new MvccStore();
    store.put('k', 'm', { lease: 9 }); // 2
    store.put('k', 'm'); // 3, lease 0 now
    store.put('k', 'm', { lease: 4 }); // 4
    const c = (target: Compare['target'], result: Compare['result'], value: number | string): Compare =>
      ({ key: 'k', target, result, value }) as Compare;
    assert.equal(holds(store, c('version', 'equal', 3)), true);
    assert.equal(holds(store, c('version', 'greater', 2)), true);
    assert.equal(holds(store, c('version', 'less', 3)), false);
    assert.equal(holds(store, c('createRevision', 'equal', 2)), true);
    assert.equal(holds(store, c('modRevision', 'equal', 4)), true);
    assert.equal(holds(store, c('modRevision', 'notEqual', 4)), false);
    assert.equal(holds(store, c('lease', 'equal', 4)), true);
    assert.equal(holds(store, c('value', 'equal', 'm')), true);
    assert.equal(holds(store, c('value', 'greater', 'l')), true);
    assert.equal(holds(store, c('value', 'less', 'ma')), true);
    assert.equal(holds(store, c('value', 'notEqual', 'm')), false);
  });

  test('a missing key compares as 0, except a value compare, which is always false', () => {
    const store = new MvccStore();
    const c = (target: Compare['target'], result: Compare['result'], value: number | string): Compare =>
      ({ key: 'nope', target, result, value }) as Compare;
    assert.equal(holds(store, c('version', 'equal', 0)), true);
    assert.equal(holds(store, c('createRevision', 'equal', 0)), true);
    assert.equal(holds(store, c('modRevision', 'less', 1)), true);
    assert.equal(holds(store, c('lease', 'equal', 0)), true);
    assert.equal(holds(store, c('value', 'notEqual', 'x')), false);
    assert.equal(holds(store, c('value', 'equal', '')), false);
  });

  test('a compare over a range must hold for every key in it', () => {
    const store = new MvccStore();
    store.put('a1', '1');
    store.put('a2', '2');
    store.put('b', '9');
    assert.equal(
      holds(store, { key: 'a', rangeEnd: 'b', target: 'version', result: 'equal', value: 1 }),
      true,
    );
    assert.equal(
      holds(store, { key: 'a', rangeEnd: 'b', target: 'value', result: 'less', value: '2' }),
      false,
    );
    assert.equal(
      holds(store, { key: 'a', rangeEnd: 'b', target: 'value', result: 'less', value: '3' }),
      true,
    );
    assert.equal(
      holds(store, { key: 'x', rangeEnd: 'y', target: 'version', result: 'equal', value: 0 }),
      true,
    );
    assert.equal(
      holds(store, { key: '\0', rangeEnd: '\0', target: 'modRevision', result: 'greater', value: 1 }),
      true,
    );
  });

  test("a nested txn's compares see the state before the outer txn; its ranges see the writes", () => {
    const store = new MvccStore();
    const r = store.txn({
      success: [
        { put: { key: 'k', value: 'new' } },
        {
          txn: {
            compare: [{ key: 'k', target: 'version', result: 'equal', value: 0 }],
            success: [{ range: { key: 'k' } }],
            failure: [],
          },
        },
      ],
    });
    const nested = r.responses[1] as { txn: TxnResult };
    assert.equal(nested.txn.succeeded, true, 'the compare saw k missing, as before the outer put');
    assert.equal(nested.txn.revision, 0, "a nested txn's own revision is 0");
    const inner = nested.txn.responses[0] as { range: { kvs: unknown[]; revision: number } };
    assert.equal(inner.range.kvs.length, 1, 'the range saw the outer put');
    assert.equal(inner.range.revision, 2);
    assert.equal(r.revision, 2);
  });

  test('nested failure branches and deeper nesting', () => {
    const store = new MvccStore();
    store.put('k', 'v');
    const r = store.txn({
      compare: [{ key: 'k', target: 'version', result: 'equal', value: 1 }],
      success: [
        {
          txn: {
            compare: [{ key: 'k', target: 'value', result: 'equal', value: 'nope' }],
            success: [{ put: { key: 'x', value: '1' } }],
            failure: [{ txn: { success: [{ put: { key: 'y', value: '2' } }] } }],
          },
        },
      ],
    });
    assert.deepEqual(r, {
      succeeded: true,
      responses: [
        {
          txn: {
            succeeded: false,
            responses: [{ txn: { succeeded: true, responses: [{ put: { revision: 3 } }], revision: 0 } }],
            revision: 0,
          },
        },
      ],
      revision: 3,
    });
    assert.equal(store.range('x').count, 0);
    assert.equal(store.range('y').count, 1);
  });

  test('DUPLICATE_KEY: the same key written twice, in either branch, nothing applied', () => {
    const store = new MvccStore();
    store.put('a', '1');
    rejects(
      store,
      () => store.txn({ success: [{ put: { key: 'a' } }, { put: { key: 'a' } }] }),
      'DUPLICATE_KEY',
    );
    rejects(
      store,
      () => store.txn({ failure: [{ put: { key: 'a' } }, { put: { key: 'a' } }] }),
      'DUPLICATE_KEY',
    );
    rejects(
      store,
      () => store.txn({ success: [{ deleteRange: { key: 'a', rangeEnd: 'c' } }, { put: { key: 'b' } }] }),
      'DUPLICATE_KEY',
    );
    rejects(
      store,
      () => store.txn({ success: [{ deleteRange: { key: 'b' } }, { put: { key: 'b' } }] }),
      'DUPLICATE_KEY',
    );
    rejects(
      store,
      () => store.txn({ success: [{ put: { key: 'b' } }, { txn: { success: [{ put: { key: 'b' } }] } }] }),
      'DUPLICATE_KEY',
    );
    rejects(
      store,
      () =>
        store.txn({
          success: [{ deleteRange: { key: 'b' } }, { txn: { failure: [{ put: { key: 'b' } }] } }],
        }),
      'DUPLICATE_KEY',
    );
    rejects(
      store,
      () =>
        store.txn({
          success: [
            { txn: { success: [{ put: { key: 'b' } }] } },
            { txn: { failure: [{ put: { key: 'b' } }] } },
          ],
        }),
      'DUPLICATE_KEY',
    );
  });

  test('allowed by the duplicate check: overlapping deletes, then/else of one txn, "\\0" ends', () => {
    const store = new MvccStore();
    store.put('a', '1');
    store.put('b', '2');
    store.put('c', '3');
    const overlap = store.txn({
      success: [{ deleteRange: { key: 'a', rangeEnd: 'c' } }, { deleteRange: { key: 'b', rangeEnd: 'd' } }],
    });
    assert.deepEqual(
      overlap.responses.map((x) => ('deleteRange' in x ? x.deleteRange.deleted : -1)),
      [2, 1],
    );
    store.txn({
      success: [
        {
          txn: { success: [{ put: { key: 'q', value: '1' } }], failure: [{ put: { key: 'q', value: '2' } }] },
        },
      ],
    });
    assert.equal(s(store.range('q').kvs[0]?.value ?? assert.fail()), '1');
    // etcd builds the interval [key, "\0") from the raw range end: it overlaps nothing, so a
    // delete-to-the-end and a put of a key in it pass; the ops run in order.
    const r = store.txn({
      success: [{ deleteRange: { key: 'a', rangeEnd: '\0' } }, { put: { key: 'q', value: 'x' } }],
    });
    assert.equal(r.succeeded, true);
    assert.deepEqual(
      store.range('\0', '\0').kvs.map((x) => `${s(x.key)}=${s(x.value)}@${x.version}`),
      ['q=x@1'],
    );
    // A child's put and a sibling child's delete of the same key are not compared either.
    store.txn({
      success: [
        { txn: { success: [{ put: { key: 'z', value: '1' } }] } },
        { txn: { success: [{ deleteRange: { key: 'z' } }] } },
      ],
    });
    assert.equal(store.range('z').count, 0);
  });

  test("etcd 3.4.23's crash case is answered with KEY_NOT_FOUND and applies nothing", () => {
    const store = new MvccStore();
    store.put('b', '1');
    rejects(
      store,
      () =>
        store.txn({
          compare: [],
          success: [{ deleteRange: { key: 'a', rangeEnd: '\0' } }, { put: { key: 'b', ignoreValue: true } }],
          failure: [],
        }),
      'KEY_NOT_FOUND',
    );
    rejects(
      store,
      () =>
        store.txn({
          success: [
            { deleteRange: { key: 'b', rangeEnd: '\0' } },
            { put: { key: 'b', value: 'x', ignoreLease: true } },
          ],
        }),
      'KEY_NOT_FOUND',
    );
    assert.equal(s(store.range('b').kvs[0]?.value ?? assert.fail()), '1');
  });

  test('checks against the pre-txn state: KEY_NOT_FOUND before range revision errors', () => {
    const store = new MvccStore({ leaseExists: (id) => id === 1 });
    store.put('a', '1');
    rejects(
      store,
      () =>
        store.txn({
          success: [{ range: { key: 'a', revision: 99 } }, { put: { key: 'm', ignoreValue: true } }],
        }),
      'KEY_NOT_FOUND',
    );
    rejects(store, () => store.txn({ success: [{ range: { key: 'a', revision: 99 } }] }), 'FUTURE_REVISION');
    // Inside a txn, KEY_NOT_FOUND comes before LEASE_NOT_FOUND (the reverse of a plain put).
    rejects(
      store,
      () => store.txn({ success: [{ put: { key: 'm', ignoreValue: true, lease: 2 } }] }),
      'KEY_NOT_FOUND',
    );
    rejects(store, () => store.txn({ success: [{ put: { key: 'a', lease: 2 } }] }), 'LEASE_NOT_FOUND');
    // The txn's own new revision is still "future" for a range inside it.
    rejects(
      store,
      () => store.txn({ success: [{ put: { key: 'b' } }, { range: { key: 'b', revision: 3 } }] }),
      'FUTURE_REVISION',
    );
    // Only the taken branch is checked.
    const r = store.txn({
      compare: [{ key: 'a', target: 'version', result: 'equal', value: 1 }],
      success: [{ put: { key: 'c' } }],
      failure: [{ put: { key: 'm', ignoreValue: true } }],
    });
    assert.equal(r.succeeded, true);
  });

  test('COMPACTED for a range below the compacted revision, including negative ones (etcd)', () => {
    const store = new MvccStore();
    store.put('a', '1');
    store.put('a', '2');
    store.compact(3);
    rejects(store, () => store.txn({ success: [{ range: { key: 'a', revision: 2 } }] }), 'COMPACTED');
    rejects(store, () => store.txn({ success: [{ range: { key: 'a', revision: -1 } }] }), 'COMPACTED');
    const fresh = new MvccStore();
    assert.equal(fresh.txn({ success: [{ range: { key: 'a', revision: -1 } }] }).succeeded, true);
    rejects(fresh, () => fresh.txn({ success: [{ range: { key: 'a', revision: -2 } }] }), 'COMPACTED');
  });

  test('validation walks compares, then success, then failure, recursively', () => {
    const store = new MvccStore();
    const bad = (x: unknown): never => x as never;
    rejects(
      store,
      () => store.txn({ compare: [{ key: '', target: 'version', result: 'equal', value: 0 }] }),
      'EMPTY_KEY',
    );
    rejects(store, () => store.txn({ failure: [{ range: { key: '' } }] }), 'EMPTY_KEY');
    rejects(store, () => store.txn({ failure: [{ deleteRange: { key: '' } }] }), 'EMPTY_KEY');
    rejects(
      store,
      () =>
        store.txn({
          success: [{ txn: { failure: [{ put: { key: 'k', value: 'v', ignoreValue: true } }] } }],
        }),
      'VALUE_PROVIDED',
    );
    rejects(
      store,
      () => store.txn({ success: [{ put: { key: 'k', lease: 1, ignoreLease: true } }] }),
      'LEASE_PROVIDED',
    );
    rejects(store, () => store.txn(bad(null)), 'INVALID_ARGUMENT');
    rejects(store, () => store.txn({ success: bad({}) }), 'INVALID_ARGUMENT');
    rejects(store, () => store.txn({ success: [bad({})] }), 'INVALID_ARGUMENT');
    rejects(
      store,
      () => store.txn({ success: [bad({ put: { key: 'a' }, range: { key: 'a' } })] }),
      'INVALID_ARGUMENT',
    );
    rejects(store, () => store.txn({ success: [bad({ put: 5 })] }), 'INVALID_ARGUMENT');
    rejects(store, () => store.txn({ success: [bad(7)] }), 'INVALID_ARGUMENT');
    rejects(store, () => store.txn({ compare: [bad(null)] }), 'INVALID_ARGUMENT');
    rejects(
      store,
      () => store.txn({ compare: [bad({ key: 'k', result: 'equal', value: 0 })] }),
      'INVALID_ARGUMENT',
    );
    rejects(
      store,
      () => store.txn({ compare: [bad({ key: 'k', target: 'version', value: 0 })] }),
      'INVALID_ARGUMENT',
    );
    rejects(
      store,
      () => store.txn({ compare: [bad({ key: 'k', target: 'size', result: 'equal', value: 0 })] }),
      'INVALID_ARGUMENT',
    );
    rejects(
      store,
      () => store.txn({ compare: [bad({ key: 'k', target: 'value', result: 'equal', value: 1 })] }),
      'INVALID_ARGUMENT',
    );
    rejects(
      store,
      () => store.txn({ compare: [bad({ key: 'k', target: 'version', result: 'equal', value: '1' })] }),
      'INVALID_ARGUMENT',
    );
    rejects(
      store,
      () => store.txn({ compare: [bad({ key: 'k', target: 'version', result: 'same', value: 1 })] }),
      'INVALID_ARGUMENT',
    );
  });

  test('an empty txn succeeds and creates no revision', () => {
    const store = new MvccStore();
    assert.deepEqual(store.txn({}), { succeeded: true, responses: [], revision: 1 });
    assert.deepEqual(store.txn({ compare: [], success: [], failure: [] }), {
      succeeded: true,
      responses: [],
      revision: 1,
    });
  });
});
