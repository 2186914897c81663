import type { Message, NetworkMessage, NodeId, SnapMessage } from '@flotilla/raft';
import { ReplicaError } from '../errors.js';
import type { MessageHandler, SnapshotData, Transport, TransportEvents } from '../transport.js';
import { checkNodeId, checkOutgoing } from './checks.js';
import type { Logger } from './logger.js';

/**
 * What a {@link MemoryTransport} needs from its network (implemented by `MemoryNetwork`; kept
 * internal so the network's fault controls stay the only public surface).
 */
export interface MemoryLink {
  readonly logger: Logger;
  /** True when a transport for `id` was ever created on the network (open membership). */
  everAttached(id: NodeId): boolean;
  send(from: MemoryTransport, messages: readonly NetworkMessage[]): void;
  sendSnapshot(from: MemoryTransport, message: SnapMessage): Promise<void>;
  detach(transport: MemoryTransport): void;
}

/**
 * One node's endpoint on a `MemoryNetwork`: a {@link Transport} whose wire is a function call
 * scheduled on the network's clock. Created by `MemoryNetwork.transport(id)`.
 *
 * Peers: with an explicit `peers` list the transport knows exactly those (plus `addPeer`, minus
 * `removePeer`), like a TCP transport's address book. Without one it knows every node that ever
 * had a transport on the network, except those removed, which keeps small simulations short.
 */
export class MemoryTransport implements Transport {
  readonly id: NodeId;
  readonly #link: MemoryLink;
  /** Explicit peer set, or `undefined` for "every node but the removed ones". */
  readonly #peers: Set<NodeId> | undefined;
  readonly #removed = new Set<NodeId>();
  #state: 'new' | 'started' | 'closed' = 'new';
  #handler: MessageHandler | undefined;
  #events: TransportEvents = {};

  /** @internal Use `MemoryNetwork.transport(id)`. */
  constructor(link: MemoryLink, id: NodeId, peers: readonly NodeId[] | undefined) {
    this.#link = link;
    this.id = id;
    if (peers !== undefined) {
      for (const p of peers) checkNodeId(p, 'peer id');
      this.#peers = new Set(peers.filter((p) => p !== id));
    }
  }

  /** True once started and until closed. */
  get isOpen(): boolean {
    return this.#state === 'started';
  }

  /** True when a message to (or from) `peer` is allowed by this node's membership view. */
  knows(peer: NodeId): boolean {
    if (peer === this.id) return false;
    if (this.#peers !== undefined) return this.#peers.has(peer);
    return this.#link.everAttached(peer) && !this.#removed.has(peer);
  }

  async start(handler: MessageHandler, events: TransportEvents = {}): Promise<void> {
    if (typeof handler !== 'function') throw new ReplicaError('INVALID_ARGUMENT', 'start needs a handler');
    if (this.#state !== 'new') {
      throw new ReplicaError('ALREADY_STARTED', `transport ${this.id} was already started`);
    }
    this.#handler = handler;
    this.#events = events;
    this.#state = 'started';
  }

  send(messages: readonly Message[]): void {
    if (this.#state === 'new') throw new ReplicaError('NOT_STARTED', `transport ${this.id} is not started`);
    const batch = checkOutgoing(this.id, messages);
    if (this.#state === 'closed' || batch.length === 0) return;
    this.#link.send(this, batch);
  }

  async sendSnapshot(to: NodeId, message: SnapMessage, data?: SnapshotData): Promise<void> {
    if (this.#state === 'new') throw new ReplicaError('NOT_STARTED', `transport ${this.id} is not started`);
    if (this.#state === 'closed')
      throw new ReplicaError('TRANSPORT_CLOSED', `transport ${this.id} is closed`);
    checkOutgoing(this.id, [message]);
    if (message.type !== 'snap' || message.to !== to) {
      throw new ReplicaError('INVALID_MESSAGE', `sendSnapshot(${to}) needs a 'snap' message to ${to}`);
    }
    if (!this.knows(to)) throw new ReplicaError('PEER_UNKNOWN', `node ${this.id} does not know peer ${to}`);
    const bytes = await collect(data ?? message.snapshot.data);
    if (this.#state !== 'started') throw new ReplicaError('TRANSPORT_CLOSED', `transport ${this.id} closed`);
    await this.#link.sendSnapshot(this, { ...message, snapshot: { ...message.snapshot, data: bytes } });
  }

  addPeer(id: NodeId, address: string): void {
    checkNodeId(id, 'peer id');
    if (typeof address !== 'string')
      throw new ReplicaError('INVALID_ARGUMENT', 'peer address must be a string');
    if (id === this.id) return;
    this.#removed.delete(id);
    this.#peers?.add(id);
  }

  removePeer(id: NodeId): void {
    if (id === this.id) return;
    this.#removed.add(id);
    this.#peers?.delete(id);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#handler = undefined;
    this.#events = {};
    this.#link.detach(this);
  }

  /** @internal Hands a batch to the handler (the network checked reachability). */
  deliver(batch: NetworkMessage[]): void {
    const handler = this.#handler;
    if (this.#state !== 'started' || handler === undefined) return;
    handler(batch);
  }

  /** @internal Reports `to` unreachable, unless closed meanwhile. */
  reportUnreachable(to: NodeId): void {
    if (this.#state !== 'started') return;
    try {
      this.#events.unreachable?.(to);
    } catch (err) {
      this.#link.logger.error('unreachable event handler threw', {
        node: this.id,
        peer: to,
        error: String(err),
      });
    }
  }
}

/** Reads a snapshot's bytes into one buffer, checking the announced length. */
async function collect(data: SnapshotData): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  const { byteLength, chunks } = data;
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
    throw new ReplicaError('INVALID_ARGUMENT', `snapshot byteLength must be a non-negative integer`);
  }
  const out = new Uint8Array(byteLength);
  let at = 0;
  for await (const chunk of chunks) {
    if (at + chunk.byteLength > byteLength) {
      throw new ReplicaError(
        'SNAPSHOT_FAILED',
        `snapshot stream is longer than its byteLength ${byteLength}`,
      );
    }
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== byteLength) {
    throw new ReplicaError('SNAPSHOT_FAILED', `snapshot stream ended at ${at} of ${byteLength} bytes`);
  }
  return out;
}
