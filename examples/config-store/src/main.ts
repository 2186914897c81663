/**
 * The config-store demo, in real time:
 *
 *   node --conditions=@flotilla/source --import tsx examples/config-store/src/main.ts
 *
 * A 3-member cluster runs in this process. An operator writes settings; a service follows them
 * live through a watch on another member; the leader loses power; the cluster elects another
 * leader and keeps taking writes, the service keeps following; the crashed member restarts
 * from its disk and holds exactly the configuration everybody else does.
 */
import { systemClock } from '@flotilla/replica';
import { InProcessCluster } from './cluster.js';
import { ConfigStore } from './config-store.js';

const log = (who: string, line: string): void => console.log(`[${who.padEnd(8)}] ${line}`);

/** Polls `done` every few ms until it holds (real time), at most `ms`. */
async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cluster = await InProcessCluster.start({ clock: systemClock, seed: 42 });
try {
  await until(() => cluster.leader() !== undefined, 'a leader');
  const leader = cluster.leader();
  log('cluster', `3 members started; member ${leader?.id} leads (term ${leader?.term})`);

  // The operator talks to members 1, 2, 3 in that order; the service prefers another order,
  // starting with a member that is not the leader (the leader is about to lose power).
  const ids = cluster.running.map((n) => n.id);
  const followerFirst = [...ids.filter((id) => id !== leader?.id), leader?.id as number];
  const operator = new ConfigStore(ids.map((id) => cluster.node(id)));
  const service = new ConfigStore(followerFirst.map((id) => cluster.node(id)));

  let rev = await operator.set('featureFlags', { darkMode: true });
  log('operator', `set featureFlags = {"darkMode":true} (revision ${rev})`);
  rev = await operator.set('rateLimit', 100);
  log('operator', `set rateLimit = 100 (revision ${rev})`);

  const live = await service.live((c) =>
    log(
      'service',
      c.value === undefined
        ? `applied: ${c.name} removed (revision ${c.revision})`
        : `applied ${c.name} = ${JSON.stringify(c.value)} live (revision ${c.revision})`,
    ),
  );
  log(
    'service',
    `loaded ${JSON.stringify(Object.fromEntries(live.values))} at revision ${live.revision} via member ${followerFirst[live.via]}`,
  );

  rev = await operator.set('rateLimit', 150, 1);
  await until(() => live.revision >= rev, `the service to see revision ${rev}`);

  const crashed = leader?.id as number;
  await cluster.crash(crashed);
  log('cluster', `power loss on member ${crashed} (the leader)`);
  await until(() => cluster.leader() !== undefined, 'a new leader');
  const next = cluster.leader();
  log('cluster', `member ${next?.id} leads now (term ${next?.term})`);

  const survivor = ids.indexOf(next?.id as number);
  rev = await operator.set('rateLimit', 250, survivor);
  log('operator', `set rateLimit = 250 through member ${next?.id} (revision ${rev})`);
  rev = await operator.remove('featureFlags', survivor);
  log('operator', `removed featureFlags (revision ${rev})`);
  await until(() => live.revision >= rev, `the service to see revision ${rev}`);

  const back = await cluster.startMember(crashed);
  await until(() => back.stateMachine.store.revision >= rev, `member ${crashed} to catch up`);
  const fromBack = await new ConfigStore([back]).read();
  const fromSurvivor = await operator.read(survivor);
  log('cluster', `member ${crashed} restarted from its disk and caught up to revision ${fromBack.revision}`);
  const a = JSON.stringify(Object.fromEntries(fromBack.values));
  const b = JSON.stringify(Object.fromEntries(fromSurvivor.values));
  const c = JSON.stringify(Object.fromEntries(live.values));
  if (a !== b || b !== c) throw new Error(`configurations differ: ${a} / ${b} / ${c}`);
  log('check', `every member and the service agree: ${a}; nothing acknowledged was lost`);
  live.close();
  await live.done;
} finally {
  await cluster.stop();
}
