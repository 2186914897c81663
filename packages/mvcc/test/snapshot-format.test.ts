import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import { MvccStore } from '@flotilla/mvcc';
import { b, readable } from './helpers.js';

/**
 * The snapshot of `busy()` (below) as the release before the columnar encoder was rewritten
 * wrote it (format 1). Snapshots live on disk (inside Raft snapshots), so every later release
 * must read these bytes, and must write the same bytes for the same history (replicas on
 * different releases compare snapshots and hashes).
 */
const FORMAT_1 = Buffer.from(
  [
    'AAAAF5mtZmxvdGlsbGEtbXZjYwEmFAUIGQ9AazBrMWsyazNrNGs1eP8AAgAAAAIAAAACAAAAAgAAAAIAAAACAAAAAQAAAAIA',
    'AAAAAAAAAQAAAAIAAAADAAAABQAAAAQAAAAFAAAAAAAAAAEAAAACAAAAAgAAAAMAAAAEAAAABQAAAAAAAAABAAAAAQAAAAIA',
    'AAADAAAABAAAAAUAAAAAAAAABgAAAAcAAAABAAAAdjEydjEzdjE0djE1djExdjE2djE3djE4djE5djIwdjIxdjIydjIzdjI0',
    'djI1djI2djI3djI4djI5MYBhZnRlcgMAAAADAAAAAwAAAAMAAAADAAAAAwAAAAMAAAADAAAAAwAAAAAAAAADAAAAAwAAAAMA',
    'AAADAAAAAwAAAAAAAAADAAAAAwAAAAMAAAADAAAAAwAAAAAAAAABAAAAAQAAAAUAAAAAAAAAAAAuQAAAAAAAAABAAAAAAAAA',
    'CEAAAAAAAAAcQAAAAAAAADBAAAAAAAAACEAAAAAAAAAIQAAAAAAAAAAAAAAAAAAAMUAAAAAAAAAQQAAAAAAAAAhAAAAAAAAA',
    'AAAAAAAAAAAzQAAAAAAAADNAAAAAAAAA8D8AAAAAAAAAAAAAAAAAACxAAAAAAAAAHEAAAAAAAAAAQAAAAAAAAAAAAAAAAAAA',
    'NEAAAAAAAAAqQAAAAAAAAABAAAAAAAAAHEAAAAAAAAA1QAAAAAAAABxAAAAAAAAACEAAAAAAAAAAAAAAAAAAADZAAAAAAAAA',
    'AEAAAAAAAAAQQAAAAAAAAAAAAAAAAAAAN0AAAAAAAAAIQAAAAAAAABBAAAAAAAAAAAAAAAAAAAA4QAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAADlAAAAAAAAAOUAAAAAAAADwPwAAAAAAABxAAAAAAAAAOkAAAAAAAAAzQAAAAAAAAABAAAAAAAAA',
    'AAAAAAAAAAA7QAAAAAAAACpAAAAAAAAACEAAAAAAAAAAAAAAAAAAADxAAAAAAAAAHEAAAAAAAAAQQAAAAAAAAAAAAAAAAAAA',
    'PUAAAAAAAAAAQAAAAAAAABRAAAAAAAAAHEAAAAAAAAA+QAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD9AAAAAAAAA',
    'P0AAAAAAAADwPwAAAAAAAAAAAAAAAAAAQEAAAAAAAAA5QAAAAAAAAABAAAAAAAAAAAAAAAAAAIBAQAAAAAAAADNAAAAAAAAA',
    'CEAAAAAAAAAAAAAAAAAAAEFAAAAAAAAAKkAAAAAAAAAQQAAAAAAAABxAAAAAAACAQUAAAAAAAAAcQAAAAAAAABRAAAAAAAAA',
    'AAAAAAAAAABCQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgEJAAAAAAACAQkAAAAAAAADwPwAAAAAAAAAAAAAAAACA',
    'QkAAAAAAAIBCQAAAAAAAAPA/AAAAAAAAAAAAAAAAAABDQAAAAAAAAD9AAAAAAAAAAEAAAAAAAAAAAG/JreQ=',
  ].join(''),
  'base64',
);

/** The history FORMAT_1 was taken from: overwrites, deletes, leases, binary keys, a compaction. */
function busy(): MvccStore {
  const store = new MvccStore();
  for (let i = 0; i < 30; i++) {
    store.put(`k${i % 6}`, `v${i}`, i % 4 === 0 ? { lease: 7 } : {});
    if (i % 5 === 4) store.deleteRange(`k${(i + 1) % 6}`);
  }
  store.txn({
    success: [{ put: { key: 'x', value: '1' } }, { put: { key: b('\xff\x00'), value: b('\x80') } }],
  });
  store.compact(20);
  store.put('k1', 'after');
  return store;
}

