import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { HistoryRecorder, pairOperations, parseHistory } from '@flotilla/verification';

function clockFrom(times: number[]): () => number {
  let i = 0;
  return () => times[Math.min(i++, times.length - 1)] ?? 0;
}

test('records invokes and completions with the injected clock', () => {
  const rec = new HistoryRecorder({ clock: clockFrom([0, 10, 20, 30, 40, 50]) });
  const w = rec.invoke(0, 'write', ['x', 1]);
  const r = rec.invoke(1, 'read', ['x', null]);
  assert.equal(rec.inFlight, 2);
  w.ok(undefined, { revision: 4 });
  r.ok(['x', 1]);
  const c = rec.invoke(0, 'cas', ['x', [1, 2]]);
  c.info(undefined, { error: 'OUTCOME_UNKNOWN' });
  assert.ok(c.completed);
  assert.deepEqual(
    rec.events.map((e) => [e.index, e.time, e.process, e.type, e.f]),
    [
      [0, 0, 0, 'invoke', 'write'],
      [1, 10, 1, 'invoke', 'read'],
      [2, 20, 0, 'ok', 'write'],
      [3, 30, 1, 'ok', 'read'],
      [4, 40, 0, 'invoke', 'cas'],
      [5, 50, 0, 'info', 'cas'],
    ],
  );
  assert.equal(rec.events[2]?.revision, 4);
  assert.deepEqual(rec.events[2]?.value, ['x', 1], 'a completion defaults to the invoke value');
  assert.equal(rec.events[5]?.error, 'OUTCOME_UNKNOWN');
  assert.equal(rec.canInvoke(0), false, 'retired by info');
  assert.equal(rec.canInvoke(1), true);
  // The JSONL text is a valid history.
  assert.equal(pairOperations(parseHistory(rec.toJsonl())).length, 3);
});

test('fail completes and frees the process', () => {
  const rec = new HistoryRecorder({ clock: () => 0 });
  rec.invoke(2, 'write', ['x', 1]).fail(undefined, { error: 'NO_LEADER' });
  assert.equal(rec.canInvoke(2), true);
  assert.equal(rec.events[1]?.type, 'fail');
});

test('copies values so later mutation by the client does not change the history', () => {
  const rec = new HistoryRecorder({ clock: () => 0 });
  const value = ['x', 1];
  const op = rec.invoke(0, 'write', value);
  value[1] = 99;
  op.ok();
  assert.deepEqual(rec.events[0]?.value, ['x', 1]);
  assert.deepEqual(rec.events[1]?.value, ['x', 1]);
});

test('refuses misuse with RECORDER_MISUSE and records nothing', () => {
  let now = 100;
  const rec = new HistoryRecorder({ clock: () => now });
  const misuse = (fn: () => unknown) =>
    assert.throws(fn, (e: unknown) => isFlotillaError(e, 'RECORDER_MISUSE'));
  const op = rec.invoke(0, 'write', ['x', 1]);
  misuse(() => rec.invoke(0, 'read', ['x', null]));
  misuse(() => rec.invoke(-1, 'read', ['x', null]));
  misuse(() => rec.invoke(1, '', null));
  now = 50;
  misuse(() => op.ok());
  assert.equal(op.completed, false);
  now = 200;
  misuse(() => op.ok(undefined, { revision: -3 }));
  op.ok();
  misuse(() => op.fail());
  const crashed = rec.invoke(1, 'read', ['x', null]);
  crashed.info();
  misuse(() => rec.invoke(1, 'read', ['x', null]));
  assert.equal(rec.events.length, 4);
});
