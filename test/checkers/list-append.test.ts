import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  anomalyTypes,
  checkListAppend,
  formatListAppend,
  type ListAppendResult,
} from '@flotilla/verification';
import { Script } from './support/script.js';

function check(s: Script): ListAppendResult {
  return checkListAppend(s.events);
}

function reports(s: Script, ...types: string[]): ListAppendResult {
  const r = check(s);
  assert.equal(r.valid, false, formatListAppend(r));
  for (const t of types)
    assert.ok(
      anomalyTypes(r).includes(t),
      `expected ${t} in ${anomalyTypes(r).join(', ')}\n${formatListAppend(r)}`,
    );
  return r;
}

describe('list-append: valid histories', () => {
  test('serial txns, concurrent txns in either order, own appends visible to own reads', () => {
    const r = check(
      new Script()
        .txn(0, [
          ['append', 'x', 1],
          ['r', 'x', [1]],
        ])
        .invokeTxn(1, [['append', 'x', 2]])
        .invokeTxn(2, [['r', 'x', null]])
        .okTxn(2, [['r', 'x', [1, 2]]])
        .okTxn(1, [['append', 'x', 2]])
        .txn(0, [
          ['r', 'x', [1, 2]],
          ['append', 'y', 3],
          ['r', 'y', [3]],
        ]),
    );
    assert.equal(r.valid, true, formatListAppend(r));
    assert.equal(r.stats.txns, 4);
  });

  test('an info txn may have committed (its append seen) or not (never seen)', () => {
    const crashed = () => new Script().invokeTxn(0, [['append', 'x', 1]]).info(0);
    assert.equal(check(crashed().txn(1, [['r', 'x', [1]]])).valid, true);
    assert.equal(check(crashed().txn(1, [['r', 'x', []]])).valid, true);
    assert.equal(
      check(
        crashed()
          .txn(1, [['r', 'x', []]])
          .txn(1, [['r', 'x', [1]]]),
      ).valid,
      true,
    );
  });

  test('other functions are ignored', () => {
    const r = check(new Script().op(0, 'write', ['x', 1]).txn(0, [['r', 'x', []]]));
    assert.equal(r.valid, true);
    assert.equal(r.stats.ignored, 1);
  });
});

