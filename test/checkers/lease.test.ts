import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { anomalyTypes, checkLeases, formatCheckResult, type LeaseResult } from '@flotilla/verification';
import { Script } from './support/script.js';

// Script events are 1 µs apart; a TTL of 0.00002 s is 20 µs, i.e. 20 events.
const TTL = 0.00002;

/** Grants lease 7 (ttl 20 µs) and puts key k under it. Times: grant invoke at 1 µs. */
function granted(): Script {
  return new Script()
    .op(0, 'grant', { ttl: TTL }, { lease: 7, ttl: TTL })
    .op(0, 'put', { key: 'k', value: 'v', lease: 7 }, undefined, 2);
}

function reports(r: LeaseResult, type: string): void {
  assert.equal(r.valid, false);
  assert.ok(anomalyTypes(r).includes(type), formatCheckResult(r));
}

describe('lease checker', () => {
  test('kept alive, then expired after its TTL, keys gone: valid', () => {
    const s = granted()
      .op(0, 'read', ['k', null], ['k', 'v'])
      .op(0, 'keepalive', { lease: 7 }, { lease: 7, ttl: TTL });
    for (let i = 0; i < 15; i++) s.op(1, 'read', ['other', null], ['other', null]);
    s.op(0, 'read', ['k', null], ['k', null]).op(0, 'keepalive', { lease: 7 }, { lease: 7, ttl: 0 });
    const r = checkLeases(s.events);
    assert.equal(r.valid, true, formatCheckResult(r));
    assert.equal(r.stats.refreshes, 2);
  });

  test('revoked early: a keep-alive says "not found" before the TTL ran out', () => {
    reports(
      checkLeases(granted().op(0, 'keepalive', { lease: 7 }, { lease: 7, ttl: 0 }).events),
      'early-revocation',
    );
    const s = new Script()
      .op(0, 'grant', { ttl: TTL }, { lease: 7, ttl: TTL })
      .invoke(0, 'keepalive', { lease: 7 })
      .fail(0);
    // A plain failure (no LEASE_NOT_FOUND error) proves nothing.
    assert.equal(checkLeases(s.events).valid, true);
  });

  test('revoked early: an attached key disappears before the TTL ran out', () => {
    reports(checkLeases(granted().op(1, 'read', ['k', null], ['k', null]).events), 'early-revocation');
  });

  test('a clock-skew allowance and a client revoke in flight excuse an early disappearance', () => {
    const early = granted().op(1, 'read', ['k', null], ['k', null]).events;
    assert.equal(checkLeases(early, { clockSkewNs: 20_000 }).valid, true);
    const revoked = granted().op(0, 'revoke', { lease: 7 }).op(1, 'read', ['k', null], ['k', null]).events;
    assert.equal(checkLeases(revoked).valid, true);
    assert.throws(
      () => checkLeases([], { clockSkewNs: -1 }),
      (e: unknown) => isFlotillaError(e, 'INVALID_OPTION'),
    );
  });

  test('after revocation is known: no key readable, no keep-alive, no put', () => {
    const revoked = () => granted().op(0, 'revoke', { lease: 7 });
    reports(
      checkLeases(revoked().op(1, 'read', ['k', null], ['k', 'v']).events),
      'key-readable-after-revoke',
    );
    reports(
      checkLeases(revoked().op(1, 'keepalive', { lease: 7 }, { lease: 7, ttl: TTL }).events),
      'keepalive-after-revoke',
    );
    reports(
      checkLeases(revoked().op(1, 'put', { key: 'k2', value: 'w', lease: 7 }, undefined, 9).events),
      'put-on-revoked-lease',
    );
  });

  test('rejects values of the wrong shape', () => {
    const malformed = (e: unknown) => isFlotillaError(e, 'HISTORY_MALFORMED');
    assert.throws(() => checkLeases(new Script().op(0, 'grant', 5, 6).events), malformed);
    assert.throws(() => checkLeases(new Script().op(0, 'grant', {}, { lease: 1 }).events), malformed);
    assert.throws(() => checkLeases(new Script().op(0, 'revoke', { lease: true }).events), malformed);
  });
});
