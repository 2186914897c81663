/**
 * Proof that the checkers bite: `lock()` returning without the session re-check, the bug Jepsen
 * found in etcd 3.4.3's lock service.
 *
 * The switch (`@flotilla/lease` faults.ts, `skipSessionRecheck`): `lock()` waits as etcd 3.4.3
 * did, until no key older than its own is left, and never checks that its own key (its session)
 * still exists.
 * The catch: the client-pause nemesis stops a process while it waits for the lock, past its
 * lease TTL; the cluster revokes the lease and deletes its key; when the predecessor releases,
 * the woken process is told it holds the lock, at a revision after its session's revocation:
 * the lock checker reports `lock-after-revoke`.
 */
import { test } from 'node:test';
import { describeCatch, findCatch } from '../support.js';

test('lock-no-recheck is caught by the lock checker (client pauses)', async (t) => {
  const caught = await findCatch({
    workload: 'lock',
    profile: 'client-pauses',
    fault: 'lock-no-recheck',
    checkers: ['lock'],
    maxSeeds: 20,
  });
  for (const line of describeCatch(caught)) t.diagnostic(line);
});
