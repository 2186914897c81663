import { type NodeId, type RawNode, seededRandom } from '@flotilla/raft';
import {
  compact,
  crash,
  heal,
  hostWork,
  partition,
  propose,
  readIndex,
  refreshSnapshot,
  restart,
  transfer,
} from './actions.js';
import { type BrokenDriver, SimCluster } from './cluster.js';
import { InvariantViolation } from './invariants.js';
import { proposeMembershipChange } from './membership.js';
import { describeProfile, drawProfile, type SimProfile } from './profile.js';

/** Options of one simulation run. */
export interface SimOptions {
  /** Steps of the fault phase (default 2500). */
  readonly steps?: number;
  /** Drive the cluster with a deliberately wrong host (see {@link BrokenDriver}). */
  readonly broken?: BrokenDriver;
  /** Receives every trace line (for replays). */
  readonly trace?: (line: string) => void;
  /** Called with the cluster before it starts (to instrument it while debugging a seed). */
  readonly setup?: (c: SimCluster) => void;
  /** Fixes parts of the seed's profile (for example to force heavy churn). */
  readonly profile?: Partial<SimProfile>;
}

/** What a passing run exercised. */
export interface SimResult {
  readonly seed: number;
  readonly profile: SimProfile;
  /** Ticks of simulated time in the fault phase. */
  readonly faultTicks: number;
  /** Ticks the healed cluster needed to elect a leader and commit a new proposal. */
  readonly livenessTicks: number;
  readonly leaderTerms: number;
  readonly committed: number;
  readonly applied: number;
  readonly readsServed: number;
  readonly counts: SimCluster['counts'];
}

/** The one-line command that replays seed `seed` with a full trace. */
export function replayCommand(seed: number, broken?: BrokenDriver): string {
  const b = broken === undefined ? '' : ` --broken ${broken}`;
  return `node --conditions=@flotilla/source --import tsx packages/raft/test/sim/soak.ts --seed ${seed} --trace${b}`;
}

/** A failed run: the seed, the profile, the violation and the last trace lines. */
export class SimFailure extends Error {
  readonly seed: number;
  readonly violation: unknown;
  constructor(
    seed: number,
    profile: SimProfile,
    violation: unknown,
    recent: readonly string[],
    broken?: BrokenDriver,
  ) {
    const what = violation instanceof Error ? (violation.stack ?? violation.message) : String(violation);
    super(
      [
        `simulation seed ${seed} failed: ${violation instanceof Error ? violation.message : String(violation)}`,
        `replay: ${replayCommand(seed, broken)}`,
        `   or: SEED=${seed} node --conditions=@flotilla/source --import tsx --test packages/raft/test/sim/sim.test.ts`,
        `profile: ${describeProfile(profile)}`,
        'last events:',
        ...recent.map((l) => `  ${l}`),
        what,
      ].join('\n'),
    );
    this.name = 'SimFailure';
    this.seed = seed;
    this.violation = violation;
  }

  /** True when the run failed on a Raft property (rather than a crash of the harness or core). */
  get isInvariantViolation(): boolean {
    return this.violation instanceof InvariantViolation;
  }
}

/**
 * Runs one seeded simulation: a fault phase of random steps (ticks, deliveries, host work,
 * proposals, reads, crashes, restarts, partitions, transfers, membership changes, compactions)
 * with every invariant checked after each step, then a healing phase that must elect a leader
 * and commit a new proposal within a bounded number of ticks. Throws {@link SimFailure}.
 */
export function runSimulation(seed: number, opts: SimOptions = {}): SimResult {
  const rng = seededRandom(seed);
  const profile = drawProfile(rng, opts.profile);
  const c = new SimCluster(seed, rng.fork(), profile, opts.broken, opts.trace);
  try {
    opts.setup?.(c);
    c.bootstrap();
    faultPhase(c, opts.steps ?? 2500);
    const faultTicks = c.time;
    const livenessTicks = healingPhase(c);
    const st = c.inv.stats;
    return {
      seed,
      profile,
      faultTicks,
      livenessTicks,
      leaderTerms: c.inv.leaderTerms,
      committed: st.committed,
      applied: st.applied,
      readsServed: st.readsServed,
      counts: c.counts,
    };
  } catch (err) {
    throw new SimFailure(seed, profile, err, c.recent, opts.broken);
  }
}

