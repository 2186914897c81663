/**
 * Proof that the checkers bite: acknowledging writes before fsync.
 *
 * The switch (`@flotilla/wal` faults.ts, `ackBeforeFsync`): the WAL resolves a save once it is
 * written, without its fsync, like etcd's `--unsafe-no-fsync`. Raft then acknowledges entries and
 * votes that a power loss can take back.
 * The catch: the crash nemesis (power loss of the leader, one member, a majority or all of them)
 * loses writes clients were told had committed; the register history shows a read of an older
 * value after the acknowledged write: the linearizability checker reports it. (Raft's own guards
 * often notice too, "commit is out of range", and stop the damaged member.)
 */
import { test } from 'node:test';
import { describeCatch, findCatch } from '../support.js';

test('ack-before-fsync is caught by the linearizability checker (crash nemesis)', async (t) => {
  const caught = await findCatch({
    workload: 'register',
    profile: 'crashes',
    fault: 'ack-before-fsync',
    checkers: ['linearizability'],
    maxSeeds: 30,
  });
  for (const line of describeCatch(caught)) t.diagnostic(line);
});
