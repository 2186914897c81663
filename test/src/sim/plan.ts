/**
 * From a seed to a complete run specification: cluster size, node settings, timing, the nemesis
 * schedule. A **profile** fixes some of these (a bite test's fault families, lease-based reads);
 * a **fault** arms a test-only switch. `(workload, seed, profile, faults)` names a run exactly:
 * the replay command a failing run prints is made of them.
 */
import type { LockFaults } from '@flotilla/lease/testing';
import { seededRandom } from '@flotilla/raft';
import {
  type FaultKind,
  generateSchedule,
  leaderChurnSchedule,
  type NemesisSchedule,
} from '../nemesis/schedule.js';
import type { WorkloadName } from '../workloads/types.js';
import type { SimFaults, SimNodeSettings } from './sim-cluster.js';

/** The test-only fault switches a run can arm, by name (see each package's `faults.ts`). */
export type FaultName =
  | 'ack-before-fsync'
  | 'local-reads'
  | 'no-step-down'
  | 'lock-no-recheck'
  | 'watch-off-by-one'
  | 'figure-8';

/** Every fault switch. */
export const FAULT_NAMES: readonly FaultName[] = [
  'ack-before-fsync',
  'local-reads',
  'no-step-down',
  'lock-no-recheck',
  'watch-off-by-one',
  'figure-8',
];

/** Switches armed in a run, per package. */
export interface RunFaults extends SimFaults {
  readonly lock?: LockFaults;
}

/** Named run shapes (nemesis families and settings); `default` draws them from the seed. */
export type ProfileName =
  | 'default'
  | 'partitions'
  | 'crashes'
  | 'lease-reads'
  | 'lease-reads-pauses'
  | 'client-pauses'
  | 'leader-churn';

/** Every profile. */
export const PROFILES: readonly ProfileName[] = [
  'default',
  'partitions',
  'crashes',
  'lease-reads',
  'lease-reads-pauses',
  'client-pauses',
  'leader-churn',
];

/** Everything a simulated run needs; a pure function of `(workload, seed, profile, faults)`. */
export interface RunSpec {
  readonly seed: number;
  readonly workload: WorkloadName;
  readonly profile: ProfileName;
  readonly faultNames: readonly FaultName[];
  readonly faults: RunFaults;
  readonly founders: readonly number[];
  readonly node: SimNodeSettings;
  readonly delayMs: readonly [number, number];
  readonly fsyncMs: readonly [number, number];
  readonly segmentBytes: number;
  /** Length of the load phase (simulated ms). */
  readonly loadMs: number;
  /** Client-side deadline of an operation (ms). */
  readonly opTimeoutMs: number;
  /** Client processes of the workload (undefined: the workload's default). */
  readonly clients?: number;
  /** The cluster size, when the caller forced it (it is then part of the replay command). */
  readonly forcedMembers?: 3 | 5;
  readonly schedule: NemesisSchedule;
  /** Lease TTL the lease and lock workloads ask for (s). */
  readonly leaseTtlS: number;
  /** The lease checker's skew allowance: drift over one TTL plus every clock step (ns). */
  readonly leaseClockSkewNs: number;
}

/** Overrides of {@link planRun} (the soak CLI and the tests). */
export interface PlanOptions {
  readonly profile?: ProfileName;
  readonly faults?: readonly FaultName[];
  /** Length of the load phase (default 3000 simulated ms). */
  readonly loadMs?: number;
  /** Force the cluster size. */
  readonly members?: 3 | 5;
}

/** Fault families each workload runs with under the default profile. */
const POOL: Readonly<Record<WorkloadName, readonly FaultKind[]>> = {
  register: [
    'partition',
    'loss',
    'duplicate',
    'delay',
    'crash',
    'pause',
    'clock',
    'membership',
    'transfer',
    'disk',
  ],
  'list-append': [
    'partition',
    'loss',
    'duplicate',
    'delay',
    'crash',
    'pause',
    'clock',
    'membership',
    'transfer',
    'disk',
  ],
  watch: ['partition', 'loss', 'duplicate', 'delay', 'crash', 'pause', 'membership', 'transfer', 'disk'],
  lock: ['partition', 'loss', 'crash', 'pause', 'clock', 'transfer', 'client-pause'],
  lease: ['partition', 'loss', 'crash', 'pause', 'clock', 'transfer', 'client-pause'],
};

function faultsOf(names: readonly FaultName[]): RunFaults {
  const raft: { leaderIgnoresQuorumLoss?: boolean; commitPreviousTermByCount?: boolean } = {};
  const kv: { readsSkipReadIndex?: boolean; watchResumeOffByOne?: boolean } = {};
  const out: { raft?: typeof raft; kv?: typeof kv; wal?: { ackBeforeFsync: boolean }; lock?: LockFaults } =
    {};
  for (const n of names) {
    if (n === 'ack-before-fsync') out.wal = { ackBeforeFsync: true };
    if (n === 'local-reads') kv.readsSkipReadIndex = true;
    if (n === 'watch-off-by-one') kv.watchResumeOffByOne = true;
    if (n === 'no-step-down') raft.leaderIgnoresQuorumLoss = true;
    if (n === 'figure-8') raft.commitPreviousTermByCount = true;
    if (n === 'lock-no-recheck') out.lock = { skipSessionRecheck: true };
  }
  if (Object.keys(raft).length > 0) out.raft = raft;
  if (Object.keys(kv).length > 0) out.kv = kv;
  return out;
}

