import type { Entry, HardState, MemoryStorage, Snapshot } from '@flotilla/raft';
import { AcceptedLog } from './accepted-log.js';
import { invalid, WalError } from './errors.js';
import { walFaultsOf } from './faults.js';
import type { DirectoryLock, FileSystem } from './file-system.js';
import { entriesRecordSize, FrameBuilder, HARD_STATE_RECORD_SIZE, SNAPSHOT_RECORD_SIZE } from './format.js';
import { parseName, snapshotName, snapshotTmpName } from './names.js';
import type { SnapshotMarker } from './replay.js';
import type { SegmentLog, WrittenState } from './segment-log.js';
import { encodeSnapshotFile } from './snapshot-file.js';
import type { ReplicaStorage, SaveRequest } from './types.js';
import { checkEntries, checkHardState, checkSnapshot } from './validate.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** A call accepted and queued for the writer. */
type Request =
  | (Waiter & {
      readonly kind: 'save';
      readonly entries: readonly Entry[];
      readonly hardState: HardState | undefined;
      readonly snapshot: Snapshot | undefined;
      readonly mustSync: boolean;
      marker?: SnapshotMarker;
    })
  | (Waiter & { readonly kind: 'snapshot'; readonly snapshot: Snapshot; marker?: SnapshotMarker })
  | (Waiter & { readonly kind: 'compact'; readonly index: number });

/** What {@link Wal} starts from: a recovered or a new directory. */
export interface WalStart {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly lock: DirectoryLock;
  readonly log: SegmentLog;
  readonly storage: MemoryStorage;
  readonly hardState: HardState;
  readonly snapshot: Snapshot | undefined;
  readonly marker: SnapshotMarker | undefined;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly snapshotFiles: readonly string[];
}

/** How many microtask turns the writer waits before taking a batch (see {@link Wal.#run}). */
const GATHER_TURNS = 3;

/**
 * The {@link ReplicaStorage} behind {@link openReplicaStorage}: group commit over a
 * {@link SegmentLog}, snapshot files, and the `MemoryStorage` Raft reads.
 *
 * One writer loop takes every queued call as one batch: it writes the batch's snapshot files,
 * then the batch's records as one frame (one write of one preassembled buffer), fsyncs once if
 * any call needs it, and only then updates `storage` and resolves the calls, in call order.
 * Calls arriving meanwhile queue up for the next batch and share its fsync (group commit).
 *
 * Why `storage` changes only after the fsync: Raft keeps new entries in its unstable log until
 * the host reports them persisted (`advance()`), then reads them from `storage`. Updating
 * `storage` before the data is durable would let Raft (through `storage`) see and act on
 * entries, a conflicting-suffix truncation or a snapshot that a crash could still take back;
 * updating it after the call resolved would open a window where neither the unstable log nor
 * `storage` holds them. So `storage` is updated after the fsync and before the promise
 * resolves: it always equals what is durable (what the next recovery will read, modulo a torn
 * unacknowledged tail).
 */
