/**
 * One real-mode run: `flotilla member` processes behind the fault proxy, a workload's clients
 * over `KvClient`, the nemesis schedule executed with the proxy, signals and the CLI, and the
 * same checkers as the simulation (`workloads/judge.ts`), plus what real mode can check of Raft
 * from outside (`observer.ts`) and the stores' convergence (`convergence.ts`).
 *
 * Phases (the simulation's): start the founders, wait for a leader; **load** for `loadMs` while
 * the nemesis follows its schedule; clients finish their operation in flight; **heal** (network
 * healed, members resumed, clocks reset, killed members restarted) and wait for a leader;
 * **final** operations; wait until every member applied the same log and compare their stores;
 * stop the members (SIGTERM) and read their WALs; **check**. Members, proxy and temp dir are
 * removed at the end whatever happens.
 */
import { readFileSync } from 'node:fs';
import { seededRandom } from '@flotilla/raft';
import { systemClock } from '@flotilla/replica';
import type { LockLogLine } from '../checkers/lock/log.js';
import { combineValidity, type Validity } from '../checkers/result.js';
import { closeOpenOperations } from '../history/close-open.js';
import { HistoryRecorder } from '../history/recorder.js';
import type { WatchLogLine } from '../history/watch-log.js';
import type { NemesisEvent } from '../nemesis/schedule.js';
import type { NemesisLogLine } from '../nemesis/sim-nemesis.js';
import { NodeClock } from '../sim/node-clock.js';
import { makeWorkload } from '../workloads/index.js';
import { judge, type RunRecord, type Verdict } from '../workloads/judge.js';
import type { WorkloadHost } from '../workloads/types.js';
import { RealCluster } from './cluster.js';
import { checkConvergence } from './convergence.js';
import { RealNemesis } from './nemesis.js';
import { checkDurableLogs, StatusObserver } from './observer.js';
import type { RealRunSpec } from './plan.js';
import { RevocationPoller } from './revocations.js';

/** Counts and figures of a real run. */
export interface RealRunStats {
  readonly ops: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  /** Wall time from the first member starting to the checkers' end (ms). */
  readonly wallMs: number;
}

/** What a real run produced. */
export interface RealRunResult {
  /** `real-<workload>-<seed>`. */
  readonly runId: string;
  readonly spec: RealRunSpec;
  readonly valid: Validity;
  readonly verdicts: readonly Verdict[];
  readonly record: RunRecord;
  readonly nemesisLog: readonly NemesisLogLine[];
  /** The nemesis events as they took effect (`at`: when their action finished), for the chart. */
  readonly executed: readonly NemesisEvent[];
  /** When the final heal finished (ms since the load started); undefined if it never ran. */
  readonly healedAt: number | undefined;
  readonly problems: readonly string[];
  readonly stats: RealRunStats;
  /** Each member's log, by name (the artifacts keep them). */
  readonly memberLogs: ReadonlyMap<string, string>;
}

/** Options of {@link runReal}. */
export interface RunRealOptions {
  /** Progress lines (phases, problems) as they happen. */
  readonly progress?: (line: string) => void;
  /** A signal that aborts the run early (Ctrl-C): members are stopped and removed. */
  readonly signal?: AbortSignal;
}

