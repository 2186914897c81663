import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { MvccStore } from '@flotilla/mvcc';
import { Packr } from 'msgpackr';
import { b, collector, manualScheduler, readable, rejects, settle } from './helpers.js';

/** A store with history, deletions, a txn, leases, binary keys and a compaction. */
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

/** Everything a reader can observe at every retained revision. */
function observe(store: MvccStore): unknown {
  const out: unknown[] = [
    store.revision,
    store.compactRevision,
    store.leaseIds(),
    readable(store.leaseKeys(7)),
  ];
  for (let rev = store.compactRevision; rev <= store.revision; rev++) {
    out.push(readable(store.range('\0', '\0', { revision: rev })));
  }
  return out;
}

/** A snapshot taken apart (see the layout in src/snapshot.ts), to alter and reassemble. */
interface Doc {
  header: unknown[];
  keys: string[];
  recordKeys: number[];
  values: string[];
  /** main, create, version, lease per record. */
  numbers: number[];
  /** Raw overrides of whole sections (to plant malformed bytes). */
  raw?: { keyLengths?: Buffer; valueLengths?: Buffer };
}

const packr = new Packr({ useRecords: false });

function unwrap(bytes: Uint8Array): Doc {
  const buf = Buffer.from(bytes);
  const h = buf.readUInt32BE(0);
  const header = packr.unpack(buf.subarray(4, 4 + h)) as unknown[];
  const [keyCount, n, keyBytes, valueBytes] = header.slice(5) as [number, number, number, number];
  let off = 4 + h;
  const take = (len: number): number => {
    const at = off;
    off += len;
    return at;
  };
  const keysAt = take(keyBytes);
  const keyBlob = buf.toString('latin1', keysAt, keysAt + keyBytes);
  const keyLengthsAt = take(4 * keyCount);
  const keyLengths = Array.from({ length: keyCount }, (_, i) => buf.readUInt32LE(keyLengthsAt + 4 * i));
  const recordKeysAt = take(4 * n);
  const recordKeys = Array.from({ length: n }, (_, i) => buf.readUInt32LE(recordKeysAt + 4 * i));
  const valuesAt = take(valueBytes);
  const valueBlob = buf.toString('latin1', valuesAt, valuesAt + valueBytes);
  const valueLengthsAt = take(4 * n);
  const valueLengths = Array.from({ length: n }, (_, i) => buf.readUInt32LE(valueLengthsAt + 4 * i));
  const numbersAt = take(32 * n);
  const numbers = Array.from({ length: 4 * n }, (_, i) => buf.readDoubleLE(numbersAt + 8 * i));
  const cut = (blob: string, lengths: number[]): string[] => {
    const out: string[] = [];
    let o = 0;
    for (const l of lengths) {
      out.push(blob.slice(o, o + l));
      o += l;
    }
    return out;
  };
  return {
    header,
    keys: cut(keyBlob, keyLengths),
    recordKeys,
    values: cut(valueBlob, valueLengths),
    numbers,
  };
}