export class Wal implements ReplicaStorage {
  readonly storage: MemoryStorage;
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #lock: DirectoryLock;
  readonly #log: SegmentLog;
  readonly #frames = new FrameBuilder();
  readonly #snapshotFiles: Set<string>;
  #hardState: HardState;
  #snapshot: Snapshot | undefined;
  readonly #written: WrittenState;
  readonly #accepted: AcceptedLog;
  /** Accepted and not yet applied to `storage`, in call order (the queue is its suffix). */
  #pending: Request[] = [];
  #queue: Request[] = [];
  #running = false;
  #failure: WalError | undefined;
  #closing: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  constructor(s: WalStart) {
    this.#fs = s.fs;
    this.#dir = s.dir;
    this.#lock = s.lock;
    this.#log = s.log;
    this.storage = s.storage;
    this.#hardState = s.hardState;
    this.#snapshot = s.snapshot;
    this.#snapshotFiles = new Set(s.snapshotFiles);
    this.#written = { hardState: s.hardState, marker: s.marker, lastIndex: s.lastIndex };
    const snap = s.snapshot?.metadata;
    this.#accepted = new AcceptedLog(
      {
        lastIndex: s.lastIndex,
        lastTerm: s.lastTerm,
        snapIndex: snap?.index ?? 0,
        snapTerm: snap?.term ?? 0,
      },
      (i) => this.#termAt(i),
    );
  }

  get hardState(): HardState {
    return this.#hardState;
  }

  get snapshot(): Snapshot | undefined {
    return this.#snapshot;
  }

  save(rd: SaveRequest): Promise<void> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    try {
      if (typeof rd !== 'object' || rd === null)
        throw invalid('save expects { entries, hardState?, snapshot?, mustSync }');
      if (typeof rd.mustSync !== 'boolean') throw invalid('mustSync must be a boolean');
      if (rd.hardState !== undefined) checkHardState(rd.hardState);
      if (rd.snapshot !== undefined) checkSnapshot(rd.snapshot);
      checkEntries(rd.entries);
      this.#accepted.acceptSave(rd.entries, rd.snapshot);
    } catch (err) {
      return Promise.reject(err);
    }
    // Copy the array: the caller may reuse it before the batch is encoded.
    const entries = rd.entries.length === 0 ? [] : rd.entries.slice();
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({
        kind: 'save',
        entries,
        hardState: rd.hardState,
        snapshot: rd.snapshot,
        mustSync: rd.mustSync,
        resolve,
        reject,
      });
    });
  }

  saveSnapshot(snap: Snapshot): Promise<void> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    try {
      checkSnapshot(snap);
      this.#accepted.acceptSnapshot(snap);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) =>
      this.#enqueue({ kind: 'snapshot', snapshot: snap, resolve, reject }),
    );
  }

  compact(index: number): Promise<void> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    if (!Number.isSafeInteger(index) || index < 0) {
      return Promise.reject(invalid('compact index must be a non-negative safe integer'));
    }
    return new Promise<void>((resolve, reject) => this.#enqueue({ kind: 'compact', index, resolve, reject }));
  }

  close(): Promise<void> {
    if (this.#closing === undefined) this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#running) await new Promise<void>((resolve) => (this.#idle = resolve));
    try {
      await this.#log.close();
    } catch (err) {
      // After a failure, or once the lock is lost (a simulated crash ended this "process"),
      // there is nothing left to close properly.
      if (this.#failure === undefined && this.#lock.held) {
        throw new WalError('WAL_IO', `closing the WAL failed: ${String(err)}`, { cause: err });
      }
    } finally {
      await this.#lock.release();
    }
  }

  /** Why a new call is refused, if it is. */
  #refusal(): WalError | undefined {
    if (this.#failure !== undefined) return this.#failure;
    if (this.#closing !== undefined) return new WalError('WAL_CLOSED', 'the storage is closed');
    return undefined;
  }

  /**
   * The term of entry `i` (snapshot index ≤ i < last index) in the accepted log: from the
   * newest pending call that holds it, else from `storage` (which holds everything applied).
   */
  #termAt(i: number): number {
    for (let k = this.#pending.length - 1; k >= 0; k--) {
      const r = this.#pending[k];
      if (r?.kind !== 'save') continue;
      const first = r.entries[0];
      if (first !== undefined && first.index <= i && i < first.index + r.entries.length) {
        return (r.entries[i - first.index] as Entry).term;
      }
      if (r.snapshot !== undefined && r.snapshot.metadata.index === i) return r.snapshot.metadata.term;
    }
    return this.storage.term(i);
  }

  #enqueue(r: Request): void {
    this.#pending.push(r);
    this.#queue.push(r);
    if (!this.#running) {
      this.#running = true;
      queueMicrotask(() => void this.#run());
    }
  }

  /**
   * The writer loop. Before taking a batch it lets a few microtask turns pass, so that callers
   * whose previous save just resolved (and who save again in their continuation) join this
   * batch instead of trickling into the next ones. No timer: batching comes from the fsync
   * in flight, never from waiting.
   */
  async #run(): Promise<void> {
    try {
      for (;;) {
        for (let i = 0; i < GATHER_TURNS; i++) await null;
        const head = this.#queue[0];
        if (head === undefined || this.#failure !== undefined) break;
        if (head.kind === 'compact') {
          this.#queue.shift();
          await this.#compact(head);
          continue;
        }
        let n = 1;
        while (n < this.#queue.length && this.#queue[n]?.kind !== 'compact') n++;
        await this.#commit(this.#queue.splice(0, n));
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#running = false;
      this.#idle?.();
    }
  }

  /** Writes, syncs and applies one batch of saves and snapshots. */
  async #commit(batch: Request[]): Promise<void> {
    // 1. Snapshot files first: a marker must never name a file that is not durable.
    for (const r of batch) {
      if (r.kind !== 'compact' && r.snapshot !== undefined)
        r.marker = await this.#writeSnapshotFile(r.snapshot);
    }
    // 2. All records as one frame (or more, when the segment fills up), one write each.
    const frames = this.#frames;
    const log = this.#log;
    const w = this.#written;
    let mustSync = false;
    frames.begin();
    for (const r of batch) {
      if (r.kind === 'compact') continue;
      const size =
        r.kind === 'snapshot'
          ? SNAPSHOT_RECORD_SIZE
          : (r.snapshot === undefined ? 0 : SNAPSHOT_RECORD_SIZE) +
            (r.entries.length === 0 ? 0 : entriesRecordSize(r.entries)) +
            (r.hardState === undefined ? 0 : HARD_STATE_RECORD_SIZE);
      // A mustSync save is also a barrier for the unsynced saves before it, even when it is empty.
      if (r.kind === 'save') mustSync ||= r.mustSync;
      if (size === 0) continue;
      if (log.needsCut(frames.bodySize + size)) {
        if (frames.bodySize > 0) await log.writeFrame(frames.finish(log.chain));
        await log.cut(w);
        frames.begin();
      }
      const m = r.marker;
      if (r.kind === 'snapshot') {
        if (m !== undefined) frames.addSnapshot(m.index, m.term, m.crc, false);
        w.marker = m;
        mustSync = true;
        continue;
      }
      // Order inside a save: the snapshot it installs, then entries after it, then the hard
      // state (whose commit may cover those entries). The frame makes the three atomic.
      if (m !== undefined) {
        frames.addSnapshot(m.index, m.term, m.crc, true);
        w.marker = m;
        w.lastIndex = m.index;
      }
      const last = r.entries[r.entries.length - 1];
      if (last !== undefined) {
        frames.addEntries(r.entries);
        w.lastIndex = last.index;
      }
      if (r.hardState !== undefined) {
        frames.addHardState(r.hardState);
        w.hardState = r.hardState;
      }
    }
    if (frames.bodySize > 0) await log.writeFrame(frames.finish(log.chain));
    // Test-only fault (faults.ts): acknowledge without the fsync.
    if (mustSync && !walFaultsOf(this).ackBeforeFsync) await log.sync();
    // 3. Durable: make it visible to Raft, then acknowledge, in call order.
    for (const r of batch) this.#apply(r);
    // The batch is the head of #pending (calls are applied in order); drop it in one go.
    this.#pending.splice(0, batch.length);
    for (const r of batch) r.resolve();
  }

  #apply(r: Request): void {
    const st = this.storage;
    if (r.kind === 'snapshot') {
      const { index, confState } = r.snapshot.metadata;
      st.createSnapshot(index, confState, r.snapshot.data);
      this.#snapshot = r.snapshot;
    } else if (r.kind === 'save') {
      if (r.snapshot !== undefined) {
        st.applySnapshot(r.snapshot);
        this.#snapshot = r.snapshot;
      }
      if (r.entries.length > 0) st.append(r.entries);
      if (r.hardState !== undefined) {
        st.setHardState(r.hardState);
        this.#hardState = r.hardState;
      }
    }
  }

  /** Temp file, fsync, rename, fsync of the directory; returns the marker naming it. */
  async #writeSnapshotFile(snap: Snapshot): Promise<SnapshotMarker> {
    const { index, term } = snap.metadata;
    const { parts, crc } = encodeSnapshotFile(snap);
    const tmp = `${this.#dir}/${snapshotTmpName(term, index)}`;
    this.#guard();
    const h = await this.#fs.create(tmp);
    let at = 0;
    for (const part of parts) {
      await h.write(part, at);
      at += part.byteLength;
    }
    await h.sync();
    await h.close();
    this.#guard();
    await this.#fs.rename(tmp, `${this.#dir}/${snapshotName(term, index)}`);
    await this.#fs.fsyncDir(this.#dir);
    this.#snapshotFiles.add(snapshotName(term, index));
    return { index, term, crc };
  }

  async #compact(r: Request & { kind: 'compact' }): Promise<void> {
    const durable = this.#snapshot?.metadata.index ?? 0;
    if (r.index > durable) {
      this.#pending.splice(this.#pending.indexOf(r), 1);
      r.reject(invalid(`cannot compact to ${r.index}: the newest durable snapshot is at ${durable}`));
      return;
    }
    if (r.index >= this.storage.firstIndex()) this.storage.compact(r.index);
    await this.#log.dropThrough(r.index);
    // Only the newest snapshot file is ever read back; older ones can go (no fsync needed: one
    // that reappears after a crash is simply ignored).
    for (const name of [...this.#snapshotFiles]) {
      const parsed = parseName(name);
      if (parsed?.kind === 'snap' && parsed.index < durable) {
        this.#guard();
        await this.#fs.remove(`${this.#dir}/${name}`);
        this.#snapshotFiles.delete(name);
      }
    }
    this.#pending.splice(this.#pending.indexOf(r), 1);
    r.resolve();
  }

  /** See {@link lockGuard}. */
  #guard(): void {
    if (!this.#lock.held) throw new WalError('WAL_IO', 'the directory lock was lost (the process crashed?)');
  }

  /** After any I/O failure: fail every accepted call, in order, and every later one. */
  #fail(err: unknown): void {
    const failure =
      err instanceof WalError && err.code === 'WAL_IO'
        ? err
        : new WalError('WAL_IO', `a write to the WAL failed; the storage must be reopened: ${String(err)}`, {
            cause: err,
          });
    this.#failure = failure;
    const pending = this.#pending;
    this.#pending = [];
    this.#queue = [];
    for (const r of pending) r.reject(failure);
  }
}

/**
 * A check run before every change to the directory: it refuses once the lock is gone (a
 * simulated crash killed this "process", or the storage was closed), so a dead process's
 * leftover promises can never write into files a recovered process now owns.
 */
export function lockGuard(lock: DirectoryLock): () => void {
  return () => {
    if (!lock.held) throw new WalError('WAL_IO', 'the directory lock was lost (the process crashed?)');
  };
}
