/**
 * Helpers of the simulation tests: a seeded run per test, failing with the seed, the replay
 * command and the checker's explanation (its files written to `test/out/<run-id>/`); and the
 * search a bite test makes for the first seed on which a fault switch is caught.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_OUT_DIR } from '../src/report/artifacts.js';
import { type FaultName, type PlanOptions, type ProfileName, planRun } from '../src/sim/plan.js';
import { describeFailure, writeRun } from '../src/sim/report.js';
import { type RunResult, runSimulation } from '../src/sim/run.js';
import type { CheckerName, WorkloadName } from '../src/workloads/types.js';

/**
 * Seeds `from .. from + count - 1`. `SIM_FROM` moves the range (to explore other seeds in CI);
 * a failure names its seed and the `pnpm soak` command that replays it.
 */
export function seeds(from: number, count: number): number[] {
  const shift = Number(process.env.SIM_FROM ?? 0);
  return Array.from({ length: count }, (_, i) => shift + from + i);
}

/**
 * One `node:test` test per seed: the run must pass every checker. Seeds listed in `knownBugs`
 * (seed → the bug, see known-bugs.test.ts) still run, as `todo` tests: their failure is printed
 * but does not fail the suite until the bug is fixed.
 */
export function simulationTests(
  workload: WorkloadName,
  seedList: readonly number[],
  options: PlanOptions = {},
  knownBugs: Readonly<Record<number, string>> = {},
): void {
  for (const seed of seedList) {
    const todo = knownBugs[seed];
    const name = `${workload} seed ${seed}${options.profile ? ` (${options.profile})` : ''}`;
    test(name, todo === undefined ? {} : { todo }, async () => {
      const r = await runSimulation(planRun(workload, seed, options));
      if (r.valid !== true) assert.fail(describeFailure(r, writeRun(DEFAULT_OUT_DIR, r)));
    });
  }
}

/** A fault switch the suite caught: the failing run and the same seed without the switch. */
export interface Caught {
  readonly seed: number;
  readonly faulty: RunResult;
  readonly control: RunResult;
  /** Seeds tried before it (none caught by an expected checker, or their control failed too). */
  readonly tried: number;
}

/**
 * Runs `workload` under `profile` with `fault` armed on seeds `from, from + 1, ...` until one of
 * `checkers` reports an anomaly **and** the same seed without the switch passes every checker;
 * returns it, or fails after `maxSeeds`. The failing run's files are written to `test/out/`.
 */
export async function findCatch(o: {
  readonly workload: WorkloadName;
  readonly profile: ProfileName;
  readonly fault: FaultName;
  readonly checkers: readonly CheckerName[];
  readonly from?: number;
  readonly maxSeeds: number;
  readonly loadMs?: number;
}): Promise<Caught> {
  const from = o.from ?? 1;
  for (let seed = from; seed < from + o.maxSeeds; seed++) {
    const plan = { profile: o.profile, ...(o.loadMs === undefined ? {} : { loadMs: o.loadMs }) };
    const faulty = await runSimulation(planRun(o.workload, seed, { ...plan, faults: [o.fault] }));
    const hit = faulty.verdicts.some((v) => o.checkers.includes(v.checker) && v.valid === false);
    if (!hit) continue;
    const control = await runSimulation(planRun(o.workload, seed, plan));
    if (control.valid !== true) continue;
    writeRun(DEFAULT_OUT_DIR, faulty);
    return { seed, faulty, control, tried: seed - from };
  }
  return assert.fail(
    `${o.fault} was not caught by ${o.checkers.join(' or ')} within seeds ${from}..${from + o.maxSeeds - 1} ` +
      `(${o.workload}, profile ${o.profile})`,
  );
}

/** What a bite test prints about its catch (through `t.diagnostic`). */
export function describeCatch(c: Caught): string[] {
  const failing = c.faulty.verdicts.filter((v) => v.valid !== true);
  const first = failing[0]?.explanation.split('\n').slice(0, 6) ?? [];
  return [
    `caught on seed ${c.seed} (after ${c.tried} other seeds) by ${failing.map((v) => `${v.checker} (${v.summary})`).join(', ')}`,
    `replay: ${c.faulty.replay}`,
    `the same seed without the switch passes: ${c.control.replay}`,
    ...first,
  ];
}
