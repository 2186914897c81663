import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Answer, TcpCluster } from './helpers/tcp-cluster.js';

/** Waits until `cond()` or throws after `ms` (polling: these are real processes). */
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('three processes over TCP: kill -9 the leader mid-write, restart it, nothing acknowledged is lost', {
  timeout: 240_000,
}, async () => {
  const cluster = new TcpCluster([1, 2, 3]);
  try {
    await cluster.startAll();
    let leader = await cluster.leader();
    const acked = new Map<number, number>();
    let next = 1;
    let writing = true;
    /** One client: writes one value at a time to whoever it believes leads, following redirects. */
    const client = async (): Promise<void> => {
      while (writing) {
        const value = next++;
        let answer: Answer | undefined;
        try {
          answer = await cluster.request(leader, { op: 'propose', value }, 5000);
        } catch {
          answer = undefined; // the member is down or slow: find the leader again
        }
        if (answer !== undefined && typeof answer.index === 'number') {
          acked.set(answer.index, value);
        } else if (
          answer !== undefined &&
          answer.code === 'NOT_LEADER' &&
          typeof answer.leaderId === 'number'
        ) {
          leader = answer.leaderId;
        } else {
          leader = await cluster.leader().catch(() => leader);
        }
      }
    };
    const clients = Promise.all([client(), client(), client(), client()]);
    await until(() => acked.size >= 100, 60_000, '100 acknowledged writes');
    const victim = leader;
    await cluster.kill(victim);
    const before = acked.size;
    await until(() => acked.size >= before + 100, 60_000, '100 writes acknowledged by a new leader');
    await cluster.restart(victim);
    const again = acked.size;
    await until(() => acked.size >= again + 100, 60_000, '100 more writes with the old leader back');
    writing = false;
    await clients;

    const last = Math.max(...acked.keys());
    await until(
      async () => {
        const applied = await Promise.all(
          cluster.ids.map((id) => cluster.request(id, { op: 'status' }).then((s) => s.applied as number)),
        );
        return applied.every((a) => a >= last);
      },
      60_000,
      'every member to apply the last acknowledged write',
    );
    const logs = await Promise.all(
      cluster.ids.map(async (id) => {
        const a = await cluster.request(id, { op: 'log' });
        return { id, log: new Map(a.log as Array<[number, number]>) };
      }),
    );
    for (const { id, log } of logs) {
      for (const [index, value] of acked) {
        assert.equal(
          log.get(index),
          value,
          `member ${id} misses acknowledged write ${value} at index ${index}`,
        );
      }
    }
    // State machine safety: the three applied logs agree entry by entry.
    const [a, ...rest] = logs;
    for (const other of rest) {
      for (const [index, value] of (a as (typeof logs)[number]).log) {
        if (other.log.has(index)) assert.equal(other.log.get(index), value);
      }
    }
  } finally {
    await cluster.close();
  }
});
