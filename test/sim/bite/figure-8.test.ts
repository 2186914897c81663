/**
 * Proof that the checkers bite: committing a previous term's entry by counting replicas (the
 * Raft paper's §5.4.2 and Figure 8).
 *
 * The switch (`@flotilla/raft` faults.ts, `commitPreviousTermByCount`): a leader commits an
 * entry as soon as a quorum holds it, even one of an earlier term, instead of only entries of
 * its own term.
 * The catch: under leader churn over slow links (profile `leader-churn`: the leader is isolated
 * or loses power every 60-200 ms, one entry per message), a new leader re-replicates an old
 * entry and commits it by count before an entry of its own term is on a quorum, applies it, and
 * loses leadership; a member holding a different entry of a later term then wins an election
 * and overwrites it. Members apply different entries at one index: the Raft invariants report
 * state machine safety (and the list-append checker, when a client saw the lost append).
 */
import { test } from 'node:test';
import { describeCatch, findCatch } from '../support.js';

test('figure-8 is caught by the Raft invariants (leader churn)', async (t) => {
  const caught = await findCatch({
    workload: 'list-append',
    profile: 'leader-churn',
    fault: 'figure-8',
    checkers: ['raft', 'list-append'],
    maxSeeds: 40,
  });
  for (const line of describeCatch(caught)) t.diagnostic(line);
});
