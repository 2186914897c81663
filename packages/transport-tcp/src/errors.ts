import { FlotillaError, type FlotillaErrorOptions } from '@flotilla/errors';

/**
 * The codes `@flotilla/transport-tcp` throws, rejects with or logs. Stable public API.
 *
 * The `Transport` contract's codes, with the meaning `@flotilla/replica` gives them:
 * `INVALID_MESSAGE`, `NOT_STARTED`, `ALREADY_STARTED`, `TRANSPORT_CLOSED`, `PEER_UNKNOWN`,
 * `PEER_UNREACHABLE` (a snapshot's connection failed; its `cause` says how), `SNAPSHOT_FAILED`.
 *
 * Specific to TCP:
 * - `INVALID_CONFIG`: `createTcpTransport` options that fail validation. Nothing was created.
 * - `INVALID_ARGUMENT`: a bad `addPeer` argument (an id that is not a positive integer, an
 *   address that is not `host:port`). Nothing changed.
 * - `LISTEN_FAILED`: `start` could not bind the listen address (in use, not local...).
 * - `HANDSHAKE_REJECTED`: the peer refused us (another cluster id, we are not a member, a
 *   protocol version it does not speak); the peer's reason is in the message.
 * - `HANDSHAKE_FAILED`: the peer's answer was wrong (another cluster, another node id than its
 *   address promised), malformed, or late.
 * - `FRAME_TOO_LARGE`: a frame header announced more than `maxFrameBytes`.
 * - `MALFORMED_FRAME`: a frame's payload is not valid msgpack or not a valid message batch.
 * - `PROTOCOL_ERROR`: a well-formed frame that breaks the protocol (a message claiming another
 *   sender, a snapshot stream longer than announced).
 */
export type TcpTransportErrorCode =
  | 'INVALID_MESSAGE'
  | 'NOT_STARTED'
  | 'ALREADY_STARTED'
  | 'TRANSPORT_CLOSED'
  | 'PEER_UNKNOWN'
  | 'PEER_UNREACHABLE'
  | 'SNAPSHOT_FAILED'
  | 'INVALID_CONFIG'
  | 'INVALID_ARGUMENT'
  | 'LISTEN_FAILED'
  | 'HANDSHAKE_REJECTED'
  | 'HANDSHAKE_FAILED'
  | 'FRAME_TOO_LARGE'
  | 'MALFORMED_FRAME'
  | 'PROTOCOL_ERROR';

/** Every error `@flotilla/transport-tcp` throws on purpose. */
export class TcpTransportError extends FlotillaError {
  declare readonly code: TcpTransportErrorCode;
  constructor(code: TcpTransportErrorCode, message: string, options?: FlotillaErrorOptions) {
    super(code, message, options);
  }
}
