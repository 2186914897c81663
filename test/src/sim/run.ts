/**
 * One deterministic simulated run: a KV cluster, a workload's clients, a nemesis schedule and
 * every checker, in one process on simulated time, from one seed.
 *
 * Phases: start the founders and wait for a leader; **load** (clients run while the nemesis
 * follows its schedule) for `loadMs`; clients finish their operation in flight; **heal** (every
 * fault ends, crashed members restart) and wait for a leader; **final** operations (reads of
 * every key, watchers catching up); wait until every member applied the same log and compare
 * their stores; stop; **check** the history and logs, and report the Raft invariants observed
 * throughout.
 */
import { seededRandom } from '@flotilla/raft';
import type { LockLogLine, SessionRevocation } from '../checkers/lock/log.js';
import { combineValidity, type Validity } from '../checkers/result.js';
import { closeOpenOperations } from '../history/close-open.js';
import { HistoryRecorder } from '../history/recorder.js';
import type { WatchLogLine } from '../history/watch-log.js';
import { type NemesisLogLine, SimNemesis } from '../nemesis/sim-nemesis.js';
import { makeWorkload } from '../workloads/index.js';
import { judge, type RunRecord, type Verdict } from '../workloads/judge.js';
import type { WorkloadHost } from '../workloads/types.js';
import { driveUntil, track } from './driver.js';
import { NodeClock } from './node-clock.js';
import { type RunSpec, replayCommand } from './plan.js';
import { SimKvCluster } from './sim-cluster.js';

/** Counts of a run. */
export interface RunStats {
  readonly ops: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  /** Simulated ms from start to stop. */
  readonly simMs: number;
  /** Messages the network delivered (see {@link messageBudget}). */
  readonly messages: number;
}

/** What a run produced. */
export interface RunResult {
  /** `<workload>-<seed>` plus the profile and faults when not default. */
  readonly runId: string;
  readonly spec: RunSpec;
  /** True when every verdict is; false when one is false; else unknown. */
  readonly valid: Validity;
  readonly verdicts: readonly Verdict[];
  readonly record: RunRecord;
  readonly nemesisLog: readonly NemesisLogLine[];
  /** Things that went wrong without being a checker's verdict (shown under `liveness`). */
  readonly problems: readonly string[];
  readonly stats: RunStats;
  /** The one-line command that replays this run. */
  readonly replay: string;
}

/** A run id: `register-42`, `lock-7-client-pauses-lock-no-recheck`. */
export function runIdOf(spec: RunSpec): string {
  return [
    spec.workload,
    String(spec.seed),
    ...(spec.profile === 'default' ? [] : [spec.profile]),
    ...spec.faultNames,
  ].join('-');
}

