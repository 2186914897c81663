import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type KvLike, Session, systemClock } from '@flotilla/lease';
import { createLocalKv, FencedResource, LocalKv, ManualClock } from '@flotilla/lease/testing';
import type { WatchResponse } from '@flotilla/mvcc';
import { code, text } from './helpers.js';

test('ManualClock fires by due time then creation order, settles promises between timers', async () => {
  const clock = new ManualClock(100);
  const seen: string[] = [];
  clock.setTimeout(() => seen.push(`b@${clock.now()}`), 10);
  clock.setTimeout(() => seen.push(`a@${clock.now()}`), 5);
  clock.setTimeout(() => seen.push(`c@${clock.now()}`), 10);
  const cleared = clock.setTimeout(() => seen.push('never'), 1);
  clock.clearTimeout(cleared);
  clock.clearTimeout(cleared);
  clock.clearTimeout({});
  new ManualClock().clearTimeout(clock.setTimeout(() => seen.push('d'), 50)); // a foreign clock: ignored
  clock.setTimeout(() => {
    // A promise continuation armed by a timer runs before the next timer.
    void Promise.resolve().then(() => seen.push(`micro@${clock.now()}`));
  }, 7);
  assert.equal(clock.pending, 5);
  assert.equal(await clock.advance(60), 5);
  assert.deepEqual(seen, ['a@105', 'micro@107', 'b@110', 'c@110', 'd']);
  assert.equal(clock.now(), 160);
  assert.throws(() => clock.setTimeout(() => {}, -1), code('INVALID_ARGUMENT'));
  assert.throws(() => clock.setTimeout('x' as unknown as () => void, 1), code('INVALID_ARGUMENT'));
  await assert.rejects(clock.advance(Number.NaN), code('INVALID_ARGUMENT'));
  assert.throws(() => new ManualClock(-1), code('INVALID_ARGUMENT'));
});

test('systemClock is monotonic and its timers can be cleared', async () => {
  const t0 = systemClock.now();
  assert.ok(systemClock.now() >= t0);
  let fired = 0;
  const h = systemClock.setTimeout(() => fired++, 0);
  systemClock.clearTimeout(h);
  systemClock.clearTimeout('not a handle');
  await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 0));
  assert.equal(fired, 0);
});

test('the local KV serves put/get/delete/txn/watch straight from its store', async () => {
  const clock = new ManualClock();
  const kv = new LocalKv({ clock });
  const put = await kv.put('a', '1');
  assert.equal(put.revision, 2);
  await kv.put('b', '');
  assert.equal((await kv.get('a', { rangeEnd: 'c' })).count, 2);
  assert.equal(text((await kv.get('b')).kvs[0]?.value ?? new Uint8Array([1])), '');
  const watch = kv.watch({ key: 'a', startRevision: 1 });
  const first = (await watch[Symbol.asyncIterator]().next()).value as WatchResponse;
  assert.equal(first.events[0]?.type, 'put');
  watch.cancel();
  assert.equal((await kv.delete('a', { rangeEnd: 'c' })).deleted, 2);
  const t = await kv.txn({ compare: [{ key: 'a', target: 'version', result: 'equal', value: 0 }] });
  assert.equal(t.succeeded, true);
  await assert.rejects(kv.put('', ''), code('EMPTY_KEY'));
  assert.throws(() => createLocalKv({} as never), code('INVALID_ARGUMENT'));
  assert.throws(() => createLocalKv({ clock, electionTimeoutMs: -1 }), code('INVALID_ARGUMENT'));
  kv.close();
});

