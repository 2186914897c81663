import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Election, type ElectionLeader, type KvLike, type KvWatch, Session } from '@flotilla/lease';
import { createLocalKv, type LocalKv, ManualClock } from '@flotilla/lease/testing';
import type { WatchRequest, WatchResponse } from '@flotilla/mvcc';
import { code, text, track } from './helpers.js';

function setup() {
  const clock = new ManualClock();
  const kv = createLocalKv({ clock, minTtlSeconds: 1 });
  return { clock, kv };
}

/** Collects an observer's leaders in the background until `stop()`. */
function collect(election: Election): { seen: string[]; stop: () => void; done: Promise<void> } {
  const controller = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const l of election.observe({ signal: controller.signal })) seen.push(describe(l));
  })();
  return { seen, stop: () => controller.abort(), done };
}

const describe = (l: ElectionLeader): string => `${text(l.value)}#${l.fencingToken}`;

/** Election objects that hold leadership as the store judges it (alive and oldest). */
async function validLeaders(kv: LocalKv, name: string, elections: readonly Election[]): Promise<number> {
  const kvs = (await kv.get(`${name}/`, { rangeEnd: `${name}0` })).kvs;
  const oldest = Math.min(...kvs.map((k) => k.createRevision));
  return elections.filter((e) => e.fencingToken !== undefined && e.fencingToken === oldest).length;
}

test('one leader at a time; resign hands over to the next candidate in line', async () => {
  const { clock, kv } = setup();
  const sessions = await Promise.all([0, 1, 2].map(() => Session.create(kv, { ttl: 10, clock })));
  const elections = sessions.map((session) => new Election(kv, 'svc', { session }));
  const [ea, eb, ec] = elections;
  if (ea === undefined || eb === undefined || ec === undefined) throw new Error('setup');
  const wa = await ea.campaign('a');
  assert.equal(text(wa.value), 'a');
  assert.equal(ea.fencingToken, wa.fencingToken);
  assert.equal(text(ea.key ?? new Uint8Array()), `svc/${sessions[0]?.leaseId}`);
  const pb = track(eb.campaign('b'));
  await clock.settle();
  const pc = track(ec.campaign('c'));
  await clock.advance(5000);
  assert.equal(pb.state(), 'pending');
  assert.equal(pc.state(), 'pending');
  assert.equal(eb.fencingToken, undefined, 'a candidate is not a leader');
  assert.equal(await validLeaders(kv, 'svc', elections), 1);
  assert.equal(text((await ec.leader()).value), 'a');

  await ea.resign();
  await ea.resign(); // no-op
  assert.equal(ea.fencingToken, undefined);
  await clock.settle();
  assert.equal(pb.state(), 'fulfilled');
  assert.equal(pc.state(), 'pending');
  assert.equal(await validLeaders(kv, 'svc', elections), 1);
  assert.ok((eb.fencingToken ?? 0) > wa.fencingToken);
  assert.equal(text((await ea.leader()).value), 'b');
  await eb.resign();
  await clock.settle();
  assert.equal(pc.state(), 'fulfilled');
  assert.equal(text((await ea.leader()).value), 'c');
  for (const s of sessions) await s.close();
  await assert.rejects(ea.leader(), code('NO_LEADER'));
  kv.close();
});

