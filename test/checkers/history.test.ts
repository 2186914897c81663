import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  formatHistory,
  formatWatchLog,
  type HistoryEvent,
  isWatchEnd,
  isWatchEvent,
  isWatchStart,
  pairOperations,
  parseHistory,
  parseWatchLog,
  VerificationError,
  validateHistory,
} from '@flotilla/verification';

const ev = (
  index: number,
  process: number,
  type: HistoryEvent['type'],
  f = 'write',
  time = index * 10,
): HistoryEvent => ({
  index,
  time,
  process,
  type,
  f,
  value: ['x', 1],
});

/** Asserts `fn` throws HISTORY_MALFORMED with the given reason. */
function rejects(fn: () => unknown, reason: string, code = 'HISTORY_MALFORMED'): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, String(err));
    assert.ok(isFlotillaError(err, code), `code ${(err as VerificationError).code}`);
    assert.equal(err.details.reason, reason, err.message);
    return true;
  });
}

describe('history JSONL', () => {
  test('round-trips the issue shape, fields in order, revision and error optional', () => {
    const text =
      '{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":["x",1]}\n' +
      '{"index":1,"time":1500,"process":0,"type":"ok","f":"write","value":["x",1],"revision":7}\n' +
      '\n' +
      '{"index":2,"time":1600,"process":1,"type":"invoke","f":"read","value":["x",null]}\n' +
      '{"index":3,"time":1700,"process":1,"type":"info","f":"read","value":["x",null],"error":"OUTCOME_UNKNOWN"}\n';
    const events = parseHistory(text);
    assert.equal(events.length, 4);
    assert.equal(events[1]?.revision, 7);
    assert.equal(events[3]?.error, 'OUTCOME_UNKNOWN');
    assert.equal(formatHistory(events), text.replace('\n\n', '\n'));
  });

  test('names the line of a bad line', () => {
    assert.throws(() => parseHistory('{"index":0'), /line 1: not valid JSON/);
    assert.throws(() => parseHistory('\n[1,2]'), /line 2: expected a JSON object/);
    rejects(
      () => parseHistory('{"index":-1,"time":0,"process":0,"type":"ok","f":"x","value":1}'),
      'bad-field',
    );
    rejects(
      () => parseHistory('{"index":0,"time":0,"process":0,"type":"done","f":"x","value":1}'),
      'bad-field',
    );
    rejects(
      () => parseHistory('{"index":0,"time":0,"process":0.5,"type":"ok","f":"x","value":1}'),
      'bad-field',
    );
    rejects(() => parseHistory('{"index":0,"time":0,"process":0,"type":"ok","f":"","value":1}'), 'bad-field');
    rejects(
      () => parseHistory('{"index":0,"time":0,"process":0,"type":"ok","f":"x","revision":"7"}'),
      'bad-field',
    );
  });

  test('a missing value reads as null', () => {
    assert.equal(parseHistory('{"index":0,"time":0,"process":0,"type":"invoke","f":"x"}')[0]?.value, null);
  });
});

describe('validateHistory / pairOperations', () => {
  test('pairs invokes with completions in invoke order', () => {
    const h = [ev(0, 0, 'invoke'), ev(1, 1, 'invoke', 'read'), ev(2, 1, 'ok', 'read'), ev(3, 0, 'info')];
    const ops = pairOperations(h);
    assert.deepEqual(
      ops.map((o) => [o.id, o.process, o.f, o.type, o.invoke.index, o.completion.index]),
      [
        [0, 0, 'write', 'info', 0, 3],
        [1, 1, 'read', 'ok', 1, 2],
      ],
    );
    assert.equal(validateHistory(h), h);
  });

  test('rejects each malformation with its reason and index', () => {
    rejects(() => pairOperations([ev(0, 0, 'invoke'), ev(0, 0, 'ok')]), 'index-not-increasing');
    rejects(
      () => pairOperations([ev(0, 0, 'invoke', 'write', 50), ev(1, 0, 'ok', 'write', 40)]),
      'time-decreasing',
    );
    rejects(() => pairOperations([ev(0, 0, 'invoke'), ev(1, 0, 'invoke')]), 'concurrent-invoke');
    rejects(() => pairOperations([ev(0, 0, 'ok')]), 'completion-without-invoke');
    rejects(
      () => pairOperations([ev(0, 0, 'invoke'), ev(1, 0, 'ok'), ev(2, 0, 'ok')]),
      'completion-without-invoke',
    );
    rejects(() => pairOperations([ev(0, 0, 'invoke'), ev(1, 0, 'ok', 'read')]), 'function-mismatch');
    rejects(() => pairOperations([ev(0, 0, 'invoke')]), 'invoke-without-completion');
    rejects(
      () => pairOperations([ev(0, 0, 'invoke'), ev(1, 0, 'info'), ev(2, 0, 'invoke'), ev(3, 0, 'ok')]),
      'process-reused-after-info',
    );
    const bad = { ...ev(0, 0, 'invoke'), time: Number.NaN };
    rejects(() => pairOperations([bad]), 'bad-field');
  });

  test('the error message names the event', () => {
    assert.throws(
      () => pairOperations([ev(0, 3, 'invoke'), ev(5, 3, 'invoke')]),
      /#5 \(process 3, invoke write\)/,
    );
  });

  test('a process may invoke again after ok and fail', () => {
    const h = [
      ev(0, 0, 'invoke'),
      ev(1, 0, 'ok'),
      ev(2, 0, 'invoke'),
      ev(3, 0, 'fail'),
      ev(4, 0, 'invoke'),
      ev(5, 0, 'ok'),
    ];
    assert.equal(pairOperations(h).length, 3);
  });
});

describe('watch log', () => {
  const text =
    '{"watcher":1,"key":"x","start_revision":5}\n' +
    '{"watcher":1,"key":"x","revision":6,"event":"put","value":3}\n' +
    '{"watcher":"w2","key":"a","start_revision":1,"range_end":"b"}\n' +
    '{"watcher":1,"key":"x","revision":7,"event":"delete","value":null}\n' +
    '{"watcher":1,"key":"x","end_revision":9}\n';

  test('parses the three kinds of line and writes them back', () => {
    const lines = parseWatchLog(text);
    assert.deepEqual(
      lines.map((l) => (isWatchStart(l) ? 'start' : isWatchEnd(l) ? 'end' : isWatchEvent(l) ? 'event' : '?')),
      ['start', 'event', 'start', 'event', 'end'],
    );
    assert.equal(formatWatchLog(lines), text);
  });

  test('rejects a bad line with WATCH_LOG_MALFORMED', () => {
    rejects(
      () => parseWatchLog('{"watcher":1,"key":"x","revision":6,"event":"set","value":3}'),
      'bad-field',
      'WATCH_LOG_MALFORMED',
    );
    rejects(
      () => parseWatchLog('{"watcher":1,"key":"","start_revision":1}'),
      'bad-field',
      'WATCH_LOG_MALFORMED',
    );
    rejects(
      () => parseWatchLog('{"watcher":1.5,"key":"x","end_revision":1}'),
      'bad-field',
      'WATCH_LOG_MALFORMED',
    );
  });
});
