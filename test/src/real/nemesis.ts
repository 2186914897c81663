/**
 * Runs a {@link NemesisSchedule} (the simulation's format, `nemesis/schedule.ts`) against real
 * member processes: each event at its time since the load phase started, targets resolved when
 * it runs ("the leader" is whoever the latest status poll says leads), and a log of what each
 * event did, in the simulation's {@link NemesisLogLine} shape.
 *
 * What each event does here:
 * - `partition` / `heal`: the same shapes as the simulation (`halves`, `isolate-leader`,
 *   `isolate-one`, `bridge`, majority `ring`), as cut links in the {@link PeerProxy}.
 * - `loss`: the proxy drops raft frames with that probability; starting a loss also resets every
 *   peer connection (what is in flight is lost, the dialers reconnect).
 * - `duplicate`, `delay`: the proxy's frame duplication and delay (unequal delays reorder).
 * - `crash`: SIGKILL of the leader, one member, a majority or all; `restart` starts every
 *   killed member again from its data dir. (A process kill keeps the OS page cache, so unsynced
 *   writes survive it; the simulation's power loss, which loses them, has no real-mode
 *   counterpart without root.)
 * - `pause` / `resume`: SIGSTOP / SIGCONT.
 * - `skew` / `jump` / `clock-reset`: the member's test-aid clock (rate, forward step), through
 *   its clock file and SIGUSR2.
 * - `grow` / `promote` / `shrink`: `flotilla member add --learner` + start, `member promote`,
 *   `member remove` + stop (see `membership.ts`).
 * - `pause-client`: a client process's clock is paused (its session keep-alives stop with it).
 * - `transfer` and `disk` have no real-mode executor (no leadership-transfer request in the
 *   client or CLI; no way to fail one process's fsync from outside): they are logged as skipped,
 *   and real-mode plans do not schedule them.
 */
import type { Random } from '@flotilla/raft';
import { majorityRing } from '../nemesis/ring.js';
import {
  describeEvent,
  type NemesisEvent,
  type NemesisSchedule,
  type PartitionShape,
  type Target,
} from '../nemesis/schedule.js';
import type { NemesisLogLine } from '../nemesis/sim-nemesis.js';
import type { RealCluster } from './cluster.js';
import { MembershipNemesis } from './membership.js';
import type { StatusObserver } from './observer.js';

/** Events whose action runs in the background (logged when it finishes). */
const BACKGROUND: ReadonlySet<NemesisEvent['type']> = new Set([
  'crash',
  'restart',
  'grow',
  'promote',
  'shrink',
]);

/** Options of {@link RealNemesis}. */
export interface RealNemesisOptions {
  readonly cluster: RealCluster;
  readonly observer: StatusObserver;
  readonly rng: Random;
  /** Voters the cluster was founded with. */
  readonly baseVoters: number;
  /** Pauses a random client process for `ms`; returns what it paused, or undefined. */
  readonly pauseClient?: (ms: number) => string | undefined;
}

