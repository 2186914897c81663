/**
 * The data types Raft exchanges with its host: log entries, persistent state, snapshots,
 * messages and the `Ready` batch. Plain objects only (no classes), so every type crosses a
 * transport or a file through any structured encoder (msgpackr) unchanged.
 */

/**
 * A member's identity: a positive safe integer. `0` means "none" (no leader known, no vote cast).
 */
export type NodeId = number;

/** The "no node" value used for `vote` and `lead`. */
export const NONE: NodeId = 0;

/**
 * What an entry carries. `'normal'` entries hold application commands (or nothing: a new
 * leader appends one empty normal entry, §5.4.2 / thesis §6.4). `'confChange'` entries hold an
 * encoded {@link ConfChange} (see `encodeConfChange`).
 */
export type EntryType = 'normal' | 'confChange';

/** One log entry. Immutable once created; indexes start at 1 and are contiguous. */
export interface Entry {
  /** The leader's term when the entry was created (§5.3). */
  readonly term: number;
  /** The entry's position in the log. */
  readonly index: number;
  readonly type: EntryType;
  /** The payload. Sizes in the config (`maxSizePerMsg`, ...) count `data.byteLength`. */
  readonly data: Uint8Array;
}

/**
 * The state a member must persist before it answers (Figure 2 "Persistent state"): the
 * current term and the vote cast in it, plus the commit index (which may be persisted lazily,
 * since it can be re-learned from the leader).
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/**
 * A membership configuration (etcd's ConfState). Non-empty `votersOutgoing` means a joint
 * configuration is active (thesis §4.3): decisions need a majority of `voters` AND a majority
 * of `votersOutgoing`. `learnersNext` are outgoing voters that become learners when the joint
 * configuration is left.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  /** When true, the leader leaves the joint configuration automatically once it is applied. */
  readonly autoLeave: boolean;
}

/** Where a snapshot sits in the log, and the configuration as of that index. */
export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

/** A state-machine snapshot covering every entry up to `metadata.index`. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** One simple membership step inside a {@link ConfChange}. */
export interface ConfChangeSingle {
  readonly type: 'addNode' | 'removeNode' | 'addLearner';
  readonly nodeId: NodeId;
}

/**
 * A membership change (etcd's ConfChangeV2). One change is a simple change; several are made
 * with joint consensus (thesis §4.3). An empty `changes` while a joint configuration is active
 * leaves it.
 *
 * `transition`: `'auto'` (default) uses a simple change when possible and otherwise joint
 * consensus that is left automatically; `'implicit'` forces joint consensus left automatically;
 * `'explicit'` forces joint consensus that the application leaves with an empty change.
 */
export interface ConfChange {
  readonly transition?: 'auto' | 'implicit' | 'explicit';
  readonly changes: readonly ConfChangeSingle[];
  /** Opaque application data carried with the change (for example the new member's address). */
  readonly context?: Uint8Array;
}

/** A member's role. `'preCandidate'` is the PreVote phase (thesis §9.6). */
export type StateType = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state, reported in a Ready only when it changed. */
export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

/** The answer to a `readIndex(ctx)` call: serve the read once applied ≥ `index`. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

interface MessageBase {
  /** The sender. */
  readonly from: NodeId;
  /** The recipient. */
  readonly to: NodeId;
  /**
   * The sender's term. `0` on messages that carry no term: forwarded proposals (`'prop'`),
   * forwarded read requests (`'readIndex'`), a `'transferLeader'` request made locally, and
   * local messages.
   */
  readonly term: number;
}

