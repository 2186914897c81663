/**
 * Proof that the checkers bite: a watch dropping one event after a reconnect.
 *
 * The switch (`@flotilla/kv` faults.ts, `watchResumeOffByOne`): a watch resumed from a past
 * revision (what a client does after a reconnect: the last revision it received + 1) starts one
 * revision late.
 * The catch: watchers reconnect when their member stops and restart voluntarily on other
 * members; the event at each resume revision is lost: the watch checker reports a
 * `missed-event` across a reconnect.
 */
import { test } from 'node:test';
import { describeCatch, findCatch } from '../support.js';

test('watch-off-by-one is caught by the watch checker', async (t) => {
  const caught = await findCatch({
    workload: 'watch',
    profile: 'partitions',
    fault: 'watch-off-by-one',
    checkers: ['watch'],
    maxSeeds: 20,
  });
  for (const line of describeCatch(caught)) t.diagnostic(line);
});
