/**
 * Runs a {@link NemesisSchedule} against a {@link SimKvCluster}: each event at its time on the
 * simulated clock, targets resolved when it runs ("the leader" is whoever leads then), and a log
 * of what every event actually did, for the report.
 *
 * What each event does in the simulation:
 * - `partition`: replaces the network faults with a shape over the members: `halves` (two random
 *   halves), `isolate-leader` / `isolate-one`, `bridge` (two halves that only one member hears
 *   both of), `ring` (a majority ring of one-way links: each member sends only to the next
 *   ⌊n/2⌋ members of a random ring, so each hears a majority that no other member shares);
 *   `heal` lifts them.
 * - `loss` / `duplicate` / `delay`: message loss and duplication rates, delay range (unequal
 *   delays reorder messages).
 * - `crash`: power loss of the leader, one member, a majority or all of them at once (unsynced
 *   writes dropped, torn, garbage or lost pages); `restart` brings every crashed or failed
 *   member back from its files.
 * - `pause` / `resume`: SIGSTOP/SIGCONT of a member (no ticks, no deliveries, requests held).
 * - `skew` / `jump` / `clock-reset`: a member's clock drifts, steps forward, drifts no more.
 * - `grow` / `promote` / `shrink`: add a learner and start it, promote it, remove a voter (or the
 *   learner) and retire it, through the KV API on a running member.
 * - `transfer`: the leader hands leadership to another voter.
 * - `disk`: the member's next fsync fails (its replica stops; `restart` revives it), or the
 *   power fails inside its next fsync.
 * - `pause-client`: a client process is paused (its session's keep-alives stop with it), so its
 *   lease can expire under it.
 */
import type { KvNode } from '@flotilla/kv';
import type { Random } from '@flotilla/raft';
import type { SimKvCluster } from '../sim/sim-cluster.js';
import { majorityRing } from './ring.js';
import {
  describeEvent,
  type NemesisEvent,
  type NemesisSchedule,
  type PartitionShape,
  type Target,
} from './schedule.js';

/** One line of the executed log: when, which event, what it did. */
export interface NemesisLogLine {
  /** Simulated ms since the load phase started. */
  readonly at: number;
  readonly event: string;
  readonly did: string;
}

/** Options of {@link SimNemesis}. */
export interface SimNemesisOptions {
  readonly cluster: SimKvCluster;
  readonly rng: Random;
  /** The message delay range when no delay fault is active. */
  readonly baseDelayMs: readonly [number, number];
  /** Number of voters the cluster was founded with (membership changes stay within +1 of it). */
  readonly baseVoters: number;
  /** Pauses a random client process for `ms`; returns what it paused, or undefined. */
  readonly pauseClient?: (ms: number) => string | undefined;
}

const TIMEOUT = { timeoutMs: 1000 };

/** Executes nemesis events on a simulated cluster. */
export class SimNemesis {
  readonly log: NemesisLogLine[] = [];
  private readonly o: SimNemesisOptions;
  private readonly c: SimKvCluster;
  private readonly rng: Random;
  readonly #pending = new Set<Promise<void>>();
  #start = 0;
  #growing = false;

  constructor(o: SimNemesisOptions) {
    this.o = o;
    this.c = o.cluster;
    this.rng = o.rng;
  }

