/**
 * `@flotilla/transport-tcp/wire`: the wire format as a library, for tools that speak or inspect
 * the protocol (fault-injecting proxies, protocol tests, fuzzers): framing, the codec, the
 * handshake frames and the message shape checks the transport itself uses.
 *
 * @packageDocumentation
 */
export { Codec } from './codec.js';
export { binFrameHeader, FrameDecoder, HEADER_BYTES, readBin } from './frame.js';
export {
  type AcceptorView,
  answerHello,
  type ConnectionKind,
  checkWelcome,
  HANDSHAKE_MAX_FRAME_BYTES,
  type Hello,
  PROTOCOL_VERSION,
  parseHello,
  parseReply,
  type Reject,
  type RejectCode,
  type Welcome,
} from './handshake.js';
export { type SnapAck, SnapshotReceiver } from './snapshot-receiver.js';
export { checkBatch, isNetworkMessage } from './validate.js';