test('the local KV grants ids in order (skipping taken ones) or as asked, and reports time to live', async () => {
  const clock = new ManualClock();
  const kv = createLocalKv({ clock, minTtlSeconds: 3 });
  assert.deepEqual(await kv.grant(5, { id: 2 }), { id: 2, ttl: 5, header: { revision: 1 } });
  assert.equal((await kv.grant(1)).id, 1);
  assert.equal((await kv.grant(10, { id: 0 })).id, 3, 'id 2 is taken');
  assert.equal((await kv.grant(1)).ttl, 3, 'raised to the minimum');
  await assert.rejects(kv.grant(10, { id: 2 }), code('LEASE_EXISTS'));
  await assert.rejects(kv.grant(-1), code('INVALID_TTL'));
  await kv.put('k', 'v', { lease: 3 });
  await clock.advance(2500);
  const ttl = await kv.timeToLive(3, { keys: true });
  assert.deepEqual(
    { ttl: ttl.ttl, granted: ttl.grantedTtl, keys: ttl.keys.map(text) },
    { ttl: 8, granted: 10, keys: ['k'] },
  );
  assert.deepEqual((await kv.timeToLive(3)).keys, []);
  assert.equal((await kv.keepAliveOnce(3)).ttl, 10);
  await assert.rejects(kv.keepAliveOnce(99), code('LEASE_NOT_FOUND'));
  await assert.rejects(kv.revoke(99), code('LEASE_NOT_FOUND'));
  await clock.advance(5000);
  assert.equal(kv.revokesProposed, 3, 'leases 1, 4 (3 s) and 2 (5 s) expired through the timer');
  assert.equal((await kv.timeToLive(2)).ttl, -1);
  // While demoted (an election in progress), time to live falls back to the granted TTL.
  kv.timer.demote();
  assert.equal((await kv.timeToLive(3)).ttl, 10);
  await kv.changeLeader();
  assert.equal((await kv.revoke(3)).header?.revision, kv.store.revision);
  kv.close();
});

test('a paused client holds requests and watch deliveries until resumed; nothing is lost', async () => {
  const clock = new ManualClock();
  const kv = createLocalKv({ clock });
  const client = kv.client();
  const watch = client.watch({ key: 'w' });
  const got: string[] = [];
  const reading = (async () => {
    for await (const resp of watch) for (const ev of resp.events) got.push(text(ev.kv.value));
  })();
  client.pause();
  client.pause();
  let answered = false;
  const pending = client.get('w').then(() => {
    answered = true;
  });
  await kv.put('w', '1');
  await kv.put('w', '2');
  await clock.settle();
  assert.equal(answered, false);
  assert.deepEqual(got, []);
  client.resume();
  await pending;
  await clock.settle();
  assert.deepEqual(got, ['1', '2']);
  // Canceled while a delivery waits for the resume: nothing more is yielded.
  client.pause();
  await kv.put('w', '3');
  await clock.settle();
  watch.cancel();
  client.resume();
  await reading;
  assert.deepEqual(got, ['1', '2']);
  for (const call of [
    () => client.put('x', ''),
    () => client.delete('x'),
    () => client.txn({}),
    () => client.grant(5),
    () => client.timeToLive(1),
    () => client.revoke(1),
  ]) {
    await call();
  }
  kv.close();
});

test('FencedResource accepts tokens that never go backwards, and nothing else', () => {
  const r = new FencedResource<string>();
  assert.equal(r.highestToken, 0);
  assert.equal(r.write(5, 'a'), true);
  assert.equal(r.write(5, 'b'), true, 'the same holder again');
  assert.equal(r.write(4, 'c'), false);
  assert.equal(r.write(9, 'd'), true);
  assert.equal(r.write(0, 'e'), false);
  assert.equal(r.write(1.5, 'f'), false);
  assert.deepEqual(
    r.accepted.map((w) => w.value),
    ['a', 'b', 'd'],
  );
  assert.equal(r.rejectedCount, 3);
  assert.equal(r.highestToken, 9);
});

test('a keep-alive answered with ttl 0 (a KV reporting "not found" etcd-style) ends the session', async () => {
  const clock = new ManualClock();
  const kv = createLocalKv({ clock });
  const zero: KvLike = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'keepAliveOnce') return async (id: number) => ({ id, ttl: 0 });
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const session = await Session.create(zero, { ttl: 9, clock });
  await clock.advance(3000);
  assert.equal(session.endReason, 'expired');
  kv.close();
});
