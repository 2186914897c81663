import type { Message, NetworkMessage, NodeId, SnapMessage } from '@flotilla/raft';

/**
 * Receives what a transport delivered, in batches (one batch = messages that arrived together).
 *
 * Guarantees every {@link Transport} gives its handler:
 * - it is called asynchronously, never inside the `send` that caused it, so a replica can step
 *   the batch into its `RawNode` without re-entering its own Ready processing;
 * - messages from one sender arrive in the order that sender sent them (per-pair FIFO), though
 *   some may be missing (Raft tolerates loss, §5.3); only a fault injector may reorder;
 * - every message's `to` is this node and its `from` is a known peer;
 * - a `snap` message arrives with `snapshot.data` holding the streamed bytes (a `Buffer`, which
 *   is a `Uint8Array`);
 * - it is never called after `close()` starts.
 *
 * A handler that throws is a bug of the host; transports log the error and carry on.
 */
export type MessageHandler = (batch: NetworkMessage[]) => void;

/**
 * What a transport reports back to the replica, besides messages.
 *
 * `unreachable(to)`: a message to `to` was dropped because the peer could not be reached (no
 * connection, a full send queue, an unknown peer). The replica calls
 * `rawNode.reportUnreachable(to)` so the leader stops pipelining to it and probes instead
 * (etcd's `ReportUnreachable`). Reports may repeat; each is harmless. Never called inside
 * `send`, and never after `close()` starts.
 */
export interface TransportEvents {
  unreachable?(to: NodeId): void;
}

/**
 * A snapshot's bytes as a stream: `byteLength` is announced first (so the receiver allocates
 * once), then `chunks` yields exactly that many bytes in total. Lets a replica stream a snapshot
 * file without reading it whole.
 */
export interface SnapshotChunks {
  readonly byteLength: number;
  readonly chunks: AsyncIterable<Uint8Array>;
}

/** The payload of {@link Transport.sendSnapshot}: bytes in memory or a stream of them. */
export type SnapshotData = Uint8Array | SnapshotChunks;

/**
 * Carries Raft messages between members. Implementations: `MemoryNetwork`'s transports
 * (`@flotilla/replica/testing`) and `@flotilla/transport-tcp`. Every implementation must pass
 * `runTransportCompliance`.
 *
 * How a replica uses it (the contract in one place):
 * 1. `await transport.start(batch => step each message, { unreachable: id => reportUnreachable(id) })`.
 * 2. After persisting a Ready, `transport.send(ready.messages without snap)`; for each `snap`
 *    message, `transport.sendSnapshot(to, msg, data)` and, when it settles, call
 *    `rawNode.reportSnapshot(to, 'finish')` if it resolved or `'failure'` if it rejected
 *    (etcd's `ReportSnapshot`). A transport without `sendSnapshot` takes `snap` messages in
 *    `send` with the data inline.
 * 3. On a membership change, `addPeer(id, address)` / `removePeer(id)`.
 * 4. `await transport.close()` on stop.
 *
 * Delivery is best effort: messages may be lost (a dead connection, a full queue), never
 * corrupted, invented or delivered to the wrong node. Raft's retries make up for the loss.
 *
 * Errors use the codes listed on `ReplicaErrorCode` (`INVALID_MESSAGE`, `NOT_STARTED`,
 * `ALREADY_STARTED`, `TRANSPORT_CLOSED`, `PEER_UNKNOWN`, `PEER_UNREACHABLE`, `SNAPSHOT_FAILED`),
 * whatever the implementation, so callers branch on `err.code`.
 */
export interface Transport {
  /**
   * Starts receiving (for TCP: binds the listener). Resolves once messages can flow.
   * Calling it twice rejects with `ALREADY_STARTED`.
   */
  start(handler: MessageHandler, events?: TransportEvents): Promise<void>;

  /**
   * Queues messages for delivery and returns at once; messages queued together to one peer
   * travel together. Every message must be a network message (not `hup`, `beat`, ...) whose
   * `from` is this node, or the call throws `INVALID_MESSAGE` and sends nothing. A message to a
   * peer that is unknown or unreachable is dropped and reported through `unreachable`. Before
   * `start` it throws `NOT_STARTED`; after `close` it silently drops (a late send from a stopping
   * replica is not an error).
   */
  send(messages: readonly Message[]): void;

  /**
   * Streams a snapshot to `to` beside the message stream (so it never delays heartbeats) and
   * delivers `message` there with `snapshot.data` replaced by `data` (default:
   * `message.snapshot.data`). Resolves once the recipient has received it whole and handed it
   * to its handler; rejects with `PEER_UNKNOWN`, `PEER_UNREACHABLE`, `SNAPSHOT_FAILED` or
   * `TRANSPORT_CLOSED`. Either way the replica reports the outcome with `reportSnapshot`.
   */
  sendSnapshot?(to: NodeId, message: SnapMessage, data?: SnapshotData): Promise<void>;

  /**
   * Adds a peer or changes its address (the next connection uses it). `address` is
   * implementation-specific (`host:port` for TCP; ignored in memory). The local id is accepted
   * and ignored, so a whole member list can be passed as is.
   */
  addPeer(id: NodeId, address: string): void;

  /**
   * Forgets a peer: messages to it are dropped (reported unreachable), messages from it are no
   * longer delivered, its connections close. Unknown ids and the local id are ignored.
   */
  removePeer(id: NodeId): void;

  /**
   * Stops everything: no more deliveries or events, pending snapshots reject with
   * `TRANSPORT_CLOSED`, sockets and timers are released (nothing keeps the process alive).
   * Idempotent.
   */
  close(): Promise<void>;
}
