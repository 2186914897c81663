/**
 * The lock workload: 40 seeded deterministic runs (3 or 5 members, nemeses drawn from the seed) that
 * must pass the lock checker (fencing tokens, session re-check) and the Raft invariants. A failure prints the seed and the `pnpm soak` command that replays it;
 * the run's files go to `test/out/<run-id>/`.
 */
import { seeds, simulationTests } from './support.js';

simulationTests('lock', seeds(1, 40));
