import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LeaseCheckpoint, LeaseTimer } from '@flotilla/lease';
import { ManualClock } from '@flotilla/lease/testing';
import fc from 'fast-check';
import { code, newLessor } from './helpers.js';
import { RaftSim } from './raft-sim.js';

test('only the leader expires a lease, through a proposed revoke applied on every replica at one log index', async () => {
  const sim = new RaftSim({ replicas: 3 });
  sim.grant(1, 5);
  sim.propose(0, { type: 'put', key: 'svc/a', lease: 1 });
  sim.propose(0, { type: 'put', key: 'svc/b', lease: 1 });
  await sim.clock.advance(4999);
  assert.equal(sim.replicas[0]?.lessor.has(1), true, 'not a millisecond early');
  await sim.clock.advance(1);
  assert.equal(sim.revokedAt.get(1), 5000);
  assert.deepEqual(sim.replicas[0]?.revokeAsks, [{ at: 5000, ids: [1] }]);
  assert.deepEqual(sim.replicas[1]?.revokeAsks, [], 'followers never expire');
  assert.deepEqual(sim.replicas[2]?.revokeAsks, []);
  assert.deepEqual(
    sim.log.filter((e) => e.type === 'revoke'),
    [{ type: 'revoke', id: 1 }],
    'one revoke entry',
  );
  for (const r of sim.replicas) {
    assert.equal(r.lessor.has(1), false);
    assert.equal(r.store.range('svc/', 'svc0').count, 0);
    assert.equal(r.store.revision, sim.replicas[0]?.store.revision, 'same revision everywhere');
  }
});

test('a follower arms no timer at all, and never renews (NOT_PRIMARY)', async () => {
  const clock = new ManualClock();
  const { lessor } = newLessor();
  const asked: number[][] = [];
  const timer = new LeaseTimer({ lessor, clock, proposeRevoke: (ids) => asked.push([...ids]) });
  lessor.grant(1, 2);
  assert.equal(timer.isPrimary, false);
  assert.equal(clock.pending, 0);
  await clock.advance(60_000);
  assert.deepEqual(asked, []);
  assert.throws(() => timer.renew(1), code('NOT_PRIMARY'));
  assert.equal(timer.remainingMs(1), undefined);
  assert.equal(lessor.has(1), true, 'never revoked locally');
});

test('expiry only asks the host: nothing is revoked locally, and the ask is retried until the revoke is applied', async () => {
  const clock = new ManualClock();
  const { lessor } = newLessor();
  const asks: Array<[number, number[]]> = [];
  const timer = new LeaseTimer({
    lessor,
    clock,
    proposeRevoke: (ids) => {
      asks.push([clock.now(), [...ids]]);
    },
    revokeRetryMs: 3000,
  });
  timer.promote(0);
  lessor.grant(2, 2);
  lessor.grant(1, 2);
  lessor.grant(3, 4);
  await clock.advance(2000);
  assert.deepEqual(asks, [[2000, [1, 2]]], 'one batch, ids ascending');
  assert.equal(lessor.has(1), true, 'the timer never revokes by itself');
  assert.throws(() => timer.renew(1), code('LEASE_NOT_FOUND'), 'an expired lease cannot be renewed');
  await clock.advance(2000);
  assert.deepEqual(asks.at(-1), [4000, [3]]);
  lessor.revoke(2); // the host's revoke of lease 2 was applied; 1 and 3 were lost
  await clock.advance(1000);
  assert.deepEqual(asks.at(-1), [5000, [1]], 'retried after revokeRetryMs');
  await clock.advance(2000);
  assert.deepEqual(asks.at(-1), [7000, [3]]);
  lessor.revoke(1);
  lessor.revoke(3);
  const n = asks.length;
  await clock.advance(60_000);
  assert.equal(asks.length, n, 'applied revokes stop the retries');
  assert.equal(clock.pending, 0, 'and nothing stays armed');
});

test('renew restarts the full TTL; unknown, expired and malformed ids are refused', async () => {
  const sim = new RaftSim({ replicas: 1 });
  const timer = sim.primary.timer;
  sim.grant(1, 10);
  await sim.clock.advance(9000);
  assert.equal(timer.remainingMs(1), 1000);
  assert.equal(timer.renew(1), 10);
  assert.equal(timer.remainingMs(1), 10_000);
  await sim.clock.advance(9999);
  assert.equal(sim.primary.lessor.has(1), true);
  await sim.clock.advance(1);
  assert.equal(sim.revokedAt.get(1), 19_000);
  assert.throws(() => timer.renew(1), code('LEASE_NOT_FOUND'));
  assert.throws(() => timer.renew(0), code('INVALID_ARGUMENT'));
  assert.equal(timer.remainingMs(1), undefined);
});

