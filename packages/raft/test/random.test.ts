import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '@flotilla/raft';

test('the same seed gives the same stream; different seeds differ', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const xs = Array.from({ length: 50 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 50 }, () => b.next()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 50 }, () => c.next()),
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('int stays in [min, max) and covers the range; pick and chance behave', () => {
  const r = seededRandom(7);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(3, 8);
    assert.ok(v >= 3 && v < 8 && Number.isInteger(v));
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7]);
  assert.throws(() => r.int(5, 5), RangeError);
  assert.throws(() => r.pick([]), RangeError);
  assert.equal(r.pick(['only']), 'only');
  assert.equal(r.chance(0), false);
  assert.equal(r.chance(1), true);
  let heads = 0;
  for (let i = 0; i < 10000; i++) if (r.chance(0.5)) heads++;
  assert.ok(heads > 4700 && heads < 5300, `fair coin gave ${heads}/10000`);
});

test('fork gives an independent, reproducible stream', () => {
  const a = seededRandom(1).fork();
  const b = seededRandom(1).fork();
  assert.equal(a.next(), b.next());
});