/** Waits `ms`, or less if `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves with true when `p` settles within `ms`, false otherwise (`p` keeps running). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `spec` (see the module notes). */
export async function runReal(spec: RealRunSpec, o: RunRealOptions = {}): Promise<RealRunResult> {
  const say = o.progress ?? (() => {});
  const started = Date.now();
  const root = seededRandom(spec.seed ^ 0x5bd1e995);
  const proxyRng = root.fork();
  const problems: string[] = [];
  const problem = (p: string): void => {
    problems.push(p);
    say(`problem: ${p}`);
  };
  say(`starting ${spec.founders.length} members`);
  const cluster = await RealCluster.create({
    founders: spec.founders,
    memberArgs: spec.memberArgs,
    requestTimeoutMs: spec.opTimeoutMs,
    random: () => proxyRng.next(),
  });
  const memberLogs = new Map<string, string>();
  const observer = new StatusObserver(cluster);
  let t0 = performance.now();
  const nowNs = (): number => Math.max(0, Math.floor((performance.now() - t0) * 1e6));
  const recorder = new HistoryRecorder({ clock: nowNs });
  const revocations = new RevocationPoller(cluster, recorder, nowNs);
  const watchLog: WatchLogLine[] = [];
  const lockLog: LockLogLine[] = [];
  const clientClocks: NodeClock[] = [];
  const workloadRng = root.fork();
  const nemesisRng = root.fork();
  let stopping = false;
  let nextProcess = 1000;
  let nemesis: RealNemesis | undefined;
  let raft: Verdict | undefined;
  const workload = makeWorkload(spec.workload, { leaseTtlS: spec.leaseTtlS });
  try {
    const leader = await observer.waitForLeader(30_000);
    if (leader === undefined) problem('no leader within 30 s of the start');
    else say(`member ${leader} leads; load for ${spec.loadMs / 1000} s`);
    observer.start();
    const host: WorkloadHost = {
      rng: workloadRng,
      recorder,
      watchLog,
      lockLog,
      nowNs,
      endpoints: () => cluster.endpoints(),
      clientClock: () => {
        const c = new NodeClock(systemClock);
        clientClocks.push(c);
        return c;
      },
      freshProcess: () => nextProcess++,
      get stopping() {
        return stopping;
      },
      opTimeoutMs: spec.opTimeoutMs,
      problem,
      onLeaseRevoked: (listener) => revocations.subscribe(listener),
    };
    const n = new RealNemesis({
      cluster,
      observer,
      rng: nemesisRng,
      baseVoters: spec.founders.length,
      pauseClient: (ms) => {
        const idle = clientClocks.filter((c) => !c.paused);
        if (idle.length === 0) return undefined;
        const c = nemesisRng.pick(idle);
        c.pause();
        setTimeout(() => c.resume(), ms);
        return `paused client clock #${clientClocks.indexOf(c)} for ${ms} ms`;
      },
    });
    nemesis = n;

    // Load: time 0 of the history and of the schedule.
    t0 = performance.now();
    let clientsDone = false;
    const clients = workload.run(host).finally(() => {
      clientsDone = true;
    });
    clients.catch(() => {});
    const faults = n.run(spec.schedule, () => stopping || o.signal?.aborted === true);
    const loadEnd = Date.now() + spec.loadMs;
    while (!clientsDone && Date.now() < loadEnd && o.signal?.aborted !== true) {
      await pause(Math.min(250, loadEnd - Date.now()), o.signal);
    }
    stopping = true;
    n.interrupt();
    say('load over; waiting for clients');
    if (!(await within(clients, 30_000))) problem('clients did not finish within 30 s');
    else await clients; // rethrows a harness bug (an unexpected error in a client loop)
    await faults;

    // Heal, then final operations.
    if (o.signal?.aborted !== true) {
      say('healing');
      for (const c of clientClocks) c.resume();
      if (!(await within(n.heal(), 60_000))) problem('healing (restarts) did not finish within 60 s');
      const healed = await observer.waitForLeader(30_000);
      if (healed === undefined) problem('no leader within 30 s of healing');
      say('final operations');
      const finished = workload.finish(host);
      finished.catch(() => {});
      if (!(await within(finished, 120_000))) problem('final operations did not finish within 120 s');
      else await finished;
      stopping = true;
    }

    // Convergence: the same log applied everywhere, the same stores.
    if (o.signal?.aborted !== true) {
      say('comparing the members');
      const conv = await checkConvergence(cluster, 20_000);
      say(`stores compared at revision ${conv.revision}; stopping the members`);
      if (!conv.converged) problem(`members did not converge after the final operations: ${conv.describe}`);
      for (const m of conv.mismatches) problem(`stores differ: ${m}`);
      for (const id of cluster.inState('down', 'starting')) problem(`member ${id} is not running at the end`);
      await observer.stop();
      await revocations.stop();
      await cluster.stopAll();
      say('reading their WALs');
      const logs = await checkDurableLogs(cluster, observer);
      for (const u of logs.unreadable) problem(`WAL unreadable after the run: ${u}`);
      raft = raftVerdict(observer, logs.read, conv.revision, conv.compared);
    }
  } finally {
    await observer.stop();
    await revocations.stop();
    for (const m of cluster.members.values()) {
      memberLogs.set(m.process.spec.name, readLog(m.process.logFile));
    }
    await cluster.destroy();
  }

  const record: RunRecord = { history: closeOpenOperations(recorder.events), watchLog, lockLog };
  const verdicts = [
    ...judge(workload.checkers, record, { leaseClockSkewNs: spec.leaseClockSkewNs }),
    ...(raft === undefined ? [] : [raft]),
    livenessVerdict(problems, o.signal?.aborted === true),
  ];
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const e of record.history) {
    if (e.type === 'ok') ok++;
    else if (e.type === 'fail') fail++;
    else if (e.type === 'info') info++;
  }
  return {
    runId: `real-${spec.workload}-${spec.seed}`,
    spec,
    valid: combineValidity(verdicts.map((v) => v.valid)),
    verdicts,
    record,
    nemesisLog: nemesis?.log ?? [],
    executed: [...(nemesis?.executed ?? [])].sort((a, b) => a.at - b.at),
    healedAt: nemesis?.healedAt,
    problems,
    stats: { ops: ok + fail + info, ok, fail, info, wallMs: Date.now() - started },
    memberLogs,
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function raftVerdict(
  observer: StatusObserver,
  logsRead: readonly number[],
  revision: number,
  compared: readonly number[],
): Verdict {
  const v = observer.verdict(logsRead);
  const what =
    `${v.polls} status polls, ${v.leaderTerms} leader terms seen; WALs of members ${logsRead.join(', ') || 'none'} ` +
    `read after the run (${v.committed} committed entries compared); stores of ${compared.join(', ') || 'none'} ` +
    `compared at revision ${revision}`;
  if (v.valid) {
    return {
      checker: 'raft',
      valid: true,
      summary: 'ok',
      explanation: `raft invariants (real mode): VALID\n  ${what}\n  election safety, term and applied-index monotonicity (polled), log matching and committed-prefix agreement (WALs)`,
    };
  }
  return {
    checker: 'raft',
    valid: false,
    summary: v.violation?.invariant ?? 'violation',
    explanation: `raft invariants (real mode): INVALID\n  ${what}\n  first of ${v.violations} violations: ${v.violation?.message ?? ''}`,
  };
}

function livenessVerdict(problems: readonly string[], aborted: boolean): Verdict {
  if (problems.length === 0 && !aborted) {
    return {
      checker: 'liveness',
      valid: true,
      summary: 'ok',
      explanation: 'liveness: the cluster recovered after healing',
    };
  }
  const all = aborted ? ['the run was interrupted', ...problems] : problems;
  return {
    checker: 'liveness',
    valid: false,
    summary: `${all.length} problem(s)`,
    explanation: ['liveness: INVALID', ...all.map((p) => `  ${p}`)].join('\n'),
  };
}