/** Runs `spec` (see the module notes). Deterministic: the same spec gives the same result. */
export async function runSimulation(spec: RunSpec): Promise<RunResult> {
  const root = seededRandom(spec.seed ^ 0x5bd1e995);
  const problems: string[] = [];
  const revocationListeners = new Set<(r: Omit<SessionRevocation, 'type'>) => void>();
  const revoked = new Set<number>();
  const cluster = new SimKvCluster({
    rng: root.fork(),
    founders: spec.founders,
    node: spec.node,
    delayMs: spec.delayMs,
    fsyncMs: spec.fsyncMs,
    segmentBytes: spec.segmentBytes,
    faults: spec.faults,
    problem: (p) => problems.push(p),
    onStart: (_id, node) => {
      node.stateMachine.lessor.subscribe((ev) => {
        if (ev.type !== 'revoke' || revoked.has(ev.id)) return;
        revoked.add(ev.id);
        for (const l of revocationListeners) l({ time: nowNs(), session: ev.id, revision: ev.revision });
      });
    },
  });
  const clock = cluster.clock;
  const t0 = clock.now();
  const nowNs = (): number => Math.floor((clock.now() - t0) * 1e6);
  const recorder = new HistoryRecorder({ clock: nowNs });
  const watchLog: WatchLogLine[] = [];
  const lockLog: LockLogLine[] = [];
  const clientClocks: NodeClock[] = [];
  const workloadRng = root.fork();
  const nemesisRng = root.fork();
  let stopping = false;
  let nextProcess = 1000;
  const host: WorkloadHost = {
    rng: workloadRng,
    recorder,
    watchLog,
    lockLog,
    nowNs,
    endpoints: () => cluster.endpoints(),
    clientClock: () => {
      const c = new NodeClock(clock);
      clientClocks.push(c);
      return c;
    },
    freshProcess: () => nextProcess++,
    get stopping() {
      return stopping;
    },
    opTimeoutMs: spec.opTimeoutMs,
    problem: (what) => problems.push(what),
    onLeaseRevoked: (listener) => {
      revocationListeners.add(listener);
      return () => revocationListeners.delete(listener);
    },
  };
  const workload = makeWorkload(spec.workload, {
    leaseTtlS: spec.leaseTtlS,
    ...(spec.clients === undefined ? {} : { clients: spec.clients }),
    ...(spec.faults.lock === undefined ? {} : { lockFaults: spec.faults.lock }),
  });
  const nemesis = new SimNemesis({
    cluster,
    rng: nemesisRng,
    baseDelayMs: spec.delayMs,
    baseVoters: spec.founders.length,
    pauseClient: (ms) => {
      const idle = clientClocks.filter((c) => !c.paused);
      if (idle.length === 0) return undefined;
      const c = nemesisRng.pick(idle);
      c.pause();
      clock.setTimeout(() => c.resume(), ms);
      return `paused client clock #${clientClocks.indexOf(c)} for ${ms} ms`;
    },
  });

  // Start: founders up, a leader elected.
  const started = track(cluster.startFounders());
  if (!(await driveUntil(clock, () => started.done && cluster.leader() !== undefined, 10_000)))
    problems.push('no leader within 10 s of the start');

  // Load. A run whose members exchange messages endlessly (a damaged log a leader keeps
  // probing, only ever seen with a fault switch armed) is cut short: it costs real time and the
  // checkers have what they need.
  const storm = { hit: false };
  const budget = messageBudget(spec);
  const drive = (until: () => boolean, maxMs: number): Promise<boolean> =>
    driveUntil(clock, () => storm.hit || until(), maxMs).then((ok) => ok && !storm.hit);
  const loadStart = clock.now();
  const clients = track(workload.run(host));
  const faults = track(nemesis.run(spec.schedule, () => stopping));
  const observing = { on: true };
  const observe = (): void => {
    if (!observing.on) return;
    cluster.observer.observeAll();
    if (!storm.hit && delivered(cluster) > budget) {
      storm.hit = true;
      problems.push(
        `message storm: more than ${budget} messages delivered by ${Math.round(clock.now() - t0)} ms; run cut short`,
      );
    }
    clock.setTimeout(observe, 25);
  };
  observe();
  await drive(() => clock.now() - loadStart >= spec.loadMs || clients.done, spec.loadMs + 10);
  stopping = true;
  if (!(await drive(() => clients.done, 30_000)) && !storm.hit)
    problems.push('clients did not finish within 30 s');
  if (clients.failed) throw clients.error;

  // Heal, then final operations.
  await drive(() => faults.done, 5_000);
  const healed = track(nemesis.heal());
  for (const c of clientClocks) c.resume();
  if (!(await drive(() => healed.done, 30_000)) && !storm.hit)
    problems.push('members did not restart within 30 s');
  if (!(await drive(() => cluster.leader() !== undefined, 15_000)) && !storm.hit)
    problems.push('no leader within 15 s of healing');
  if (!storm.hit) {
    const finished = track(workload.finish(host));
    if (!(await drive(() => finished.done, 120_000)) && !storm.hit)
      problems.push('final operations did not finish');
    if (finished.failed) throw finished.error;
  }

  // Convergence: every member applies the same log; then compare their stores.
  const converged = (): boolean => {
    const leader = cluster.leader();
    if (leader === undefined) return false;
    const st = leader.replica.status();
    // Members of the configuration only: a member whose addition did not take effect never syncs.
    const members = [...st.members.voters, ...st.members.learners];
    return members.every((id) => cluster.node(id)?.replica.appliedIndex === st.commit);
  };
  // A run already found broken gets a short wait: a member whose log was damaged can keep the
  // leader probing it forever, which costs much real time and proves nothing more.
  const broken = problems.length > 0 || !cluster.observer.verdict().valid;
  if (!(await drive(converged, broken ? 1_000 : 5_000)) && !storm.hit) {
    problems.push(`members did not converge after the final operations: ${describeMembers(cluster)}`);
  }
  cluster.observer.observeAll();
  cluster.observer.digestAll();
  observing.on = false;
  const closed = track(cluster.close());
  await driveUntil(clock, () => closed.done, 10_000);

  // Check.
  const record: RunRecord = { history: closeOpenOperations(recorder.events), watchLog, lockLog };
  const verdicts = [
    ...judge(workload.checkers, record, { leaseClockSkewNs: spec.leaseClockSkewNs }),
    raftVerdict(cluster),
    livenessVerdict(problems),
  ];
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const e of recorder.events) {
    if (e.type === 'ok') ok++;
    else if (e.type === 'fail') fail++;
    else if (e.type === 'info') info++;
  }
  return {
    runId: runIdOf(spec),
    spec,
    valid: combineValidity(verdicts.map((v) => v.valid)),
    verdicts,
    record,
    nemesisLog: nemesis.log,
    problems,
    stats: {
      ops: ok + fail + info,
      ok,
      fail,
      info,
      simMs: Math.round(clock.now() - t0),
      messages: delivered(cluster),
    },
    replay: replayCommand(spec),
  };
}

