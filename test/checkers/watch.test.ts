import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  anomalyTypes,
  checkWatches,
  formatWatches,
  type WatchLogLine,
  type WatchResult,
  watchChangesFromHistory,
} from '@flotilla/verification';
import { Script } from './support/script.js';

/** Writes x=1@2, x=2@3, y=7@4, x=3@5 (ok), and an info write x=9. */
function history(): Script {
  return new Script()
    .op(0, 'write', ['x', 1], undefined, 2)
    .op(0, 'write', ['x', 2], undefined, 3)
    .op(0, 'cas', ['y', [null, 7]], undefined, 4)
    .op(0, 'write', ['x', 3], undefined, 5)
    .invoke(1, 'write', ['x', 9])
    .info(1);
}

const start = (watcher: number, start_revision: number, key = 'x'): WatchLogLine => ({
  watcher,
  key,
  start_revision,
});
const put = (watcher: number, revision: number, value: unknown, key = 'x'): WatchLogLine => ({
  watcher,
  key,
  revision,
  event: 'put',
  value: value as number,
});
const end = (watcher: number, end_revision: number, key = 'x'): WatchLogLine => ({
  watcher,
  key,
  end_revision,
});

function check(log: WatchLogLine[], s: Script = history()): WatchResult {
  return checkWatches(log, watchChangesFromHistory(s.events));
}

function reports(log: WatchLogLine[], type: string, s?: Script): WatchResult {
  const r = check(log, s);
  assert.equal(r.valid, false);
  assert.ok(anomalyTypes(r).includes(type), `${anomalyTypes(r).join(', ')}\n${formatWatches(r)}`);
  return r;
}

describe('watch checker', () => {
  test('a complete watch, with a reconnect that resumes at the next revision', () => {
    const r = check([start(1, 1), put(1, 2, 1), put(1, 3, 2), start(1, 4), put(1, 5, 3), end(1, 9)]);
    assert.equal(r.valid, true, formatWatches(r));
    assert.equal(r.stats.sessions, 2);
  });

  test('a gap is a missed event; one between sessions is flagged as lost across a reconnect', () => {
    reports([start(1, 1), put(1, 2, 1), put(1, 5, 3), end(1, 5)], 'missed-event');
    const r = reports([start(1, 1), put(1, 2, 1), start(1, 4), put(1, 5, 3), end(1, 5)], 'missed-event');
    const a = r.anomalies.find((x) => x.type === 'missed-event');
    assert.ok(a?.type === 'missed-event' && a.acrossReconnect && a.revision === 3);
    assert.match(formatWatches(r), /never got "x"@3 .*lost across a reconnect/);
  });

  test('a dropped tail is caught with end_revision, and only then', () => {
    reports([start(1, 1), put(1, 2, 1), end(1, 5)], 'missed-event');
    assert.equal(check([start(1, 1), put(1, 2, 1)]).valid, true);
  });

  test('duplicates across a reconnect, out of order, before the start', () => {
    reports([start(1, 1), put(1, 2, 1), start(1, 2), put(1, 2, 1), put(1, 3, 2)], 'duplicate-event');
    reports([start(1, 1), put(1, 3, 2), put(1, 2, 1)], 'out-of-order');
    reports([start(1, 3), put(1, 2, 1), put(1, 3, 2)], 'event-before-start');
  });

  test('values must match the history; unexplained events are reported', () => {
    reports([start(1, 1), put(1, 2, 1), put(1, 3, 99)], 'wrong-value');
    reports([start(1, 1), put(1, 2, 1), put(1, 3, 2), put(1, 6, 42)], 'unexpected-event');
    reports([start(1, 1), put(1, 4, 7)], 'unexpected-event');
  });

  test('an info write may appear, once; then every watcher covering it must see it', () => {
    assert.equal(check([start(1, 1), put(1, 2, 1), put(1, 3, 2), put(1, 5, 3), put(1, 6, 9)]).valid, true);
    assert.equal(check([start(1, 1), put(1, 2, 1), put(1, 3, 2), put(1, 5, 3), end(1, 6)]).valid, true);
    reports(
      [
        start(1, 1),
        put(1, 2, 1),
        put(1, 3, 2),
        put(1, 5, 3),
        put(1, 6, 9),
        start(2, 5),
        put(2, 5, 3),
        end(2, 6),
      ],
      'missed-event',
    );
    reports(
      [start(1, 1), put(1, 2, 1), put(1, 3, 2), put(1, 5, 3), put(1, 6, 9), put(1, 7, 9)],
      'duplicate-application',
    );
    reports([start(1, 1), put(1, 2, 1), put(1, 3, 2), put(1, 5, 3), put(1, 6, 2)], 'duplicate-application');
  });

  test('ranges: a range watch sees every key in range, and nothing else', () => {
    const range: WatchLogLine = { watcher: 1, key: 'a', start_revision: 1, range_end: '\u0000' };
    const r = check([range, put(1, 2, 1), put(1, 3, 2), put(1, 4, 7, 'y'), put(1, 5, 3), end(1, 6, 'a')]);
    assert.equal(r.valid, true, formatWatches(r));
    reports([range, put(1, 2, 1), put(1, 3, 2), put(1, 5, 3), end(1, 6, 'a')], 'missed-event');
    reports([start(1, 1), put(1, 2, 1), put(1, 4, 7, 'y')], 'event-outside-range');
  });

  test('txn appends: the event value is the list, ending with the appended elements', () => {
    const s = new Script().txn(0, [['append', 'l', 1]], 2).txn(
      0,
      [
        ['append', 'l', 2],
        ['append', 'm', 3],
      ],
      3,
    );
    assert.equal(
      check([start(1, 1, 'l'), put(1, 2, [1], 'l'), put(1, 3, [1, 2], 'l'), end(1, 3, 'l')], s).valid,
      true,
    );
    reports([start(1, 1, 'l'), put(1, 2, [1], 'l'), put(1, 3, [2, 1], 'l')], 'wrong-value', s);
  });

  test('the history may not give one revision to two operations', () => {
    const s = new Script().op(0, 'write', ['x', 1], undefined, 2).op(0, 'write', ['y', 1], undefined, 2);
    reports([], 'revision-conflict', s);
  });

  test('input errors', () => {
    const malformed = (code: string) => (e: unknown) => isFlotillaError(e, code);
    assert.throws(() => check([put(1, 2, 1)]), malformed('WATCH_LOG_MALFORMED'));
    assert.throws(() => check([start(1, 1), start(1, 2, 'y')]), malformed('WATCH_LOG_MALFORMED'));
    assert.throws(
      () => watchChangesFromHistory(new Script().op(0, 'write', ['x', 1]).events),
      malformed('HISTORY_MALFORMED'),
    );
  });
});
