/**
 * The main demo (`pnpm start`): a real three-member Flotilla cluster as three child processes
 * on 127.0.0.1, narrated scene by scene (see `story.ts`). Exits 0 once every scene checked what
 * it showed, and always stops the members and removes the temp dir (on failure and on Ctrl-C
 * too). `pnpm start -- --keep` leaves the cluster running and prints how to use and stop it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { FLOTILLA_BIN, LocalCluster } from './local-cluster.js';
import { configStore, killLeader, lockAndFence, Narrator, restartMember, watchHistory } from './story.js';

async function demo(keep: boolean): Promise<number> {
  const n = new Narrator();
  n.plain(
    'Flotilla demo: a replicated key-value store (etcd 3.4 semantics), three member processes on 127.0.0.1',
  );
  n.plain('');
  n.say('starting 3 members (flotilla member ...) ...');
  let cluster: LocalCluster | undefined;
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    n.plain('\ninterrupted: stopping the members');
    void (cluster?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    cluster = await LocalCluster.start({ size: 3, clusterId: 'demo' });
    n.say(
      `members up: ${cluster.members.map((m) => `${m.name} ${m.client}`).join(', ')} (data in ${cluster.dir})`,
    );
    const first = await cluster.waitForLeader();
    n.say(`leader elected: ${cluster.member(first.id).name} (term ${first.term})`);

    const from = await configStore(cluster, n, first.id);
    await watchHistory(cluster, n, from);
    const leader = await killLeader(cluster, n, first.id);
    await restartMember(cluster, n, first.id, leader);
    await lockAndFence(cluster, n);

    if (keep) {
      cluster.keep();
      const eps = cluster.endpoints.join(',');
      const f = `node ${FLOTILLA_BIN} --endpoints ${eps}`;
      n.plain('');
      n.plain(`Done in ${n.elapsed.toFixed(1)} s. The cluster keeps running (--keep):`);
      for (const m of cluster.members) {
        n.plain(`  ${m.name}: pid ${m.process?.pid}, clients ${m.client}, peers ${m.peer}, log ${m.logFile}`);
      }
      n.plain('');
      n.plain('Try:');
      n.plain(`  ${f} status`);
      n.plain(`  ${f} get config/ --prefix`);
      n.plain(`  ${f} put config/feature/dark-mode off`);
      n.plain(`  ${f} watch config/ --prefix --rev 1`);
      n.plain(`  ${f} lock locks/nightly-report -- sh -c 'echo token $FLOTILLA_FENCING_TOKEN'`);
      n.plain(`  ${f} member list -w json`);
      n.plain('');
      n.plain(
        `Stop it with: kill ${cluster.members.map((m) => m.process?.pid).join(' ')} && rm -rf ${cluster.dir}`,
      );
      return 0;
    }
    await cluster.stop();
    cluster = undefined;
    n.plain('');
    n.plain(`Done in ${n.elapsed.toFixed(1)} s: all member processes stopped, temp dir removed.`);
    return 0;
  } catch (err) {
    if (interrupted) return 130;
    process.stderr.write(
      `\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    if (cluster !== undefined) {
      // The temp dir goes away with the cluster: show the end of each member's log first.
      for (const m of cluster.members) {
        const tail = existsSync(m.logFile)
          ? readFileSync(m.logFile, 'utf8').split('\n').slice(-15).join('\n')
          : '';
        process.stderr.write(`--- ${m.name} (last lines of its log) ---\n${tail}\n`);
      }
    }
    await cluster?.stop();
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const keep = process.argv.slice(2).includes('--keep');
demo(keep).then((code) => {
  // Member processes are separate (and, with --keep, detached): nothing here must linger.
  process.exit(code);
});
