import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { HeadTable } from '../src/head-table.js';
import { type KeyRev, keyRev } from '../src/key-rev.js';

/** A live record of `key` at revision `main`. */
function rec(key: string, main: number): KeyRev {
  return keyRev(key, 'v', main, main, 1, 0, undefined);
}

/** Every (key, main) pair in the table's iteration order. */
function entries(t: HeadTable): [string, number][] {
  const out: [string, number][] = [];
  t.forEach((r, key) => {
    assert.equal(r.key, key);
    out.push([key, r.main]);
  });
  return out;
}

describe('HeadTable', () => {
  it('gets, overwrites in place, deletes', () => {
    const t = new HeadTable();
    t.set(rec('a', 1));
    t.set(rec('b', 2));
    t.set(rec('a', 3));
    assert.equal(t.size, 2);
    assert.equal(t.get('a')?.main, 3);
    assert.equal(t.get('c'), undefined);
    // An overwrite keeps the key's first place, as Map does.
    assert.deepEqual(entries(t), [
      ['a', 3],
      ['b', 2],
    ]);
    assert.equal(t.delete('a'), true);
    assert.equal(t.delete('a'), false);
    assert.equal(t.get('a'), undefined);
    assert.equal(t.size, 1);
    assert.deepEqual(entries(t), [['b', 2]]);
  });

  it('matches a Map (lookups, size and insertion order) over random operations', () => {
    // Few distinct keys per run (some runs only a handful, keeping the table at 16-32 slots
    // where probe runs often wrap around its end), so that sets, deletes and re-inserts of the
    // same key interleave, with growth, hole squeezing and backward shifts across probe runs.
    const binary = fc.string({
      unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 3,
    });
    const ops = fc.integer({ min: 3, max: 300 }).chain((space) => {
      const key = fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: space }).map((i) => `k${i}`) },
        { weight: 1, arbitrary: binary },
      );
      const op = fc.record({ kind: fc.constantFrom('set' as const, 'delete' as const), key });
      return fc.array(op, { maxLength: 1500, size: 'max' });
    });
    fc.assert(
      fc.property(ops, (ops) => {
        const t = new HeadTable();
        const m = new Map<string, number>();
        ops.forEach((o, i) => {
          if (o.kind === 'set') {
            t.set(rec(o.key, i + 1));
            m.set(o.key, i + 1);
          } else {
            assert.equal(t.delete(o.key), m.delete(o.key));
          }
        });
        assert.equal(t.size, m.size);
        for (const [k, main] of m) assert.equal(t.get(k)?.main, main);
        for (const o of ops) if (!m.has(o.key)) assert.equal(t.get(o.key), undefined);
        assert.deepEqual(entries(t), [...m.entries()]);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every key reachable through growth and mass deletion', () => {
    const t = new HeadTable();
    const n = 50_000;
    for (let i = 0; i < n; i++) t.set(rec(`key-${i}`, i + 1));
    for (let i = 0; i < n; i += 2) assert.equal(t.delete(`key-${i}`), true);
    assert.equal(t.size, n / 2);
    for (let i = 0; i < n; i++) assert.equal(t.get(`key-${i}`)?.main, i % 2 === 0 ? undefined : i + 1);
    const order = entries(t).map(([, main]) => main);
    assert.deepEqual(
      order,
      Array.from({ length: n / 2 }, (_, j) => 2 * j + 2),
    );
  });
});
