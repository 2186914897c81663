/**
 * The invariant checker must bite: the same simulation driven by a deliberately wrong host must
 * fail with a Raft property violation within a bounded number of seeds (deterministically: the
 * seeds are fixed, so the first failing seed is always the same).
 *
 * - `ackBeforePersist`: the host advances (releasing acknowledgements and votes) before its
 *   writes are durable, and a crash loses them: acknowledged entries and cast votes vanish.
 * - `forgetVote`: the host loses the vote on restart, so a member votes twice in a term.
 *
 * Runs use heavy churn so elections overlap with crashes: frequent crashes and quick restarts,
 * a crash right after a granted vote half the time, short election timeouts, long delays and
 * many duplicated messages (a late copy of a vote request can reach a member that restarted),
 * no PreVote.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrokenDriver } from './cluster.js';
import { InvariantViolation } from './invariants.js';
import type { SimProfile } from './profile.js';
import { runSimulation, SimFailure } from './run.js';

const CHURN: Partial<SimProfile> = {
  churn: 10,
  crash: 4,
  preVote: false,
  checkQuorum: false,
  electionTick: 5,
  maxDelay: 6,
  pDup: 0.3,
  crashAfterVote: 0.5,
  pPersistNow: 1,
  initialVoters: 3,
  poolSize: 3,
  confChange: 0,
  partition: 0,
};

function firstViolation(
  broken: BrokenDriver,
  maxSeeds: number,
): { seed: number; violation: InvariantViolation } {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    try {
      runSimulation(seed, { broken, profile: CHURN });
    } catch (err) {
      // The core's own assertions may notice the damage first (a log shorter than the commit
      // index); we want the checker itself to catch it, so keep going.
      if (err instanceof SimFailure && err.violation instanceof InvariantViolation) {
        return { seed, violation: err.violation };
      }
      if (!(err instanceof SimFailure)) throw err;
    }
  }
  assert.fail(`no invariant violation within ${maxSeeds} seeds with the ${broken} host`);
}

for (const broken of ['ackBeforePersist', 'forgetVote'] as const) {
  test(`the checker catches a host that does ${broken}`, (t) => {
    const { seed, violation } = firstViolation(broken, 400);
    t.diagnostic(`seed ${seed}: ${violation.message}`);
    assert.ok(
      ['election-safety', 'log-matching', 'leader-completeness', 'state-machine-safety'].includes(
        violation.invariant,
      ),
    );
  });
}

test('the correct host passes the same churn seeds', () => {
  for (let seed = 1; seed <= 30; seed++) runSimulation(seed, { profile: CHURN });
});
