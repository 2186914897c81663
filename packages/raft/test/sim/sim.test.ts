/**
 * The randomized simulation inside `pnpm test`: 200 seeds (3 to 7 members, faults drawn per
 * seed), every Raft safety property checked after every step, liveness after healing.
 *
 * A failure prints the seed, the profile, the last events and a one-line replay command. To
 * replay one seed here: `SEED=1234 node --conditions=@flotilla/source --import tsx --test
 * packages/raft/test/sim/sim.test.ts` (add `SIM_TRACE=1` for every event). Thousands of seeds:
 * `pnpm --filter @flotilla/raft soak -- --seeds 5000`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimulation, type SimResult } from './run.js';

const FIRST_SEED = Number(process.env.SIM_FROM ?? 1);
const SEEDS = Number(process.env.SIM_SEEDS ?? 200);
const only = process.env.SEED;
const trace = process.env.SIM_TRACE === '1' ? (l: string) => console.log(l) : undefined;

if (only !== undefined) {
  test(`simulation seed ${only}`, (t) => {
    const r = runSimulation(Number(only), trace === undefined ? {} : { trace });
    t.diagnostic(JSON.stringify(r));
  });
} else {
  test(`simulation: ${SEEDS} seeds from ${FIRST_SEED}, safety after every step, liveness after healing`, (t) => {
    const results: SimResult[] = [];
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) results.push(runSimulation(seed));
    const sum = (f: (r: SimResult) => number): number => results.reduce((a, r) => a + f(r), 0);
    const sizes = new Set(results.map((r) => r.profile.initialVoters));
    const summary = {
      seeds: results.length,
      clusterSizes: [...sizes].sort(),
      leaderTerms: sum((r) => r.leaderTerms),
      committed: sum((r) => r.committed),
      readsServed: sum((r) => r.readsServed),
      crashes: sum((r) => r.counts.crashes),
      partitions: sum((r) => r.counts.partitions),
      confChanges: sum((r) => r.counts.confChanges),
      transfers: sum((r) => r.counts.transfers),
      snapshots: sum((r) => r.counts.snapshots),
      maxLivenessTicks: Math.max(...results.map((r) => r.livenessTicks)),
    };
    t.diagnostic(JSON.stringify(summary));
    // The runs must have exercised what they claim to (a driver that silently did nothing would
    // pass every safety check).
    assert.ok(sizes.size >= 3, 'cluster sizes vary');
    assert.ok(summary.leaderTerms > SEEDS, 'elections happen');
    assert.ok(summary.committed > 10 * SEEDS, 'entries commit');
    assert.ok(
      summary.readsServed > 0 && summary.crashes > 0 && summary.partitions > 0,
      'reads, crashes, partitions',
    );
    assert.ok(
      summary.confChanges > 0 && summary.transfers > 0 && summary.snapshots > 0,
      'membership, transfers, snapshots',
    );
  });
}
