import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { SimClock, systemClock } from '@flotilla/replica';
import fc from 'fast-check';

const code = (c: string) => (err: unknown) => isFlotillaError(err, c);

test('timers fire by due time, then by creation order', () => {
  const clock = new SimClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b@10'), 10);
  clock.setTimeout(() => fired.push('a@5'), 5);
  clock.setTimeout(() => fired.push('c@10'), 10);
  clock.setTimeout(() => fired.push('z@0'), 0);
  assert.equal(clock.pending, 4);
  assert.equal(clock.nextDueAt(), 0);
  assert.equal(clock.advance(10), 4);
  assert.deepEqual(fired, ['z@0', 'a@5', 'b@10', 'c@10']);
  assert.equal(clock.now(), 10);
  assert.equal(clock.pending, 0);
  assert.equal(clock.nextDueAt(), undefined);
});

test('now() is the due time inside a callback; timers armed inside the window fire in the same advance', () => {
  const clock = new SimClock(100);
  const seen: Array<[string, number]> = [];
  clock.setTimeout(() => {
    seen.push(['outer', clock.now()]);
    clock.setTimeout(() => seen.push(['inner+0', clock.now()]), 0);
    clock.setTimeout(() => seen.push(['inner+3', clock.now()]), 3);
    clock.setTimeout(() => seen.push(['inner+50', clock.now()]), 50);
  }, 4);
  clock.setTimeout(() => seen.push(['peer@4', clock.now()]), 4);
  clock.advance(10);
  assert.deepEqual(seen, [
    ['outer', 104],
    ['peer@4', 104],
    ['inner+0', 104],
    ['inner+3', 107],
  ]);
  assert.equal(clock.now(), 110);
  assert.equal(clock.pending, 1);
  clock.advance(44);
  assert.deepEqual(seen.at(-1), ['inner+50', 154]);
});

test('property: the firing order is the (due, creation) order of every timer ever armed', () => {
  // Each root timer arms children when it fires; all delays are small so many tie.
  const tree = fc.array(fc.record({ delay: fc.nat(6), children: fc.array(fc.nat(6), { maxLength: 3 }) }), {
    maxLength: 30,
  });
  fc.assert(
    fc.property(tree, fc.nat(20), (roots, window) => {
      const clock = new SimClock();
      const armed: Array<{ due: number; seq: number }> = [];
      const fired: number[] = [];
      const arm = (delay: number, children: number[]): void => {
        const seq = armed.length;
        armed.push({ due: clock.now() + delay, seq });
        clock.setTimeout(() => {
          fired.push(seq);
          for (const c of children) arm(c, []);
        }, delay);
      };
      for (const r of roots) arm(r.delay, r.children);
      clock.advance(window);
      const expected = armed
        .filter((t) => t.due <= window)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)
        .map((t) => t.seq);
      assert.deepEqual(fired, expected);
      assert.equal(clock.pending, armed.length - fired.length);
    }),
  );
});

test('clearTimeout cancels; foreign, fired and repeated handles are ignored', () => {
  const clock = new SimClock();
  const other = new SimClock();
  let ran = 0;
  const h = clock.setTimeout(() => ran++, 5);
  const kept = clock.setTimeout(() => ran++, 6);
  clock.clearTimeout(h);
  clock.clearTimeout(h);
  clock.clearTimeout({});
  clock.clearTimeout(undefined);
  other.clearTimeout(kept);
  assert.equal(clock.pending, 1);
  clock.advance(10);
  assert.equal(ran, 1);
  clock.clearTimeout(kept); // already fired
  assert.equal(clock.pending, 0);
});

test('runUntilIdle fires everything, and gives up on a timer that re-arms forever', () => {
  const clock = new SimClock();
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.now()), 30);
  clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.now()), 5), 10);
  assert.equal(clock.runUntilIdle(), 3);
  assert.deepEqual(fired, [15, 30]);
  assert.equal(clock.now(), 30);

  const tick = (): void => {
    clock.setTimeout(tick, 1);
  };
  tick();
  assert.throws(() => clock.runUntilIdle({ maxTimers: 50 }), code('CLOCK_NOT_IDLE'));
  assert.equal(clock.now(), 80);
  assert.throws(() => clock.runUntilIdle({ maxTimers: -1 }), code('INVALID_ARGUMENT'));
  assert.equal(new SimClock().runNext(), false);
});

test('a throwing callback aborts advance at its due time and leaves the rest pending', () => {
  const clock = new SimClock();
  const fired: string[] = [];
  clock.setTimeout(() => {
    throw new Error('boom');
  }, 3);
  clock.setTimeout(() => fired.push('later'), 7);
  assert.throws(() => clock.advance(10), /boom/);
  assert.equal(clock.now(), 3);
  assert.equal(clock.pending, 1);
  clock.advance(7);
  assert.deepEqual(fired, ['later']);
});

test('bad input is refused and changes nothing', () => {
  const clock = new SimClock();
  for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => clock.setTimeout(() => {}, ms), code('INVALID_ARGUMENT'));
    assert.throws(() => clock.advance(ms), code('INVALID_ARGUMENT'));
  }
  assert.throws(() => clock.setTimeout(42 as unknown as () => void, 1), code('INVALID_ARGUMENT'));
  assert.throws(() => new SimClock(Number.NaN), code('INVALID_ARGUMENT'));
  assert.equal(clock.pending, 0);
  assert.equal(clock.now(), 0);
});

test('advanceAsync lets promise continuations arm timers inside the window', async () => {
  const clock = new SimClock();
  const log: number[] = [];
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  const loop = (async () => {
    for (let i = 0; i < 5; i++) {
      await sleep(10);
      log.push(clock.now());
    }
  })();
  assert.equal(await clock.advanceAsync(35), 3);
  assert.deepEqual(log, [10, 20, 30]);
  await clock.advanceAsync(100);
  await loop;
  assert.deepEqual(log, [10, 20, 30, 40, 50]);
  await assert.rejects(clock.advanceAsync(-1), code('INVALID_ARGUMENT'));
});

test('systemClock is monotonic and its timers fire and cancel', async () => {
  const a = systemClock.now();
  const b = systemClock.now();
  assert.ok(b >= a);
  let cancelled = true;
  const h = systemClock.setTimeout(() => {
    cancelled = false;
  }, 1);
  systemClock.clearTimeout(h);
  systemClock.clearTimeout(Symbol('foreign'));
  await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 1));
  assert.ok(cancelled);
});