/** A random subset of `pool` with between `min` and `max` elements. */
function subset<T>(rng: ReturnType<typeof seededRandom>, pool: readonly T[], min: number, max: number): T[] {
  const xs = [...pool];
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs.slice(0, rng.int(min, Math.min(max, xs.length) + 1));
}

/** The run specification of `(workload, seed, options)`. */
export function planRun(workload: WorkloadName, seed: number, options: PlanOptions = {}): RunSpec {
  const rng = seededRandom(seed);
  const profile = options.profile ?? 'default';
  const faultNames = [...(options.faults ?? [])];
  const loadMs = options.loadMs ?? 3000;
  let members: 3 | 5 = options.members ?? (rng.chance(0.3) ? 5 : 3);
  let kinds: FaultKind[];
  let readOnlyOption: 'safe' | 'leaseBased' = 'safe';
  const preVote = rng.chance(0.8);
  let intensity = 1;
  let maxSizePerMsg: number | undefined = rng.chance(0.2) ? 0 : undefined;
  let opTimeoutMs = 1500;
  let clients: number | undefined;
  switch (profile) {
    case 'default': {
      const pool = POOL[workload];
      kinds = subset(rng, pool, 1, 4);
      // Clients must be paused for locks and leases to expire under them.
      if ((workload === 'lock' || workload === 'lease') && !kinds.includes('client-pause') && rng.chance(0.6))
        kinds.push('client-pause');
      break;
    }
    case 'partitions':
      kinds = ['partition'];
      intensity = 0.6;
      break;
    case 'crashes':
      kinds = ['crash'];
      intensity = 0.6;
      break;
    case 'lease-reads':
      // Lease-based reads are safe only while clocks agree and leaders step down in time
      // (thesis §6.4.1): partitions only, no skew, no transfers, no restarts.
      kinds = ['partition'];
      readOnlyOption = 'leaseBased';
      intensity = 0.6;
      break;
    case 'lease-reads-pauses':
      // Lease-based reads with members paused like a SIGSTOPped process (mostly the leader):
      // a leader must not trust its lease after a pause longer than the lease.
      kinds = ['pause', 'partition'];
      readOnlyOption = 'leaseBased';
      intensity = 0.8;
      break;
    case 'client-pauses':
      kinds = ['client-pause'];
      intensity = 0.5;
      break;
    case 'leader-churn':
      // Short-lived leaders over slow links (see leaderChurnSchedule): one entry per message, so
      // a new leader's earlier-term entries and its own travel separately (Figure 8).
      kinds = ['partition', 'crash', 'delay'];
      members = options.members ?? 3;
      maxSizePerMsg = 0;
      // Many short requests, so every leader gets entries of its own term.
      opTimeoutMs = 600;
      clients = 12;
      break;
  }
  const leaseTtlS = 1 + rng.int(0, 2);
  const clockFaults = kinds.includes('clock');
  const rates: [number, number] = [0.9, 1.1];
  const maxJumpMs = 150;
  const scheduleRng = rng.fork();
  const schedule =
    profile === 'leader-churn'
      ? leaderChurnSchedule(scheduleRng, loadMs)
      : generateSchedule(scheduleRng, {
          kinds,
          durationMs: loadMs,
          intensity,
          leaseTtlMs: leaseTtlS * 1000,
          maxJumpMs,
          rates,
        });
  // A leader clock 10% fast ends a TTL 10% early; the leader adds this margin to deadlines.
  const driftMs = clockFaults ? Math.ceil((rates[1] - 1) * leaseTtlS * 1000) + 20 : 0;
  const jumps = schedule.events.reduce((sum, e) => sum + (e.type === 'jump' ? e.ms : 0), 0);
  const raft = {
    electionTick: 10,
    heartbeatTick: 1,
    preVote,
    checkQuorum: true,
    readOnlyOption,
    ...(maxSizePerMsg === undefined ? {} : { maxSizePerMsg }),
  };
  return {
    seed,
    workload,
    profile,
    faultNames,
    faults: faultsOf(faultNames),
    founders: members === 5 ? [1, 2, 3, 4, 5] : [1, 2, 3],
    node: {
      tickMs: 10,
      raft,
      requestTimeoutMs: 1000,
      snapshotEvery: rng.pick([0, 150, 400]),
      snapshotCatchUpEntries: 50,
      leaseCheckpointIntervalMs: 500,
      leaseClockSkewMs: driftMs,
    },
    delayMs: [1, 3],
    fsyncMs: [0.5, 3],
    segmentBytes: 256 * 1024,
    loadMs,
    opTimeoutMs,
    ...(clients === undefined ? {} : { clients }),
    ...(options.members === undefined ? {} : { forcedMembers: options.members }),
    schedule,
    leaseTtlS,
    leaseClockSkewNs: (driftMs + jumps) * 1e6,
  };
}

/** The one-line command that replays `spec` exactly. */
export function replayCommand(spec: RunSpec, loadMsDefault = 3000): string {
  const parts = [`pnpm soak --workload ${spec.workload} --seed ${spec.seed}`];
  if (spec.profile !== 'default') parts.push(`--profile ${spec.profile}`);
  for (const f of spec.faultNames) parts.push(`--fault ${f}`);
  if (spec.loadMs !== loadMsDefault) parts.push(`--load-ms ${spec.loadMs}`);
  if (spec.forcedMembers !== undefined) parts.push(`--members ${spec.forcedMembers}`);
  return parts.join(' ');
}
