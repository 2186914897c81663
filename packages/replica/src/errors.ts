import { FlotillaError, type FlotillaErrorOptions } from '@flotilla/errors';

/**
 * The codes `@flotilla/replica` throws or rejects with. Stable public API: callers branch on
 * them (`isFlotillaError(err, 'PEER_UNKNOWN')`), never on messages.
 *
 * Clocks and the in-memory network:
 * - `INVALID_ARGUMENT`: a value outside its documented domain (a negative delay, a rate outside
 *   `[0, 1]`, a node id that is not a positive safe integer). Nothing changed.
 * - `CLOCK_NOT_IDLE`: `SimClock.runUntilIdle` fired its bound of timers and timers remain
 *   (something re-arms itself forever, such as a ticking replica).
 * - `TRANSPORT_EXISTS`: `MemoryNetwork.transport(id)` while a transport for `id` is still open.
 *
 * The {@link Transport} contract (every transport uses these codes, so a replica handles any
 * transport the same way):
 * - `INVALID_MESSAGE`: `send` was given a local-only message (`hup`, `beat`, ...) or a message
 *   whose `from` is not this transport's id. Nothing of the batch was sent.
 * - `NOT_STARTED`: `send`/`sendSnapshot` before `start`.
 * - `ALREADY_STARTED`: `start` called twice.
 * - `TRANSPORT_CLOSED`: a snapshot was pending or requested while the transport closed.
 * - `PEER_UNKNOWN`: a snapshot to a peer the transport does not know.
 * - `PEER_UNREACHABLE`: a snapshot whose recipient could not be reached.
 * - `SNAPSHOT_FAILED`: the recipient failed to take the snapshot (a handler error, a short or
 *   over-long stream).
 *
 * The {@link Replica} (requests reject with these; `details` say more where noted):
 * - `NOT_LEADER`: a proposal or membership change on a follower while `forwardProposals` is
 *   off. `details.leaderId` is the leader this replica knows of (absent when none is known):
 *   retry there. Nothing was proposed.
 * - `PROPOSAL_DROPPED`: the proposal certainly did not take effect: Raft refused it (no leader,
 *   a leadership transfer in progress, the uncommitted-size cap), or another entry was
 *   committed at the index it had been appended at (a new leader overwrote it, §5.3).
 * - `TIMEOUT`: the request's deadline passed. For a proposal or a membership change the outcome
 *   is unknown: it may still be committed and applied later.
 * - `ABORTED`: the request's `AbortSignal` fired. The outcome of a proposal is unknown, as with
 *   `TIMEOUT`.
 * - `STOPPED`: the replica stopped (or failed) before the request completed; the outcome of a
 *   proposal is unknown. `cause` holds the failure when the replica stopped because of one.
 * - `CONF_CHANGE_REJECTED`: a membership change the leader refused (another change is pending,
 *   it would remove the last voter, ...) or that did not apply to the configuration it was
 *   committed against (then every replica skipped it alike).
 * - `STORAGE_FAILED`: (the `'error'` event) the WAL failed, for example an fsync; the replica
 *   stopped without acknowledging anything that was not durable.
 * - `APPLY_FAILED`: (the `'error'` event) the state machine threw while applying, taking or
 *   restoring a snapshot, or a committed entry could not be decoded; the replica stopped.
 * - `RAFT_FAILED`: (the `'error'` event) the Raft core reported a broken invariant; the replica
 *   stopped.
 */
export type ReplicaErrorCode =
  | 'INVALID_ARGUMENT'
  | 'CLOCK_NOT_IDLE'
  | 'TRANSPORT_EXISTS'
  | 'INVALID_MESSAGE'
  | 'NOT_STARTED'
  | 'ALREADY_STARTED'
  | 'TRANSPORT_CLOSED'
  | 'PEER_UNKNOWN'
  | 'PEER_UNREACHABLE'
  | 'SNAPSHOT_FAILED'
  | 'NOT_LEADER'
  | 'PROPOSAL_DROPPED'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'STOPPED'
  | 'CONF_CHANGE_REJECTED'
  | 'STORAGE_FAILED'
  | 'APPLY_FAILED'
  | 'RAFT_FAILED';

/** Every error `@flotilla/replica` throws on purpose. */
export class ReplicaError extends FlotillaError {
  declare readonly code: ReplicaErrorCode;
  constructor(code: ReplicaErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}
