import { isFlotillaError } from '@flotilla/errors';
import {
  decodeConfChange,
  describeMessage,
  type Entry,
  type NetworkMessage,
  type NodeId,
  type Random,
  RawNode,
  type Status,
} from '@flotilla/raft';
import { InvariantViolation, RaftInvariants } from './invariants.js';
import { SimNode } from './node.js';
import type { SimProfile } from './profile.js';

/**
 * Deliberately wrong hosts, used to prove the checker catches real mistakes:
 * - `ackBeforePersist`: writes each Ready to storage and calls advance() without an fsync (it
 *   syncs only now and then), so the held-back acknowledgements and votes leave before the data
 *   they promise is durable; a crash loses everything written since the last fsync.
 * - `forgetVote`: loses the persisted vote on restart, so a member can vote twice in one term.
 */
export type BrokenDriver = 'ackBeforePersist' | 'forgetVote';

interface InFlight {
  readonly m: NetworkMessage;
  /** Earliest tick at which it may be delivered. */
  readonly at: number;
}

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * A simulated cluster: RawNodes driven by one seeded PRNG, a network that delays, drops,
 * duplicates and reorders messages and can be partitioned, hosts that persist each Ready into a
 * MemoryStorage (possibly later than they send its messages) and crash losing whatever was not
 * persisted. Every host duty feeds the {@link RaftInvariants} checker.
 */
export class SimCluster {
  readonly rng: Random;
  readonly profile: SimProfile;
  readonly seed: number;
  readonly inv = new RaftInvariants();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly broken: BrokenDriver | undefined;
  network: InFlight[] = [];
  /** The logical clock: ticks since the start. */
  time = 0;
  /** Partition group of each node (absent = group 0); messages across groups are lost. */
  readonly groups = new Map<NodeId, number>();
  /** False in the healing phase: no drops, duplicates or delays. */
  faults = true;
  /** The last trace lines (for failure reports); everything when `traceSink` is set. */
  readonly recent: string[] = [];
  readonly traceSink: ((line: string) => void) | undefined;
  readonly counts = {
    proposals: 0,
    reads: 0,
    crashes: 0,
    partitions: 0,
    confChanges: 0,
    transfers: 0,
    snapshots: 0,
    dropped: 0,
  };
  /** Applied payloads starting with `live` (the healing phase's proposals). */
  readonly markers = new Set<string>();
  /** Counter making proposal payloads and read contexts unique. */
  nextData = 0;

  constructor(
    seed: number,
    rng: Random,
    profile: SimProfile,
    broken?: BrokenDriver,
    traceSink?: (line: string) => void,
  ) {
    this.seed = seed;
    this.rng = rng;
    this.profile = profile;
    this.broken = broken;
    this.traceSink = traceSink;
  }

  trace(line: string): void {
    const l = `[t${this.time}] ${line}`;
    if (this.traceSink !== undefined) this.traceSink(l);
    this.recent.push(l);
    if (this.recent.length > 80) this.recent.shift();
  }

  // -------------------------------------------------------------------------------------------
  // Members
  // -------------------------------------------------------------------------------------------

  /** Creates ids 1..poolSize; the first `initialVoters` bootstrap a new cluster. */
  bootstrap(): void {
    const p = this.profile;
    const voters = Array.from({ length: p.initialVoters }, (_, k) => k + 1);
    for (let id = 1; id <= p.poolSize; id++) this.nodes.set(id, new SimNode(id, this.rng.int(1, 2 ** 31)));
    for (const id of voters) {
      const n = this.node(id);
      n.started = true;
      n.raft = this.newRawNode(n, 0);
      n.raft.bootstrap(voters);
      // The bootstrap entries are persisted before anything else can happen.
      this.takeReady(n, true);
      n.fsync();
    }
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Live (running, not retired) nodes in id order. */
  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** Crashed nodes that may restart. */
  down(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.started && !n.retired && n.raft === undefined);
  }

  /** Starts a pool node that never ran, on empty storage (a member being added). */
  start(n: SimNode): void {
    n.started = true;
    n.raft = this.newRawNode(n, 0);
    this.trace(`start ${n.id} (empty)`);
  }

  newRawNode(n: SimNode, applied: number): RawNode {
    const p = this.profile;
    return new RawNode({
      id: n.id,
      storage: n.storage,
      applied,
      electionTick: p.electionTick,
      heartbeatTick: p.heartbeatTick,
      preVote: p.preVote,
      checkQuorum: p.checkQuorum,
      maxSizePerMsg: p.maxSizePerMsg,
      maxInflightMsgs: p.maxInflightMsgs,
      maxCommittedSizePerReady: p.maxCommittedSizePerReady,
      maxInflightBytes: p.maxInflightBytes,
      maxUncommittedEntriesSize: p.maxUncommittedEntriesSize,
      disableProposalForwarding: p.disableProposalForwarding,
      stepDownOnRemoval: p.stepDownOnRemoval,
      seed: n.seed + n.incarnation,
    });
  }

