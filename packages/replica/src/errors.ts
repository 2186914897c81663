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
  | 'SNAPSHOT_FAILED';

/** Every error `@flotilla/replica` throws on purpose. */
export class ReplicaError extends FlotillaError {
  declare readonly code: ReplicaErrorCode;
  constructor(code: ReplicaErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}
