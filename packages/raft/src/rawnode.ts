import { bootstrap } from './bootstrap.js';
import { validateConfChange } from './confchange/codec.js';
import { type RaftConfig, resolveConfig } from './config.js';
import { RaftError } from './errors.js';
import { payloadBytes } from './log/limit.js';
import { applyConfChange } from './membership.js';
import { badArg, checkId, checkIncoming } from './message-check.js';
import { flushPendingBcast, propose, proposeConfChange } from './proposal.js';
import { Raft } from './raft.js';
import { getStatus } from './status.js';
import {
  type ConfChange,
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type Message,
  type NetworkMessage,
  type NodeId,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
  type Status,
} from './types.js';

const NO_MESSAGES: readonly NetworkMessage[] = Object.freeze([]) as readonly NetworkMessage[];
const NO_READ_STATES: readonly ReadState[] = Object.freeze([]) as readonly ReadState[];

/** Internal access for `describe.ts` and tests of this package; not exported from the index. */
const internals = new WeakMap<RawNode, Raft>();

/** @internal The Raft state machine behind a RawNode. */
export function raftOf(rn: RawNode): Raft {
  const r = internals.get(rn);
  if (r === undefined) throw new RaftError('INVALID_ARGUMENT', 'not a RawNode');
  return r;
}

/**
 * One Raft member as a synchronous state machine (etcd-io/raft's RawNode). The host drives it:
 *
 * - inputs: {@link tick} on a timer, {@link step} for every message from a peer, and the
 *   requests {@link propose}, {@link proposeConfChange}, {@link readIndex}, {@link campaign},
 *   {@link transferLeader}, {@link forgetLeader}, {@link reportUnreachable},
 *   {@link reportSnapshot};
 * - outputs: when {@link hasReady}, take a {@link Ready} with {@link ready}, then (1) persist
 *   its snapshot, entries and hard state (fsync when `mustSync`), (2) send its messages, (3)
 *   apply the snapshot and the committed entries in order (pass conf-change entries to
 *   {@link applyConfChange}), serve its read states once applied, and (4) call {@link advance}.
 *
 * Messages that promise durability (`appResp`, `voteResp`, `preVoteResp`), the leader's
 * acknowledgement of its own entries and a candidate's vote for itself are held back: they are
 * released by the `advance()` of the Ready during which they were produced (those to peers then
 * appear in the next Ready, those to self take effect at once). Everything in `Ready.messages`
 * may therefore be sent as soon as the Ready is taken, in parallel with the disk write (thesis
 * §10.2.1), and nothing is promised to a peer before it is durable.
 *
 * `ready()` and `advance()` alternate: calling `ready()` again before `advance()` throws
 * `INVARIANT_VIOLATED`.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * const node = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
 * node.bootstrap([1]);
 * // in the host loop:
 * if (node.hasReady()) {
 *   const rd = node.ready();
 *   if (rd.snapshot) storage.applySnapshot(rd.snapshot);
 *   storage.append(rd.entries);
 *   if (rd.hardState) storage.setHardState(rd.hardState);
 *   for (const m of rd.messages) send(m);
 *   for (const e of rd.committedEntries) apply(e);
 *   node.advance();
 * }
 * ```
 */
export class RawNode {
  readonly #raft: Raft;
  #prevSoftState: SoftState;
  #prevHardState: HardState;
  /**
   * The accepted Ready's held-back messages, released by advance(): responses to peers go to
   * the next Ready, messages to self (the self-vote, the leader's self-ack) are stepped.
   */
  #heldBack: NetworkMessage[] = [];
  /** A Ready was handed out and not yet advanced. */
  #awaitingAdvance = false;
  /** The accepted Ready's last unstable entry (index 0 = none) and the term when accepted. */
  #stableIndex = 0;
  #stableLogTerm = 0;
  #stableRaftTerm = 0;
  /** The accepted Ready's snapshot index (-1 = none). */
  #snapIndex = -1;
  /** The accepted Ready's last committed entry (0 = none) and their payload bytes. */
  #applyIndex = 0;
  #applySize = 0;

  /** Creates a member from `config`, restoring its state from `config.storage`. Throws `INVALID_CONFIG`. */
  constructor(config: RaftConfig) {
    const r = new Raft(resolveConfig(config));
    this.#raft = r;
    internals.set(this, r);
    this.#prevSoftState = r.softState();
    // The restored hard state is already persisted: do not hand it out again.
    this.#prevHardState = r.hardState();
  }