test('keep-alive race: a renewal the instant before expiry wins; one arriving after the deadline never resurrects', async () => {
  const sim = new RaftSim({ replicas: 1 });
  sim.autoCommit = false; // revokes are asked but not yet committed
  sim.grant(1, 5);
  sim.grant(2, 5);
  sim.commit();
  await sim.clock.advance(4999);
  assert.equal(sim.primary.timer.renew(1), 5);
  await sim.clock.advance(1);
  assert.deepEqual(sim.primary.revokeAsks, [{ at: 5000, ids: [2] }]);
  // Lease 2's revoke is in flight: the lease still exists in the Lessor, yet it is gone for
  // clients. A keep-alive now must not answer "renewed".
  assert.equal(sim.primary.lessor.has(2), true);
  assert.throws(() => sim.primary.timer.renew(2), code('LEASE_NOT_FOUND'));
  sim.commit();
  assert.equal(sim.primary.lessor.has(2), false);
  assert.equal(sim.primary.lessor.has(1), true);
  await assert.rejects(sim.primary.timer.keepAlive(2), code('LEASE_NOT_FOUND'));
});

test('a leader change restarts leases from their last checkpoint plus the election timeout', async () => {
  const sim = new RaftSim({ replicas: 3, checkpointIntervalMs: 1000, electionTimeoutMs: 500 });
  sim.grant(1, 10);
  await sim.clock.advance(3000);
  // Checkpoints at 1000, 2000, 3000 were replicated: 7000 ms remain.
  assert.equal(sim.replicas[2]?.lessor.lookup(1)?.remainingMs, 7000);
  await sim.clock.advance(400);
  await sim.elect(2, 0, 500);
  assert.equal(sim.primary.timer.remainingMs(1), 7500, 'checkpoint 7000 + extension 500');
  await sim.clock.advance(7499);
  assert.equal(sim.primary.lessor.has(1), true);
  await sim.clock.advance(1);
  assert.equal(sim.revokedAt.get(1), 10_900, 'expired 900 ms late (<= interval + extension), not immortal');
  assert.deepEqual(sim.replicas[0]?.revokeAsks, [], 'the old leader asked nothing after its demotion');
});

test('without checkpoints, leader changes make an unrenewed lease immortal; with them it expires', async () => {
  for (const checkpoints of [false, true]) {
    const sim = new RaftSim({ replicas: 3, checkpoints, checkpointIntervalMs: 1000, electionTimeoutMs: 500 });
    sim.grant(1, 5);
    // Change leaders every 3 s for a minute; nobody renews the lease.
    for (let i = 1; i <= 20 && !sim.revokedAt.has(1); i++) {
      await sim.clock.advance(3000);
      await sim.elect(i % 3);
    }
    if (checkpoints) {
      const at = sim.revokedAt.get(1);
      assert.ok(at !== undefined, 'expired');
      // 5 s TTL; each leader change may add at most interval + extension = 1.5 s.
      assert.ok(at <= 5000 + 3 * 1500, `expired at ${at}`);
    } else {
      assert.equal(sim.revokedAt.has(1), false, 'etcd without checkpoints: immortal under leader churn');
    }
  }
});

test('renewing clears the checkpoint, so a leader change right after a keep-alive does not revoke early', async () => {
  const sim = new RaftSim({ replicas: 2, checkpointIntervalMs: 1000, electionTimeoutMs: 500 });
  sim.grant(1, 10);
  await sim.clock.advance(8000);
  assert.equal(sim.replicas[1]?.lessor.lookup(1)?.remainingMs, 2000);
  await sim.clock.advance(500);
  assert.equal(await sim.primary.timer.keepAlive(1), 10);
  // The clearing checkpoint (0) was proposed and applied before the keep-alive answered.
  assert.deepEqual(sim.log.at(-1), { type: 'checkpoint', checkpoints: [{ id: 1, remainingMs: 0 }] });
  assert.equal(sim.replicas[1]?.lessor.lookup(1)?.remainingMs, 0);
  await sim.clock.advance(100);
  await sim.elect(1, 0, 500);
  // The client was promised 10 s from 8500: the new leader must keep the lease until 18500.
  await sim.clock.advance(18_499 - sim.clock.now());
  assert.equal(sim.primary.lessor.has(1), true, 'no early revoke');
  await sim.clock.advance(2000);
  assert.ok(sim.revokedAt.has(1));
});

