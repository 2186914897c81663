import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import {
  anomalyTypes,
  checkLocks,
  formatCheckResult,
  formatLockLog,
  type LockResult,
  parseLockLog,
  type ResourceAccess,
  type SessionRevocation,
} from '@flotilla/verification';
import { Script } from './support/script.js';

const access = (process: number, token: number, accepted = true, time = 0): ResourceAccess => ({
  type: 'access',
  time,
  process,
  resource: 'file',
  token,
  accepted,
});

/** Process 0 (session 10) locks with token 5, then process 1 (session 11) with token 8. */
function twoHolders(): Script {
  return new Script()
    .invoke(0, 'acquire', { lock: 'L', session: 10 })
    .ok(0, { lock: 'L', session: 10, token: 5 }, 5)
    .op(0, 'release', { lock: 'L', session: 10, token: 5 })
    .invoke(1, 'acquire', { lock: 'L', session: 11 })
    .ok(1, { lock: 'L', session: 11, token: 8 }, 9);
}

function check(s: Script, accesses: ResourceAccess[], revocations: SessionRevocation[] = []): LockResult {
  return checkLocks({ history: s.events, accesses, revocations });
}

function reports(r: LockResult, type: string): void {
  assert.equal(r.valid, false);
  assert.ok(anomalyTypes(r).includes(type), formatCheckResult(r));
}

describe('lock checker', () => {
  test('holders in token order, a stale holder rejected: valid', () => {
    const r = check(twoHolders(), [access(0, 5), access(1, 8), access(0, 5, false), access(1, 8)]);
    assert.equal(r.valid, true, formatCheckResult(r));
    assert.equal(r.stats.granted, 2);
  });

  test('a stale token accepted after a newer one (interleaving without token order)', () => {
    reports(check(twoHolders(), [access(0, 5), access(1, 8), access(0, 5)]), 'stale-token-accepted');
  });

  test('two grants with one token, and tokens that go down in real time', () => {
    const dup = new Script()
      .op(0, 'acquire', { lock: 'L', session: 1 }, { lock: 'L', session: 1, token: 5 })
      .op(1, 'acquire', { lock: 'L', session: 2 }, { lock: 'L', session: 2, token: 5 });
    reports(check(dup, []), 'duplicate-token');
    const down = new Script()
      .op(0, 'acquire', { lock: 'L', session: 1 }, { lock: 'L', session: 1, token: 9 })
      .op(1, 'acquire', { lock: 'L', session: 2 }, { lock: 'L', session: 2, token: 5 });
    reports(check(down, []), 'token-order');
  });

  test('lock() succeeding for a revoked session (etcd 3.4.3), by time or by revision', () => {
    // Invoked after the revocation was known.
    reports(
      check(twoHolders(), [], [{ type: 'session-revoked', time: 3500, session: 11 }]),
      'lock-after-revoke',
    );
    // Invoked before, but granted at a revision at or after the revocation's.
    reports(
      check(twoHolders(), [], [{ type: 'session-revoked', time: 999_999, session: 11, revision: 7 }]),
      'lock-after-revoke',
    );
    // Revoked only after the grant: fine.
    const r = check(
      twoHolders(),
      [],
      [{ type: 'session-revoked', time: 999_999, session: 11, revision: 12 }],
    );
    assert.equal(r.valid, true, formatCheckResult(r));
  });

  test('a token nobody was granted', () => {
    reports(check(twoHolders(), [access(3, 77)]), 'unknown-token');
  });

  test('lock.jsonl round-trips and rejects bad lines', () => {
    const lines = [
      access(0, 5, true, 10),
      { type: 'session-revoked', time: 20, session: 'lease-1', revision: 4 } as const,
    ];
    assert.deepEqual(parseLockLog(formatLockLog(lines)), lines);
    assert.throws(
      () => parseLockLog('{"type":"access","time":1}'),
      (e: unknown) => isFlotillaError(e, 'LOCK_LOG_MALFORMED'),
    );
    assert.throws(
      () => check(new Script().op(0, 'acquire', 'L', { token: 1 }), []),
      (e: unknown) => isFlotillaError(e, 'HISTORY_MALFORMED'),
    );
    assert.throws(
      () => check(new Script().op(0, 'acquire', { lock: 'L', session: 1 }, { lock: 'L' }), []),
      (e: unknown) => isFlotillaError(e, 'HISTORY_MALFORMED'),
    );
  });
});