/** Reassembles a (possibly altered) document with a valid checksum; header sizes follow the data. */
function wrap(d: Doc, fixSizes = true): Uint8Array {
  const header = [...d.header];
  if (fixSizes) {
    header[5] = d.keys.length;
    header[6] = d.recordKeys.length;
    header[7] = d.keys.join('').length;
    header[8] = d.values.join('').length;
  }
  const u32 = (xs: number[]): Buffer => {
    const b = Buffer.alloc(4 * xs.length);
    for (const [i, x] of xs.entries()) b.writeUInt32LE(x, 4 * i);
    return b;
  };
  const f64 = Buffer.alloc(8 * d.numbers.length);
  for (const [i, x] of d.numbers.entries()) f64.writeDoubleLE(x, 8 * i);
  const h = packr.pack(header);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(h.length);
  const body = Buffer.concat([
    len,
    h,
    Buffer.from(d.keys.join(''), 'latin1'),
    d.raw?.keyLengths ?? u32(d.keys.map((k) => k.length)),
    u32(d.recordKeys),
    Buffer.from(d.values.join(''), 'latin1'),
    d.raw?.valueLengths ?? u32(d.values.map((v) => v.length)),
    f64,
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return new Uint8Array(Buffer.concat([body, crc]));
}

describe('snapshot and restore', () => {
  test('round-trips every retained version, the revision and the compaction point', () => {
    const store = busy();
    const copy = MvccStore.restore(store.snapshot());
    assert.deepEqual(observe(copy), observe(store));
    assert.deepEqual(copy.hashKV(), store.hashKV());
    assert.deepEqual(copy.snapshot(), store.snapshot(), 'the restored store snapshots to the same bytes');
    // Both continue identically.
    for (const s of [store, copy]) {
      s.put('k2', 'next');
      s.deleteRange('k3');
      s.compact(s.revision - 1);
    }
    assert.deepEqual(copy.snapshot(), store.snapshot());
  });

  test('a fresh store and an empty-history store round-trip', () => {
    const fresh = new MvccStore();
    const copy = MvccStore.restore(fresh.snapshot());
    assert.equal(copy.revision, 1);
    assert.equal(copy.compactRevision, 0);
    copy.compact(0); // still never compacted: compact(0) works as on a fresh store
    const all = new MvccStore();
    all.put('a', '1');
    all.deleteRange('a');
    all.compact(3);
    const c2 = MvccStore.restore(all.snapshot());
    assert.equal(c2.range('\0', '\0').count, 0);
    assert.equal(c2.revision, 3);
  });

  test('deterministic: the same operations give byte-identical snapshots', () => {
    assert.deepEqual(busy().snapshot(), busy().snapshot());
  });

  test('watches on a restored store replay the same history as on the original', async () => {
    const store = busy();
    const sched = manualScheduler();
    const copy = MvccStore.restore(store.snapshot(), { schedule: sched.schedule });
    const restored = collector();
    copy.watch({ key: '\0', rangeEnd: '\0', startRevision: 20, prevKv: true }, restored.listener);
    sched.run();
    const original = collector();
    store.watch({ key: '\0', rangeEnd: '\0', startRevision: 20, prevKv: true }, original.listener);
    await settle();
    assert.ok(original.events().length > 5);
    assert.deepEqual(restored.events(), original.events());
  });

  test('truncated, damaged or foreign bytes are refused with CORRUPT_SNAPSHOT', () => {
    const bytes = busy().snapshot();
    const refuse = (x: Uint8Array | unknown): void => {
      assert.throws(() => MvccStore.restore(x as Uint8Array), { code: 'CORRUPT_SNAPSHOT' });
    };
    refuse(new Uint8Array(0));
    refuse(new Uint8Array(4));
    refuse('snapshot');
    for (const len of [1, 5, bytes.length >> 1, bytes.length - 1]) refuse(bytes.subarray(0, len));
    // Every single-byte change is caught (checked at spread-out positions).
    for (let i = 0; i < bytes.length; i += Math.max(1, bytes.length >> 6)) {
      const bad = bytes.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x40;
      refuse(bad);
    }
    const good = unwrap(bytes);
    assert.deepEqual(wrap(good), bytes, 'the test codec reassembles a snapshot exactly');
    refuse(wrap({ ...good, header: ['not-mvcc', ...good.header.slice(1)] }));
    refuse(wrap({ ...good, header: good.header.slice(0, 8) }, false));
    refuse(wrap({ ...good, header: [good.header[0], 2, ...good.header.slice(2)] }));
    // Valid checksum but a header that is not msgpack, or longer than the snapshot.
    const frame = (body: Buffer): Uint8Array => {
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(body));
      return new Uint8Array(Buffer.concat([body, crc]));
    };
    refuse(frame(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1])));
    refuse(frame(Buffer.from([0, 0, 0, 99, 0x90])));
  });

  test('a well-checksummed but inconsistent document is refused', () => {
    const store = new MvccStore();
    store.put('a', '1'); // 2
    store.put('b', '2'); // 3
    store.put('a', '3'); // 4
    store.deleteRange('b'); // 5
    // header: [magic, format, revision, compactMain, baseCount, keyCount, recordCount, keyBytes, valueBytes]
    // records: a@2, b@3, a@4, tombstone b@5 (numbers: main, create, version, lease each)
    const variants: [string, (d: Doc) => void, boolean?][] = [
      ['revision 0', (d) => (d.header[2] = 0)],
      ['revision below records', (d) => (d.header[2] = 3)],
      ['compactMain above revision', (d) => (d.header[3] = 9)],
      ['sizes not integers', (d) => (d.header[7] = 'x'), false],
      ['sizes do not add up', (d) => (d.header[7] = 1), false],
      ['keys out of order', (d) => (d.keys = ['b', 'a'])],
      ['key lengths exceed the blob', (d) => (d.raw = { keyLengths: Buffer.from([1, 0, 0, 0, 5, 0, 0, 0]) })],
      [
        'key lengths short of the blob',
        (d) => (d.raw = { keyLengths: Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]) }),
      ],
      ['empty key', (d) => (d.keys = ['', 'ab'])],
      [
        'value lengths exceed the blob',
        (d) => (d.raw = { valueLengths: Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]) }),
      ],
      [
        'value lengths short of the blob',
        (d) => (d.raw = { valueLengths: Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }),
      ],
      ['base count too big', (d) => (d.header[4] = 99)],
      ['record key out of range', (d) => (d.recordKeys = [0, 1, 0, 5])],
      ['numbers not integers', (d) => (d.numbers[0] = 1.5)],
      ['log out of order', (d) => (d.numbers[4] = 1)],
      ['version chain broken', (d) => (d.numbers[10] = 5)],
      ['new generation with version 2', (d) => (d.numbers[6] = 2)],
      ['tombstone with a value', (d) => (d.values[3] = 'x')],
      [
        'tombstone first in its chain',
        (d) => {
          d.recordKeys = [0, 0, 0, 1];
          d.numbers[10] = 3;
        },
      ],
      ['create after main', (d) => (d.numbers[1] = 3)],
      ['live record with create 0', (d) => (d.numbers[9] = 0)],
      ['key without records', (d) => (d.keys = ['a', 'b', 'c'])],
      ['a base record without compaction', (d) => (d.header[4] = 1)],
    ];
    for (const [name, mutate, fixSizes] of variants) {
      const d = unwrap(store.snapshot());
      mutate(d);
      assert.throws(() => MvccStore.restore(wrap(d, fixSizes ?? true)), { code: 'CORRUPT_SNAPSHOT' }, name);
    }
    assert.equal(
      MvccStore.restore(wrap(unwrap(store.snapshot()))).revision,
      5,
      'the unaltered document restores',
    );
  });

  test('a base record must be older than the compaction and live', () => {
    const store = new MvccStore();
    store.put('a', '1'); // 2
    store.put('b', '1'); // 3
    store.compact(3);
    assert.equal(unwrap(store.snapshot()).header[4], 1, 'key a is a base record');
    const refuse = (mutate: (d: Doc) => void): void => {
      const d = unwrap(store.snapshot());
      mutate(d);
      assert.throws(() => MvccStore.restore(wrap(d)), { code: 'CORRUPT_SNAPSHOT' });
    };
    refuse((d) => {
      d.numbers[0] = 3;
      d.numbers[1] = 3;
    });
    refuse((d) => (d.numbers[2] = 0));
    // Base records come one per key, in key order.
    const two = new MvccStore();
    two.put('a', '1');
    two.put('b', '1');
    two.put('c', '1');
    two.compact(4);
    const swapped = unwrap(two.snapshot());
    assert.equal(swapped.header[4], 2);
    swapped.recordKeys = [1, 0, 2];
    assert.throws(() => MvccStore.restore(wrap(swapped)), { code: 'CORRUPT_SNAPSHOT' });
    // A tombstone at the compacted revision cannot be in the log (compaction drops it).
    refuse((d) => {
      d.values[1] = '';
      d.numbers.splice(4, 4, 3, 0, 0, 0);
    });
  });

  test('restore takes store options', () => {
    const store = new MvccStore();
    store.put('a', '1', { lease: 1 });
    const copy = MvccStore.restore(store.snapshot(), { leaseExists: () => false });
    rejects(copy, () => copy.put('a', '2', { lease: 1 }), 'LEASE_NOT_FOUND');
  });
});

