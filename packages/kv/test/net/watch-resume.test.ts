/**
 * Watches survive the loss of their member: re-created on the next member from the last
 * delivered revision + 1, they report every change exactly once, in order — whether the member
 * crashed (connection cut) or shut down gracefully (goaway, stream ended with STOPPED).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KvClient } from '@flotilla/kv/client';
import { prefixEnd } from '@flotilla/mvcc';
import { Cluster, WAIT_MS } from './helpers.js';

/** Collects the watch's events (key and revision) until `want` revisions were seen. */
async function collect(
  client: KvClient,
  prefix: string,
  want: (revisions: number[]) => boolean,
  startRevision?: number,
): Promise<{ revisions: number[]; keys: string[]; stop: () => void; done: Promise<void> }> {
  const w = client.watch({
    key: prefix,
    rangeEnd: prefixEnd(prefix),
    ...(startRevision === undefined ? {} : { startRevision }),
  });
  await w.ready;
  const revisions: number[] = [];
  const keys: string[] = [];
  const done = (async () => {
    const timer = setTimeout(() => w.cancel(), WAIT_MS);
    for await (const resp of w) {
      for (const e of resp.events) {
        revisions.push(e.kv.modRevision);
        keys.push(Buffer.from(e.kv.key).toString());
      }
      if (want(revisions)) break;
    }
    clearTimeout(timer);
  })();
  return { revisions, keys, stop: () => w.cancel(), done };
}

async function scenario(how: 'crash' | 'graceful' | 'node-stop'): Promise<void> {
  const cluster = await Cluster.start();
  try {
    const leader = await cluster.leader();
    const followers = [1, 2, 3].filter((id) => id !== leader);
    const [watched, other] = followers as [number, number];
    // The watcher starts on a follower (killing it leaves the leader in place); the writer
    // talks to the leader.
    const watcher = await cluster.client({ endpoints: [cluster.endpoint(watched), cluster.endpoint(other)] });
    const writer = await cluster.client({ endpoints: [cluster.endpoint(leader)] });
    assert.equal(watcher.memberId, watched);
    const total = 300;
    const written: number[] = [];
    const seen = await collect(watcher, 'r/', (revs) => revs.length >= total);
    for (let i = 0; i < total; i++) {
      written.push((await writer.put(`r/${String(i).padStart(4, '0')}`, `v${i}`)).header.revision);
      if (i === 100) {
        if (how === 'crash') await cluster.kill(watched);
        else if (how === 'graceful') await cluster.member(watched).server?.close();
        else await cluster.member(watched).node?.stop();
      }
    }
    await seen.done;
    assert.notEqual(watcher.memberId, watched);
    // Exactly the written revisions, in order: no gap, no duplicate.
    assert.deepEqual(seen.revisions, written);
    assert.deepEqual(
      seen.keys,
      Array.from({ length: total }, (_, i) => `r/${String(i).padStart(4, '0')}`),
    );
  } finally {
    await cluster.close();
  }
}

describe('watch resume after failover', () => {
  test('the watched member crashes mid-stream: no gap, no duplicate', () => scenario('crash'));
  test('the watched member shuts down gracefully mid-stream: no gap, no duplicate', () =>
    scenario('graceful'));

  test('the watched node stops while its server still runs: no gap, no duplicate', () =>
    scenario('node-stop'));

  test('a watch whose position was compacted by the time it resumes ends canceled with compactRevision', async () => {
    const cluster = await Cluster.start();
    try {
      const leader = await cluster.leader();
      const [a, b] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
      const client = await cluster.client({
        endpoints: [cluster.endpoint(a), cluster.endpoint(b)],
        dialTimeoutMs: 100,
      });
      const writer = await cluster.client({ endpoints: [cluster.endpoint(leader)] });
      const first = await writer.put('c/0', 'v');
      const w = client.watch({ key: 'c/', rangeEnd: prefixEnd('c/'), startRevision: first.header.revision });
      const it = w[Symbol.asyncIterator]();
      const r1 = await it.next();
      assert.equal(r1.value?.events[0]?.kv.modRevision, first.header.revision);
      // Both members the watcher knows become unreachable; meanwhile history is compacted.
      const portB = await cluster.stopServer(b);
      await cluster.kill(a);
      const later = await writer.put('c/1', 'v');
      await writer.put('c/2', 'v');
      await writer.compact(later.header.revision + 1);
      await cluster.startServer(b, portB);
      const r2 = await it.next();
      assert.equal(r2.value?.canceled, true);
      assert.equal(r2.value?.compactRevision, later.header.revision + 1);
      assert.equal((await it.next()).done, true);
    } finally {
      await cluster.close();
    }
  });
});