  /**
   * Initializes a brand-new member of a new cluster on empty storage: one committed
   * `'confChange'` entry per peer, which the host persists and applies like any other. Throws
   * `INVALID_BOOTSTRAP` (nothing changed) on non-empty storage or a bad peer list.
   */
  bootstrap(peers: NodeId[]): void {
    bootstrap(this.#raft, peers);
    // The bootstrapped hard state (term 1, commit) must reach the host.
    this.#prevHardState = EMPTY_HARD_STATE;
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.#raft.tick();
  }

  /**
   * Processes a message from a peer. Throws `STEP_LOCAL_MSG` for a local-only type,
   * `STEP_PEER_NOT_FOUND` for a response from a member this node does not track, and
   * `INVALID_ARGUMENT` for a malformed message (unknown type, not addressed to this node, bad
   * ids or term); nothing changes then.
   */
  step(m: Message): void {
    checkIncoming(this.#raft, m);
    this.#raft.step(m);
  }

  /**
   * Proposes `data` to be appended to the log. Throws `PROPOSAL_DROPPED` (nothing changed) when no
   * leader is known, forwarding is disabled, a leadership transfer is in progress or the
   * uncommitted-size cap is reached.
   */
  propose(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) badArg('proposal data must be a Uint8Array');
    propose(this.#raft, 'normal', data);
  }

  /**
   * Proposes a membership change (see {@link ConfChange}). Throws `PROPOSAL_DROPPED` as
   * {@link propose}, and `INVALID_CONF_CHANGE` (nothing appended) for a malformed change or one
   * the leader can tell is invalid: another change is pending, entering a joint configuration
   * twice, leaving a non-joint one, or removing the last voter.
   */
  proposeConfChange(cc: ConfChange): void {
    validateConfChange(cc);
    proposeConfChange(this.#raft, cc);
  }

  /**
   * Applies a committed conf change (decode the entry with `decodeConfChange`) and returns the
   * new configuration, to be stored with the next snapshot. Throws `INVALID_CONF_CHANGE`
   * (nothing changed) when it does not apply to the current configuration.
   */
  applyConfChange(cc: ConfChange): ConfState {
    validateConfChange(cc);
    return applyConfChange(this.#raft, cc);
  }

  /**
   * Starts an election now (a PreVote round first when `preVote` is on). A no-op on the leader,
   * a learner, a non-member, or while committed conf changes are not yet applied; with
   * `'leaseBased'` reads also within `electionTick` ticks of hearing from a leader or of a
   * restart, since a leader's lease may still count on this member.
   */
  campaign(): void {
    const id = this.#raft.id;
    this.#raft.step({ type: 'hup', from: id, to: id, term: 0, transfer: false });
  }

  /**
   * Requests a linearizable read point (thesis §6.4). When the leader confirms it, a
   * `ReadState` with the read index and `ctx` appears in a later Ready: serve the read once the
   * applied index reaches it. A no-op when no leader is known (retry later).
   */
  readIndex(ctx: Uint8Array): void {
    if (!(ctx instanceof Uint8Array)) badArg('readIndex context must be a Uint8Array');
    const id = this.#raft.id;
    this.#raft.step({ type: 'readIndex', from: id, to: id, term: 0, context: ctx });
  }

  /**
   * Asks the leader to hand leadership to `to` (thesis §3.10); a follower forwards the request.
   * Ignored for non-voters; aborted if not done within an election timeout. Proposals are
   * refused while it runs.
   */
  transferLeader(to: NodeId): void {
    checkId('transferee', to);
    const id = this.#raft.id;
    this.#raft.step({ type: 'transferLeader', from: id, to: id, term: 0, transferee: to });
  }

  /**
   * Makes a follower forget its leader, so a PreVote round can succeed at once (for example when
   * the host knows the leader is gone). Ignored on leaders, candidates and with lease-based reads.
   */
  forgetLeader(): void {
    this.#raft.forgetLeader();
  }

  /** Tells the leader that the last message to `id` may have been lost: it probes `id` again. */
  reportUnreachable(id: NodeId): void {
    checkId('id', id);
    this.#raft.step({ type: 'unreachable', from: id, to: this.#raft.id, term: 0 });
  }

  /**
   * Reports the outcome of sending a snapshot to `id`. The leader resumes replication to it
   * (`'finish'`) or sends another snapshot later (`'failure'`). A host must report every `snap`
   * message it sent or failed to send.
   */
  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void {
    checkId('id', id);
    if (status !== 'finish' && status !== 'failure') badArg(`snapshot status must be 'finish' or 'failure'`);
    this.#raft.step({
      type: 'snapStatus',
      from: id,
      to: this.#raft.id,
      term: 0,
      reject: status === 'failure',
    });
  }

  /** True when {@link ready} would return something to do. */
  hasReady(): boolean {
    const r = this.#raft;
    // Proposals waiting for their broadcast always come with new entries to persist.
    if (r.pendingBcast) return true;
    if (r.lead !== this.#prevSoftState.lead || r.state !== this.#prevSoftState.raftState) return true;
    const hs = this.#prevHardState;
    if (r.term !== hs.term || r.vote !== hs.vote || r.raftLog.committed !== hs.commit) return true;
    if (r.raftLog.nextUnstableSnapshot() !== undefined) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0 || r.selfAckIndex > 0) return true;
    if (r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts(true)) return true;
    return r.readStates.length > 0;
  }

  /**
   * Returns what the host must do now (see the class documentation) and marks it as handed out:
   * the same entries, messages and committed entries are not returned again. Call
   * {@link advance} once the Ready is handled.
   */
  ready(): Ready {
    if (this.#awaitingAdvance) {
      throw new RaftError(
        'INVARIANT_VIOLATED',
        'ready() called again before advance() of the previous Ready',
      );
    }
    const r = this.#raft;
    flushPendingBcast(r);
    const log = r.raftLog;
    const entries = log.nextUnstableEnts();
    const committedEntries = log.nextCommittedEnts(true);
    const snapshot = log.nextUnstableSnapshot();

    // Messages that need no durability go out now (even before this Ready is persisted). The
    // held-back ones (responses promising durability, the self-vote, the leader's self-ack) wait
    // for advance(): those to peers then appear in the next Ready, those to self are stepped.
    const messages: readonly NetworkMessage[] = r.msgs.length > 0 ? r.msgs : NO_MESSAGES;
    const held = r.msgsAfterAppend;
    if (r.selfAckIndex > 0) {
      held.push({
        type: 'appResp',
        from: r.id,
        to: r.id,
        term: r.selfAckTerm,
        index: r.selfAckIndex,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
    }

    const prevHs = this.#prevHardState;
    const termOrVoteChanged = r.term !== prevHs.term || r.vote !== prevHs.vote;
    const rd: { -readonly [K in keyof Ready]: Ready[K] } = {
      entries,
      committedEntries,
      messages,
      readStates: r.readStates.length > 0 ? r.readStates : NO_READ_STATES,
      // Entries, a new term or vote, and a snapshot must be durable before advance() releases
      // the answers that promise them (Figure 2 "Persistent state"); a commit-only change need
      // not be: the commit index can always be learned again from the leader.
      mustSync: entries.length > 0 || termOrVoteChanged || snapshot !== undefined,
    };
    if (r.lead !== this.#prevSoftState.lead || r.state !== this.#prevSoftState.raftState) {
      rd.softState = r.softState();
      this.#prevSoftState = rd.softState;
    }
    if (termOrVoteChanged || r.raftLog.committed !== prevHs.commit) {
      rd.hardState = r.hardState();
      this.#prevHardState = rd.hardState;
    }
    if (snapshot !== undefined) rd.snapshot = snapshot;
    this.#accept(held, snapshot, committedEntries);
    return rd;
  }

  /** Marks the Ready as handed out and records what advance() must do. */
  #accept(held: NetworkMessage[], snapshot: Snapshot | undefined, committed: readonly Entry[]): void {
    const r = this.#raft;
    const log = r.raftLog;
    if (r.readStates.length > 0) r.readStates = [];
    this.#heldBack = held;
    r.selfAckIndex = 0;
    r.selfAckTerm = 0;
    if (log.hasNextOrInProgressUnstableEnts()) {
      this.#stableIndex = log.lastIndex();
      this.#stableLogTerm = log.lastTerm();
      this.#stableRaftTerm = r.term;
    } else {
      this.#stableIndex = 0;
    }
    this.#snapIndex = snapshot === undefined ? -1 : snapshot.metadata.index;
    r.msgs = [];
    r.msgsAfterAppend = [];
    log.acceptUnstable();
    if (committed.length > 0) {
      const last = committed[committed.length - 1] as Entry;
      this.#applyIndex = last.index;
      this.#applySize = payloadBytes(committed);
      log.acceptApplying(last.index, this.#applySize, true);
    } else {
      this.#applyIndex = 0;
      this.#applySize = 0;
    }
    this.#awaitingAdvance = true;
  }

  /**
   * The host persisted, sent and applied the last Ready. Releases the held-back messages to
   * self (votes, the leader's self-ack), marks the entries stable and the committed entries
   * applied. A no-op when no Ready is outstanding.
   */
  advance(): void {
    if (!this.#awaitingAdvance) return;
    this.#awaitingAdvance = false;
    const r = this.#raft;
    const held = this.#heldBack;
    this.#heldBack = [];
    for (const m of held) {
      if (m.to === r.id) r.step(m);
      else r.msgs.push(m);
    }
    if (this.#stableIndex > 0) {
      // If the term changed since the Ready was accepted, the entries may have been replaced
      // by a new leader's (the ABA problem of etcd's rawnode.go); leave them unstable then, a
      // later Ready covers them.
      if (this.#stableRaftTerm === r.term) r.raftLog.stableTo(this.#stableIndex, this.#stableLogTerm);
      this.#stableIndex = 0;
    }
    if (this.#snapIndex >= 0) {
      r.appliedSnap(this.#snapIndex);
      this.#snapIndex = -1;
    }
    if (this.#applyIndex > 0) {
      r.appliedTo(this.#applyIndex, this.#applySize);
      r.reduceUncommittedSize(this.#applySize);
      this.#applyIndex = 0;
    }
  }

  /** The member's current state (see {@link Status}); progress only on the leader. */
  status(): Status {
    return getStatus(this.#raft);
  }
}