/** AppendEntries (§5.3): entries after (`index`, `logTerm`), and the leader's commit index. */
export interface AppMessage extends MessageBase {
  readonly type: 'app';
  /** Index of the entry immediately before `entries` ("prevLogIndex"). */
  readonly index: number;
  /** Term of the entry at `index` ("prevLogTerm"). */
  readonly logTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * The answer to `'app'` (and to a snapshot). On success `index` is the last index now known to
 * match. On rejection `index` is the rejected `app.index`, and (`rejectHint`, `logTerm`) is the
 * follower's hint for fast back-off: the largest index ≤ `app.index` whose term ≤ `app.logTerm`,
 * and that term.
 */
export interface AppRespMessage extends MessageBase {
  readonly type: 'appResp';
  readonly index: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly logTerm: number;
}

/**
 * RequestVote (§5.2) or a PreVote probe (thesis §9.6). `index`/`logTerm` describe the
 * candidate's last entry (§5.4.1 up-to-date check). For a pre-vote, `term` is the term the
 * candidate would campaign in (its current term + 1) without having adopted it.
 */
export interface VoteMessage extends MessageBase {
  readonly type: 'vote' | 'preVote';
  readonly index: number;
  readonly logTerm: number;
  /** True when the campaign was started by a leadership transfer (bypasses vote stickiness). */
  readonly transfer: boolean;
}

/** The answer to a vote or pre-vote request. */
export interface VoteRespMessage extends MessageBase {
  readonly type: 'voteResp' | 'preVoteResp';
  readonly reject: boolean;
}

/**
 * The leader's heartbeat. `commit` is capped at what the follower is known to hold.
 * `readSeq` is the leader-generated ReadIndex round this heartbeat confirms (0 = none); it is
 * never the user's context, so retried user contexts cannot be confused (etcd-io/raft#397).
 * With `'leaseBased'` reads every heartbeat broadcast carries a fresh one, which renews the
 * leader's lease once a quorum echoed it.
 */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly readSeq: number;
}

/** The answer to a heartbeat, echoing its `readSeq`. */
export interface HeartbeatRespMessage extends MessageBase {
  readonly type: 'heartbeatResp';
  readonly readSeq: number;
}

/**
 * InstallSnapshot (§7). A transport may carry `snapshot.data` out of band (streamed) and
 * re-attach it before stepping the message on the receiver.
 */
export interface SnapMessage extends MessageBase {
  readonly type: 'snap';
  readonly snapshot: Snapshot;
}

/** A proposal forwarded from a follower to the leader (term 0). */
export interface PropMessage extends MessageBase {
  readonly type: 'prop';
  readonly entries: readonly Entry[];
}

/** A ReadIndex request forwarded from a follower to the leader (term 0). */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'readIndex';
  readonly context: Uint8Array;
}

/** The leader's answer to a forwarded ReadIndex request. */
export interface ReadIndexRespMessage extends MessageBase {
  readonly type: 'readIndexResp';
  readonly index: number;
  readonly context: Uint8Array;
}

/** Asks the leader to hand leadership to `transferee` (thesis §3.10); followers forward it. */
export interface TransferLeaderMessage extends MessageBase {
  readonly type: 'transferLeader';
  readonly transferee: NodeId;
}

/** Tells the transferee to campaign at once, bypassing PreVote and vote stickiness. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow';
}

/** Every message that crosses the network. A `Ready` only ever contains these. */
export type NetworkMessage =
  | AppMessage
  | AppRespMessage
  | VoteMessage
  | VoteRespMessage
  | HeartbeatMessage
  | HeartbeatRespMessage
  | SnapMessage
  | PropMessage
  | ReadIndexMessage
  | ReadIndexRespMessage
  | TransferLeaderMessage
  | TimeoutNowMessage;

/** Start an election (from a tick or `campaign()`); `transfer` marks a leadership transfer. */
export interface HupMessage extends MessageBase {
  readonly type: 'hup';
  readonly transfer: boolean;
}
/** The leader's heartbeat timer fired. */
export interface BeatMessage extends MessageBase {
  readonly type: 'beat';
}
/** The leader's CheckQuorum timer fired. */
export interface CheckQuorumMessage extends MessageBase {
  readonly type: 'checkQuorum';
}
/** The transport could not reach `from` (reported with `reportUnreachable`). */
export interface UnreachableMessage extends MessageBase {
  readonly type: 'unreachable';
}
/** A snapshot to `from` finished or failed (reported with `reportSnapshot`). */
export interface SnapStatusMessage extends MessageBase {
  readonly type: 'snapStatus';
  readonly reject: boolean;
}

/** Messages that only ever exist inside one node; stepping one from outside is an error. */
export type LocalMessage =
  | HupMessage
  | BeatMessage
  | CheckQuorumMessage
  | UnreachableMessage
  | SnapStatusMessage;

/** Every message Raft understands, discriminated on `type`. */
export type Message = NetworkMessage | LocalMessage;

