import { FlotillaError, type FlotillaErrorOptions } from '@flotilla/errors';

/**
 * The codes `@flotilla/raft` throws. Stable public API: callers branch on them.
 *
 * - `COMPACTED`: the requested index is at or below the storage's compaction point.
 * - `UNAVAILABLE`: the requested index is above the storage's last index.
 * - `SNAPSHOT_TEMPORARILY_UNAVAILABLE`: the storage cannot produce a snapshot right now; the
 *   leader retries later (etcd's ErrSnapshotTemporarilyUnavailable).
 * - `SNAP_OUT_OF_DATE`: a snapshot older than the storage's current one was offered.
 * - `INVALID_CONFIG`: a {@link RaftConfig} that fails validation.
 * - `PROPOSAL_DROPPED`: a proposal was not appended (no leader, forwarding disabled, leadership
 *   transfer in progress, or the uncommitted-size cap reached). Nothing changed.
 * - `INVALID_CONF_CHANGE`: a membership change the leader can tell is invalid, one that does not
 *   apply to the current configuration (`applyConfChange`), bytes that do not decode as a conf
 *   change (`decodeConfChange`), or an inconsistent ConfState. Nothing changed.
 * - `INVALID_BOOTSTRAP`: `bootstrap` on storage that is not empty.
 * - `STEP_LOCAL_MSG`: a local-only message type was stepped from outside.
 * - `STEP_PEER_NOT_FOUND`: a response from a peer this node does not track.
 * - `INVALID_ARGUMENT`: a malformed API argument (a payload that is not a Uint8Array, an id that
 *   is not a positive safe integer, a stepped message of unknown type, addressed to another node,
 *   or whose fields are inconsistent). Nothing changed.
 * - `INVARIANT_VIOLATED`: an internal safety invariant failed (a bug, storage that lost data, or
 *   the host breaking the Ready/advance protocol).
 */
export type RaftErrorCode =
  | 'COMPACTED'
  | 'UNAVAILABLE'
  | 'SNAPSHOT_TEMPORARILY_UNAVAILABLE'
  | 'SNAP_OUT_OF_DATE'
  | 'INVALID_CONFIG'
  | 'PROPOSAL_DROPPED'
  | 'INVALID_CONF_CHANGE'
  | 'INVALID_BOOTSTRAP'
  | 'STEP_LOCAL_MSG'
  | 'STEP_PEER_NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'INVARIANT_VIOLATED';

/** Every error `@flotilla/raft` throws on purpose. */
export class RaftError extends FlotillaError {
  declare readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}