test('keepAlive waits for the clearing checkpoint to commit; renew does not', async () => {
  const sim = new RaftSim({ replicas: 1, checkpointIntervalMs: 1000 });
  sim.grant(1, 10);
  await sim.clock.advance(1000);
  assert.equal(sim.primary.lessor.lookup(1)?.remainingMs, 9000);
  sim.autoCommit = false;
  let answered = false;
  const pending = sim.primary.timer.keepAlive(1).then((ttl) => {
    answered = true;
    return ttl;
  });
  await sim.clock.settle();
  assert.equal(answered, false, 'waiting for the checkpoint to commit');
  sim.commit();
  assert.equal(await pending, 10);
  assert.equal(sim.primary.lessor.lookup(1)?.remainingMs, 0);
  // A lease without a checkpoint proposes nothing.
  const n = sim.log.length;
  assert.equal(sim.primary.timer.renew(1), 10);
  sim.commit();
  assert.equal(sim.log.length, n);
});

test('property: leader changes, gaps and keep-alives never revoke early and never keep a lease forever', async () => {
  const step = fc.oneof(
    fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 4000 }) }),
    fc.record({ t: fc.constant('renew' as const) }),
    fc.record({
      t: fc.constant('elect' as const),
      next: fc.integer({ min: 0, max: 2 }),
      gap: fc.integer({ min: 0, max: 1500 }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }),
      fc.array(step, { maxLength: 40 }),
      async (ttl, steps) => {
        const interval = 1000;
        const extend = 500;
        const sim = new RaftSim({ replicas: 3, checkpointIntervalMs: interval, electionTimeoutMs: extend });
        sim.grant(1, ttl);
        const ttlMs = Math.max(1, ttl) * 1000;
        let promisedUntil = ttlMs; // the client was told the lease lives at least this long
        let leading = true;
        let lastPromote = 0;
        for (const s of steps) {
          if (sim.revokedAt.has(1)) break;
          if (s.t === 'advance') {
            await sim.clock.advance(s.ms);
          } else if (s.t === 'renew') {
            if (!leading) continue; // no leader during the gap: keep-alives fail
            try {
              await sim.primary.timer.keepAlive(1);
              promisedUntil = sim.clock.now() + ttlMs;
            } catch {
              // expired (revoke in flight): the client is told, nothing promised
            }
          } else if (sim.clock.now() - lastPromote >= interval) {
            // Leaderships last at least one checkpoint interval (the bound's premise).
            leading = false;
            await sim.elect(s.next, s.gap, extend);
            leading = true;
            lastPromote = sim.clock.now();
          }
          const at = sim.revokedAt.get(1);
          if (at !== undefined)
            assert.ok(at >= promisedUntil, `revoked at ${at}, promised until ${promisedUntil}`);
        }
        // Liveness: with no more renewals and no more leader changes, it expires within a bound.
        const stoppedAt = sim.clock.now();
        await sim.clock.advance(ttlMs + interval + extend + 1500 * 40);
        const at = sim.revokedAt.get(1);
        assert.ok(at !== undefined, 'the lease expired eventually');
        assert.ok(at >= promisedUntil, `revoked at ${at}, promised until ${promisedUntil}`);
        assert.ok(
          at <= Math.max(stoppedAt, promisedUntil) + ttlMs + interval + extend,
          `revoked late at ${at}`,
        );
      },
    ),
    { numRuns: 150 },
  );
});