describe('hashKV', () => {
  test('equal histories hash equal; any difference changes the hash', () => {
    const a = busy();
    const b2 = busy();
    assert.deepEqual(a.hashKV(), b2.hashKV());
    assert.equal(a.hashKV().revision, a.revision);
    assert.equal(a.hashKV().compactRevision, 20);
    b2.put('k1', 'different');
    assert.notEqual(a.hashKV().hash, b2.hashKV().hash);
    // Up to a revision before the divergence they still agree.
    assert.equal(a.hashKV(a.revision).hash, b2.hashKV(a.revision).hash);
  });

  test('values, keys and numbers all count; big values too', () => {
    const h = (f: (s: MvccStore) => void): number => {
      const s = new MvccStore();
      f(s);
      return s.hashKV().hash;
    };
    const big = 'x'.repeat(100_000);
    const hashes = [
      h((s) => s.put('a', 'bc')),
      h((s) => s.put('ab', 'c')),
      h((s) => s.put('a', 'bc', { lease: 1 })),
      h((s) => s.put('a', big)),
      h((s) => s.put('a', `${big}y`)),
      h(() => {}),
    ];
    assert.equal(new Set(hashes).size, hashes.length);
    const many = new MvccStore();
    for (let i = 0; i < 3000; i++) many.put(`key-${i}`, 'v'.repeat(40));
    assert.equal(typeof many.hashKV().hash, 'number');
  });

  test('errors: COMPACTED at or below the compaction, FUTURE_REVISION above, negative invalid', () => {
    const s = busy();
    rejects(s, () => s.hashKV(20), 'COMPACTED');
    rejects(s, () => s.hashKV(s.revision + 1), 'FUTURE_REVISION');
    rejects(s, () => s.hashKV(-1), 'INVALID_ARGUMENT');
    assert.equal(s.hashKV(21).revision, s.revision);
    assert.equal(new MvccStore().hashKV().compactRevision, 0);
  });
});
