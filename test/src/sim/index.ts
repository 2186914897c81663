/**
 * `@flotilla/verification/sim`: the deterministic simulation. {@link planRun} expands
 * `(workload, seed, options)` into a {@link RunSpec}; {@link runSimulation} runs it (a whole KV
 * cluster, clients, nemesis and checkers on simulated time) and returns the verdicts, the
 * history and logs, and the command that replays it.
 *
 * @example
 * ```ts
 * import { planRun, runSimulation } from '@flotilla/verification/sim';
 *
 * const result = await runSimulation(planRun('register', 42));
 * console.log(result.valid, result.replay); // true 'pnpm soak --workload register --seed 42'
 * ```
 *
 * @packageDocumentation
 */
export { driveUntil, type Tracked, track } from './driver.js';
export { NodeClock } from './node-clock.js';
export {
  FAULT_NAMES,
  type FaultName,
  type PlanOptions,
  PROFILES,
  type ProfileName,
  planRun,
  type RunFaults,
  type RunSpec,
  replayCommand,
} from './plan.js';
export { RaftObserver, type RaftVerdict } from './raft-observer.js';
export { artifactsOf, describeFailure, summaryOf, writeRun } from './report.js';
export { type RunResult, type RunStats, runIdOf, runSimulation } from './run.js';
export {
  type MemberState,
  type SimClusterOptions,
  type SimFaults,
  SimKvCluster,
  type SimNodeSettings,
} from './sim-cluster.js';