  /** The node that currently believes it leads in the highest term, if any. */
  leader(): { n: SimNode; s: Status } | undefined {
    let best: { n: SimNode; s: Status } | undefined;
    for (const n of this.live()) {
      const s = (n.raft as RawNode).status();
      if (s.raftState === 'leader' && (best === undefined || s.term > best.s.term)) best = { n, s };
    }
    return best;
  }

  // -------------------------------------------------------------------------------------------
  // The host's duties: take a Ready, send, persist, apply, advance
  // -------------------------------------------------------------------------------------------

  /**
   * Takes node `n`'s Ready: checks and records what it shows, sends its messages at once (the
   * RawNode holds back everything that needs durability), then persists it now or later.
   */
  takeReady(n: SimNode, persistNow: boolean): void {
    const raft = n.raft as RawNode;
    const rd = raft.ready();
    if (rd.snapshot !== undefined) n.log.restore(rd.snapshot.metadata.index, rd.snapshot.metadata.term);
    const first = rd.entries[0];
    if (first !== undefined) {
      const prevTerm = n.log.term(first.index - 1);
      if (prevTerm === undefined)
        throw new Error(`node ${n.id}: Ready entries start at ${first.index}, beyond its log`);
      this.inv.stored(n.id, prevTerm, rd.entries);
      n.log.append(rd.entries);
    }
    const s = raft.status();
    if (rd.hardState !== undefined) {
      this.inv.commit(n.id, n.incarnation, rd.hardState.term, rd.hardState.commit, n.log.entry);
    }
    if (s.raftState === 'leader' && n.checkedLeaderTerm !== s.term) {
      // The first Ready of a new leader: its log (persisted + this Ready) must hold every entry
      // committed in an earlier term (§5.4).
      this.inv.leaderLog(n.id, n.incarnation, s.term, n.log.firstIndex(), n.log.entry);
      n.checkedLeaderTerm = s.term;
    }
    for (const rs of rd.readStates) this.inv.readServed(n.id, dec(rs.requestCtx), rs.index);
    let voted = false;
    for (const m of rd.messages) {
      this.send(m);
      if (m.type === 'voteResp' && !m.reject) voted = true;
    }
    n.pending.push(rd);
    n.awaitingAdvance = true;
    if (persistNow) this.persist(n);
    // A nemesis aimed at vote durability: crash right after a granted vote has left.
    if (voted && this.faults && this.rng.chance(this.profile.crashAfterVote)) this.crash(n);
  }

  /** Persists node `n`'s oldest pending Ready, applies its committed entries, then advances. */
  persist(n: SimNode): void {
    const rd = n.pending.shift();
    if (rd === undefined) return;
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    if (rd.snapshot !== undefined) {
      const m = rd.snapshot.metadata;
      n.restoreStateMachine(m.index, rd.snapshot.data, m.confState);
      this.inv.restored(n.id, n.incarnation, m.index);
      this.inv.state(n.id, m.index, String(n.smDigest));
    }
    for (const e of rd.committedEntries) this.apply(n, e);
    // The broken host "persists" into an OS buffer and fsyncs only now and then.
    if (this.broken === 'ackBeforePersist' && this.rng.chance(0.2)) n.fsync();
    n.awaitingAdvance = false;
    (n.raft as RawNode).advance();
  }

  apply(n: SimNode, e: Entry): void {
    this.inv.applied(n.id, n.incarnation, e);
    n.applyToStateMachine(e);
    this.inv.state(n.id, e.index, String(n.smDigest));
    if (e.type === 'confChange') {
      n.confState = (n.raft as RawNode).applyConfChange(decodeConfChange(e.data));
    } else if (e.data[0] === 0x6c /* 'l' */) {
      this.markers.add(dec(e.data));
    }
  }

  // -------------------------------------------------------------------------------------------
  // The network
  // -------------------------------------------------------------------------------------------

  send(m: NetworkMessage): void {
    const p = this.profile;
    const delay = (): number => (this.faults && p.maxDelay > 0 ? this.rng.int(0, p.maxDelay + 1) : 0);
    this.network.push({ m, at: this.time + delay() });
    if (this.faults && this.rng.chance(p.pDup)) this.network.push({ m, at: this.time + delay() });
  }

  blocked(from: NodeId, to: NodeId): boolean {
    return (this.groups.get(from) ?? 0) !== (this.groups.get(to) ?? 0);
  }

