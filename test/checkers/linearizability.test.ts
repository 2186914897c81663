import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  checkLinearizability,
  formatCheckResult,
  formatLinearizability,
  type NonLinearizableAnomaly,
} from '@flotilla/verification';
import { Script } from './support/script.js';

function failure(s: Script): NonLinearizableAnomaly {
  const r = checkLinearizability(s.events);
  assert.equal(r.valid, false, formatLinearizability(r));
  const a = r.anomalies.find((x) => x.type === 'nonlinearizable');
  assert.ok(a !== undefined && a.type === 'nonlinearizable');
  return a;
}

function valid(s: Script): void {
  const r = checkLinearizability(s.events);
  assert.equal(r.valid, true, formatLinearizability(r));
}

describe('register linearizability: valid histories', () => {
  test('an empty history and a read of an absent key', () => {
    valid(new Script());
    valid(new Script().op(0, 'read', ['x', null], ['x', null]));
  });

  test('sequential writes, reads and cas', () => {
    valid(
      new Script()
        .op(0, 'write', ['x', 1], undefined, 2)
        .op(1, 'read', ['x', null], ['x', 1])
        .op(0, 'cas', ['x', [1, 2]], undefined, 3)
        .op(1, 'read', ['x', null], ['x', 2])
        .op(1, 'cas', ['y', [null, 5]], undefined, 4)
        .op(1, 'read', ['y', null], ['y', 5]),
    );
  });

  test('a read concurrent with a write may see the old or the new value', () => {
    for (const seen of [null, 1]) {
      valid(
        new Script()
          .invoke(0, 'write', ['x', 1])
          .invoke(1, 'read', ['x', null])
          .ok(1, ['x', seen])
          .ok(0, undefined, 2),
      );
    }
  });

  test('concurrent reads may disagree only in an order real time allows', () => {
    // r1 sees the new value, then (after r1 returned) r2 sees it too: fine.
    valid(
      new Script()
        .invoke(0, 'write', ['x', 1])
        .op(1, 'read', ['x', null], ['x', 1])
        .op(2, 'read', ['x', null], ['x', 1])
        .ok(0),
    );
  });

  test('an info write may take effect late, or never', () => {
    const crashed = () => new Script().invoke(0, 'write', ['x', 1]).info(0);
    valid(crashed().op(1, 'read', ['x', null], ['x', null]).op(1, 'read', ['x', null], ['x', 1]));
    valid(crashed().op(1, 'read', ['x', null], ['x', null]).op(1, 'read', ['x', null], ['x', null]));
  });

  test('an info cas may have succeeded', () => {
    valid(
      new Script()
        .op(0, 'write', ['x', 1])
        .invoke(0, 'cas', ['x', [1, 2]])
        .info(0)
        .op(1, 'read', ['x', null], ['x', 2]),
    );
  });

  test('a failed write never took effect; a failed cas is ignored', () => {
    valid(
      new Script()
        .invoke(0, 'write', ['x', 1])
        .fail(0)
        .invoke(0, 'cas', ['x', [7, 8]])
        .fail(0)
        .op(1, 'read', ['x', null], ['x', null]),
    );
  });

  test('keys are independent registers, and other functions are ignored', () => {
    const r = checkLinearizability(
      new Script()
        .op(0, 'write', ['x', 1])
        .op(0, 'write', ['y', 2])
        .op(0, 'read', ['x', null], ['x', 1])
        .op(0, 'read', [1, null], [1, null])
        .op(0, 'txn', [['append', 'z', 1]]).events,
    );
    assert.equal(r.valid, true);
    assert.equal(r.stats.keys, 3);
    assert.equal(r.stats.ignored, 1);
  });
});

