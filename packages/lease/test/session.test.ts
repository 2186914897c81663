import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type KvLike, LeaseError, Session } from '@flotilla/lease';
import { createLocalKv, ManualClock } from '@flotilla/lease/testing';
import { code, text } from './helpers.js';

function setup(options: { minTtlSeconds?: number; electionTimeoutMs?: number } = {}) {
  const clock = new ManualClock();
  const kv = createLocalKv({ clock, minTtlSeconds: options.minTtlSeconds ?? 1, ...options });
  return { clock, kv };
}

test('a session grants a lease and keeps it alive for as long as it runs', async () => {
  const { clock, kv } = setup({ minTtlSeconds: 3 });
  const session = await Session.create(kv, { ttl: 2, clock });
  assert.equal(session.ttl, 3, 'raised to the server minimum');
  assert.equal(session.alive, true);
  assert.equal(session.endReason, undefined);
  await kv.put('svc/me', 'up', { lease: session.leaseId });
  await clock.advance(600_000);
  assert.equal(session.alive, true);
  const ttl = await kv.timeToLive(session.leaseId, { keys: true });
  assert.equal(ttl.grantedTtl, 3);
  assert.ok(ttl.ttl >= 2 && ttl.ttl <= 3, `ttl ${ttl.ttl}`);
  assert.deepEqual(ttl.keys.map(text), ['svc/me']);
  await session.close();
  kv.close();
});

test('close revokes the lease (its keys vanish), settles done, and is idempotent', async () => {
  const { clock, kv } = setup();
  const session = await Session.create(kv, { ttl: 10, clock });
  await kv.put('a', '1', { lease: session.leaseId });
  let settled = false;
  void session.done.then(() => {
    settled = true;
  });
  await session.close();
  await session.close();
  await clock.settle();
  assert.equal(settled, true);
  assert.equal(session.alive, false);
  assert.equal(session.endReason, 'closed');
  assert.equal((await kv.get('a')).count, 0);
  assert.deepEqual(await kv.timeToLive(session.leaseId), {
    id: session.leaseId,
    ttl: -1,
    grantedTtl: 0,
    keys: [],
    header: { revision: kv.store.revision },
  });
  kv.close();
  assert.equal(clock.pending, 0, 'the keep-alive loop stopped');
});

test('paused keep-alives: the session gives up at its local deadline, no later than the server revokes', async () => {
  const { clock, kv } = setup();
  const client = kv.client();
  const session = await Session.create(client, { ttl: 5, clock });
  await client.put('k', 'v', { lease: session.leaseId });
  await clock.advance(2000);
  client.pauseKeepAlives();
  assert.equal(client.keepAlivesPaused, true);
  let endedAt: number | undefined;
  void session.done.then(() => {
    endedAt = clock.now();
  });
  await clock.advance(20_000);
  assert.equal(session.endReason, 'expired');
  assert.ok(endedAt !== undefined);
  // The last keep-alive that got through was sent at ~1667 ms: the server's deadline is later.
  assert.ok(endedAt <= 1667 + 5000, `ended at ${endedAt}`);
  assert.equal(kv.lessor.has(session.leaseId), false);
  assert.equal((await kv.get('k')).count, 0);
  client.resumeKeepAlives();
  kv.close();
});

test('a lease revoked by someone else ends the session at the next keep-alive', async () => {
  const { clock, kv } = setup();
  const session = await Session.create(kv, { ttl: 6, clock });
  await kv.revoke(session.leaseId);
  await clock.advance(2000);
  assert.equal(session.endReason, 'expired');
  await session.close(); // no-op once ended
  kv.close();
});

test('adopting an existing lease checks it with one keep-alive', async () => {
  const { clock, kv } = setup();
  const { id } = await kv.grant(7);
  const session = await Session.create(kv, { leaseId: id, clock });
  assert.equal(session.leaseId, id);
  assert.equal(session.ttl, 7);
  await assert.rejects(Session.create(kv, { leaseId: 999, clock }), code('LEASE_NOT_FOUND'));
  await assert.rejects(Session.create(kv, { leaseId: -1, clock }), code('INVALID_ARGUMENT'));
  await session.close();
  kv.close();
});

test('keep-alives that fail transiently (no leader during an election) are retried; the lease survives', async () => {
  const { clock, kv } = setup({ electionTimeoutMs: 1000 });
  const session = await Session.create(kv, { ttl: 5, clock, retryMs: 200 });
  await clock.advance(1000);
  // A 3 s election: keep-alives fail with NOT_PRIMARY meanwhile.
  await kv.changeLeader(3000);
  await clock.advance(30_000);
  assert.equal(session.alive, true);
  assert.equal(kv.lessor.has(session.leaseId), true);
  await session.close();
  kv.close();
});

test('a paused client (process pause) loses its session; its held keep-alive is dropped on resume', async () => {
  const { clock, kv } = setup();
  const client = kv.client();
  const session = await Session.create(client, { ttl: 3, clock });
  client.pause();
  assert.equal(client.paused, true);
  await clock.advance(10_000);
  assert.equal(session.endReason, 'expired');
  client.resume();
  await clock.advance(1000);
  assert.equal(client.paused, false);
  assert.equal(kv.lessor.has(session.leaseId), false);
  kv.close();
});

test('close reports a failed revoke but still ends the session; bad options are refused', async () => {
  const { clock, kv } = setup();
  const flaky: KvLike = {
    put: (k, v, o) => kv.put(k, v, o),
    get: (k, o) => kv.get(k, o),
    delete: (k, o) => kv.delete(k, o),
    txn: (r) => kv.txn(r),
    watch: (r) => kv.watch(r),
    grant: (t, o) => kv.grant(t, o),
    revoke: () => Promise.reject(new LeaseError('UNAVAILABLE', 'connection lost')),
    keepAliveOnce: (id) => kv.keepAliveOnce(id),
    timeToLive: (id, o) => kv.timeToLive(id, o),
  };
  const session = await Session.create(flaky, { ttl: 5, clock });
  await assert.rejects(session.close(), code('UNAVAILABLE'));
  assert.equal(session.alive, false);
  await session.done;
  await assert.rejects(Session.create({} as KvLike, { clock }), code('INVALID_ARGUMENT'));
  await assert.rejects(Session.create(kv, { clock, keepAliveIntervalMs: 0 }), code('INVALID_ARGUMENT'));
  await assert.rejects(Session.create(kv, { clock, retryMs: -1 }), code('INVALID_ARGUMENT'));
  await assert.rejects(Session.create(kv, { clock, ttl: -5 }), code('INVALID_TTL'));
  kv.close();
});
