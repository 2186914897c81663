import {
  type ConfState,
  type Entry,
  emptyConfState,
  type HardState,
  MemoryStorage,
  type NodeId,
  type RawNode,
  type Ready,
  type Snapshot,
} from '@flotilla/raft';
import { payloadDigest } from './invariants.js';
import { MirrorLog } from './mirror-log.js';

/**
 * One simulated member: a RawNode (absent while crashed), the storage that holds only what its
 * host persisted, the Readies taken but not yet persisted (lost on a crash), and a tiny state
 * machine — a running digest of the applied entries — whose snapshots travel as the snapshot
 * data.
 */
export class SimNode {
  readonly id: NodeId;
  readonly seed: number;
  storage = new MemoryStorage();
  /**
   * Only for the broken `ackBeforePersist` host: the storage as of its last fsync. Writes since
   * then sit in an OS buffer that a crash loses.
   */
  synced: { snapshot: Snapshot; entries: Entry[]; hardState: HardState } | undefined;
  /** The running node; undefined while crashed (or never started). */
  raft: RawNode | undefined;
  /** Bumped on every restart: volatile state may go back across incarnations, never within one. */
  incarnation = 0;
  /** Readies taken and not yet persisted, oldest first. A crash loses them. */
  pending: Ready[] = [];
  /** A Ready was taken and advance() is due after it is persisted (the correct driver). */
  awaitingAdvance = false;
  /** What the host has seen of the log (persisted + pending); see MirrorLog. */
  log = new MirrorLog();
  /** State machine: index of the last applied entry and the digest of everything applied. */
  smIndex = 0;
  smDigest = 0;
  /** The configuration as of `smIndex` (recorded in snapshots). */
  confState: ConfState = emptyConfState();
  /** Started once (bootstrapped, or added by a membership change). */
  started = false;
  /** Removed from the cluster and shut down for good. */
  retired = false;
  /** The term in which this incarnation was last seen leading (0 = not leading). */
  leaderTerm = 0;
  /** The last term in which leader completeness was checked for this node. */
  checkedLeaderTerm = 0;

  constructor(id: NodeId, seed: number) {
    this.id = id;
    this.seed = seed;
  }

  get up(): boolean {
    return this.raft !== undefined && !this.retired;
  }

  /** Applies one entry to the state machine: the digest chains index, term and payload. */
  applyToStateMachine(e: Entry): void {
    let h = this.smDigest ^ e.index;
    h = Math.imul(h, 0x01000193) ^ e.term;
    h = Math.imul(h, 0x01000193) ^ payloadDigest(e.data);
    this.smDigest = Math.imul(h, 0x01000193) >>> 0;
    this.smIndex = e.index;
  }

  /** The state-machine snapshot payload: its digest. */
  snapshotData(): Uint8Array {
    return new TextEncoder().encode(String(this.smDigest));
  }

  /** Restores the state machine from a snapshot payload at `index`. */
  restoreStateMachine(index: number, data: Uint8Array, confState: ConfState): void {
    const text = new TextDecoder().decode(data);
    this.smDigest = text.length === 0 ? 0 : Number(text);
    this.smIndex = index;
    this.confState = confState;
  }

  /** Records the storage's current contents as durable (an fsync). */
  fsync(): void {
    const s = this.storage;
    const first = s.firstIndex();
    const last = s.lastIndex();
    this.synced = {
      snapshot: s.snapshot(),
      entries: last >= first ? s.entries(first, last + 1) : [],
      hardState: s.initialState().hardState,
    };
  }

  /** A crash loses every write since the last fsync. */
  loseUnsyncedWrites(): void {
    const d = this.synced;
    if (d === undefined) return;
    const s = new MemoryStorage();
    if (d.snapshot.metadata.index > 0) s.applySnapshot(d.snapshot);
    s.append(d.entries);
    s.setHardState(d.hardState);
    this.storage = s;
  }

  /** Rebuilds host state from storage after a crash. */
  reload(): void {
    const snap = this.storage.snapshot();
    this.restoreStateMachine(snap.metadata.index, snap.data, snap.metadata.confState);
    this.log = MirrorLog.fromStorage(this.storage);
    this.pending = [];
    this.awaitingAdvance = false;
    this.leaderTerm = 0;
    this.checkedLeaderTerm = 0;
  }
}
