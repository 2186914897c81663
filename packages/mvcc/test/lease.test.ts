import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MvccStore } from '@flotilla/mvcc';
import { collector, ev, manualScheduler, readable, rejects, s } from './helpers.js';

describe('lease support', () => {
  test('leaseKeys lists the live keys attached to a lease, in byte order', () => {
    const store = new MvccStore();
    store.put('b', '1', { lease: 5 });
    store.put('a', '1', { lease: 5 });
    store.put('c', '1', { lease: 6 });
    store.put('d', '1');
    assert.deepEqual(store.leaseKeys(5).map(s), ['a', 'b']);
    assert.deepEqual(store.leaseIds(), [5, 6]);
    store.put('b', '2'); // detaches b
    store.put('c', '2', { lease: 5 }); // moves c to lease 5
    store.put('a', '', { ignoreValue: true, ignoreLease: true }); // keeps a on 5
    store.deleteRange('d');
    assert.deepEqual(store.leaseKeys(5).map(s), ['a', 'c']);
    assert.deepEqual(store.leaseIds(), [5]);
    store.deleteRange('a');
    assert.deepEqual(store.leaseKeys(5).map(s), ['c']);
    assert.deepEqual(store.leaseKeys(99), []);
    assert.throws(() => store.leaseKeys('5' as never), { code: 'INVALID_ARGUMENT' });
  });

  test('deleteKeys deletes the existing keys in one revision, one watch response', () => {
    const sched = manualScheduler();
    const store = new MvccStore({ schedule: sched.schedule });
    store.put('x', '1', { lease: 3 });
    store.put('y', '1', { lease: 3 });
    store.put('z', '1');
    const c = collector();
    store.watch({ key: '\0', rangeEnd: '\0' }, c.listener);
    const res = store.deleteKeys([...store.leaseKeys(3), 'missing', 'x'], { prevKv: true });
    assert.deepEqual(readable(res), {
      deleted: 2,
      prevKvs: [
        { key: 'x', value: '1', createRevision: 2, modRevision: 2, version: 1, lease: 3 },
        { key: 'y', value: '1', createRevision: 3, modRevision: 3, version: 1, lease: 3 },
      ],
      revision: 5,
    });
    sched.run();
    assert.deepEqual(
      c.responses.map((r) => r.events.map(ev)),
      [['delete x@5', 'delete y@5']],
    );
    assert.deepEqual(store.leaseIds(), []);
    assert.deepEqual(store.deleteKeys(['missing']), { deleted: 0, prevKvs: [], revision: 5 });
    assert.deepEqual(store.deleteKeys([]), { deleted: 0, prevKvs: [], revision: 5 });
  });

  test('deleteKeys rejects bad input and changes nothing', () => {
    const store = new MvccStore();
    store.put('a', '1');
    rejects(store, () => store.deleteKeys(['a', '']), 'EMPTY_KEY');
    rejects(store, () => store.deleteKeys('a' as never), 'INVALID_ARGUMENT');
    rejects(store, () => store.deleteKeys(['a'], { prevKv: 1 as never }), 'INVALID_ARGUMENT');
  });

  test('lease attachments survive a snapshot', () => {
    const store = new MvccStore();
    store.put('a', '1', { lease: 8 });
    store.put('b', '1', { lease: 9 });
    const copy = MvccStore.restore(store.snapshot());
    assert.deepEqual(copy.leaseIds(), [8, 9]);
    assert.deepEqual(copy.leaseKeys(8).map(s), ['a']);
  });
});
