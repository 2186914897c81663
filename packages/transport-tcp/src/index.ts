/**
 * `@flotilla/transport-tcp`: a Flotilla `Transport` over TCP, with optional mutual TLS.
 *
 * - Frames: a 4-byte big-endian length, then one msgpack value (msgpackr with records). Messages
 *   queued to a peer by one task travel as one frame (one encode, one write, from a microtask);
 *   a leader encodes the entries of a large append once for all its followers.
 * - A handshake first: cluster id, sender and recipient member ids, protocol version. Strangers,
 *   removed members and other clusters are refused with a logged reason; nothing they send
 *   reaches Raft.
 * - One outbound connection per peer, reconnected with capped exponential backoff and jitter;
 *   a bounded queue per peer (full → drop and report the peer unreachable).
 * - Snapshots stream in chunks on a connection of their own, with back-pressure.
 * - Every frame is size-checked and every message shape-checked; malformed bytes close the
 *   connection, never the process.
 *
 * @example
 * ```ts
 * import { createTcpTransport } from '@flotilla/transport-tcp';
 *
 * const transport = createTcpTransport({
 *   id: 1,
 *   listen: { host: '127.0.0.1', port: 7001 },
 *   peers: { 1: '127.0.0.1:7001', 2: '127.0.0.1:7002', 3: '127.0.0.1:7003' },
 *   clusterId: 'orders-prod',
 * });
 * await transport.start((batch) => console.log(batch), { unreachable: (id) => console.log(id, 'down') });
 * ```
 *
 * @packageDocumentation
 */
export { TcpTransportError, type TcpTransportErrorCode } from './errors.js';
export { PROTOCOL_VERSION, type RejectCode } from './handshake.js';
export {
  type PeerAddress,
  parseAddress,
  type TcpBackoffOptions,
  type TcpTlsOptions,
  type TcpTransportOptions,
} from './options.js';
export { createTcpTransport, TcpTransport } from './tcp-transport.js';