/** The `type` of every message. */
export type MessageType = Message['type'];

/** The `type` of every message that crosses the network. */
export type NetworkMessageType = NetworkMessage['type'];

const LOCAL_TYPES: ReadonlySet<MessageType> = new Set([
  'hup',
  'beat',
  'checkQuorum',
  'unreachable',
  'snapStatus',
]);

/** True for message types that never cross the network. */
export function isLocalMessageType(type: MessageType): type is LocalMessage['type'] {
  return LOCAL_TYPES.has(type);
}

/** True for response types (used to decide whether an unknown sender is an error). */
export function isResponseMessageType(type: MessageType): boolean {
  return (
    type === 'appResp' ||
    type === 'voteResp' ||
    type === 'preVoteResp' ||
    type === 'heartbeatResp' ||
    type === 'readIndexResp'
  );
}

// ---------------------------------------------------------------------------------------------
// Ready and Status
// ---------------------------------------------------------------------------------------------

/**
 * Everything the host must do after driving the node, in this order (the RawNode contract):
 *
 * 1. persist `snapshot`, `entries` and `hardState` (fsync when `mustSync`);
 * 2. send `messages` (they may go out while step 1 is still writing: those that promise
 *    durability are only released once step 1 of the Ready that produced them is reported done
 *    through `advance()`, and then appear in a later Ready);
 * 3. apply `snapshot`, then `committedEntries` in order (pass conf-change entries to
 *    `applyConfChange`); serve `readStates` once applied ≥ their index;
 * 4. call `advance()`.
 */
export interface Ready {
  /** Present only when the leader or the role changed. */
  readonly softState?: SoftState;
  /** Present only when term, vote or commit changed. */
  readonly hardState?: HardState;
  /** New entries to append to stable storage (may overwrite a conflicting suffix). */
  readonly entries: readonly Entry[];
  /** A snapshot to persist and install (never together with `committedEntries`). */
  readonly snapshot?: Snapshot;
  /** Entries to apply to the state machine, in log order. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send, after persisting what is above. */
  readonly messages: readonly NetworkMessage[];
  /** Completed ReadIndex requests. */
  readonly readStates: readonly ReadState[];
  /**
   * True when `entries` is non-empty, term/vote changed, or a `snapshot` is present: fsync before
   * calling `advance()`. A commit-only hard state change may be written lazily.
   */
  readonly mustSync: boolean;
}

/** A follower's replication state as the leader tracks it. */
export interface ProgressStatus {
  /** Highest index known to be replicated on the follower. */
  readonly match: number;
  /** Index of the next entry to send. */
  readonly next: number;
  /** `'probe'`: one message per heartbeat until the match point is found; `'replicate'`:
   * optimistic pipelining; `'snapshot'`: waiting for a snapshot to be installed. */
  readonly state: 'probe' | 'replicate' | 'snapshot';
  /** Heard from within the last election timeout (CheckQuorum). */
  readonly recentActive: boolean;
  readonly isLearner: boolean;
}

/** A point-in-time view of a node, for observability and tests. */
export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly raftState: StateType;
  /** The node a leadership transfer is heading to, or 0. */
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  /** Only on the leader: every member's progress, including the leader's own. */
  readonly progress?: ReadonlyMap<NodeId, ProgressStatus>;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** The hard state of a node that has never voted or committed. */
export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

/** A configuration with no members (a node that is not yet part of a cluster). */
export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** True when `hs` carries nothing (the state of a brand-new node). */
export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

/** True when two hard states are equal field by field. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The payload size of entries, as the size limits count it. */
export function payloadSize(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.byteLength;
  return n;
}

/**
 * The longest prefix of `entries` whose payload fits in `maxSize` bytes, but always at least
 * one entry (so a single oversized entry still makes progress). `maxSize` undefined = no limit.
 */
export function limitSize<T extends Entry>(entries: readonly T[], maxSize: number | undefined): T[] {
  if (entries.length === 0 || maxSize === undefined) return entries.slice();
  let size = entries[0]?.data.byteLength ?? 0;
  let n = 1;
  for (; n < entries.length; n++) {
    const e = entries[n];
    if (e === undefined) break;
    size += e.data.byteLength;
    if (size > maxSize) break;
  }
  return entries.slice(0, n);
}
