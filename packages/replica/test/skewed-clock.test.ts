import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { SimClock, SkewedClock } from '@flotilla/replica';

const code = (c: string) => (err: unknown) => isFlotillaError(err, c);

test('a skewed clock runs at its rate from its offset', () => {
  const base = new SimClock(1000);
  const fast = new SkewedClock(base, { rate: 1.5, offsetMs: 20 });
  assert.equal(fast.now(), 1020);
  base.advance(100);
  assert.equal(fast.now(), 1170);
  assert.equal(fast.rate, 1.5);
  assert.equal(fast.offsetMs, 20);
  assert.equal(new SkewedClock(base).now(), base.now());
});

test('changing the rate re-anchors without a jump; changing the offset jumps', () => {
  const base = new SimClock();
  const c = new SkewedClock(base, { rate: 2 });
  base.advance(10);
  assert.equal(c.now(), 20);
  c.setRate(0.5);
  assert.equal(c.now(), 20);
  base.advance(10);
  assert.equal(c.now(), 25);
  c.setOffset(-5);
  assert.equal(c.now(), 20);
});

test('timers last their duration in the skewed clock’s own time', () => {
  const base = new SimClock();
  const fast = new SkewedClock(base, { rate: 2 });
  const slow = new SkewedClock(base, { rate: 0.5 });
  const fired: string[] = [];
  fast.setTimeout(() => fired.push(`fast@${base.now()}`), 100);
  slow.setTimeout(() => fired.push(`slow@${base.now()}`), 100);
  const cancelled = fast.setTimeout(() => fired.push('cancelled'), 10);
  fast.clearTimeout(cancelled);
  base.runUntilIdle();
  assert.deepEqual(fired, ['fast@50', 'slow@200']);
});

test('bad skew is refused', () => {
  const base = new SimClock();
  for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new SkewedClock(base, { rate }), code('INVALID_ARGUMENT'));
  }
  const c = new SkewedClock(base);
  assert.throws(() => c.setOffset(Number.NaN), code('INVALID_ARGUMENT'));
  assert.throws(() => c.setTimeout(() => {}, -1), code('INVALID_ARGUMENT'));
  assert.equal(c.rate, 1);
  assert.equal(c.offsetMs, 0);
});
