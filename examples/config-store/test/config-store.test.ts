import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SimClock } from '@flotilla/replica';
import { InProcessCluster } from '../src/cluster.js';
import { type ConfigChange, ConfigStore } from '../src/config-store.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A cluster on simulated time, and a way to await its promises (the clock runs meanwhile). */
async function simCluster(seed: number) {
  const clock = new SimClock();
  const cluster = await InProcessCluster.start({ clock, seed, tickMs: 10 });
  const settle = async <T>(p: Promise<T>, what = 'a promise'): Promise<T> => {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; !done; i++) {
      if (i > 10_000) throw new Error(`seed ${seed}: ${what} did not settle`);
      await clock.advanceAsync(5);
    }
    return p;
  };
  const until = async (pred: () => boolean, what: string): Promise<void> => {
    for (let i = 0; !pred(); i++) {
      if (i > 10_000) throw new Error(`seed ${seed}: ${what} not reached`);
      await clock.advanceAsync(5);
    }
  };
  await until(() => cluster.leader() !== undefined, 'a leader');
  return { clock, cluster, settle, until };
}

test('settings are written, read and followed live; a leader power loss loses nothing', async () => {
  const { cluster, settle, until } = await simCluster(1);
  const leader = cluster.leader();
  assert.ok(leader !== undefined);
  const ids = cluster.running.map((n) => n.id);
  const store = new ConfigStore(ids.map((id) => cluster.node(id)));
  const serviceOrder = [...ids.filter((id) => id !== leader.id), leader.id];
  const service = new ConfigStore(serviceOrder.map((id) => cluster.node(id)));
  await settle(store.set('a', 1));
  const changes: ConfigChange[] = [];
  const live = await settle(service.live((c) => changes.push(c)));
  assert.deepEqual(Object.fromEntries(live.values), { a: 1 });
  const r2 = await settle(store.set('b', { on: true }, 1));
  await until(() => live.revision >= r2, 'the live view to follow');
  assert.deepEqual(changes, [{ name: 'b', value: { on: true }, revision: r2 }]);
  await cluster.crash(leader.id);
  await until(() => cluster.leader() !== undefined, 'a new leader');
  const survivor = ids.indexOf(cluster.leader()?.id as number);
  const r3 = await settle(store.set('a', 2, survivor));
  const r4 = await settle(store.remove('b', survivor));
  await until(() => live.revision >= r4, 'the live view to follow');
  assert.deepEqual(
    changes.map((c) => [c.name, c.value, c.revision]),
    [
      ['b', { on: true }, r2],
      ['a', 2, r3],
      ['b', undefined, r4],
    ],
  );
  const back = await cluster.startMember(leader.id);
  await until(() => back.stateMachine.store.revision >= r4, 'the restarted member to catch up');
  const read = await settle(new ConfigStore([back]).read());
  assert.deepEqual(Object.fromEntries(read.values), { a: 2 });
  assert.deepEqual(Object.fromEntries(live.values), { a: 2 });
  live.close();
  await settle(live.done);
  await cluster.stop();
});

test('the live view moves to another member when its member stops, and re-reads after compaction', async () => {
  const { cluster, settle, until } = await simCluster(2);
  const leader = cluster.leader();
  assert.ok(leader !== undefined);
  const [x, y] = cluster.running.filter((n) => n !== leader);
  assert.ok(x !== undefined && y !== undefined);
  const writer = new ConfigStore([leader]);
  await settle(writer.set('k', 0));
  const changes: ConfigChange[] = [];
  const live = await settle(new ConfigStore([x, y]).live((c) => changes.push(c)));
  // x is cut off: its watch sees nothing more while the cluster moves on and compacts.
  cluster.net.isolate(x.id);
  await settle(writer.set('k', 1));
  await settle(writer.set('gone', true));
  await settle(writer.remove('gone'));
  const last = await settle(writer.set('k', 2));
  await settle(leader.compact(last));
  await settle(x.stop());
  await until(() => live.revision >= last && live.via === 1, 'the view to resume through y');
  assert.deepEqual(Object.fromEntries(live.values), { k: 2 });
  // The compacted history could not be replayed: the view re-read everything and reported the
  // net change once, at the revision it re-read.
  assert.deepEqual(
    changes.map((c) => [c.name, c.value]),
    [['k', 2]],
  );
  live.close();
  await settle(live.done);
  cluster.net.heal();
  await cluster.stop();
});

test('main.ts runs the narrated demo in real time and exits 0', () => {
  const tsx = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'cli.mjs');
  const run = spawnSync(
    process.execPath,
    [tsx, '--conditions=@flotilla/source', join(here, '../src/main.ts')],
    {
      cwd: join(here, '..'),
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /power loss on member \d \(the leader\)/);
  assert.match(run.stdout, /restarted from its disk and caught up/);
  assert.match(
    run.stdout,
    /every member and the service agree: \{"rateLimit":250\}; nothing acknowledged was lost/,
  );
});
