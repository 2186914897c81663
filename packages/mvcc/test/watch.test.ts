import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MvccStore, type WatchResponse } from '@flotilla/mvcc';
import { collector, ev, manualScheduler, s, settle } from './helpers.js';

/** A store whose watch deliveries run only when `run()` is called. */
function manual(watchBufferEvents?: number): { store: MvccStore; run: () => number } {
  const sched = manualScheduler();
  return {
    store: new MvccStore({ schedule: sched.schedule, ...(watchBufferEvents ? { watchBufferEvents } : {}) }),
    run: sched.run,
  };
}

/** Every event revision of every response, checking no revision is split across responses. */
function assertWholeRevisions(responses: readonly WatchResponse[]): void {
  let last = 0;
  for (const r of responses) {
    if (r.events.length === 0) continue;
    const first = r.events[0]?.kv.modRevision ?? 0;
    assert.ok(first > last, `revision ${first} split across responses or out of order`);
    last = r.events[r.events.length - 1]?.kv.modRevision ?? 0;
    assert.ok(r.revision >= last, 'response revision below its events');
  }
}

describe('watch', () => {
  test('by default a watch sees only future changes (etcd: the current value is not replayed)', () => {
    const { store, run } = manual();
    store.put('k', 'old');
    const c = collector();
    store.watch({ key: 'k' }, c.listener);
    run();
    assert.equal(c.responses.length, 0);
    store.put('k', 'new');
    assert.equal(c.responses.length, 0, 'delivery is never synchronous with the write');
    run();
    assert.deepEqual(c.events(), ['put k@3']);
    assert.equal(c.responses[0]?.revision, 3);
  });

  test('live responses hold exactly one revision: a txn is one response, puts are one each', () => {
    const { store, run } = manual();
    const c = collector();
    store.watch({ key: '\0', rangeEnd: '\0' }, c.listener);
    store.txn({ success: [{ put: { key: 'b' } }, { put: { key: 'a' } }, { deleteRange: { key: 'zz' } }] });
    store.put('c', '1');
    store.deleteRange('a', 'c');
    run();
    assert.deepEqual(
      c.responses.map((r) => [r.revision, r.events.map(ev)]),
      [
        [2, ['put b@2', 'put a@2']],
        [3, ['put c@3']],
        [4, ['delete a@4', 'delete b@4']],
      ],
    );
  });

  test('a start in the past replays history, then continues live: no gap, no duplicate', () => {
    const { store, run } = manual();
    for (let i = 0; i < 5; i++) store.put(`k${i}`, `${i}`); // revisions 2..6
    const c = collector();
    store.watch({ key: 'k', rangeEnd: 'l', startRevision: 4 }, c.listener);
    store.put('k9', 'before the first delivery'); // 7: written while the watch is unsynced
    run();
    store.put('k8', 'live'); // 8
    run();
    store.put('k7', 'live'); // 9
    run();
    assert.deepEqual(c.events(), ['put k2@4', 'put k3@5', 'put k4@6', 'put k9@7', 'put k8@8', 'put k7@9']);
    assertWholeRevisions(c.responses);
    assert.equal(c.responses[0]?.revision, 7, 'a catch-up response reports the revision it scanned to');
  });

  test('a start above the current revision waits for that revision', () => {
    const { store, run } = manual();
    const c = collector();
    store.watch({ key: 'k', startRevision: 4 }, c.listener);
    store.put('k', '1'); // 2
    store.put('k', '2'); // 3
    store.put('k', '3'); // 4
    run();
    assert.deepEqual(c.events(), ['put k@4']);
  });

  test('a start below the compacted revision is canceled with compactRevision, through the listener', () => {
    const { store, run } = manual();
    store.put('k', '1');
    store.put('k', '2');
    store.put('k', '3');
    store.compact(3);
    const c = collector();
    const w = store.watch({ key: 'k', startRevision: 2 }, c.listener);
    assert.equal(typeof w.id, 'number');
    run();
    assert.deepEqual(c.responses, [{ events: [], revision: 4, compactRevision: 3, canceled: true }]);
    store.put('k', '4');
    run();
    assert.equal(c.responses.length, 1, 'nothing after the cancel');
  });

  test('a start exactly at the compacted revision works; a delete at that revision is gone (etcd)', () => {
    const { store, run } = manual();
    store.put('a', '1'); // 2
    store.txn({ success: [{ put: { key: 'b' } }, { deleteRange: { key: 'a' } }] }); // 3
    store.put('c', '1'); // 4
    store.compact(3);
    const c = collector();
    store.watch({ key: '\0', rangeEnd: '\0', startRevision: 3 }, c.listener);
    run();
    assert.deepEqual(c.events(), ['put b@3', 'put c@4']);
  });

  test('prevKv is the key as of modRevision - 1, never set on a create', () => {
    const { store, run } = manual();
    const c = collector();
    store.watch({ key: 'k', prevKv: true }, c.listener);
    store.put('k', 'v1'); // create: no prevKv
    store.put('k', 'v2');
    store.deleteRange('k');
    store.put('k', 'v3'); // create again
    run();
    assert.deepEqual(c.events(), ['put k@2', 'put k@3<-v1@2', 'delete k@4<-v2@3', 'put k@5']);
    const del = c.responses[2]?.events[0];
    assert.deepEqual(
      [del?.kv.createRevision, del?.kv.version, del?.kv.lease, del?.kv.value.length],
      [0, 0, 0, 0],
      'a delete event carries a tombstone: key and modRevision only',
    );
  });

  test('prevKv in a replay; absent when modRevision - 1 is compacted', () => {
    const { store, run } = manual();
    store.put('k', 'v1'); // 2
    store.put('k', 'v2'); // 3
    store.put('k', 'v3'); // 4
    store.compact(3);
    const c = collector();
    store.watch({ key: 'k', prevKv: true, startRevision: 3 }, c.listener);
    run();
    assert.deepEqual(c.events(), ['put k@3', 'put k@4<-v2@3']);
  });

  test('filters drop puts or deletes; a response left empty is not sent', () => {
    const { store, run } = manual();
    const noPut = collector();
    const noDelete = collector();
    store.watch({ key: 'k', filters: ['noPut'] }, noPut.listener);
    store.watch({ key: 'k', filters: ['noDelete'] }, noDelete.listener);
    store.put('k', '1');
    store.deleteRange('k');
    run();
    assert.deepEqual(noPut.events(), ['delete k@3']);
    assert.equal(noPut.responses.length, 1);
    assert.deepEqual(noDelete.events(), ['put k@2']);
    const replay = collector();
    store.watch({ key: 'k', filters: ['noPut', 'noDelete'], startRevision: 1 }, replay.listener);
    run();
    assert.deepEqual(replay.responses, []);
  });

  test('invalid watches are canceled through the listener, never thrown', () => {
    const { store, run } = manual();
    const reasons: (string | undefined)[] = [];
    const listen = (r: WatchResponse): void => {
      assert.equal(r.canceled, true);
      reasons.push(r.cancelReason);
    };
    store.watch({ key: '' }, listen);
    store.watch({ key: 'b', rangeEnd: 'a' }, listen);
    store.watch({ key: 'b', rangeEnd: 'b' }, listen);
    store.watch({ key: 'a', startRevision: -1 }, listen);
    const canceledEarly = store.watch({ key: '' }, listen);
    canceledEarly.cancel();
    run();
    assert.equal(reasons.length, 4);
    assert.match(reasons[0] ?? '', /EMPTY_KEY/);
    assert.match(reasons[1] ?? '', /range is empty/);
  });

  test('wrong types throw INVALID_ARGUMENT', () => {
    const store = new MvccStore();
    const bad = (x: unknown): never => x as never;
    assert.throws(() => store.watch({ key: 'k' }, bad('listener')), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => store.watch(bad(null), () => {}), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => store.watch({ key: bad(1) }, () => {}), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => store.watch({ key: 'k', filters: bad(['noGet']) }, () => {}), {
      code: 'INVALID_ARGUMENT',
    });
    assert.throws(() => store.watch({ key: 'k', startRevision: 0.5 }, () => {}), {
      code: 'INVALID_ARGUMENT',
    });
    assert.throws(() => store.watch({ key: 'k', prevKv: bad(1) }, () => {}), { code: 'INVALID_ARGUMENT' });
  });

  test('cancel() stops delivery at once, even of responses already queued', () => {
    const { store, run } = manual();
    const c = collector();
    const w = store.watch({ key: 'k' }, c.listener);
    store.put('k', '1');
    w.cancel();
    w.cancel();
    run();
    assert.deepEqual(c.responses, []);
  });

  test('a slow listener does not block writers; it falls behind, then catches up in order', async () => {
    const { store, run } = manual(4);
    const seen: string[] = [];
    const responses: WatchResponse[] = [];
    let release: () => void = () => {};
    let calls = 0;
    store.watch({ key: 'k', rangeEnd: 'l' }, (r) => {
      calls++;
      responses.push(r);
      seen.push(...r.events.map(ev));
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    for (let i = 0; i < 50; i++) store.put(`k${i % 7}`, `${i}`); // revisions 2..51, never blocked
    run();
    assert.equal(calls, 1, 'the listener holds back the next response');
    for (let round = 0; round < 100 && seen.length < 60; round++) {
      release();
      await settle();
      run();
      if (round === 3) for (let i = 50; i < 60; i++) store.put(`k${i % 7}`, `${i}`); // 52..61, while behind
    }
    release();
    await settle();
    run();
    const revisions = seen.map((x) => Number(x.split('@')[1]));
    assert.deepEqual(
      revisions,
      Array.from({ length: 60 }, (_, i) => i + 2),
      'every revision once, in order',
    );
    assertWholeRevisions(responses);
    assert.ok(
      responses.some((r) => r.events.length > 1),
      'catch-up batches several revisions',
    );
  });

  test('a watcher that fell behind is canceled if its position is compacted meanwhile', async () => {
    const { store, run } = manual(2);
    const c = collector();
    let release: () => void = () => {};
    store.watch({ key: 'k' }, (r) => {
      c.listener(r);
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    for (let i = 0; i < 10; i++) store.put('k', `${i}`); // 2..11: overflows after the first few
    run();
    store.compact(10);
    for (let round = 0; round < 10 && c.responses.at(-1)?.canceled !== true; round++) {
      release();
      await settle();
      run();
    }
    const last = c.responses.at(-1);
    assert.equal(last?.canceled, true);
    assert.equal(last?.compactRevision, 10);
    // What it did receive is a gap-free prefix of the history.
    const revisions = c.events().map((x) => Number(x.split('@')[1]));
    assert.deepEqual(
      revisions,
      Array.from({ length: revisions.length }, (_, i) => i + 2),
    );
  });

  test('cancel during catch-up: no response after cancel()', () => {
    const { store, run } = manual(3);
    for (let i = 0; i < 30; i++) store.put('k', `${i}`);
    const got: number[] = [];
    const w = store.watch({ key: 'k', startRevision: 2 }, (r) => {
      got.push(r.events.length);
      if (got.length === 2) w.cancel();
    });
    for (let i = 0; i < 20; i++) run();
    assert.deepEqual(got, [3, 3], 'batches of the buffer size, then nothing');
  });

  test('a huge revision is delivered whole even when it exceeds the buffer', () => {
    const { store, run } = manual(2);
    const c = collector();
    store.watch({ key: '\0', rangeEnd: '\0' }, c.listener);
    store.txn({ success: Array.from({ length: 10 }, (_, i) => ({ put: { key: `k${i}` } })) });
    run();
    assert.equal(c.responses.length, 1);
    assert.equal(c.responses[0]?.events.length, 10);
  });

  test('the async-iterator form: for await, back-pressure, break cancels', async () => {
    const store = new MvccStore();
    store.put('k', '1'); // 2
    const stream = store.watch({ key: 'k', startRevision: 2 });
    assert.equal(typeof stream.id, 'number');
    const seen: string[] = [];
    for await (const resp of stream) {
      seen.push(...resp.events.map(ev));
      if (seen.length === 1) {
        store.put('k', '2');
        store.put('k', '3');
      }
      if (seen.length >= 3) break;
    }
    assert.deepEqual(seen, ['put k@2', 'put k@3', 'put k@4']);
    store.put('k', '4');
    assert.deepEqual(await stream.next(), { value: undefined, done: true }, 'break canceled the watch');
  });

  test('the iterator ends after a canceled response; cancel() ends a pending next()', async () => {
    const store = new MvccStore();
    store.put('k', '1');
    store.put('k', '2');
    store.compact(3);
    const responses: WatchResponse[] = [];
    for await (const r of store.watch({ key: 'k', startRevision: 2 })) responses.push(r);
    assert.deepEqual(responses, [{ events: [], revision: 3, compactRevision: 3, canceled: true }]);

    const stream = store.watch({ key: 'k' });
    const pending = stream.next();
    stream.cancel();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.deepEqual(await stream.return(), { value: undefined, done: true });
    assert.equal(stream[Symbol.asyncIterator](), stream);
  });

  test('the iterator holds one response until next() and drops it on cancel', async () => {
    const store = new MvccStore();
    const stream = store.watch({ key: 'k' });
    store.put('k', '1');
    await settle();
    store.put('k', '2');
    await settle();
    const first = await stream.next();
    assert.equal(first.done, false);
    assert.deepEqual(first.value?.events.map(ev), ['put k@2']);
    await settle();
    stream.cancel();
    assert.equal((await stream.next()).done, true);
  });

  test('concurrent next() calls are served in order', async () => {
    const store = new MvccStore();
    const stream = store.watch({ key: 'k', startRevision: 1 });
    const a = stream.next();
    const b = stream.next();
    store.put('k', '1');
    await settle();
    store.put('k', '2');
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual(ra.value?.events.map(ev), ['put k@2']);
    assert.deepEqual(rb.value?.events.map(ev), ['put k@3']);
    stream.cancel();
  });

  test('progress notifications: idle synced watchers that asked for them', () => {
    const { store, run } = manual();
    const withProgress = collector();
    const without = collector();
    store.watch({ key: 'k', progressNotify: true }, withProgress.listener);
    store.watch({ key: 'k' }, without.listener);
    store.notifyProgress();
    run();
    assert.deepEqual(withProgress.responses, [{ events: [], revision: 1, progress: true }]);
    store.put('k', '1');
    store.notifyProgress(); // it just got an event: no progress this round
    run();
    assert.equal(withProgress.responses.length, 2);
    store.put('other', 'x');
    store.notifyProgress();
    run();
    assert.deepEqual(withProgress.responses.at(-1), { events: [], revision: 3, progress: true });
    assert.equal(without.responses.length, 1);
  });

  test('a throwing listener cancels its watch and is reported to onListenerError', async () => {
    const errors: [unknown, number][] = [];
    const store = new MvccStore({ onListenerError: (e, id) => errors.push([e, id]) });
    let calls = 0;
    const w = store.watch({ key: 'k' }, () => {
      calls++;
      throw new Error('boom');
    });
    const rejecting = store.watch({ key: 'j' }, () => Promise.reject(new Error('async boom')));
    store.put('k', '1');
    store.put('j', '1');
    await settle();
    store.put('k', '2');
    await settle();
    assert.equal(calls, 1);
    assert.deepEqual(
      errors.map(([e, id]) => [(e as Error).message, id]),
      [
        ['boom', w.id],
        ['async boom', rejecting.id],
      ],
    );
  });

  test('default delivery is asynchronous (microtasks) and in order across many watchers', async () => {
    const store = new MvccStore();
    const cs = Array.from({ length: 20 }, () => collector());
    for (const [i, c] of cs.entries()) store.watch({ key: `k${i % 5}`, prevKv: i % 2 === 0 }, c.listener);
    for (let i = 0; i < 100; i++) store.put(`k${i % 5}`, `${i}`);
    await settle();
    for (const [i, c] of cs.entries()) {
      assert.equal(c.events().length, 20, `watcher ${i}`);
      assert.equal(s(c.responses[0]?.events[0]?.kv.key ?? new Uint8Array()), `k${i % 5}`);
    }
  });
});
