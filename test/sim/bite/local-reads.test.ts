/**
 * Proof that the checkers bite: serving linearizable reads from local state without ReadIndex.
 *
 * The switch (`@flotilla/kv` faults.ts, `readsSkipReadIndex`): a member answers `get` from its
 * own store at once, as a `serializable` read does.
 * The catch: a partition leaves a member (a cut-off follower, or a leader already deposed) with
 * an old store; a client reading through it sees a value older than a write acknowledged before
 * the read began: the linearizability checker reports a stale read.
 */
import { test } from 'node:test';
import { describeCatch, findCatch } from '../support.js';

test('local-reads is caught by the linearizability checker (partitions)', async (t) => {
  const caught = await findCatch({
    workload: 'register',
    profile: 'partitions',
    fault: 'local-reads',
    checkers: ['linearizability'],
    maxSeeds: 20,
  });
  for (const line of describeCatch(caught)) t.diagnostic(line);
});