function faultPhase(c: SimCluster, steps: number): void {
  const p = c.profile;
  for (let step = 0; step < steps; step++) {
    const down = c.down();
    const partitioned = c.groups.size > 0;
    const weights: [string, number][] = [
      ['tick', Number(process.env.SIM_TICK ?? 5)],
      ['deliver', 40],
      ['host', 34],
      ['propose', 6],
      ['read', 2],
      ['crash', p.crash * 0.15 * p.churn],
      ['restart', down.length > 0 ? 3 * p.churn : 0],
      ['partition', partitioned ? 0 : p.partition * 0.15],
      ['heal', partitioned ? 1 : 0],
      ['transfer', p.transfer * 0.15],
      ['conf', p.confChange * 0.2],
      ['compact', p.compact * 0.4],
    ];
    const action = pickWeighted(c, weights);
    switch (action) {
      case 'tick':
        c.tick();
        break;
      case 'deliver':
        if (!c.deliverOne()) c.tick();
        break;
      case 'host':
        hostWork(c);
        break;
      case 'propose':
        propose(c);
        break;
      case 'read':
        readIndex(c);
        break;
      case 'crash': {
        // Half the time the leader: that is what forces elections with uncommitted tails.
        const lead = c.leader();
        const live = c.live();
        if (lead !== undefined && c.rng.chance(0.5)) crash(c, lead.n);
        else if (live.length > 0) crash(c, c.rng.pick(live));
        break;
      }
      case 'restart':
        restart(c, c.rng.pick(down));
        break;
      case 'partition':
        partition(c);
        break;
      case 'heal':
        heal(c);
        break;
      case 'transfer':
        transfer(c);
        break;
      case 'conf':
        proposeMembershipChange(c);
        break;
      case 'compact': {
        const live = c.live();
        if (live.length > 0) compact(c, c.rng.pick(live));
        break;
      }
    }
    c.observe();
  }
}

function pickWeighted(c: SimCluster, weights: readonly [string, number][]): string {
  let total = 0;
  for (const [, w] of weights) total += w;
  let x = c.rng.next() * total;
  for (const [name, w] of weights) {
    if (x < w) return name;
    x -= w;
  }
  return 'tick';
}

/**
 * Liveness (thesis §3.4 assumptions: eventually a stable network and a quorum of live members):
 * heal the network, restart every crashed member, stop losing, duplicating and delaying
 * messages, shut down members that were removed from the configuration; then a leader must be
 * elected and a new proposal committed within `50 × electionTick` ticks. Returns the ticks used.
 */
function healingPhase(c: SimCluster): number {
  c.trace('--- healing ---');
  c.faults = false;
  heal(c);
  for (const n of c.down()) restart(c, n);
  // Fresh snapshots, so a member added late can be caught up with one that includes it.
  for (const n of c.live()) {
    while (n.pending.length > 0) c.persist(n);
    compact(c, n);
  }
  const marker = `live${c.seed}`;
  const bound = 50 * c.profile.electionTick;
  let proposedAt = Number.NEGATIVE_INFINITY;
  let proposedIn = 0;
  for (let t = 1; t <= bound; t++) {
    c.tick();
    // Snapshots on demand, as etcd's server builds the one it sends from its current state: a
    // member added by a change applied after the last snapshot refuses a snapshot whose
    // configuration does not contain it, and would otherwise wait for the next one forever.
    for (const n of c.live()) refreshSnapshot(n);
    pump(c);
    c.observe();
    const lead = c.leader();
    if (lead === undefined) continue;
    const cfg = lead.s.config;
    // Members no longer in the configuration shut down (a removed process would be stopped).
    const members = new Set<NodeId>([
      ...cfg.voters,
      ...cfg.votersOutgoing,
      ...cfg.learners,
      ...cfg.learnersNext,
    ]);
    for (const n of c.live()) {
      if (!members.has(n.id)) {
        n.retired = true;
        c.trace(`retire ${n.id}`);
      }
    }
    const raft = lead.n.raft as RawNode;
    if (cfg.votersOutgoing.length > 0 && !cfg.autoLeave)
      c.quietly(() => raft.proposeConfChange({ changes: [] }));
    if (c.markers.has(marker)) return t;
    // Propose once per leader term, and again if it did not commit within an election timeout
    // (a proposal can be dropped, for example during a leadership transfer).
    if (proposedIn !== lead.s.term || t - proposedAt > c.profile.electionTick) {
      c.quietly(() => raft.propose(new TextEncoder().encode(marker)));
      proposedIn = lead.s.term;
      proposedAt = t;
    }
  }
  throw c.livenessFailure(`no leader committed a new proposal within ${bound} ticks after healing`);
}

/** Delivers everything and handles every Ready until the cluster is quiet (bounded). */
function pump(c: SimCluster): void {
  for (let round = 0; round < 100; round++) {
    let busy = false;
    for (const n of c.live()) {
      while (n.pending.length > 0) c.persist(n);
      const raft = n.raft as RawNode;
      while (raft.hasReady()) {
        c.takeReady(n, true);
        busy = true;
      }
    }
    while (c.deliverOne()) busy = true;
    c.observe();
    if (!busy) return;
  }
}
