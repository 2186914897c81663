import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Inflights } from '@flotilla/raft';
import fc from 'fast-check';

describe('Inflights', () => {
  test('add fills the window by count; freeLE frees an acknowledged prefix', () => {
    const in_ = new Inflights(3);
    in_.add(1, 10);
    in_.add(3, 20);
    assert.equal(in_.count, 2);
    assert.equal(in_.bytes, 30);
    assert.equal(in_.full(), false);
    in_.add(5, 5);
    assert.equal(in_.full(), true);
    assert.throws(() => in_.add(6, 1), RangeError);
    in_.freeLE(0); // nothing acknowledged yet
    assert.equal(in_.count, 3);
    in_.freeLE(3);
    assert.equal(in_.count, 1);
    assert.equal(in_.bytes, 5);
    assert.equal(in_.full(), false);
    // Wraps around the ring.
    in_.add(7, 1);
    in_.add(9, 1);
    assert.equal(in_.full(), true);
    in_.freeLE(100);
    assert.equal(in_.count, 0);
    assert.equal(in_.bytes, 0);
  });

  test('a byte limit makes the window full before the count does', () => {
    const in_ = new Inflights(10, 100);
    in_.add(1, 60);
    assert.equal(in_.full(), false);
    in_.add(2, 40);
    assert.equal(in_.full(), true);
    in_.freeLE(1);
    assert.equal(in_.full(), false);
    in_.reset();
    assert.equal(in_.count, 0);
    assert.equal(in_.bytes, 0);
  });

  test('copyFrom copies the records', () => {
    const a = new Inflights(4);
    a.add(1, 1);
    a.add(2, 2);
    const b = new Inflights(4);
    b.copyFrom(a);
    a.freeLE(2);
    assert.equal(b.count, 2);
    assert.equal(b.bytes, 3);
  });

  test('behaves like a naive queue under random operations (model)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 })), { maxLength: 200 }),
        (size, maxBytesRaw, ops) => {
          const maxBytes = maxBytesRaw === 0 ? Number.POSITIVE_INFINITY : maxBytesRaw;
          const real = new Inflights(size, maxBytes);
          const model: { index: number; bytes: number }[] = [];
          let next = 1;
          for (const [isAdd, x] of ops) {
            const modelBytes = model.reduce((s, r) => s + r.bytes, 0);
            const full = model.length === size || modelBytes >= maxBytes;
            assert.equal(real.full(), full);
            if (isAdd) {
              if (full) continue;
              real.add(next, x);
              model.push({ index: next, bytes: x });
              next += 1 + (x % 3);
            } else {
              const to = next - 1 - x;
              real.freeLE(to);
              while (model.length > 0 && (model[0] as { index: number }).index <= to) model.shift();
            }
            assert.equal(real.count, model.length);
            assert.equal(
              real.bytes,
              model.reduce((s, r) => s + r.bytes, 0),
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
