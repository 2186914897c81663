import type { ChangerInput } from './confchange/changer.js';
import { confStatesEquivalent, restoreConfState } from './confchange/restore.js';
import type { ResolvedConfig } from './config.js';
import { grantOrRejectVote, hup } from './election.js';
import { RaftError } from './errors.js';
import { type RaftFaults, raftFaultsOf } from './faults.js';
import { LeaderLease } from './lease-read.js';
import { EMPTY_DATA } from './log/limit.js';
import { RaftLog } from './log/raft-log.js';
import type { Logger } from './logger.js';
import { switchToConfig } from './membership.js';
import { proposeLeaveJoint } from './proposal.js';
import { type Random, seededRandom } from './random.js';
import { releasePendingReadIndexMessages } from './read-index.js';
import { ReadOnly } from './read-only.js';
import { bcastAppend } from './replication.js';
import { stepCandidate } from './step-candidate.js';
import { stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';
import { ProgressTracker } from './tracker/tracker.js';
import {
  type EntryType,
  type HardState,
  isEmptyHardState,
  type Message,
  type NetworkMessage,
  NONE,
  type NodeId,
  type ReadIndexMessage,
  type ReadState,
  type SoftState,
  type StateType,
} from './types.js';

/** Why an election starts: a PreVote round, a real election, or a leadership transfer. */
export type CampaignType = 'preElection' | 'election' | 'transfer';

/**
 * The Raft state machine of one member (etcd's `raft` struct): terms, roles, the log, the
 * progress of every member, and the rules that move them. Internal: hosts use `RawNode`, which
 * wraps it with the Ready/advance protocol. Fields are public so the role modules
 * (`step-leader.ts`, `replication.ts`, ...) can share them; nothing outside the package sees them.
 *
 * Everything is deterministic: inputs are `step(message)` and `tick()`, randomness comes from
 * a PRNG seeded by the configuration, and outputs are queued messages and log state.
 *
 * @internal
 */
export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  readonly logger: Logger;
  /** Test-only fault switches (`faults.ts`): none in production. */
  readonly faults: RaftFaults;
  /** The latest term this member has seen (Figure 2, persistent). Never decreases. */
  term = 0;
  /** The candidate this member voted for in `term`, or NONE (Figure 2, persistent). */
  vote: NodeId = NONE;
  /** The leader of `term` as far as this member knows, or NONE. */
  lead: NodeId = NONE;
  state: StateType = 'follower';
  /** True while this member is a learner in the current configuration. */
  isLearner = false;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  /** Messages that may be sent at once. */
  msgs: NetworkMessage[] = [];
  /**
   * Messages released only after the host persisted the Ready that carries the state they
   * promise (thesis §10.2.1 / etcd's msgsAfterAppend): responses that promise durability
   * (`appResp`, `voteResp`, `preVoteResp`), including a candidate's vote for itself. RawNode
   * releases them on advance().
   */
  msgsAfterAppend: NetworkMessage[] = [];
  /**
   * The leader's acknowledgement of its own appends, kept as (term, index) rather than one
   * message per proposal; RawNode turns it into one `appResp` to self per Ready.
   */
  selfAckTerm = 0;
  selfAckIndex = 0;
  /** Answered ReadIndex requests not yet handed to the host. */
  readStates: ReadState[] = [];
  /** The member a leadership transfer is heading to (thesis §3.10), or NONE. */
  leadTransferee: NodeId = NONE;
  /**
   * On the leader: index of the latest conf change it appended (or its last index when elected).
   * A new conf change is refused until this one is applied: one change at a time (thesis §4.1).
   */
  pendingConfIndex = 0;
  /** Payload bytes the leader appended and has not yet seen applied (maxUncommittedEntriesSize). */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** The leader's lease for `'leaseBased'` reads (thesis §6.4.1); a fresh one every term. */
  lease: LeaderLease;
  /** ReadIndex requests parked until the leader commits an entry of its term (thesis §6.4). */
  pendingReadIndexMessages: ReadIndexMessage[] = [];
  /** Ticks since the last election timeout reset (followers: since hearing from the leader). */
  electionElapsed = 0;
  /** Leader only: ticks since the last heartbeat. */
  heartbeatElapsed = 0;
  /**
   * `'leaseBased'` only: ticks (capped at `electionTick`) since this member last heard from a
   * leader of any term, or since it restarted. Unlike `electionElapsed` and `lead`, a change of
   * term or role does not reset it, so a member that acknowledged a leader's heartbeat keeps
   * refusing votes for a full election timeout whatever else it receives; the leader's lease
   * (lease-read.ts) rests on that.
   */
  leaderContactElapsed: number;
  /** This round's election timeout, drawn from [electionTick, 2·electionTick) (§5.2). */
  randomizedElectionTimeout = 0;
  /**
   * Proposals were appended and not yet broadcast. Broadcasting once per batch instead of once
   * per proposal gives one `app` message per follower for a whole batch (the hot path).
   */
  pendingBcast = false;
  /**
   * True while `propose()` steps this node's own proposal (on a follower or candidate). Only then
   * may a refusal throw `PROPOSAL_DROPPED` to the caller: a `prop` that arrives from the network is
   * dropped silently even when its `from` is this node, because a proposal can come back to its
   * proposer (1 forwards to leader 2; 2 hands leadership to 1 and forwards the late message to 1).
   */
  steppingOwnProposal = false;
  readonly #rng: Random;

  constructor(cfg: ResolvedConfig) {
    this.id = cfg.id;
    this.cfg = cfg;
    this.logger = cfg.logger;
    this.faults = raftFaultsOf(cfg.storage);
    this.#rng = seededRandom(cfg.seed);
    this.raftLog = new RaftLog(cfg.storage, cfg.maxCommittedSizePerReady, cfg.logger);
    this.trk = new ProgressTracker(cfg.maxInflightMsgs, cfg.maxInflightBytes);
    this.lease = new LeaderLease(cfg.electionTick, cfg.leaseMarginTicks);
    const { hardState, confState } = cfg.storage.initialState();

    const restored = restoreConfState(this.changerInput(), confState);
    const cs = switchToConfig(this, restored.config, restored.progress);
    if (!confStatesEquivalent(cs, confState)) {
      throw new RaftError('INVARIANT_VIOLATED', 'restored configuration differs from the stored ConfState');
    }
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    // A restarted member (it has been in a term, so a leader may hold a lease on its
    // acknowledgement) cannot tell how recently it heard from that leader: in lease mode it
    // assumes just now. A brand-new member (term 0) has acknowledged nothing.
    this.leaderContactElapsed =
      this.cfg.readOnlyOption === 'leaseBased' && this.term > 0 ? 0 : cfg.electionTick;
    if (cfg.applied > 0) {
      const log = this.raftLog;
      if (cfg.applied > log.committed || cfg.applied < log.applied) {
        throw new RaftError(
          'INVALID_CONFIG',
          `applied ${cfg.applied} is out of range [${log.applied}, ${log.committed}] of the stored log`,
        );
      }
      log.appliedTo(cfg.applied, 0);
    }
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      `newRaft ${this.id} [peers: (${this.trk.voterNodes().join(' ')}), term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    );
  }

  /** What the confchange Changer needs to know about this member. */
  changerInput(): ChangerInput {
    return {
      config: this.trk.config,
      progress: this.trk.progress,
      lastIndex: this.raftLog.lastIndex(),
      maxInflight: this.trk.maxInflight,
      maxInflightBytes: this.trk.maxInflightBytes,
    };
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Restores term, vote and commit from storage; the commit must lie within the stored log. */
  loadState(hs: HardState): void {
    const log = this.raftLog;
    if (hs.commit < log.committed || hs.commit > log.lastIndex()) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        `${this.id} stored commit ${hs.commit} is out of range [${log.committed}, ${log.lastIndex()}]`,
      );
    }
    log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /**
   * Queues `m`. Responses that promise durability wait in `msgsAfterAppend` until the host has
   * persisted the Ready (§5 "Persistent state ... updated on stable storage before responding").
   */
  send(m: NetworkMessage): void {
    if (m.type === 'appResp' || m.type === 'voteResp' || m.type === 'preVoteResp') {
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id) {
        throw new RaftError('INVARIANT_VIOLATED', `message ${m.type} must not be addressed to self`);
      }
      this.msgs.push(m);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Role transitions (§5.2, Figure 4)
  // -------------------------------------------------------------------------------------------

  /**
   * Common reset on every role change: adopt `term` (clearing the vote when it is new), forget
   * the leader, restart the timers with a fresh randomized timeout, and reset every progress.
   */
  reset(term: number): void {
    if (this.term !== term) {
      if (term < this.term) {
        throw new RaftError('INVARIANT_VIOLATED', `term would decrease from ${this.term} to ${term}`);
      }
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const id of this.trk.ids) {
      const pr = this.trk.progress.get(id);
      if (pr === undefined) continue;
      // A fresh probe from the end of our log; only our own entries are known to match.
      pr.becomeProbe();
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.sentCommit = 0;
      pr.recentActive = false;
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.lease = new LeaderLease(this.cfg.electionTick, this.cfg.leaseMarginTicks);
    this.pendingReadIndexMessages = [];
    this.pendingBcast = false;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
    this.logger.info(`${this.id} became follower at term ${this.term}`);
  }

  /** §5.2: increment the term and vote for self. */
  becomeCandidate(): void {
    if (this.state === 'leader')
      throw new RaftError('INVARIANT_VIOLATED', 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  /**
   * PreVote (thesis §9.6): ask whether we could win before touching the term, so a member that
   * was partitioned away cannot force the cluster to a higher term when it returns.
   */
  becomePreCandidate(): void {
    if (this.state === 'leader') {
      throw new RaftError('INVARIANT_VIOLATED', 'invalid transition [leader -> pre-candidate]');
    }
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = 'preCandidate';
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  /**
   * §5.2 / §8: a candidate with a quorum of votes leads; it appends an empty entry of its term at
   * once, which lets it commit everything before it (§5.4.2) and answer reads (thesis §6.4).
   */
  becomeLeader(): void {
    if (this.state === 'follower')
      throw new RaftError('INVARIANT_VIOLATED', 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'leader';
    const pr = this.trk.progress.get(this.id);
    if (pr !== undefined) {
      pr.becomeReplicate();
      pr.recentActive = true;
    }
    // Conservatively treat every entry in the log as a possibly unapplied conf change: no new
    // change is accepted before everything up to here is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    if (!this.appendEntry('normal', EMPTY_DATA)) {
      throw new RaftError('INVARIANT_VIOLATED', 'the empty entry of a new leader was dropped');
    }
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  resetRandomizedElectionTimeout(): void {
    const e = this.cfg.electionTick;
    this.randomizedElectionTimeout = e + this.#rng.int(0, e);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /**
   * Whether this member may campaign: it votes in the configuration and has no snapshot pending
   * (its log is about to be replaced).
   */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  // -------------------------------------------------------------------------------------------
  // Ticks
  // -------------------------------------------------------------------------------------------

  tick(): void {
    if (this.leaderContactElapsed < this.cfg.electionTick) this.leaderContactElapsed++;
    if (this.state === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Followers and candidates: start an election after the randomized timeout (§5.2). */
  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step({ type: 'hup', from: this.id, to: this.id, term: 0, transfer: false });
    }
  }

  /** Leaders: heartbeat every heartbeatTick; CheckQuorum and transfer timeout every electionTick. */
  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.lease.tick();
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step({ type: 'checkQuorum', from: this.id, to: this.id, term: 0 });
      // Thesis §3.10: abort a transfer that did not complete within an election timeout so
      // the cluster accepts proposals again.
      if (this.state === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.step({ type: 'beat', from: this.id, to: this.id, term: 0 });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Step: the single entry point for every message
  // -------------------------------------------------------------------------------------------

  /**
   * Processes one message. First the term rules common to every role (§5.1: a higher term makes
   * us a follower; a lower term is stale), then votes, then the role's own handler.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // Local messages and forwarded proposals / read requests carry no term.
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Vote stickiness (thesis §4.2.3): while we hear from a leader, ignore vote requests so
        // a member that was partitioned away cannot depose a working leader. A transfer bypasses
        // it because the leader itself asked for the election.
        const inLease =
          this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        if (!m.transfer && (inLease || this.#leaderMayHoldLease())) {
          const remaining = Math.max(
            inLease ? this.cfg.electionTick - this.electionElapsed : 0,
            this.cfg.electionTick - this.leaderContactElapsed,
          );
          this.logger.info(
            `${this.id} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${this.vote}] ignored ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${remaining})`,
          );
          return;
        }
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResp' && !m.reject)) {
        // A pre-vote never changes our term; a granted pre-vote answer carries the term we would
        // campaign in, which we only adopt if the real election starts.
      } else {
        this.logger.info(
          `${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`,
        );
        const fromLeader = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap';
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      this.#stepStale(m);
      return;
    }

    // §5.2: a message from the leader of our (possibly just adopted) term. Only a leader sends
    // these, and a leader never receives them in its own term.
    if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') this.leaderContactElapsed = 0;

    switch (m.type) {
      case 'hup':
        if (!m.transfer && this.state !== 'leader' && this.#leaderMayHoldLease()) {
          // Our own election timer never fires this early (it restarts on the same messages);
          // only the host's campaign() gets here. Our vote for ourselves would break the lease
          // of the leader we just heard from, like forgetLeader (which lease mode refuses too).
          this.logger.warn(
            `${this.id} ignoring campaign at term ${this.term}: a leader's lease may not be expired (remaining ticks: ${this.cfg.electionTick - this.leaderContactElapsed})`,
          );
          return;
        }
        hup(this, m.transfer ? 'transfer' : this.cfg.preVote ? 'preElection' : 'election');
        return;
      case 'vote':
      case 'preVote':
        grantOrRejectVote(this, m);
        return;
    }
    if (this.state === 'leader') stepLeader(this, m);
    else if (this.state === 'follower') stepFollower(this, m);
    else stepCandidate(this, m);
  }

  /**
   * `'leaseBased'` mode: a leader may still count on this member's acknowledgement of one of its
   * heartbeats (lease-read.ts), so this member must not vote or campaign yet. etcd's check
   * ("lease is not expired" above) forgets the leader when the term moves on without it (a late
   * answer with a higher term, a pre-campaign) and on restart; this one does not.
   */
  #leaderMayHoldLease(): boolean {
    return this.cfg.readOnlyOption === 'leaseBased' && this.leaderContactElapsed < this.cfg.electionTick;
  }

  /** A message from an older term. */
  #stepStale(m: Message): void {
    if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
      // A leader cut off from the cluster keeps its term; with CheckQuorum or PreVote nobody
      // ever bumps our term by a vote request, so without this answer it would never learn of
      // the newer term (etcd-io/raft raft.go Step). The answer makes it step down.
      this.send({
        type: 'appResp',
        from: this.id,
        to: m.from,
        term: this.term,
        index: 0,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
    } else if (m.type === 'preVote') {
      // Reject with our term so the pre-candidate learns it is behind.
      this.logger.info(
        `${this.id} [term: ${this.term}] rejected stale preVote from ${m.from} [term: ${m.term}]`,
      );
      this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
    } else {
      this.logger.debug(
        `${this.id} [term: ${this.term}] ignored a ${m.type} message with lower term from ${m.from} [term: ${m.term}]`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Log and commit
  // -------------------------------------------------------------------------------------------

  /**
   * The leader appends an entry of its term (one allocation: the Entry) and acknowledges it to
   * itself once persisted. Returns false when the uncommitted-size cap refuses it.
   */
  appendEntry(type: EntryType, data: Uint8Array): boolean {
    if (!this.increaseUncommittedSize(data.byteLength)) return false;
    this.appendAdmittedEntry(type, data);
    return true;
  }

  /** {@link appendEntry} for an entry whose size the caller already counted as uncommitted. */
  appendAdmittedEntry(type: EntryType, data: Uint8Array): void {
    const index = this.raftLog.lastIndex() + 1;
    this.raftLog.appendOne({ term: this.term, index, type, data });
    this.selfAckTerm = this.term;
    this.selfAckIndex = index;
  }

  /** Commits what a quorum has (§5.3, restricted to the current term by §5.4.2). */
  maybeCommit(): boolean {
    const index = this.trk.committed();
    // Test-only fault (faults.ts, §5.4.2 / Figure 8): pass the entry's own term, so any entry a
    // quorum holds is committed by counting replicas, even one from an earlier term.
    const term = this.faults.commitPreviousTermByCount ? (this.raftLog.term(index) ?? 0) : this.term;
    return this.raftLog.maybeCommit(index, term);
  }

  /** The commit index advanced on the leader: release parked reads and tell the followers. */
  onLeaderCommit(): void {
    releasePendingReadIndexMessages(this);
    bcastAppend(this);
  }

  /**
   * Thesis §6.4 (and etcd #7331): true once the leader committed an entry of its own term, which
   * proves its commit index is at least as recent as any previous leader's.
   */
  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  /**
   * maxUncommittedEntriesSize: admit `size` more uncommitted bytes? Empty entries always pass
   * (a new leader's entry, leave-joint changes); so does anything when nothing is uncommitted,
   * so a proposal larger than the cap is not refused forever.
   */
  increaseUncommittedSize(size: number): boolean {
    if (
      this.uncommittedSize > 0 &&
      size > 0 &&
      this.uncommittedSize + size > this.cfg.maxUncommittedEntriesSize
    ) {
      return false;
    }
    this.uncommittedSize += size;
    return true;
  }

  reduceUncommittedSize(size: number): void {
    this.uncommittedSize = size > this.uncommittedSize ? 0 : this.uncommittedSize - size;
  }

  /**
   * The host applied entries up to `index` (`size` payload bytes). A leader in a joint
   * configuration with autoLeave proposes leaving it once the joint configuration is applied.
   */
  appliedTo(index: number, size: number): void {
    const newApplied = Math.max(index, this.raftLog.applied);
    this.raftLog.appliedTo(newApplied, size);
    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === 'leader') {
      // Thesis §4.3: once C_old,new is in effect the leader moves on to C_new by itself.
      try {
        proposeLeaveJoint(this);
        this.logger.info(`${this.id} initiating automatic transition out of joint configuration`);
      } catch (err) {
        this.logger.debug(`${this.id} not leaving the joint configuration automatically yet: ${String(err)}`);
      }
    }
  }

  /** The host persisted (and installed) snapshot at `index`. */
  appliedSnap(index: number): void {
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /** Followers drop their leader so a PreVote can succeed at once (etcd's ForgetLeader). */
  forgetLeader(): void {
    if (this.state !== 'follower') return;
    if (this.cfg.readOnlyOption === 'leaseBased') {
      // The leader still holds its lease; forgetting it would allow a second leader during it.
      this.logger.error(`${this.id} ignoring forgetLeader due to leaseBased reads`);
      return;
    }
    if (this.lead !== NONE) {
      this.logger.info(`${this.id} forgetting leader ${this.lead} at term ${this.term}`);
      this.lead = NONE;
    }
  }
}