  /** Runs `schedule` from now (the start of the load phase) until its last event or `stop()`. */
  async run(schedule: NemesisSchedule, stopped: () => boolean): Promise<void> {
    const clock = this.c.clock;
    this.#start = clock.now();
    for (const e of schedule.events) {
      const wait = this.#start + e.at - clock.now();
      if (wait > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, wait));
      if (stopped()) break;
      this.#apply(e);
    }
  }

  /** Ends every fault: network healed, rates and delays back, members resumed and restarted. */
  async heal(): Promise<void> {
    const c = this.c;
    c.net.heal();
    c.net.setDropRate(0);
    c.net.setDuplicateRate(0);
    c.net.setDelay(this.o.baseDelayMs[0], this.o.baseDelayMs[1]);
    for (const id of c.ids) {
      c.fsOf(id).clearFaults();
      if (c.isPaused(id)) c.resume(id);
      c.setRate(id, 1);
    }
    await this.#drain();
    await this.#restartAll();
    this.#note('heal', 'healed the network, resumed, reset clock rates, restarted crashed members');
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #background(what: string, work: () => Promise<string>): void {
    const p = work().then(
      (did) => this.#note(what, did),
      (err: unknown) => this.#note(what, `failed: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #note(event: string, did: string): void {
    this.log.push({ at: Math.round(this.c.clock.now() - this.#start), event, did });
  }

  #apply(e: NemesisEvent): void {
    const what = describeEvent(e);
    const c = this.c;
    switch (e.type) {
      case 'partition':
        this.#note(what, this.#partition(e.shape));
        return;
      case 'heal':
        c.net.heal();
        this.#note(what, 'healed the network');
        return;
      case 'loss':
        c.net.setDropRate(e.rate);
        this.#note(what, `drop rate ${e.rate}`);
        return;
      case 'duplicate':
        c.net.setDuplicateRate(e.rate);
        this.#note(what, `duplicate rate ${e.rate}`);
        return;
      case 'delay':
        c.net.setDelay(e.minMs, e.maxMs);
        this.#note(what, `delays ${e.minMs}-${e.maxMs} ms`);
        return;
      case 'crash': {
        const ids = this.#targets(e.who, c.inState('running', 'failed'));
        for (const id of ids) c.crash(id, e.writes === 'torn' ? 'torn' : undefined);
        this.#note(what, ids.length === 0 ? 'nobody to crash' : `crashed ${ids.join(', ')}`);
        return;
      }
      case 'restart':
        this.#background(what, async () => this.#restartAll());
        return;
      case 'pause': {
        const ids = this.#targets(
          e.who,
          c.running().filter((id) => !c.isPaused(id)),
        );
        for (const id of ids) c.pause(id);
        this.#note(what, ids.length === 0 ? 'nobody to pause' : `paused ${ids.join(', ')}`);
        return;
      }
      case 'resume': {
        const paused = c.ids.filter((id) => c.isPaused(id));
        for (const id of paused) c.resume(id);
        this.#note(what, paused.length === 0 ? 'nobody paused' : `resumed ${paused.join(', ')}`);
        return;
      }
      case 'skew': {
        const ids = this.#targets(e.who, c.running());
        for (const id of ids) c.setRate(id, e.rate);
        this.#note(what, `clock of ${ids.join(', ') || 'nobody'} runs at ${e.rate}`);
        return;
      }
      case 'jump': {
        const ids = this.#targets(e.who, c.running());
        for (const id of ids) c.jumpClock(id, e.ms);
        this.#note(what, `clock of ${ids.join(', ') || 'nobody'} stepped ${e.ms} ms forward`);
        return;
      }
      case 'clock-reset':
        for (const id of c.ids) c.setRate(id, 1);
        this.#note(what, 'every clock runs at rate 1');
        return;
      case 'grow':
        this.#background(what, () => this.#grow());
        return;
      case 'promote':
        this.#background(what, () => this.#promote());
        return;
      case 'shrink':
        this.#background(what, () => this.#shrink());
        return;
      case 'transfer': {
        const leader = c.leader();
        const others = c.voters().filter((id) => id !== leader?.id && c.node(id) !== undefined);
        if (leader === undefined || others.length === 0) {
          this.#note(what, 'no leader or no transferee');
          return;
        }
        const to = this.rng.pick(others);
        leader.replica.transferLeadership(to, TIMEOUT).catch(() => {});
        this.#note(what, `${leader.id} hands leadership to ${to}`);
        return;
      }
      case 'disk': {
        const [id] = this.#targets(e.who, c.running());
        if (id === undefined) {
          this.#note(what, 'nobody to fault');
          return;
        }
        const fs = c.fsOf(id);
        if (e.fault === 'fsync-error') fs.failNextSync(1);
        else {
          fs.setFaultHook((op) => {
            if (op.kind !== 'sync') return undefined;
            fs.setFaultHook(undefined);
            return { crash: 'before' };
          });
        }
        this.#note(what, `${e.fault} armed on ${id}`);
        return;
      }
      case 'pause-client': {
        const did = this.o.pauseClient?.(e.ms);
        this.#note(what, did ?? 'no client to pause');
        return;
      }
    }
  }

  /** Members for a target among `among` (the leader when asked and known, else random). */
  #targets(who: Target, among: readonly number[]): number[] {
    if (among.length === 0) return [];
    if (who === 'all') return [...among];
    if (who === 'majority') {
      const n = Math.floor(this.c.voters().length / 2) + 1;
      return this.#shuffle([...among]).slice(0, Math.min(n, among.length));
    }
    const leader = this.c.leader()?.id;
    if (who === 'leader' && leader !== undefined && among.includes(leader)) return [leader];
    return [this.rng.pick(among)];
  }

  #shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i + 1);
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  }

  #partition(shape: PartitionShape): string {
    const c = this.c;
    const net = c.net;
    const ids = c.ids.filter((id) => c.stateOf(id) !== 'removed');
    net.heal();
    if (ids.length < 2) return 'too few members';
    if (shape === 'isolate-leader' || shape === 'isolate-one') {
      const leader = c.leader()?.id;
      const id = shape === 'isolate-leader' && leader !== undefined ? leader : this.rng.pick(ids);
      net.isolate(id);
      return `isolated ${id}`;
    }
    const order = this.#shuffle([...ids]);
    if (shape === 'halves') {
      const mid = Math.floor(order.length / 2);
      const a = order.slice(0, mid);
      const b = order.slice(mid);
      net.partition([a, b]);
      return `partitioned ${a.join(',')} | ${b.join(',')}`;
    }
    if (shape === 'bridge') {
      const mid = Math.floor(order.length / 2);
      const bridge = order[mid] as number;
      const a = order.slice(0, mid);
      const b = order.slice(mid + 1);
      for (const x of a) {
        for (const y of b) {
          net.cut(x, y);
          net.cut(y, x);
        }
      }
      return `bridge ${a.join(',')} <-> ${bridge} <-> ${b.join(',')}`;
    }
    // ring: each member sends only to the next ⌊n/2⌋ members around a random ring.
    return majorityRing(order, (from, to) => net.cut(from, to));
  }

  async #restartAll(): Promise<string> {
    const c = this.c;
    const ids = c.inState('down', 'failed');
    for (const id of ids) if (c.stateOf(id) === 'failed') c.crash(id);
    await Promise.all(ids.map((id) => c.start(id)));
    return ids.length === 0 ? 'nobody to restart' : `restarted ${ids.join(', ')}`;
  }

  /** A running, unpaused member to send a membership request to (the leader if any). */
  #admin(): KvNode | undefined {
    const c = this.c;
    const leader = c.leader();
    if (leader !== undefined) return leader;
    const ids = c.running().filter((id) => !c.isPaused(id));
    return ids.length === 0 ? undefined : c.node(this.rng.pick(ids));
  }

  async #grow(): Promise<string> {
    const c = this.c;
    const admin = this.#admin();
    if (this.#growing || admin === undefined) return 'skipped (a change in progress, or no member)';
    if (c.voters().length > this.o.baseVoters || this.#learners().length > 0)
      return 'skipped (already grown)';
    this.#growing = true;
    try {
      const id = Math.max(...c.ids) + 1;
      try {
        await admin.addMember(`sim://member-${id}`, { isLearner: true, id, ...TIMEOUT });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'OUTCOME_UNKNOWN') return `add learner ${id} refused: ${code ?? String(err)}`;
      }
      await c.start(id);
      return `added learner ${id} and started it`;
    } finally {
      this.#growing = false;
    }
  }

  #learners(): number[] {
    const c = this.c;
    for (const id of c.running()) {
      const st = c.node(id)?.replica.status();
      if (st !== undefined && st.leader === id) return [...st.members.learners];
    }
    return [];
  }

  async #promote(): Promise<string> {
    const admin = this.#admin();
    const [learner] = this.#learners();
    if (admin === undefined || learner === undefined) return 'no learner to promote';
    try {
      await admin.promoteMember(learner, TIMEOUT);
      return `promoted ${learner}`;
    } catch (err) {
      return `promote ${learner} refused: ${(err as { code?: string }).code ?? String(err)}`;
    }
  }

  async #shrink(): Promise<string> {
    const c = this.c;
    const admin = this.#admin();
    if (admin === undefined) return 'no member to ask';
    const learners = this.#learners();
    const voters = c.voters();
    let victim: number | undefined;
    if (learners.length > 0) victim = learners[0];
    else if (voters.length > this.o.baseVoters) victim = this.rng.pick(voters);
    if (victim === undefined) return 'nothing to remove';
    try {
      await admin.removeMember(victim, TIMEOUT);
    } catch (err) {
      return `remove ${victim} refused: ${(err as { code?: string }).code ?? String(err)}`;
    }
    c.retire(victim);
    return `removed ${victim}`;
  }
}
