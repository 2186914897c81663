import type { Random } from '@flotilla/raft';
import type { TearMode } from './sim-file.js';

/** The error codes a {@link SimFileSystem} operation fails with (as `err.code`, like node's). */
export type SimErrorCode =
  | 'ENOENT'
  | 'EEXIST'
  | 'EISDIR'
  | 'ENOTDIR'
  | 'EIO'
  | 'ENOSPC'
  /** The simulated process crashed: every handle and call from before the crash is dead. */
  | 'ECRASHED';

/** An error from a {@link SimFileSystem} operation. */
export class SimFsError extends Error {
  readonly code: SimErrorCode;
  constructor(code: SimErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    this.name = 'SimFsError';
  }
}

/** Options of {@link SimFileSystem.crash}. */
export interface SimCrashOptions {
  /** Draws every random choice of the crash, so a crash replays exactly from a seed. */
  readonly rng: Random;
  /**
   * What happens to each file's unsynced writes: `'drop'` loses them all; `'torn'` keeps them
   * up to a random byte, cutting the write that holds it; `'garbage'` is `'torn'` with the rest
   * of the cut write filled with random bytes; `'pages'` keeps or loses each 4 KiB page
   * independently (of the writes into one page, a prefix); `'random'` (the default) picks one of these per file.
   */
  readonly writes?: TearMode | 'random';
  /**
   * The chance that each unsynced directory change (a creation, rename or removal not yet made
   * durable by `fsyncDir`) survives, independently of the others. Default 0.5.
   */
  readonly keepDirectoryChange?: number;
}

/** The kinds of operation a fault hook sees. */
export type SimOpKind =
  | 'mkdir'
  | 'list'
  | 'create'
  | 'openWrite'
  | 'readFile'
  | 'rename'
  | 'remove'
  | 'fsyncDir'
  | 'lock'
  | 'size'
  | 'write'
  | 'allocate'
  | 'truncate'
  | 'sync'
  | 'close';

/** One operation, as a fault hook sees it before it runs. */
export interface SimOp {
  readonly kind: SimOpKind;
  readonly path: string;
  /** Bytes written, for `'write'`. */
  readonly bytes?: number;
  /** 1 for the first operation of this file system, then 2, 3, ... (never reset). */
  readonly seq: number;
}

/**
 * What a fault hook decides for an operation: `undefined` lets it run; `fail` makes it throw
 * `SimFsError(code)` (a failing `'write'` with `partialBytes` first writes that many bytes, a
 * short write; a failing `'sync'` loses the file's unsynced writes); `crash` crashes the file
 * system `'before'` or `'after'` the operation takes effect, and the operation throws
 * `ECRASHED` (a crash `'after'` a `'write'` is a crash in the middle of a write: the write is
 * the last one and a `'torn'` crash may cut it).
 */
export type SimFault =
  | { readonly fail: 'EIO' | 'ENOSPC'; readonly partialBytes?: number }
  | { readonly crash: 'before' | 'after'; readonly options?: Omit<SimCrashOptions, 'rng'> };

/** Decides faults; called before every operation. */
export type SimFaultHook = (op: SimOp) => SimFault | undefined;

/** Counters of what a {@link SimFileSystem} did (for tests and benchmarks). */
export interface SimStats {
  ops: number;
  writes: number;
  bytesWritten: number;
  syncs: number;
  dirSyncs: number;
  crashes: number;
}

/** An injected failure (see {@link SimFault}). */
export type FailFault = { readonly fail: 'EIO' | 'ENOSPC'; readonly partialBytes?: number };