  /** Delivers one random deliverable message (random choice = reordering). Returns false if none. */
  deliverOne(): boolean {
    const eligible: number[] = [];
    for (let k = 0; k < this.network.length; k++)
      if ((this.network[k] as InFlight).at <= this.time) eligible.push(k);
    if (eligible.length === 0) return false;
    const k = this.rng.pick(eligible);
    const { m } = this.network[k] as InFlight;
    this.network[k] = this.network[this.network.length - 1] as InFlight;
    this.network.pop();
    this.deliver(m);
    return true;
  }

  deliver(m: NetworkMessage): void {
    const target = this.nodes.get(m.to);
    if (
      (this.faults && this.rng.chance(this.profile.pDrop)) ||
      target === undefined ||
      !target.up ||
      this.blocked(m.from, m.to)
    ) {
      this.lost(m);
      return;
    }
    try {
      (target.raft as RawNode).step(m);
    } catch (err) {
      // A response from a member the recipient no longer tracks: hosts drop it.
      if (isFlotillaError(err, 'STEP_PEER_NOT_FOUND')) return;
      throw err;
    }
    // The transport delivered the snapshot: the host tells the sender (a RawNode duty).
    if (m.type === 'snap') this.reportSnapshot(m.from, m.to, 'finish');
  }

  lost(m: NetworkMessage): void {
    this.counts.dropped++;
    if (m.type === 'snap') this.reportSnapshot(m.from, m.to, 'failure');
    else if (this.rng.chance(0.2)) {
      // Sometimes the transport notices, and says so.
      const sender = this.nodes.get(m.from);
      if (sender?.up === true) (sender.raft as RawNode).reportUnreachable(m.to);
    }
  }

  reportSnapshot(from: NodeId, to: NodeId, status: 'finish' | 'failure'): void {
    const sender = this.nodes.get(from);
    if (sender?.up === true) (sender.raft as RawNode).reportSnapshot(to, status);
  }

  // -------------------------------------------------------------------------------------------
  // Observation after every step
  // -------------------------------------------------------------------------------------------

  /** Polls every live node: election safety, term and commit monotonicity, leader changes. */
  observe(): void {
    for (const n of this.live()) {
      const s = (n.raft as RawNode).status();
      this.inv.status(n.id, n.incarnation, s.term, s.raftState, s.commit);
      const leading = s.raftState === 'leader' ? s.term : 0;
      if (n.leaderTerm !== 0 && n.leaderTerm !== leading) this.inv.leaderGone(n.leaderTerm);
      n.leaderTerm = leading;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Actions
  // -------------------------------------------------------------------------------------------

  tick(): void {
    this.time++;
    for (const n of this.live()) (n.raft as RawNode).tick();
  }

  /** The member stops: its RawNode, its pending (unpersisted) Readies and its state machine are lost. */
  crash(n: SimNode): void {
    if (n.leaderTerm !== 0) this.inv.leaderGone(n.leaderTerm);
    n.raft = undefined;
    n.pending = [];
    n.awaitingAdvance = false;
    n.leaderTerm = 0;
    this.counts.crashes++;
    this.trace(`crash ${n.id}`);
  }

  /** Runs `fn`, ignoring the refusals a client would simply retry. */
  quietly(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (isFlotillaError(err, 'PROPOSAL_DROPPED') || isFlotillaError(err, 'INVALID_CONF_CHANGE')) return;
      throw err;
    }
  }

  describeMessage(m: NetworkMessage): string {
    return describeMessage(m);
  }

  /** A violation of liveness, with the state of every node. */
  livenessFailure(why: string): InvariantViolation {
    const states = [...this.nodes.values()]
      .filter((n) => n.raft !== undefined || n.incarnation > 0)
      .map((n) => {
        if (n.raft === undefined) return `${n.id}:down`;
        const s = n.raft.status();
        const cfg = s.config;
        const conf = `(${cfg.voters.join(' ')})${cfg.votersOutgoing.length > 0 ? `&&(${cfg.votersOutgoing.join(' ')})` : ''}${cfg.learners.length > 0 ? ` l(${cfg.learners.join(' ')})` : ''}`;
        return `${n.id}:${s.raftState}@${s.term} commit=${s.commit} applied=${s.applied} lead=${s.lead} conf=${conf}${n.retired ? ' retired' : ''}`;
      });
    const lead = this.leader();
    let detail = '';
    if (lead !== undefined) {
      const progress = [...(lead.s.progress ?? new Map()).entries()]
        .map(([id, p]) => `${id}:${p.state} m=${p.match} n=${p.next}${p.recentActive ? '' : ' inactive'}`)
        .join(', ');
      detail = ` leader ${lead.n.id} config voters=(${lead.s.config.voters.join(' ')})&&(${lead.s.config.votersOutgoing.join(' ')}) learners=(${lead.s.config.learners.join(' ')}) transferee=${lead.s.leadTransferee} progress: ${progress}`;
    }
    return new InvariantViolation('liveness', `${why} [${states.join(' ')}]${detail}`);
  }
}