/** Each running member's role, term, commit and applied index (for a problem report). */
function describeMembers(cluster: SimKvCluster): string {
  return cluster.ids
    .map((id) => {
      const st = cluster.node(id)?.replica.status();
      if (st === undefined) return `${id}: ${cluster.stateOf(id)}`;
      return `${id}: ${st.raftState} term ${st.term} commit ${st.commit} applied ${st.applied} voters ${st.members.voters.join('/')} learners ${st.members.learners.join('/') || '-'}`;
    })
    .join('; ');
}

/**
 * Messages a run may deliver before it counts as a storm (a normal run delivers under 50,000).
 *
 * Runs with one entry per message (`maxSizePerMsg: 0`) get more. On this network, which
 * reorders, catching a member up then costs messages in proportion to the entries it lacks
 * times the in-flight window (`maxInflightMsgs`, 256): an append that overtakes an earlier one is
 * rejected, the rejection sends the leader back to probing, and the next acceptance resends the
 * whole window from the follower's match. etcd-io/raft's flow control behaves the same; the TCP
 * transport keeps each peer's messages in order, so only the simulation pays it. Register seed
 * 40224 (default profile) added three learners that way and delivered 420,000 messages, then
 * passed every check; a truly endless exchange (a damaged log probed forever) still ends the
 * run, about half a minute of real time later.
 */
function messageBudget(spec: RunSpec): number {
  return spec.node.raft?.maxSizePerMsg === 0 ? 2_000_000 : 400_000;
}

function delivered(cluster: SimKvCluster): number {
  let n = 0;
  for (const c of Object.values(cluster.net.stats().delivered)) n += c;
  return n;
}

function raftVerdict(cluster: SimKvCluster): Verdict {
  const v = cluster.observer.verdict();
  const s = v.stats;
  const counts = `${s.leaders} leader terms, ${s.committed} entries committed, ${s.applied} applied`;
  if (v.valid) {
    return {
      checker: 'raft',
      valid: true,
      summary: 'ok',
      explanation: `raft invariants: VALID\n  ${counts}; election safety, log agreement, leader completeness, state machine safety, equal stores`,
    };
  }
  return {
    checker: 'raft',
    valid: false,
    summary: v.violation?.invariant ?? 'violation',
    explanation: `raft invariants: INVALID\n  ${counts}\n  first of ${v.violations} violations: ${v.violation?.message ?? ''}`,
  };
}

function livenessVerdict(problems: readonly string[]): Verdict {
  if (problems.length === 0) {
    return {
      checker: 'liveness',
      valid: true,
      summary: 'ok',
      explanation: 'liveness: the cluster recovered after healing',
    };
  }
  return {
    checker: 'liveness',
    valid: false,
    summary: `${problems.length} problem(s)`,
    explanation: ['liveness: INVALID', ...problems.map((p) => `  ${p}`)].join('\n'),
  };
}