test('observe reports every leader change and proclaimed value, in order', async () => {
  const { clock, kv } = setup();
  const clientB = kv.client();
  const a = await Session.create(kv, { ttl: 3, clock });
  const b = await Session.create(clientB, { ttl: 3, clock });
  const c = await Session.create(kv, { ttl: 3, clock });
  const ea = new Election(kv, 'obs', { session: a });
  const eb = new Election(clientB, 'obs', { session: b });
  const ec = new Election(kv, 'obs', { session: c });
  const watcher = collect(new Election(kv, 'obs', { session: c }));
  await clock.settle();
  const wa = await ea.campaign('a1');
  await ea.proclaim('a2');
  const pb = track(eb.campaign('b1'));
  await clock.settle();
  const pc = track(ec.campaign('c1'));
  await clock.settle();
  await ea.resign(); // hands over to b
  await clock.settle();
  assert.equal(pb.state(), 'fulfilled');
  const tb = eb.fencingToken;
  clientB.pauseKeepAlives(); // b's lease expires: c takes over
  await clock.advance(10_000);
  assert.equal(pc.state(), 'fulfilled');
  await ec.proclaim('c2');
  await clock.settle();
  assert.equal(eb.fencingToken, undefined, "b's session is gone: no longer believes it leads");
  const tc = ec.fencingToken;
  assert.deepEqual(watcher.seen, [
    `a1#${wa.fencingToken}`,
    `a2#${wa.fencingToken}`,
    `b1#${tb}`,
    `c1#${tc}`,
    `c2#${tc}`,
  ]);
  // A late observer starts with the current leader.
  const late = collect(new Election(kv, 'obs', { session: a }));
  await clock.settle();
  assert.deepEqual(late.seen, [`c2#${tc}`]);
  watcher.stop();
  late.stop();
  await watcher.done;
  await late.done;
  // A proclaim by a leader that lost its lease is refused.
  await assert.rejects(eb.proclaim('b2'), code('NOT_LEADER'));
  assert.equal(eb.fencingToken, undefined);
  clientB.resumeKeepAlives();
  for (const s of [a, c]) await s.close();
  kv.close();
});

test('a candidate whose session expires while waiting gets LOCK_LOST, never leadership', async () => {
  const { clock, kv } = setup();
  const clientB = kv.client();
  const a = await Session.create(kv, { ttl: 3, clock });
  const b = await Session.create(clientB, { ttl: 3, clock });
  const ea = new Election(kv, 'j', { session: a });
  const eb = new Election(clientB, 'j', { session: b });
  await ea.campaign('a');
  const pb = track(eb.campaign('b'));
  await clock.advance(100);
  clientB.pause();
  clientB.pauseKeepAlives();
  await clock.advance(10_000);
  await ea.resign();
  clientB.resume();
  await clock.advance(1000);
  assert.equal(pb.state(), 'rejected');
  assert.ok(code('LOCK_LOST')(pb.error));
  assert.equal(eb.fencingToken, undefined);
  await assert.rejects(eb.campaign('again'), code('LOCK_LOST'), 'an ended session cannot campaign');
  await a.close();
  kv.close();
});

test('guard() fences writes by the leader key; proclaim and guard refuse non-leaders', async () => {
  const { clock, kv } = setup();
  const a = await Session.create(kv, { ttl: 10, clock });
  const ea = new Election(kv, 'g', { session: a });
  await assert.rejects(ea.proclaim('x'), code('NOT_LEADER'));
  await assert.rejects(ea.guard({}), code('NOT_LEADER'));
  await ea.campaign('a');
  const ok = await ea.guard({ success: [{ put: { key: 'cfg', value: '1' } }] });
  assert.equal(ok.succeeded, true);
  // Someone deletes the leader key behind our back: guarded writes stop.
  await kv.delete(ea.key ?? '');
  const refused = await ea.guard({
    compare: [{ key: 'cfg', target: 'value', result: 'equal', value: '1' }],
    success: [{ put: { key: 'cfg', value: '2' } }],
  });
  assert.equal(refused.succeeded, false);
  assert.equal(text((await kv.get('cfg')).kvs[0]?.value ?? new Uint8Array()), '1');
  await assert.rejects(ea.proclaim('y'), code('NOT_LEADER'));
  await a.close();
  kv.close();
});

test('campaigning again with the same session reuses the key and updates the value', async () => {
  const { clock, kv } = setup();
  const a = await Session.create(kv, { ttl: 10, clock });
  const first = await new Election(kv, 'r', { session: a }).campaign('v1');
  const again = await new Election(kv, 'r', { session: a }).campaign('v2');
  assert.equal(again.fencingToken, first.fencingToken);
  assert.equal(text(again.value), 'v2');
  assert.ok(again.modRevision > first.modRevision);
  const leader = await new Election(kv, 'r', { session: a }).leader();
  assert.equal(text(leader.value), 'v2');
  assert.equal(leader.lease, a.leaseId);
  await a.close();
  kv.close();
});

