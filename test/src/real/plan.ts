/**
 * From `(workload, seed, options)` to a real-mode run: cluster size, member settings, client
 * timing, and the nemesis schedule in the simulation's format (`generateSchedule`), stretched
 * to real time.
 *
 * Time scale: the simulation runs Raft with 10 ms ticks; real members run with 50 ms ticks
 * (election timeout 500 ms: short enough for many elections in a minute, long enough that two
 * shared cores running several members do not elect all the time). The schedule is generated
 * for `loadMs / timeScale` and every time in it multiplied by `timeScale` (5), so faults last
 * as many election timeouts as they do in the simulation. Clock steps and rates are not scaled.
 *
 * Unlike a simulated run, a real run is not a pure function of its seed (the OS schedules the
 * processes): the seed fixes the schedule, the client choices and the proxy's random draws, so
 * a failing seed is a good start for a replay, not an exact one.
 */
import { type Random, seededRandom } from '@flotilla/raft';
import { type FaultKind, generateSchedule, type NemesisSchedule } from '../nemesis/schedule.js';
import type { WorkloadName } from '../workloads/types.js';

/** Fault families real mode can execute (no `transfer`, no `disk`; see `nemesis.ts`). */
export const REAL_FAULT_KINDS: readonly FaultKind[] = [
  'partition',
  'loss',
  'duplicate',
  'delay',
  'crash',
  'pause',
  'clock',
  'membership',
  'client-pause',
];

/**
 * The families a workload draws from when `--nemesis` is not given: 2 to 4 of them per run,
 * chosen by the seed (as the simulation's default profile does), so each run has fault-free
 * moments to show recoveries; lock and lease runs always pause clients (a session must be able
 * to expire under its holder).
 */
const POOL: Readonly<Record<WorkloadName, readonly FaultKind[]>> = {
  register: ['partition', 'loss', 'duplicate', 'delay', 'crash', 'pause', 'clock', 'membership'],
  'list-append': ['partition', 'loss', 'duplicate', 'delay', 'crash', 'pause', 'clock', 'membership'],
  watch: ['partition', 'loss', 'duplicate', 'delay', 'crash', 'pause', 'membership'],
  lock: ['partition', 'loss', 'crash', 'pause', 'clock'],
  lease: ['partition', 'loss', 'crash', 'pause', 'clock'],
};

/** The default families of a run (see {@link POOL}). */
function defaultKinds(workload: WorkloadName, rng: Random): FaultKind[] {
  const pool = [...POOL[workload]];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [pool[i], pool[j]] = [pool[j] as FaultKind, pool[i] as FaultKind];
  }
  const kinds = pool.slice(0, rng.int(2, 5));
  if (workload === 'lock' || workload === 'lease') kinds.push('client-pause');
  return kinds;
}

/** Everything a real run needs. */
export interface RealRunSpec {
  readonly seed: number;
  readonly workload: WorkloadName;
  /** Founding members' ids. */
  readonly founders: readonly number[];
  /** Length of the load phase (ms). */
  readonly loadMs: number;
  /** Extra `flotilla member` arguments. */
  readonly memberArgs: readonly string[];
  /** Raft tick of the members (ms). */
  readonly tickMs: number;
  /** Client-side deadline of one operation (ms). */
  readonly opTimeoutMs: number;
  /** Lease TTL the lease and lock workloads ask for (s). */
  readonly leaseTtlS: number;
  /** The lease checker's allowance for clock drift and steps (ns). */
  readonly leaseClockSkewNs: number;
  readonly timeScale: number;
  readonly schedule: NemesisSchedule;
  /** The command line that runs this again (same seed, workload, length, size, nemeses). */
  readonly replay: string;
}

/** Options of {@link planRealRun}. */
export interface RealPlanOptions {
  /** Load phase length in seconds (default 60). */
  readonly seconds?: number;
  readonly members?: 3 | 5;
  /** Fault families (default: 2-4 of the workload's, drawn from the seed); `[]` for none. */
  readonly nemeses?: readonly FaultKind[];
}

/** The time scale between simulated and real schedules (see the module notes). */
export const TIME_SCALE = 5;
/**
 * Gaps between faults are twice the simulation's: a killed member takes 1.5-5 s to start again
 * on a busy machine (the simulation restarts it instantly), and without the extra quiet time a
 * run with crashes would rarely see the whole cluster up.
 */
const GAP_SCALE = 2;
const TICK_MS = 50;
const ELECTION_TICKS = 10;

/** Plans a real run (see the module notes). */
export function planRealRun(workload: WorkloadName, seed: number, o: RealPlanOptions = {}): RealRunSpec {
  const rng = seededRandom(seed ^ 0x3c6ef372);
  const seconds = o.seconds ?? 60;
  const loadMs = Math.round(seconds * 1000);
  const members = o.members ?? 3;
  const kinds = o.nemeses === undefined ? defaultKinds(workload, rng.fork()) : [...o.nemeses];
  const leaseTtlS = 2 + rng.int(0, 2);
  const rates: [number, number] = [0.95, 1.05];
  const maxJumpMs = 150;
  const snapshotCount = rng.pick([200, 1000]);
  const raw = generateSchedule(rng.fork(), {
    kinds,
    durationMs: loadMs / TIME_SCALE,
    intensity: GAP_SCALE,
    leaseTtlMs: (leaseTtlS * 1000) / TIME_SCALE,
    maxJumpMs,
    rates,
  });
  const schedule: NemesisSchedule = {
    kinds: raw.kinds,
    durationMs: loadMs,
    events: raw.events.map((e) => {
      const at = Math.round(e.at * TIME_SCALE);
      return e.type === 'pause-client' ? { ...e, at, ms: Math.round(e.ms * TIME_SCALE) } : { ...e, at };
    }),
  };
  // A member clock up to 5% fast ends a TTL that much early; every forward step ends it earlier.
  const driftMs = kinds.includes('clock') ? Math.ceil((rates[1] - 1) * leaseTtlS * 1000) + 20 : 0;
  const jumps = schedule.events.reduce((sum, e) => sum + (e.type === 'jump' ? e.ms : 0), 0);
  const nemesisFlag =
    o.nemeses === undefined ? [] : [`--nemesis ${kinds.length === 0 ? 'none' : kinds.join(',')}`];
  return {
    seed,
    workload,
    founders: Array.from({ length: members }, (_, i) => i + 1),
    loadMs,
    tickMs: TICK_MS,
    memberArgs: [
      '--tick-ms',
      String(TICK_MS),
      '--election-ticks',
      String(ELECTION_TICKS),
      '--snapshot-count',
      String(snapshotCount),
      '--log-level',
      'info',
    ],
    opTimeoutMs: 3000,
    leaseTtlS,
    leaseClockSkewNs: (driftMs + jumps) * 1e6,
    timeScale: TIME_SCALE,
    schedule,
    replay: [
      `pnpm jepsen --workload ${workload} --seed ${seed} --seconds ${seconds}`,
      ...(members === 3 ? [] : [`--members ${members}`]),
      ...nemesisFlag,
    ].join(' '),
  };
}