describe('register linearizability: anomalies', () => {
  test('stale read: a read after a completed write returns the older value', () => {
    const a = failure(
      new Script()
        .op(0, 'write', ['x', 1], undefined, 2)
        .op(0, 'write', ['x', 2], undefined, 3)
        .op(1, 'read', ['x', null], ['x', 1]),
    );
    assert.equal(a.hint, 'stale-read');
    assert.equal(a.culprit?.f, 'read');
    assert.equal(a.culprit?.value, 1);
    assert.equal(a.subhistory.length, 3);
    assert.equal(a.linearizablePrefixEvents, 5);
    assert.deepEqual(
      a.partialLinearization.map((p) => p.after),
      [1, 2],
    );
  });

  test('stale read from the initial state: an acknowledged write is not visible', () => {
    const a = failure(new Script().op(0, 'write', ['x', 1]).op(1, 'read', ['x', null], ['x', null]));
    assert.equal(a.hint, 'stale-read');
  });

  test('lost update on cas: two cas succeed from the same value', () => {
    const a = failure(
      new Script()
        .op(0, 'write', ['x', 0])
        .invoke(1, 'cas', ['x', [0, 1]])
        .invoke(2, 'cas', ['x', [0, 2]])
        .ok(1)
        .ok(2),
    );
    assert.equal(a.hint, 'lost-update');
    assert.equal(a.subhistory.length, 3);
  });

  test('garbage read: a value nobody wrote (or only a failed write did)', () => {
    assert.equal(failure(new Script().op(0, 'read', ['x', null], ['x', 9])).hint, 'garbage-read');
    const aborted = new Script().invoke(0, 'write', ['x', 9]).fail(0).op(1, 'read', ['x', null], ['x', 9]);
    assert.equal(failure(aborted).hint, 'garbage-read');
  });

  test('Figure-8-style lost committed write: acknowledged, then every later read misses it', () => {
    const a = failure(
      new Script()
        .op(0, 'write', ['x', 1], undefined, 2)
        .op(1, 'write', ['x', 2], undefined, 3)
        .op(2, 'read', ['x', null], ['x', 2])
        .op(2, 'read', ['x', null], ['x', 1])
        .op(2, 'read', ['x', null], ['x', 1]),
    );
    assert.equal(a.hint, 'stale-read');
    assert.equal(a.culprit?.id, 3);
  });

  test('non-monotonic reads by two clients (one saw the new value, a later one the old)', () => {
    const a = failure(
      new Script()
        .op(0, 'write', ['x', 1])
        .invoke(0, 'write', ['x', 2])
        .op(1, 'read', ['x', null], ['x', 2])
        .op(2, 'read', ['x', null], ['x', 1])
        .ok(0),
    );
    assert.equal(a.key, 'x');
    assert.ok(a.subhistory.length <= 4);
  });

  test('only the failing key is reported', () => {
    const r = checkLinearizability(
      new Script()
        .op(0, 'write', ['ok-key', 1])
        .op(0, 'read', ['ok-key', null], ['ok-key', 1])
        .op(0, 'read', ['bad-key', null], ['bad-key', 3]).events,
    );
    assert.deepEqual(
      r.anomalies.map((a) => a.key),
      ['bad-key'],
    );
  });

  test('the explanation prints the sub-history, the prefix and the partial order', () => {
    const r = checkLinearizability(
      new Script().op(0, 'write', ['x', 1]).op(0, 'write', ['x', 2]).op(1, 'read', ['x', null], ['x', 1])
        .events,
    );
    const text = formatCheckResult(r);
    assert.match(text, /linearizability \(cas register per key\): INVALID/);
    assert.match(text, /key "x": NOT LINEARIZABLE \(looks like a stale-read\)/);
    assert.match(text, /first 5 events/);
    assert.match(text, /T2 \(process 1\) read → 1 \[ok\]/);
    assert.match(text, /write := 2 \[ok\] {2}⇒ 2/);
    assert.match(text, /none of these can take effect: T2/);
  });

  test('explain: false skips the explanation', () => {
    const r = checkLinearizability(new Script().op(0, 'read', ['x', null], ['x', 9]).events, {
      explain: false,
    });
    const a = r.anomalies[0];
    assert.ok(a?.type === 'nonlinearizable');
    assert.deepEqual(a.subhistory, []);
  });
});

describe('register linearizability: budgets and input errors', () => {
  test('reports unknown, not a verdict, when the step budget runs out', () => {
    const s = new Script();
    for (let i = 0; i < 8; i++) s.invoke(i, 'write', ['x', i]);
    for (let i = 0; i < 8; i++) s.ok(i);
    s.op(0, 'read', ['x', null], ['x', 3]);
    const r = checkLinearizability(s.events, { maxSteps: 3 });
    assert.equal(r.valid, 'unknown');
    assert.equal(r.anomalies[0]?.type, 'undecided');
    assert.match(formatLinearizability(r), /UNKNOWN/);
  });

  test('rejects malformed register values and bad options', () => {
    const bad =
      (value: unknown, f = 'write') =>
      () =>
        checkLinearizability(new Script().op(0, f, value as never).events);
    const malformed = (e: unknown) => isFlotillaError(e, 'HISTORY_MALFORMED');
    assert.throws(bad(['x']), malformed);
    assert.throws(bad(['x', null]), malformed);
    assert.throws(bad(['x', 1], 'read'), malformed);
    assert.throws(bad(['x', [1]], 'cas'), malformed);
    assert.throws(bad([{}, 1]), malformed);
    assert.throws(
      () => checkLinearizability(new Script().op(0, 'write', ['x', 1], ['y', 1]).events),
      malformed,
    );
    assert.throws(
      () => checkLinearizability(new Script().op(0, 'write', ['x', 1], ['x', 2]).events),
      malformed,
    );
    assert.throws(
      () => checkLinearizability([], { maxSteps: 0 }),
      (e: unknown) => isFlotillaError(e, 'INVALID_OPTION'),
    );
  });
});
