import { FlotillaError, type FlotillaErrorOptions } from '@flotilla/errors';

/**
 * The codes `@flotilla/wal` throws. Stable public API: callers branch on them.
 *
 * - `WAL_CORRUPT`: recovery found damage it must not repair: a frame that fails its checksum or
 *   length check with valid data after it, a missing segment, a snapshot file that fails its
 *   checksum, a record from another place in the log. The message names the file and byte
 *   offset (also in `details.file` / `details.offset`). Nothing was changed on disk.
 * - `WAL_LOCKED`: another live process (or another open `ReplicaStorage` in this process) holds
 *   the directory. `details.holder` says who.
 * - `WAL_IO`: a file system operation failed (a write, an fsync, a rename, ...). The storage is
 *   now unusable: every pending and later call fails with `WAL_IO`. After a failed fsync the
 *   kernel may already have dropped the unsynced pages ("fsyncgate"), so retrying could
 *   acknowledge data that is not on disk; the host should stop the replica and reopen (ideally
 *   restart the process). Nothing acknowledged before the failure is affected.
 * - `WAL_CLOSED`: the storage was closed.
 * - `WAL_INVALID_ARGUMENT`: bad input (a gap in the entries, a snapshot older than the current
 *   one, a compaction beyond the durable snapshot, bad options). Nothing changed.
 */
export type WalErrorCode = 'WAL_CORRUPT' | 'WAL_LOCKED' | 'WAL_IO' | 'WAL_CLOSED' | 'WAL_INVALID_ARGUMENT';

/** Every error `@flotilla/wal` throws on purpose. */
export class WalError extends FlotillaError {
  declare readonly code: WalErrorCode;
  constructor(code: WalErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}

/** A `WAL_CORRUPT` error naming the file and the byte offset where the damage starts. */
export function corrupt(file: string, offset: number, what: string): WalError {
  return new WalError('WAL_CORRUPT', `${file} at offset ${offset}: ${what}`, {
    details: { file, offset },
  });
}

/** A `WAL_INVALID_ARGUMENT` error. */
export function invalid(message: string, details?: Readonly<Record<string, unknown>>): WalError {
  return new WalError('WAL_INVALID_ARGUMENT', message, details === undefined ? {} : { details });
}
