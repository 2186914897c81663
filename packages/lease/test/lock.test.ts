import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type KvLike, type KvWatch, type LockHandle, lock, Session } from '@flotilla/lease';
import { createLocalKv, FencedResource, type LocalKv, ManualClock } from '@flotilla/lease/testing';
import type { WatchRequest, WatchResponse } from '@flotilla/mvcc';
import { code, text, track } from './helpers.js';

/** A watch that never delivers anything and ends only when canceled. */
function silentWatch(): KvWatch {
  let wake: (() => void) | undefined;
  let done = false;
  return {
    cancel() {
      done = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      while (!done) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

function setup() {
  const clock = new ManualClock();
  const kv = createLocalKv({ clock, minTtlSeconds: 1 });
  return { clock, kv };
}

/**
 * "Holds a valid token" as the store judges it: the holder's key exists with createRevision =
 * token and no older key is queued. At most one holder may pass this at any time.
 */
async function validHolders(kv: LocalKv, name: string, handles: readonly LockHandle[]): Promise<number[]> {
  const all = (await kv.get(`${name}/`, { rangeEnd: `${name}0` })).kvs;
  const oldest = Math.min(...all.map((k) => k.createRevision));
  return handles
    .filter((h) => all.some((k) => text(k.key) === text(h.key) && k.createRevision === h.fencingToken))
    .filter((h) => h.fencingToken === oldest)
    .map((h) => h.fencingToken);
}

test('lock creates name/<leaseId> on the session lease; the token is its createRevision; unlock releases', async () => {
  const { clock, kv } = setup();
  const session = await Session.create(kv, { ttl: 10, clock });
  const held = await lock(kv, 'jobs', { session });
  assert.equal(text(held.key), `jobs/${session.leaseId}`);
  assert.equal(held.session, session);
  const kvs = (await kv.get(held.key)).kvs;
  assert.equal(kvs[0]?.createRevision, held.fencingToken);
  assert.equal(kvs[0]?.lease, session.leaseId);
  // Locking again with the same session while holding: same key, same token (etcd's Mutex).
  const again = await lock(kv, 'jobs', { session });
  assert.equal(again.fencingToken, held.fencingToken);
  await held.unlock();
  await held.unlock();
  assert.equal((await kv.get(held.key)).count, 0);
  const next = await lock(kv, new TextEncoder().encode('jobs'), { session });
  assert.ok(next.fencingToken > held.fencingToken, 'a later holder has a larger token');
  await session.close();
  kv.close();
});

test('waiters are served in createRevision order, with strictly increasing tokens', async () => {
  const { clock, kv } = setup();
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => Session.create(kv, { ttl: 10, clock })));
  if (a === undefined || b === undefined || c === undefined) throw new Error('sessions');
  const ha = await lock(kv, 'q', { session: a });
  const pb = track(lock(kv, 'q', { session: b }));
  await clock.settle();
  const pc = track(lock(kv, 'q', { session: c }));
  await clock.advance(5000);
  assert.equal(pb.state(), 'pending');
  assert.equal(pc.state(), 'pending');
  await ha.unlock();
  await clock.settle();
  assert.equal(pb.state(), 'fulfilled');
  assert.equal(pc.state(), 'pending', 'C queued after B');
  const hb = pb.value as LockHandle;
  await hb.unlock();
  await clock.settle();
  const hc = pc.value as LockHandle;
  assert.ok(ha.fencingToken < hb.fencingToken && hb.fencingToken < hc.fencingToken);
  for (const s of [a, b, c]) await s.close();
  kv.close();
});

test('a waiter watches instead of polling: no requests while nothing changes', async () => {
  const { clock, kv } = setup();
  const calls: string[] = [];
  const counting: KvLike = new Proxy(kv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const a = await Session.create(kv, { ttl: 30, clock });
  const b = await Session.create(kv, { ttl: 30, clock });
  const ha = await lock(kv, 'w', { session: a });
  const pb = track(lock(counting, 'w', { session: b }));
  await clock.settle();
  const before = calls.length;
  assert.deepEqual(
    calls,
    ['txn', 'txn', 'watch', 'watch'],
    'enqueue, check, then watch the key ahead and its own',
  );
  await clock.advance(120_000);
  assert.equal(calls.length, before, 'two minutes of waiting: not one request');
  await ha.unlock();
  await clock.settle();
  assert.equal(pb.state(), 'fulfilled');
  assert.equal(calls.at(-1), 'txn', 'granted by the one-transaction check');
  await a.close();
  await b.close();
  kv.close();
});

test('Jepsen (etcd 3.4.3): B waits, its keep-alives pause, its lease expires, A releases: B gets LOCK_LOST, never the lock', async () => {
  const { clock, kv } = setup();
  const clientA = kv.client();
  const clientB = kv.client();
  const a = await Session.create(clientA, { ttl: 5, clock });
  const b = await Session.create(clientB, { ttl: 5, clock });
  const ha = await lock(clientA, 'jepsen', { session: a });
  const pb = track(lock(clientB, 'jepsen', { session: b }));
  await clock.advance(1000);
  assert.equal(pb.state(), 'pending', 'B waits behind A');
  const handles: LockHandle[] = [ha];
  clientB.pauseKeepAlives();
  // Advance in small steps, checking mutual exclusion as judged by the store at every step.
  for (let t = 0; t < 10_000; t += 250) {
    await clock.advance(250);
    assert.ok((await validHolders(kv, 'jepsen', handles)).length <= 1);
  }
  assert.equal(kv.lessor.has(b.leaseId), false, "the server revoked B's lease");
  assert.equal(b.alive, false);
  await ha.unlock();
  await clock.advance(1000);
  assert.equal(pb.state(), 'rejected');
  assert.ok(code('LOCK_LOST')(pb.error));
  assert.deepEqual((await kv.get('jepsen/', { rangeEnd: 'jepsen0' })).kvs, [], 'no key left behind');
  clientB.resumeKeepAlives();
  await a.close();
  kv.close();
});

test('Jepsen, process-pause variant: B is frozen through expiry and release, then wakes: LOCK_LOST', async () => {
  const { clock, kv } = setup();
  const clientB = kv.client();
  const a = await Session.create(kv, { ttl: 5, clock });
  const b = await Session.create(clientB, { ttl: 5, clock });
  const ha = await lock(kv, 'jepsen', { session: a });
  const pb = track(lock(clientB, 'jepsen', { session: b }));
  await clock.advance(1000);
  clientB.pause(); // SIGSTOP: B neither sends keep-alives nor reads its watches
  await clock.advance(10_000);
  await ha.unlock(); // A releases while B's watch events (its own key's delete, A's delete) pile up
  await clock.advance(1000);
  // B's own session deadline may already have told it (its timers run); never a success.
  assert.notEqual(pb.state(), 'fulfilled');
  clientB.resume();
  await clock.advance(1000);
  assert.equal(pb.state(), 'rejected');
  assert.ok(code('LOCK_LOST')(pb.error));
  await a.close();
  kv.close();
});

test('the one-transaction check alone refuses a waiter whose key vanished, even if nothing else noticed', async () => {
  const { clock, kv } = setup();
  // B's view: its own key's delete is never delivered, and its session keeps believing (long TTL,
  // next keep-alive far away): only the final check can catch the loss.
  const blind: KvLike = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'watch') {
        return (req: WatchRequest): KvWatch => {
          const inner = target.watch(req);
          const own = text(typeof req.key === 'string' ? new TextEncoder().encode(req.key) : req.key);
          if (own !== `lk/${b.leaseId}`) return inner;
          inner.cancel();
          return silentWatch();
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const a = await Session.create(kv, { ttl: 60, clock });
  const b = await Session.create(blind, { ttl: 60, clock });
  const ha = await lock(kv, 'lk', { session: a });
  const pb = track(lock(blind, 'lk', { session: b }));
  await clock.advance(100);
  // The server revokes B's lease (an operator, or expiry the client has not seen yet) and A
  // releases, both before B looks again.
  await kv.revoke(b.leaseId);
  await ha.unlock();
  await clock.settle();
  assert.equal(b.alive, true, "B's session has not noticed yet");
  assert.equal(pb.state(), 'rejected');
  assert.ok(code('LOCK_LOST')(pb.error));
  await a.close();
  kv.close();
});

test('a lock alone does not protect an external resource from a paused holder; the fencing token does', async () => {
  const { clock, kv } = setup();
  const resource = new FencedResource<string>();
  const clientA = kv.client();
  const a = await Session.create(clientA, { ttl: 3, clock });
  const b = await Session.create(kv, { ttl: 3, clock });
  const ha = await lock(clientA, 'files', { session: a });
  assert.equal(resource.write(ha.fencingToken, 'A1'), true);
  // A pauses (a long GC) right after deciding to write again.
  clientA.pause();
  clientA.pauseKeepAlives();
  const pb = track(lock(kv, 'files', { session: b }));
  await clock.advance(10_000);
  assert.equal(pb.state(), 'fulfilled', "A's lease expired: B holds the lock");
  const hb = pb.value as LockHandle;
  assert.equal(resource.write(hb.fencingToken, 'B1'), true);
  // A wakes up still "holding" its handle and writes: the resource refuses its old token...
  clientA.resume();
  assert.equal(resource.write(ha.fencingToken, 'A2'), false);
  // ...and inside the store, guard() refuses as well.
  const guarded = await ha.guard({ success: [{ put: { key: 'files/data', value: 'A2' } }] });
  assert.equal(guarded.succeeded, false);
  assert.equal((await kv.get('files/data')).count, 0);
  assert.deepEqual(
    resource.accepted.map((w) => w.value),
    ['A1', 'B1'],
  );
  assert.equal(resource.rejectedCount, 1);
  assert.equal(resource.highestToken, hb.fencingToken);
  clientA.resumeKeepAlives();
  await b.close();
  kv.close();
});

test('guard() prepends the ownership compare to the caller’s compares and branches', async () => {
  const { clock, kv } = setup();
  const session = await Session.create(kv, { ttl: 10, clock });
  const held = await lock(kv, 'g', { session });
  await kv.put('counter', '1');
  const ok = await held.guard({
    compare: [{ key: 'counter', target: 'value', result: 'equal', value: '1' }],
    success: [{ put: { key: 'counter', value: '2' } }],
    failure: [{ range: { key: 'counter' } }],
  });
  assert.equal(ok.succeeded, true);
  const userFails = await held.guard({
    compare: [{ key: 'counter', target: 'value', result: 'equal', value: '1' }],
    failure: [{ range: { key: 'counter' } }],
  });
  assert.equal(userFails.succeeded, false);
  assert.equal(userFails.responses.length, 1, 'the failure branch ran');
  await held.unlock();
  const lost = await held.guard({ success: [{ put: { key: 'counter', value: '3' } }] });
  assert.equal(lost.succeeded, false, 'after unlock the guard fails');
  assert.equal(text((await kv.get('counter')).kvs[0]?.value ?? new Uint8Array()), '2');
  await session.close();
  kv.close();
});

test('an AbortSignal removes the waiter’s key and rejects with ABORTED; the next waiter moves up', async () => {
  const { clock, kv } = setup();
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => Session.create(kv, { ttl: 10, clock })));
  if (a === undefined || b === undefined || c === undefined) throw new Error('sessions');
  const ha = await lock(kv, 'ab', { session: a });
  const controller = new AbortController();
  const pb = track(lock(kv, 'ab', { session: b, signal: controller.signal }));
  await clock.settle();
  const pc = track(lock(kv, 'ab', { session: c }));
  await clock.settle();
  assert.equal((await kv.get('ab/', { rangeEnd: 'ab0' })).count, 3);
  controller.abort();
  await clock.settle();
  assert.equal(pb.state(), 'rejected');
  assert.ok(code('ABORTED')(pb.error));
  assert.equal((await kv.get(`ab/${b.leaseId}`)).count, 0, "the aborted waiter's key is gone");
  await ha.unlock();
  await clock.settle();
  assert.equal(pc.state(), 'fulfilled');
  // Already aborted: rejected before anything is written.
  const rev = kv.store.revision;
  await assert.rejects(lock(kv, 'ab', { session: b, signal: AbortSignal.abort() }), code('ABORTED'));
  assert.equal(kv.store.revision, rev);
  for (const s of [a, b, c]) await s.close();
  kv.close();
});

test('a session that ends while waiting rejects LOCK_LOST at once; an ended session cannot lock', async () => {
  const { clock, kv } = setup();
  const a = await Session.create(kv, { ttl: 10, clock });
  const b = await Session.create(kv, { ttl: 10, clock });
  await lock(kv, 'se', { session: a });
  const pb = track(lock(kv, 'se', { session: b }));
  await clock.settle();
  await b.close();
  await clock.settle();
  assert.equal(pb.state(), 'rejected');
  assert.ok(code('LOCK_LOST')(pb.error));
  await assert.rejects(lock(kv, 'se', { session: b }), code('LOCK_LOST'));
  await a.close();
  kv.close();
});

test('a waiter whose watch is canceled (compaction) checks again and keeps waiting correctly', async () => {
  const { clock, kv } = setup();
  let cancelNext = 1;
  const flaky: KvLike = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'watch') {
        return (req: WatchRequest): KvWatch => {
          if (cancelNext > 0) {
            cancelNext--;
            const resp: WatchResponse = {
              events: [],
              revision: target.store.revision,
              canceled: true,
              compactRevision: 5,
            };
            return {
              cancel: () => {},
              async *[Symbol.asyncIterator]() {
                yield resp;
              },
            };
          }
          return target.watch(req);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const a = await Session.create(kv, { ttl: 10, clock });
  const b = await Session.create(kv, { ttl: 10, clock });
  const ha = await lock(kv, 'c', { session: a });
  const pb = track(lock(flaky, 'c', { session: b }));
  await clock.advance(1000);
  assert.equal(pb.state(), 'pending');
  await ha.unlock();
  await clock.settle();
  assert.equal(pb.state(), 'fulfilled');
  await a.close();
  await b.close();
  kv.close();
});

test('watches that keep ending without events make the waiter back off, not spin', async () => {
  const { clock, kv } = setup();
  let txns = 0;
  const broken: KvLike = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'watch') {
        return (): KvWatch => ({ cancel: () => {}, async *[Symbol.asyncIterator]() {} });
      }
      if (prop === 'txn') txns++;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const a = await Session.create(kv, { ttl: 30, clock });
  const b = await Session.create(kv, { ttl: 30, clock });
  const ha = await lock(kv, 'bo', { session: a });
  const pb = track(lock(broken, 'bo', { session: b }));
  await clock.advance(20_000);
  assert.equal(pb.state(), 'pending');
  // Checks at 0, 0, 50, 150, 350, 750, 1550, 3150, then every 2 s: about 17 in 20 s.
  assert.ok(txns < 25, `${txns} checks in 20 s`);
  await ha.unlock();
  await clock.advance(2000);
  assert.equal(pb.state(), 'fulfilled');
  await a.close();
  await b.close();
  kv.close();
});

test('a session whose lease is already gone on the server cannot even queue: LOCK_LOST', async () => {
  const { clock, kv } = setup();
  const session = await Session.create(kv, { ttl: 60, clock });
  await kv.revoke(session.leaseId); // the session has not noticed yet
  assert.equal(session.alive, true);
  await assert.rejects(lock(kv, 'gone', { session }), code('LOCK_LOST'));
  assert.equal((await kv.get('gone/', { rangeEnd: 'gone0' })).count, 0);
  kv.close();
});

test('a lost waiter is told at once even if its store is unreachable; an aborted one only once its key is gone', async () => {
  const { clock, kv } = setup();
  const clientB = kv.client();
  const a = await Session.create(kv, { ttl: 30, clock });
  const b = await Session.create(kv, { ttl: 30, clock }); // its keep-alives do not use clientB
  await lock(kv, 'un', { session: a });
  const pb = track(lock(clientB, 'un', { session: b }));
  await clock.settle();
  clientB.pause(); // B's lock connection hangs
  await b.close(); // B's session ends (its lease, and so its key, are revoked)
  await clock.settle();
  assert.equal(pb.state(), 'rejected', 'LOCK_LOST without waiting for the hung connection');
  assert.ok(code('LOCK_LOST')(pb.error));
  clientB.resume();

  const c = await Session.create(kv, { ttl: 30, clock });
  const clientC = kv.client();
  const controller = new AbortController();
  const pc = track(lock(clientC, 'un', { session: c, signal: controller.signal }));
  await clock.settle();
  clientC.pause();
  controller.abort();
  await clock.settle();
  assert.equal(pc.state(), 'pending', 'ABORTED waits until the key is deleted');
  clientC.resume();
  await clock.settle();
  assert.equal(pc.state(), 'rejected');
  assert.ok(code('ABORTED')(pc.error));
  assert.equal((await kv.get(`un/${c.leaseId}`)).count, 0);
  await a.close();
  await c.close();
  kv.close();
});

test('lock validates its arguments', async () => {
  const { clock, kv } = setup();
  const session = await Session.create(kv, { ttl: 10, clock });
  await assert.rejects(lock({} as KvLike, 'x', { session }), code('INVALID_ARGUMENT'));
  await assert.rejects(lock(kv, '', { session }), code('INVALID_ARGUMENT'));
  await assert.rejects(lock(kv, 5 as unknown as string, { session }), code('INVALID_ARGUMENT'));
  await assert.rejects(lock(kv, 'x', {} as never), code('INVALID_ARGUMENT'));
  await session.close();
  kv.close();
});
