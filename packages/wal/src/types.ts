import type { Entry, HardState, MemoryStorage, Snapshot } from '@flotilla/raft';
import type { FileSystem } from './file-system.js';

/** Where the WAL reports what it repaired (a torn tail, an interrupted segment cut). */
export interface WalLogger {
  warn(message: string, details?: Readonly<Record<string, unknown>>): void;
}

/** Options of {@link openReplicaStorage}. */
export interface OpenReplicaStorageOptions {
  /** The file layer (default: {@link nodeFileSystem}). */
  readonly fs?: FileSystem;
  /**
   * Segment size in bytes before the WAL starts a new segment (default 64 MiB, as etcd). Each
   * segment is preallocated to this size. A save larger than a segment gets a segment of its own.
   */
  readonly segmentBytes?: number;
  /** Receives warnings about repairs made during recovery (default: none). */
  readonly logger?: WalLogger;
}

/**
 * What one `save` persists: the parts of a Raft `Ready` that must be durable (a `Ready` can be
 * passed as it is).
 */
export interface SaveRequest {
  /** The new hard state, when it changed. */
  readonly hardState?: HardState;
  /**
   * New entries, contiguous. They replace any entries at or after the first one's index (the
   * conflicting suffix a new leader overwrote, §5.3).
   */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: it replaces the whole log (§7). */
  readonly snapshot?: Snapshot;
  /** True: resolve only once fsynced. False: resolve once written (Raft says no fsync is needed). */
  readonly mustSync: boolean;
}

/**
 * A replica's durable Raft storage: the WAL, the snapshot files, and the `MemoryStorage` that
 * Raft reads, kept equal to what is durable.
 */
export interface ReplicaStorage {
  /**
   * What Raft reads (pass it as the node's `storage`). It changes only when a `save`,
   * `saveSnapshot` or `compact` has made the change durable, just before that call resolves.
   */
  readonly storage: MemoryStorage;
  /** The durable hard state (the recovered one right after opening). */
  readonly hardState: HardState;
  /** The newest durable snapshot, if any. */
  readonly snapshot?: Snapshot;
  /**
   * Appends `rd.entries` (cutting any conflicting suffix), records `rd.hardState` and installs
   * `rd.snapshot`, then updates `storage`. Resolves after the fsync when `rd.mustSync` (group
   * commit: calls made while an fsync is in flight share the next one). Calls resolve in call
   * order. Rejects with `WAL_INVALID_ARGUMENT` (nothing changed), `WAL_IO` or `WAL_CLOSED`.
   */
  save(rd: SaveRequest): Promise<void>;
  /**
   * Persists a snapshot taken locally at an index of the log (temp file, fsync, rename, fsync of
   * the directory, then a marker in the WAL, fsynced), and makes it `storage`'s snapshot. The log
   * is kept; call {@link compact} to drop the entries it covers.
   */
  saveSnapshot(snap: Snapshot): Promise<void>;
  /**
   * Drops the entries up to `index` from `storage`, and every segment file whose entries are all
   * at or below `index`, and snapshot files older than the newest. `index` must not exceed the
   * newest durable snapshot's index.
   */
  compact(index: number): Promise<void>;
  /** Waits for pending saves, then closes the files and releases the directory lock. */
  close(): Promise<void>;
}
