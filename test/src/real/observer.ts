/**
 * What real mode can see of the members' Raft state from outside, fed into the Raft package's
 * invariant checker (`packages/raft/test/sim/invariants.ts`, the one the simulation uses):
 *
 * - **During the run**, every member is polled (`status`: its term, the leader it follows, its
 *   applied index) every `intervalMs`. Election safety (§5.2: two members each claiming to lead
 *   the same term), term and applied-index monotonicity within one process incarnation. The
 *   polls also tell the nemesis who leads.
 * - **After the run** ({@link checkDurableLogs}), the members are stopped and each one's WAL
 *   is opened read-only from its data dir: log matching (§5.3: one entry per index and term,
 *   everywhere) over every stored entry, and agreement on the committed prefix (state machine
 *   safety, §5.4.3) up to each member's durable commit index.
 *
 * Leader completeness and the per-entry apply order need the members' in-memory state and are
 * checked in the simulation only.
 */
import { openReplicaStorage } from '@flotilla/wal';
import { InvariantViolation, RaftInvariants } from '../../../packages/raft/test/sim/invariants.js';
import type { RealCluster } from './cluster.js';

/** The Raft invariants' verdict. */
export interface RaftCheck {
  readonly valid: boolean;
  readonly violation?: { readonly invariant: string; readonly message: string };
  readonly violations: number;
  readonly polls: number;
  readonly leaderTerms: number;
  readonly committed: number;
  /** Members whose WAL was read after the run. */
  readonly logsRead: readonly number[];
  /** Problems reading a WAL (a member that could not be opened is reported, not trusted). */
  readonly unreadable: readonly string[];
}

/** Polls members' status for the invariants and the nemesis (see the module notes). */
export class StatusObserver {
  readonly invariants = new RaftInvariants();
  #first: InvariantViolation | undefined;
  #count = 0;
  #polls = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  /** The leader seen in the latest poll round with the highest term, if running. */
  #leader: { id: number; term: number } | undefined;
  readonly #cluster: RealCluster;
  readonly #intervalMs: number;

  constructor(cluster: RealCluster, intervalMs = 150) {
    this.#cluster = cluster;
    this.#intervalMs = intervalMs;
  }

  /** Starts polling in the background. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const tick = async (): Promise<void> => {
      while (this.#running) {
        await this.pollOnce();
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, this.#intervalMs);
        });
      }
    };
    this.#loop = tick();
  }

  /** Stops polling (waits for the round in flight). */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  /** One round: every running member's status. */
  async pollOnce(): Promise<void> {
    const statuses = await Promise.all(
      this.#cluster.inState('running').map((id) => this.#cluster.status(id)),
    );
    let best: { id: number; term: number } | undefined;
    for (const s of statuses) {
      if (s === undefined) continue;
      this.#polls++;
      const leads = s.leader === s.id;
      this.#guard(() =>
        this.invariants.status(s.id, s.incarnation, s.term, leads ? 'leader' : 'follower', s.applied),
      );
      if (leads && (best === undefined || s.term > best.term)) best = { id: s.id, term: s.term };
    }
    if (best !== undefined) this.#leader = best;
    else if (statuses.every((s) => s === undefined || s.leader === 0)) this.#leader = undefined;
  }

  /** The member that led in the latest poll (if it still runs). */
  leader(): number | undefined {
    const l = this.#leader;
    if (l === undefined) return undefined;
    return this.#cluster.member(l.id)?.state === 'running' ? l.id : undefined;
  }

  /** Polls until a running member leads and every running member follows it, or `timeoutMs`. */
  async waitForLeader(timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ids = this.#cluster.inState('running');
      const seen = await Promise.all(ids.map((id) => this.#cluster.status(id)));
      const leaders = new Set(seen.map((s) => s?.leader ?? 0));
      const [only] = [...leaders];
      if (leaders.size === 1 && only !== undefined && only !== 0 && ids.includes(only)) {
        await this.pollOnce();
        return only;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  /** Records a violation found elsewhere (the post-mortem log check). */
  guard(f: () => void): void {
    this.#guard(f);
  }

  #guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      this.#count++;
      this.#first ??= err;
    }
  }

  /** The verdict so far. */
  verdict(logsRead: readonly number[] = [], unreadable: readonly string[] = []): RaftCheck {
    const s = this.invariants.stats;
    const base = {
      violations: this.#count,
      polls: this.#polls,
      leaderTerms: this.invariants.leaderTerms,
      committed: s.committed,
      logsRead,
      unreadable,
    };
    if (this.#first === undefined) return { valid: true, ...base };
    return {
      valid: false,
      violation: { invariant: this.#first.invariant, message: this.#first.message },
      ...base,
    };
  }
}

/**
 * The post-mortem half (see the module notes): opens the WAL of every member (they must be
 * stopped) and feeds its stored entries and durable commit index to the invariants.
 */
export async function checkDurableLogs(
  cluster: RealCluster,
  observer: StatusObserver,
): Promise<{ read: number[]; unreadable: string[] }> {
  const read: number[] = [];
  const unreadable: string[] = [];
  const inv = observer.invariants;
  for (const m of cluster.members.values()) {
    let rs: Awaited<ReturnType<typeof openReplicaStorage>>;
    try {
      rs = await openReplicaStorage(m.process.dataDir);
    } catch (err) {
      unreadable.push(`member ${m.id}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    try {
      const s = rs.storage;
      const first = s.firstIndex();
      const last = s.lastIndex();
      const entries = last >= first ? s.entries(first, last + 1) : [];
      const prevTerm = s.term(first - 1);
      const hs = rs.hardState;
      // A post-mortem incarnation of its own: the process is gone, its files are what remains.
      const incarnation = m.process.incarnation + 1;
      const readEntry = (i: number) => (i >= first && i <= last ? entries[i - first] : undefined);
      observer.guard(() => inv.stored(m.id, prevTerm, entries));
      observer.guard(() => inv.commit(m.id, incarnation, hs.term, Math.min(hs.commit, last), readEntry));
      read.push(m.id);
    } finally {
      await rs.close();
    }
  }
  return { read, unreadable };
}
