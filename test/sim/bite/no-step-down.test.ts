/**
 * Proof that the checkers bite: a leader that does not step down without quorum.
 *
 * The switch (`@flotilla/raft` faults.ts, `leaderIgnoresQuorumLoss`): the CheckQuorum step-down
 * (thesis §6.2) is skipped.
 * What it breaks: with Flotilla's default reads (ReadIndex, thesis §6.4) nothing a client can
 * observe. A deposed leader that still believes it leads cannot confirm a heartbeat round, so
 * its reads time out; its writes cannot commit. The damage is availability (under a one-way cut
 * its followers keep hearing it and never elect another leader). The switch becomes a safety bug
 * with lease-based reads (`readOnlyOption: 'leaseBased'`, thesis §6.4.1), whose only protection
 * is that a leader cut off from its quorum steps down within an election timeout or two: an
 * isolated leader that never steps down answers reads from its lease for the whole partition.
 * So the run uses lease-based reads (profile `lease-reads`: partitions only, exact clocks).
 * The catch: a stale read, reported by the linearizability checker.
 *
 * Lease-based reads are not fully safe in Flotilla even without the switch (a leader steps down
 * up to two election timeouts after losing its quorum, while followers may elect a successor
 * after one: see known-bugs.test.ts), so the catch is a seed on which the same run without the
 * switch passes.
 */
import { test } from 'node:test';
import { describeCatch, findCatch } from '../support.js';

test('no-step-down is caught by the linearizability checker (lease-based reads, partitions)', async (t) => {
  const caught = await findCatch({
    workload: 'register',
    profile: 'lease-reads',
    fault: 'no-step-down',
    checkers: ['linearizability'],
    maxSeeds: 30,
  });
  for (const line of describeCatch(caught)) t.diagnostic(line);
});