/** Every key at every retained revision, readable. */
function observe(store: MvccStore): unknown {
  const out: unknown[] = [store.revision, store.compactRevision, store.leaseIds(), store.hashKV()];
  for (let rev = store.compactRevision; rev <= store.revision; rev++) {
    out.push(readable(store.range('\0', '\0', { revision: rev })));
  }
  return out;
}

describe('snapshot format', () => {
  test('a format-1 snapshot from an earlier release restores, and the same history encodes to the same bytes', () => {
    const restored = MvccStore.restore(new Uint8Array(FORMAT_1));
    assert.deepEqual(observe(restored), observe(busy()));
    assert.deepEqual(Buffer.from(busy().snapshot()), FORMAT_1);
    assert.deepEqual(Buffer.from(restored.snapshot()), FORMAT_1);
  });

  test("values and keys larger than the decoder's string chunks round-trip", () => {
    const store = new MvccStore();
    const big = (n: number, c: number): Uint8Array => new Uint8Array(n).fill(c);
    // 4 MiB is the chunk size: values below, at, above and well above it, and many small ones
    // between them so chunks end mid-value.
    store.put('a', big(3 << 20, 1));
    for (let i = 0; i < 1000; i++) store.put(`m${i}`, `v${i}`.repeat(50));
    store.put('b', big(4 << 20, 2));
    store.put('c', big((4 << 20) + 1, 3));
    store.put(big(5 << 20, 0x61), big(9 << 20, 4));
    store.put('d', '');
    store.put('a', big(1, 5)); // history: the 3 MiB version stays until compaction
    const copy = MvccStore.restore(store.snapshot());
    assert.deepEqual(Buffer.from(copy.snapshot()), Buffer.from(store.snapshot()));
    assert.equal(copy.hashKV().hash, store.hashKV().hash);
    const at = (s: MvccStore, key: string | Uint8Array, revision?: number): Buffer => {
      const kv = s.range(key, undefined, { revision }).kvs[0];
      assert.ok(kv !== undefined);
      return Buffer.from(kv.value);
    };
    assert.deepEqual(at(copy, 'a', 2), Buffer.from(big(3 << 20, 1)));
    assert.deepEqual(at(copy, 'c'), Buffer.from(big((4 << 20) + 1, 3)));
    assert.deepEqual(at(copy, big(5 << 20, 0x61)), Buffer.from(big(9 << 20, 4)));
    assert.equal(at(copy, 'm999').toString('latin1'), 'v999'.repeat(50));
    assert.equal(at(copy, 'd').byteLength, 0);
  });

  test("snapshots depend on the history only, not on the hash map's order of keys", () => {
    // The encoder walks the hash map in its own (insertion) order to avoid lookups where that
    // order follows key order; these stores' maps are in key order, reverse order, interleaved,
    // and with keys dropped by compaction and created again (moved to the end).
    const names = Array.from({ length: 300 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    const build = (order: string[]): MvccStore => {
      const store = new MvccStore();
      store.txn({ success: order.map((k) => ({ put: { key: k, value: `v-${k}` } })) });
      return store;
    };
    const again = (store: MvccStore): MvccStore => {
      const even = names.filter((_, i) => i % 2 === 0);
      store.deleteKeys(even);
      store.compact(store.revision);
      store.txn({ success: even.map((k) => ({ put: { key: k, value: 'w' } })) });
      return store;
    };
    const reverse = [...names].reverse();
    const interleaved = names.filter((_, i) => i % 3 === 0).concat(names.filter((_, i) => i % 3 !== 0));
    for (const store of [
      build(names),
      build(reverse),
      build(interleaved),
      again(build(names)),
      again(build(reverse)),
    ]) {
      const copy = MvccStore.restore(store.snapshot()); // its map is in key order
      assert.deepEqual(copy.snapshot(), store.snapshot());
      assert.equal(copy.hashKV().hash, store.hashKV().hash);
    }
    // The same operations on a store and on its restored copy (different map orders).
    const x = again(build(reverse));
    const y = again(MvccStore.restore(build(reverse).snapshot()));
    assert.deepEqual(y.snapshot(), x.snapshot());
    assert.deepEqual(y.hashKV(), x.hashKV());
  });
});
