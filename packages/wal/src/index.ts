/**
 * `@flotilla/wal`: durable Raft storage that survives power loss.
 *
 * A replica keeps its Raft log in a segmented, checksummed write-ahead log with group commit
 * (one fsync per batch of saves), snapshot files written atomically, and crash recovery that
 * cuts off a torn tail but refuses (`WAL_CORRUPT`) any damage a crash cannot explain. As in
 * etcd, the live tail of the log is kept in a `MemoryStorage` for Raft to read; the WAL is
 * written on every `Ready` and read at start.
 *
 * All I/O goes through a small {@link FileSystem} interface: {@link nodeFileSystem} for real
 * disks, {@link SimFileSystem} for tests, which loses unsynced data on {@link SimFileSystem.crash}
 * exactly as a power loss may, and injects disk faults.
 *
 * @example
 * ```ts
 * import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
 * import { seededRandom } from '@flotilla/raft';
 *
 * const fs = new SimFileSystem();
 * let rs = await openReplicaStorage('/replica-1', { fs });
 * await rs.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array([42]) }], mustSync: true });
 * fs.crash({ rng: seededRandom(7) }); // power loss: only what was fsynced survives
 * rs = await openReplicaStorage('/replica-1', { fs });
 * console.log(rs.storage.lastIndex()); // 1: the save had resolved, so it is durable
 * ```
 *
 * @packageDocumentation
 */
export { WalError, type WalErrorCode } from './errors.js';
export type { DirectoryLock, FileHandle, FileSystem, LockResult } from './file-system.js';
export { nodeFileSystem } from './node-file-system.js';
export { openReplicaStorage } from './open.js';
export type { TearMode } from './sim-file.js';
export { SimFileSystem } from './sim-file-system.js';
export {
  type SimCrashOptions,
  type SimErrorCode,
  type SimFault,
  type SimFaultHook,
  SimFsError,
  type SimOp,
  type SimOpKind,
  type SimStats,
} from './sim-types.js';
export type { OpenReplicaStorageOptions, ReplicaStorage, SaveRequest, WalLogger } from './types.js';
