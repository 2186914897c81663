/**
 * Proof that the checkers bite: a leader that ignores the loss of its quorum.
 *
 * The switch (`@flotilla/raft` faults.ts, `leaderIgnoresQuorumLoss`): the CheckQuorum step-down
 * (thesis §6.2) is skipped, and the leader trusts its read lease (thesis §6.4.1) whether or not
 * a quorum acknowledged it within the lease.
 * What it breaks: with Flotilla's default reads (ReadIndex, thesis §6.4) nothing a client can
 * observe. A deposed leader that still believes it leads cannot confirm a heartbeat round, so
 * its reads time out; its writes cannot commit. The damage is availability. With lease-based
 * reads (`readOnlyOption: 'leaseBased'`) an isolated leader answers reads from its lease for the
 * whole partition while the majority elects a successor and commits writes: stale reads. So the
 * run uses lease-based reads (profile `lease-reads`: partitions only, exact clocks).
 * The catch: a stale read, reported by the linearizability checker, on a seed where the same
 * run without the switch passes.
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
