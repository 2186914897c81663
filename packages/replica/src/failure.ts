import type { ReplicaErrorCode } from './errors.js';

/**
 * A failure inside the Ready loop, classified where it happened (the storage, the state
 * machine, the Raft core), so `ReplicaHost.fail` reports the right code. Internal.
 */
export class HostFailure extends Error {
  constructor(
    readonly code: ReplicaErrorCode,
    cause: unknown,
  ) {
    super(describe(cause), { cause });
  }
}

/** Errors not classified where they happened come from the Raft core (or a transport bug). */
export function classify(err: unknown): ReplicaErrorCode {
  return err instanceof HostFailure ? err.code : 'RAFT_FAILED';
}

/** An error's message, for logs and wrapping errors. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
