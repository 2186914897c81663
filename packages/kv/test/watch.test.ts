import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KvWatch } from '@flotilla/kv';
import type { WatchResponse } from '@flotilla/mvcc';
import { prefixEnd } from '@flotilla/mvcc';
import { KvSim, seedFor } from './helpers/kv-sim.js';

const str = (u: Uint8Array): string => Buffer.from(u).toString();

/** Drains a watch in the background; `events` lists `key=value@revision` (or `-key@rev`). */
function collect(w: KvWatch): { responses: WatchResponse[]; events: string[]; done: () => boolean } {
  const responses: WatchResponse[] = [];
  const events: string[] = [];
  let finished = false;
  void (async () => {
    for await (const r of w) {
      responses.push(r);
      for (const e of r.events) {
        events.push(
          e.type === 'put'
            ? `${str(e.kv.key)}=${str(e.kv.value)}@${e.kv.modRevision}`
            : `-${str(e.kv.key)}@${e.kv.modRevision}`,
        );
      }
    }
    finished = true;
  })();
  return { responses, events, done: () => finished };
}

/** The revisions of `events`, which must strictly increase (no duplicate, in order). */
function revisions(events: readonly string[]): number[] {
  const revs = events.map((e) => Number(e.slice(e.lastIndexOf('@') + 1)));
  for (let i = 1; i < revs.length; i++)
    assert.ok((revs[i] as number) > (revs[i - 1] as number), `out of order: ${events.join(' ')}`);
  return revs;
}

describe('watches', () => {
  test('default start is now; history replays from an older revision, then continues live', async () => {
    const sim = await KvSim.create({ seed: seedFor(41) });
    const leader = await sim.waitForLeader();
    const first = await sim.settle(leader.put('w/a', '1'));
    await sim.settle(leader.put('w/b', '2'));
    const f = sim.follower();
    await sim.settle(f.get('w/a')); // the follower has applied both
    const now = collect(f.watch({ key: 'w/', rangeEnd: prefixEnd('w/') }));
    const replay = collect(
      f.watch({ key: 'w/', rangeEnd: prefixEnd('w/'), startRevision: first.revision, prevKv: true }),
    );
    await sim.settle(leader.put('w/a', '3'));
    await sim.settle(leader.delete('w/b'));
    await sim.runUntil(() => now.events.length === 2 && replay.events.length === 4);
    assert.deepEqual(now.events, ['w/a=3@4', '-w/b@5']);
    assert.deepEqual(replay.events, ['w/a=1@2', 'w/b=2@3', 'w/a=3@4', '-w/b@5']);
    const withPrev = replay.responses.flatMap((r) => r.events).find((e) => e.kv.modRevision === 4);
    assert.equal(withPrev?.prevKv === undefined ? undefined : str(withPrev.prevKv.value), '1');
    await sim.close();
    await sim.runUntil(() => now.done() && replay.done(), { what: 'watches ended by stop' });
  });

  test('a watch on a follower sees every change, in order, across a leader change', async () => {
    const sim = await KvSim.create({ seed: seedFor(42) });
    const leader = await sim.waitForLeader();
    const f = sim.follower();
    const seen = collect(f.watch({ key: 'x' }));
    // The leader's own watch: it loses leadership (cut off), then catches up after the heal.
    const onLeader = collect(leader.watch({ key: 'x' }));
    for (let i = 1; i <= 5; i++) await sim.settle(f.put('x', `a${i}`));
    sim.net.isolate(leader.id);
    await sim.runUntil(() => sim.nodes().some((n) => n.isLeader && n.id !== leader.id), {
      what: 'a new leader',
    });
    for (let i = 1; i <= 5; i++) await sim.settle(f.put('x', `b${i}`));
    sim.net.heal();
    await sim.runUntil(() => seen.events.length === 10 && onLeader.events.length === 10);
    revisions(seen.events);
    assert.deepEqual(
      seen.events.map((e) => e.split('@')[0]),
      ['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2', 'b3', 'b4', 'b5'].map((v) => `x=${v}`),
    );
    assert.deepEqual(
      onLeader.events,
      seen.events,
      'the old leader saw the same events at the same revisions',
    );
    await sim.close();
  });

  test('a watch from a compacted revision is canceled with the compact revision', async () => {
    const sim = await KvSim.create({ seed: seedFor(43), ids: [1] });
    const n = await sim.waitForLeader();
    await sim.settle(n.put('k', '1'));
    const r = await sim.settle(n.put('k', '2'));
    await sim.settle(n.compact(r.revision));
    const w = collect(n.watch({ key: 'k', startRevision: 2 }));
    await sim.runUntil(() => w.done());
    assert.equal(w.responses.length, 1);
    assert.equal(w.responses[0]?.canceled, true);
    assert.equal(w.responses[0]?.compactRevision, r.revision);
    await sim.close();
  });

  test('an invalid watch ends with a canceled response instead of throwing; cancel ends iteration', async () => {
    const sim = await KvSim.create({ seed: seedFor(44), ids: [1] });
    const n = await sim.waitForLeader();
    const bad = collect(n.watch({ key: 42 } as never));
    const empty = collect(n.watch({ key: '' }));
    await sim.runUntil(() => bad.done() && empty.done());
    assert.equal(bad.responses[0]?.canceled, true);
    assert.match(bad.responses[0]?.cancelReason ?? '', /INVALID_ARGUMENT/);
    assert.match(empty.responses[0]?.cancelReason ?? '', /EMPTY_KEY/);
    const w = n.watch({ key: 'k' });
    assert.equal(n.watchCount, 1);
    const pending = w[Symbol.asyncIterator]().next();
    w.cancel();
    w.cancel();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.equal(n.watchCount, 0);
    await sim.close();
    const after = collect(n.watch({ key: 'k' }));
    await sim.runUntil(() => after.done());
    assert.match(after.responses[0]?.cancelReason ?? '', /STOPPED/);
  });

  test('a follower that installs a snapshot moves its watches with no gap and no duplicate', async () => {
    const sim = await KvSim.create({
      seed: seedFor(45),
      node: { snapshotEvery: 20, snapshotCatchUpEntries: 2 },
    });
    const leader = await sim.waitForLeader();
    const f = sim.follower();
    await sim.settle(leader.put('s', '0'));
    await sim.settle(f.get('s'));
    const seen = collect(f.watch({ key: 's' }));
    const installs: number[] = [];
    f.replica.on('snapshot', (index, kind) => {
      if (kind === 'installed') installs.push(index);
    });
    sim.net.isolate(f.id);
    for (let i = 1; i <= 60; i++) await sim.settle(leader.put('s', `${i}`));
    sim.net.heal();
    await sim.runUntil(() => seen.events.length > 0 && seen.events.at(-1)?.startsWith('s=60@') === true, {
      what: 'the watch to catch up',
    });
    assert.ok(installs.length > 0, `seed ${sim.seed}: the follower installed no snapshot`);
    // The snapshot carries the store's whole retained history, so the moved watch replays what
    // it had not seen from there: every revision exactly once, in order.
    assert.deepEqual(
      revisions(seen.events),
      Array.from({ length: 60 }, (_, i) => i + 3),
    );
    await sim.close();
  });
});