test('checkpoints are batched and skip leases just renewed; host errors and rejections are swallowed', async () => {
  const clock = new ManualClock();
  const { lessor } = newLessor();
  const batches: LeaseCheckpoint[][] = [];
  let fail: 'throw' | 'reject' | undefined;
  const timer = new LeaseTimer({
    lessor,
    clock,
    proposeRevoke: () => {
      if (fail === 'throw') throw new Error('no leader');
      return Promise.reject(new Error('dropped'));
    },
    proposeCheckpoint: (cps) => {
      batches.push([...cps]);
      if (fail === 'throw') throw new Error('no leader');
      if (fail === 'reject') return Promise.reject(new Error('dropped'));
      return undefined;
    },
    checkpointIntervalMs: 1000,
    checkpointBatchSize: 2,
  });
  timer.promote(0);
  for (let id = 1; id <= 5; id++) lessor.grant(id, 10);
  // Armed before the timer re-arms at 1000, so it runs first at 2000: a renewal in the very
  // millisecond of the checkpoint round.
  clock.setTimeout(() => timer.renew(1), 2000);
  await clock.advance(1000);
  assert.deepEqual(
    batches.map((b) => b.map((c) => c.id)),
    [[1, 2], [3, 4], [5]],
  );
  assert.deepEqual(batches[0]?.[0], { id: 1, remainingMs: 9000 });
  batches.length = 0;
  fail = 'reject';
  await clock.advance(1000); // lease 1 (remaining = full TTL, nothing recorded) is skipped
  assert.deepEqual(
    batches.map((b) => b.map((c) => c.id)),
    [
      [2, 3],
      [4, 5],
    ],
  );
  fail = 'throw';
  await clock.advance(20_000); // expiry with a throwing host: retried, never crashes
  lessor.checkpoint(1, 5); // a checkpoint applied on the leader does not move its deadline
  assert.equal(timer.remainingMs(1), 0);
  timer.close();
});

test('promote, demote and close: deadlines appear and vanish; options are validated', async () => {
  const clock = new ManualClock();
  const { lessor } = newLessor();
  const asked: number[] = [];
  const timer = new LeaseTimer({
    lessor,
    clock,
    proposeRevoke: (ids) => asked.push(...ids),
    electionTimeoutMs: 700,
  });
  lessor.grant(1, 3);
  lessor.checkpoint(1, 1000);
  timer.promote();
  assert.equal(timer.isPrimary, true);
  assert.equal(timer.remainingMs(1), 1700, 'checkpoint + default extension (the election timeout)');
  timer.promote(0);
  assert.equal(timer.remainingMs(1), 1000, 'promoting again re-derives deadlines');
  timer.demote();
  timer.demote();
  assert.equal(clock.pending, 0);
  await clock.advance(10_000);
  assert.deepEqual(asked, [], 'a demoted timer expires nothing');
  timer.promote(0);
  await clock.advance(1000);
  assert.deepEqual(asked, [1]);
  assert.throws(() => timer.promote(-1), code('INVALID_ARGUMENT'));
  timer.close();
  timer.close();
  assert.equal(timer.isPrimary, false);
  assert.throws(() => timer.promote(), code('INVALID_ARGUMENT'));
  lessor.grant(2, 3); // a closed timer no longer follows the lessor
  assert.equal(clock.pending, 0);

  const base = { lessor, clock, proposeRevoke: () => {} };
  const bad: Array<Record<string, unknown>> = [
    { lessor: undefined },
    { clock: undefined },
    { proposeRevoke: undefined },
    { proposeCheckpoint: 5 },
    { checkpointIntervalMs: 0 },
    { revokeRetryMs: -1 },
    { electionTimeoutMs: Number.NaN },
    { checkpointBatchSize: 0 },
  ];
  for (const override of bad) {
    assert.throws(
      () => new LeaseTimer({ ...base, ...override } as never),
      code('INVALID_ARGUMENT'),
      JSON.stringify(override),
    );
  }
});

test('a snapshot restored on the leader keeps known deadlines, starts new leases and drops vanished ones', async () => {
  const clock = new ManualClock();
  const { lessor } = newLessor();
  const other = newLessor().lessor;
  const timer = new LeaseTimer({ lessor, clock, proposeRevoke: () => {} });
  lessor.grant(1, 10);
  lessor.grant(2, 10);
  timer.promote(0);
  await clock.advance(4000);
  other.grant(1, 10);
  other.grant(3, 5);
  other.checkpoint(3, 2000);
  lessor.restore(other.snapshot());
  assert.equal(timer.remainingMs(1), 6000, 'kept');
  assert.equal(timer.remainingMs(2), undefined, 'dropped');
  assert.equal(timer.remainingMs(3), 2000, 'started from its checkpoint');
  timer.close();
});