test('an aborted campaign deletes its key and rejects ABORTED', async () => {
  const { clock, kv } = setup();
  const a = await Session.create(kv, { ttl: 10, clock });
  const b = await Session.create(kv, { ttl: 10, clock });
  await new Election(kv, 'ab', { session: a }).campaign('a');
  const controller = new AbortController();
  const eb = new Election(kv, 'ab', { session: b });
  const pb = track(eb.campaign('b', { signal: controller.signal }));
  await clock.settle();
  controller.abort();
  await clock.settle();
  assert.equal(pb.state(), 'rejected');
  assert.ok(code('ABORTED')(pb.error));
  assert.equal((await kv.get('ab/', { rangeEnd: 'ab0' })).count, 1);
  await assert.rejects(eb.campaign('b', { signal: AbortSignal.abort() }), code('ABORTED'));
  await a.close();
  await b.close();
  kv.close();
});

test('observe resynchronises after its watch is canceled (compaction), and ends on break', async () => {
  const { clock, kv } = setup();
  let cancelNext = 1;
  const flaky: KvLike = new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'watch') {
        return (req: WatchRequest): KvWatch => {
          if (cancelNext-- > 0) {
            const resp: WatchResponse = {
              events: [],
              revision: target.store.revision,
              canceled: true,
              compactRevision: 3,
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
  await new Election(kv, 'cmp', { session: a }).campaign('a');
  const seen: string[] = [];
  const done = (async () => {
    for await (const l of new Election(flaky, 'cmp', { session: a }).observe()) {
      seen.push(text(l.value));
      if (seen.length === 2) break;
    }
  })();
  await clock.settle();
  const eb = new Election(kv, 'cmp', { session: b });
  const pb = eb.campaign('b');
  await clock.settle();
  await new Election(kv, 'cmp', { session: a }).resign(); // not campaigning: no-op
  await a.close(); // a's key goes with its lease: b leads
  await pb;
  await done;
  assert.deepEqual(seen, ['a', 'b'], 'the leader seen once, before and after the resync');
  await b.close();
  kv.close();
});

test('a lease gone on the server: campaign gets LOCK_LOST, proclaim NOT_LEADER', async () => {
  const { clock, kv } = setup();
  const a = await Session.create(kv, { ttl: 60, clock });
  const ea = new Election(kv, 'gone', { session: a });
  await ea.campaign('a');
  await kv.revoke(a.leaseId); // the session has not noticed yet
  await assert.rejects(ea.proclaim('b'), code('NOT_LEADER'));
  await assert.rejects(new Election(kv, 'gone2', { session: a }).campaign('x'), code('LOCK_LOST'));
  kv.close();
});

test('observe aborted while it reads the current leader ends cleanly', async () => {
  const { clock, kv } = setup();
  const a = await Session.create(kv, { ttl: 60, clock });
  await new Election(kv, 'ob', { session: a }).campaign('a');
  const controller = new AbortController();
  const seen: string[] = [];
  const iterating = (async () => {
    for await (const l of new Election(kv, 'ob', { session: a }).observe({ signal: controller.signal })) {
      seen.push(text(l.value));
    }
  })();
  controller.abort(); // before the first read has answered
  await iterating;
  assert.deepEqual(seen, ['a']);
  await a.close();
  kv.close();
});

test('Election validates its arguments', async () => {
  const { clock, kv } = setup();
  const session = await Session.create(kv, { ttl: 10, clock });
  assert.throws(() => new Election({} as KvLike, 'x', { session }), code('INVALID_ARGUMENT'));
  assert.throws(() => new Election(kv, '', { session }), code('INVALID_ARGUMENT'));
  assert.throws(() => new Election(kv, 'x', {} as never), code('INVALID_ARGUMENT'));
  await session.close();
  kv.close();
});