/** Executes nemesis events on a real cluster (see the module notes). */
export class RealNemesis {
  readonly log: NemesisLogLine[] = [];
  /**
   * The events as they took effect: `at` is when an event's action finished (a restart once
   * every member listens again), ms since the load phase started. The chart shades from these.
   */
  readonly executed: NemesisEvent[] = [];
  /** When the final heal finished (ms since the load phase started), once it has. */
  healedAt: number | undefined;
  readonly #o: RealNemesisOptions;
  readonly #c: RealCluster;
  readonly #rng: Random;
  readonly #membership: MembershipNemesis;
  readonly #pending = new Set<Promise<void>>();
  #start = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(o: RealNemesisOptions) {
    this.#o = o;
    this.#c = o.cluster;
    this.#rng = o.rng;
    this.#membership = new MembershipNemesis(o.cluster, o.rng.fork(), o.baseVoters);
  }

  /** Runs `schedule` from now (the start of the load phase) until its end or `stopped()`. */
  async run(schedule: NemesisSchedule, stopped: () => boolean): Promise<void> {
    this.#start = Date.now();
    for (const e of schedule.events) {
      const wait = this.#start + e.at - Date.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, wait);
        });
      }
      if (stopped()) break;
      this.#apply(e);
    }
  }

  /** Stops waiting for the next event (the load phase ended). */
  interrupt(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
  }

  /** Ends every fault: network healed, no loss/duplication/delay, members resumed, restarted. */
  async heal(): Promise<void> {
    const c = this.#c;
    c.proxy.heal();
    c.proxy.setLoss(0);
    c.proxy.setDuplicate(0);
    c.proxy.setDelay(0, 0);
    for (const id of c.inState('paused')) c.resume(id);
    for (const id of c.inState('running', 'down')) {
      const m = c.member(id);
      if (m !== undefined && m.process.skew.rate !== 1) m.process.setClock({ ...m.process.skew, rate: 1 });
    }
    await this.#drain();
    const restarted = await this.#restartAll();
    this.#note('heal', `healed the network, resumed, reset clock rates; ${restarted}`);
    this.healedAt = Date.now() - this.#start;
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #background(what: string, e: NemesisEvent, work: () => Promise<string>): void {
    const p = work().then(
      (did) => {
        this.executed.push({ ...e, at: Date.now() - this.#start });
        this.#note(what, did);
      },
      (err: unknown) => this.#note(what, `failed: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #note(event: string, did: string): void {
    this.log.push({ at: Date.now() - this.#start, event, did });
  }

  #apply(e: NemesisEvent): void {
    const what = describeEvent(e);
    const c = this.#c;
    if (!BACKGROUND.has(e.type)) this.executed.push({ ...e, at: Date.now() - this.#start });
    switch (e.type) {
      case 'partition':
        this.#note(what, this.#partition(e.shape));
        return;
      case 'heal':
        c.proxy.heal();
        this.#note(what, 'healed the network');
        return;
      case 'loss':
        c.proxy.setLoss(e.rate);
        if (e.rate > 0) c.proxy.resetConnections();
        this.#note(what, e.rate > 0 ? `frame loss ${e.rate}, peer connections reset` : 'no frame loss');
        return;
      case 'duplicate':
        c.proxy.setDuplicate(e.rate);
        this.#note(what, `frame duplication ${e.rate}`);
        return;
      case 'delay':
        c.proxy.setDelay(e.minMs, e.maxMs);
        this.#note(what, `frame delays ${e.minMs}-${e.maxMs} ms`);
        return;
      case 'crash': {
        const ids = this.#targets(e.who, c.inState('running', 'paused'));
        this.#background(what, e, async () => {
          await Promise.all(ids.map((id) => c.crash(id)));
          return ids.length === 0 ? 'nobody to kill' : `SIGKILL ${ids.join(', ')}`;
        });
        return;
      }
      case 'restart':
        this.#background(what, e, () => this.#restartAll());
        return;
      case 'pause': {
        const ids = this.#targets(e.who, c.inState('running'));
        for (const id of ids) c.pause(id);
        this.#note(what, ids.length === 0 ? 'nobody to pause' : `SIGSTOP ${ids.join(', ')}`);
        return;
      }
      case 'resume': {
        const ids = c.inState('paused');
        for (const id of ids) c.resume(id);
        this.#note(what, ids.length === 0 ? 'nobody paused' : `SIGCONT ${ids.join(', ')}`);
        return;
      }
      case 'skew': {
        const ids = this.#targets(e.who, c.inState('running'));
        for (const id of ids) {
          const p = c.member(id)?.process;
          p?.setClock({ ...p.skew, rate: e.rate });
        }
        this.#note(what, `clock of ${ids.join(', ') || 'nobody'} runs at ${e.rate}`);
        return;
      }
      case 'jump': {
        const ids = this.#targets(e.who, c.inState('running'));
        for (const id of ids) {
          const p = c.member(id)?.process;
          p?.setClock({ ...p.skew, offsetMs: p.skew.offsetMs + e.ms });
        }
        this.#note(what, `clock of ${ids.join(', ') || 'nobody'} stepped ${e.ms} ms forward`);
        return;
      }
      case 'clock-reset':
        for (const id of c.inState('running')) {
          const p = c.member(id)?.process;
          if (p !== undefined && p.skew.rate !== 1) p.setClock({ ...p.skew, rate: 1 });
        }
        this.#note(what, 'every clock runs at rate 1');
        return;
      case 'grow':
        this.#background(what, e, () => this.#membership.grow());
        return;
      case 'promote':
        this.#background(what, e, () => this.#membership.promote());
        return;
      case 'shrink':
        this.#background(what, e, () => this.#membership.shrink());
        return;
      case 'pause-client':
        this.#note(what, this.#o.pauseClient?.(e.ms) ?? 'no client to pause');
        return;
      case 'transfer':
      case 'disk':
        this.#note(what, 'skipped: no real-mode executor');
        return;
    }
  }

  /** Members for a target among `among` (the leader when asked and known, else random). */
  #targets(who: Target, among: readonly number[]): number[] {
    if (among.length === 0) return [];
    if (who === 'all') return [...among];
    if (who === 'majority') {
      const n = Math.floor(this.#c.ids.length / 2) + 1;
      return this.#shuffle([...among]).slice(0, Math.min(n, among.length));
    }
    const leader = this.#o.observer.leader();
    if (who === 'leader' && leader !== undefined && among.includes(leader)) return [leader];
    return [this.#rng.pick(among)];
  }

  #shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.#rng.int(0, i + 1);
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  }

  #partition(shape: PartitionShape): string {
    const proxy = this.#c.proxy;
    const ids = this.#c.ids;
    proxy.heal();
    if (ids.length < 2) return 'too few members';
    if (shape === 'isolate-leader' || shape === 'isolate-one') {
      const leader = this.#o.observer.leader();
      const id = shape === 'isolate-leader' && leader !== undefined ? leader : this.#rng.pick(ids);
      proxy.isolate(id, ids);
      return `isolated ${id}`;
    }
    const order = this.#shuffle([...ids]);
    const mid = Math.floor(order.length / 2);
    if (shape === 'halves') {
      const a = order.slice(0, mid);
      const b = order.slice(mid);
      proxy.partition([a, b]);
      return `partitioned ${a.join(',')} | ${b.join(',')}`;
    }
    if (shape === 'bridge') {
      const bridge = order[mid] as number;
      const a = order.slice(0, mid);
      const b = order.slice(mid + 1);
      proxy.partition([a, b]);
      return `bridge ${a.join(',')} <-> ${bridge} <-> ${b.join(',')}`;
    }
    // ring: each member sends only to the next ⌊n/2⌋ members around a random ring.
    return majorityRing(order, (from, to) => proxy.cut(from, to));
  }

  async #restartAll(): Promise<string> {
    const c = this.#c;
    const ids = c.inState('down');
    const failed: string[] = [];
    await Promise.all(
      ids.map((id) =>
        c.restart(id).catch((err: unknown) => {
          failed.push(`${id} (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
        }),
      ),
    );
    if (ids.length === 0) return 'nobody to restart';
    return `restarted ${ids.join(', ')}${failed.length > 0 ? `; FAILED to restart ${failed.join(', ')}` : ''}`;
  }
}