describe('list-append: cycles', () => {
  test('G0 write cycle: two txns append to x and y in opposite orders', () => {
    const r = reports(
      new Script()
        .invokeTxn(0, [
          ['append', 'x', 1],
          ['append', 'y', 1],
        ])
        .invokeTxn(1, [
          ['append', 'x', 2],
          ['append', 'y', 2],
        ])
        .okTxn(0, [
          ['append', 'x', 1],
          ['append', 'y', 1],
        ])
        .okTxn(1, [
          ['append', 'x', 2],
          ['append', 'y', 2],
        ])
        .txn(2, [
          ['r', 'x', [1, 2]],
          ['r', 'y', [2, 1]],
        ]),
      'G0',
    );
    const g0 = r.anomalies.find((a) => a.type === 'G0');
    assert.ok(g0 !== undefined && 'cycle' in g0);
    assert.deepEqual(
      g0.cycle.map((s) => s.edge),
      ['ww', 'ww'],
    );
  });

  test('G1c circular information flow: each txn reads the other’s append', () => {
    reports(
      new Script()
        .invokeTxn(0, [
          ['append', 'x', 1],
          ['r', 'y', null],
        ])
        .invokeTxn(1, [
          ['append', 'y', 1],
          ['r', 'x', null],
        ])
        .okTxn(0, [
          ['append', 'x', 1],
          ['r', 'y', [1]],
        ])
        .okTxn(1, [
          ['append', 'y', 1],
          ['r', 'x', [1]],
        ]),
      'G1c',
    );
  });

  test('G-single read skew: sees one of a txn’s two appends', () => {
    const r = reports(
      new Script()
        .invokeTxn(1, [
          ['r', 'x', null],
          ['r', 'y', null],
        ])
        .txn(0, [
          ['append', 'x', 1],
          ['append', 'y', 1],
        ])
        .okTxn(1, [
          ['r', 'x', []],
          ['r', 'y', [1]],
        ])
        .txn(2, [['r', 'x', [1]]]),
      'G-single',
    );
    const text = formatListAppend(r);
    assert.match(text, /G-single cycle: T\d+ -rw-> T\d+ -wr-> T\d+/);
    assert.match(text, /read "x" = \[\]; T\d+ appended the next element, 1/);
  });

  test('G2 write skew: both read x and y empty and append to different keys', () => {
    reports(
      new Script()
        .invokeTxn(0, [
          ['r', 'x', null],
          ['r', 'y', null],
          ['append', 'x', 1],
        ])
        .invokeTxn(1, [
          ['r', 'x', null],
          ['r', 'y', null],
          ['append', 'y', 1],
        ])
        .okTxn(0, [
          ['r', 'x', []],
          ['r', 'y', []],
          ['append', 'x', 1],
        ])
        .okTxn(1, [
          ['r', 'x', []],
          ['r', 'y', []],
          ['append', 'y', 1],
        ])
        .txn(2, [
          ['r', 'x', [1]],
          ['r', 'y', [1]],
        ]),
      'G2',
    );
  });

  test('stale read: serializable but not strictly (G-single-realtime)', () => {
    const r = reports(
      new Script()
        .txn(0, [['append', 'x', 1]])
        .txn(1, [['r', 'x', []]])
        .txn(2, [['r', 'x', [1]]]),
      'G-single-realtime',
    );
    assert.deepEqual(anomalyTypes(r), ['G-single-realtime']);
    assert.match(
      formatListAppend(r),
      /-rt-> T\d+: T0 completed \(event #1\) before T1 was invoked \(event #2\)/,
    );
  });

  test('an info txn whose append was seen is ordered like a committed one', () => {
    reports(
      new Script()
        .invokeTxn(0, [
          ['append', 'x', 1],
          ['append', 'y', 1],
        ])
        .info(0)
        .txn(1, [
          ['r', 'x', []],
          ['r', 'y', [1]],
        ])
        .txn(2, [['r', 'x', [1]]]),
      'G-single',
    );
  });
});

describe('list-append: anomalies without cycles', () => {
  test('G1a aborted read', () => {
    reports(
      new Script()
        .invokeTxn(0, [['append', 'x', 1]])
        .fail(0)
        .txn(1, [['r', 'x', [1]]]),
      'G1a',
    );
  });

  test('G1b intermediate read', () => {
    reports(
      new Script()
        .invokeTxn(0, [
          ['append', 'x', 1],
          ['append', 'x', 2],
        ])
        .invokeTxn(1, [['r', 'x', null]])
        .okTxn(1, [['r', 'x', [1]]])
        .okTxn(0, [
          ['append', 'x', 1],
          ['append', 'x', 2],
        ]),
      'G1b',
    );
  });

  test('duplicate elements (an append applied twice)', () => {
    reports(new Script().txn(0, [['append', 'x', 1]]).txn(1, [['r', 'x', [1, 1]]]), 'duplicate-elements');
  });

  test('internal inconsistency: a read that ignores the txn’s own append or earlier read', () => {
    reports(
      new Script().txn(0, [
        ['append', 'x', 1],
        ['r', 'x', []],
      ]),
      'internal',
    );
    reports(
      new Script().txn(0, [['append', 'x', 1]]).txn(1, [
        ['r', 'x', [1]],
        ['r', 'x', []],
      ]),
      'internal',
    );
  });

  test('incompatible orders: two reads neither a prefix of the other', () => {
    reports(
      new Script()
        .txn(0, [['append', 'x', 1]])
        .txn(1, [['append', 'x', 2]])
        .txn(2, [['r', 'x', [1, 2]]])
        .txn(3, [['r', 'x', [2, 1]]]),
      'incompatible-order',
    );
  });

  test('lost update: two committed txns read the same version and both append', () => {
    reports(
      new Script()
        .invokeTxn(0, [
          ['r', 'x', null],
          ['append', 'x', 1],
        ])
        .invokeTxn(1, [
          ['r', 'x', null],
          ['append', 'x', 2],
        ])
        .okTxn(0, [
          ['r', 'x', []],
          ['append', 'x', 1],
        ])
        .okTxn(1, [
          ['r', 'x', []],
          ['append', 'x', 2],
        ])
        .txn(2, [['r', 'x', [1, 2]]]),
      'lost-update',
      'G-single',
    );
  });

  test('garbage read: an element nobody appended', () => {
    reports(new Script().txn(0, [['r', 'x', [42]]]), 'garbage-read');
  });

  test('Figure-8-style lost committed append: acknowledged, then gone from every read', () => {
    const r = reports(
      new Script()
        .txn(0, [['append', 'x', 1]])
        .txn(1, [['append', 'x', 2]])
        .txn(2, [['r', 'x', [2]]]),
      'lost-append',
    );
    assert.match(formatListAppend(r), /committed its append of 1 to "x", yet no read ever shows it/);
  });
});

describe('list-append: input errors', () => {
  const malformed = (e: unknown) => isFlotillaError(e, 'HISTORY_MALFORMED');
  test('rejects duplicate appends and bad micro-ops', () => {
    assert.throws(
      () => check(new Script().txn(0, [['append', 'x', 1]]).txn(1, [['append', 'x', 1]])),
      malformed,
    );
    assert.throws(() => checkListAppend(new Script().op(0, 'txn', [['write', 'x', 1]]).events), malformed);
    assert.throws(() => checkListAppend(new Script().op(0, 'txn', 'x').events), malformed);
    assert.throws(() => checkListAppend(new Script().op(0, 'txn', [['append', 'x', 1.5]]).events), malformed);
    assert.throws(() => checkListAppend(new Script().op(0, 'txn', [['r', 'x', null]]).events), malformed);
    assert.throws(
      () => checkListAppend(new Script().op(0, 'txn', [['r', 'x', null]], [['r', 'y', []]]).events),
      malformed,
    );
    assert.throws(
      () => checkListAppend([], { maxStartEdges: -1 }),
      (e: unknown) => isFlotillaError(e, 'INVALID_OPTION'),
    );
  });
});
