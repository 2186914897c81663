import { createServer as netCreateServer, type Server, type Socket } from 'node:net';
import { createServer as tlsCreateServer } from 'node:tls';
import {
  isLocalMessageType,
  type Message,
  type NetworkMessage,
  type NodeId,
  type SnapMessage,
} from '@flotilla/raft';
import type { MessageHandler, SnapshotData, Transport, TransportEvents } from '@flotilla/replica';
import { Codec } from './codec.js';
import { TcpTransportError } from './errors.js';
import { InboundConnection, type InboundContext } from './inbound.js';
import {
  formatAddress,
  isNodeId,
  parseAddress,
  type ResolvedOptions,
  resolveOptions,
  type TcpTransportOptions,
} from './options.js';
import { OutboundPeer, type PeerContext } from './peer.js';
import { type SenderContext, sendSnapshotOver } from './snapshot-sender.js';

/**
 * A {@link Transport} over TCP (or mutual TLS). Create it with {@link createTcpTransport}.
 *
 * Per peer: one outbound connection carrying this member's messages to it (the peer's replies
 * come over the peer's own outbound connection, as in etcd's rafthttp streams), plus one short
 * connection per snapshot. Inbound connections are accepted from known members only.
 */
export class TcpTransport implements Transport {
  readonly #o: ResolvedOptions;
  readonly #codec = new Codec();
  readonly #peers = new Map<NodeId, OutboundPeer>();
  readonly #inbound = new Set<InboundConnection>();
  /** Every socket this transport owns, so `close()` can destroy them and wait. */
  readonly #sockets = new Set<Socket>();
  #state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  #server: Server | undefined;
  #handler: MessageHandler | undefined;
  #events: TransportEvents = {};
  #closing: Promise<void> | undefined;
  readonly #peerCtx: PeerContext & SenderContext;
  readonly #inboundCtx: InboundContext;

  /** Use {@link createTcpTransport}. */
  constructor(options: TcpTransportOptions) {
    const o = resolveOptions(options);
    this.#o = o;
    const track = (s: Socket): void => this.#track(s);
    this.#peerCtx = {
      self: o.id,
      clusterId: o.clusterId,
      tls: o.tls,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      maxFrameBytes: o.maxFrameBytes,
      codec: this.#codec,
      queueLimit: o.queueLimit,
      logger: o.logger,
      clock: o.clock,
      random: o.random,
      backoff: o.backoff,
      snapshotChunkBytes: o.snapshotChunkBytes,
      track,
      unreachable: (peer) => this.#reportUnreachable(peer),
      isClosed: () => this.#state === 'closed',
    };
    this.#inboundCtx = {
      id: o.id,
      clusterId: o.clusterId,
      knows: (peer) => this.#peers.has(peer),
      maxFrameBytes: o.maxFrameBytes,
      maxSnapshotBytes: o.maxSnapshotBytes,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      codec: this.#codec,
      logger: o.logger,
      deliver: (batch) => this.#deliver(batch),
      unregister: (c) => this.#inbound.delete(c),
    };
    for (const [id, address] of o.peers) this.#peers.set(id, new OutboundPeer(id, address, this.#peerCtx));
  }

  /** This member's id. */
  get id(): NodeId {
    return this.#o.id;
  }

  /** The port actually listened on (the one picked when `listen.port` was 0). Throws before `start`. */
  get port(): number {
    const a = this.#server?.address();
    if (a === undefined || a === null || typeof a === 'string') {
      throw new TcpTransportError('NOT_STARTED', `transport ${this.#o.id} is not listening`);
    }
    return a.port;
  }

  /** `host:port` actually listened on: what other members pass to `addPeer` for this one. */
  get address(): string {
    return formatAddress({ host: this.#o.listen.host, port: this.port });
  }

  /** The ids of the peers this transport knows. */
  get peers(): NodeId[] {
    return [...this.#peers.keys()];
  }

  async start(handler: MessageHandler, events: TransportEvents = {}): Promise<void> {
    if (typeof handler !== 'function')
      throw new TcpTransportError('INVALID_ARGUMENT', 'start needs a handler');
    if (this.#state !== 'new')
      throw new TcpTransportError('ALREADY_STARTED', `transport ${this.#o.id} already started`);
    this.#state = 'starting';
    const server = this.#createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.#o.listen.host, port: this.#o.listen.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.#state = 'new';
      throw new TcpTransportError(
        'LISTEN_FAILED',
        `cannot listen on ${formatAddress(this.#o.listen)}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    server.on('error', (err) => this.#o.logger.error('server error', { error: err.message }));
    this.#server = server;
    this.#handler = handler;
    this.#events = events;
    this.#state = 'started';
    this.#o.logger.info('listening', {
      id: this.#o.id,
      address: this.address,
      tls: this.#o.tls !== undefined,
    });
  }

  send(messages: readonly Message[]): void {
    if (this.#state === 'new' || this.#state === 'starting') {
      throw new TcpTransportError('NOT_STARTED', `transport ${this.#o.id} is not started`);
    }
    const batch = this.#checkOutgoing(messages);
    if (this.#state === 'closed') return;
    const unknown = new Set<NodeId>();
    for (const m of batch) {
      if (m.type === 'snap') {
        // Snapshots always travel on their own connection; a failure here can only be reported
        // as unreachable (use sendSnapshot to learn the outcome).
        this.sendSnapshot(m.to, m).catch(() => this.#reportUnreachable(m.to));
        continue;
      }
      const peer = this.#peers.get(m.to);
      if (peer === undefined) unknown.add(m.to);
      else peer.enqueue(m);
    }
    for (const id of unknown) this.#reportUnreachable(id);
  }

  async sendSnapshot(to: NodeId, message: SnapMessage, data?: SnapshotData): Promise<void> {
    if (this.#state === 'new' || this.#state === 'starting') {
      throw new TcpTransportError('NOT_STARTED', `transport ${this.#o.id} is not started`);
    }
    if (this.#state === 'closed')
      throw new TcpTransportError('TRANSPORT_CLOSED', `transport ${this.#o.id} is closed`);
    this.#checkOutgoing([message]);
    if (message.type !== 'snap' || message.to !== to) {
      throw new TcpTransportError('INVALID_MESSAGE', `sendSnapshot(${to}) needs a 'snap' message to ${to}`);
    }
    const source = data ?? message.snapshot.data;
    if (!(source instanceof Uint8Array)) {
      const n = source?.byteLength;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || source.chunks === undefined) {
        throw new TcpTransportError(
          'INVALID_ARGUMENT',
          'snapshot data must be bytes or { byteLength, chunks }',
        );
      }
    }
    const peer = this.#peers.get(to);
    if (peer === undefined)
      throw new TcpTransportError('PEER_UNKNOWN', `member ${this.#o.id} does not know peer ${to}`);
    return sendSnapshotOver(this.#peerCtx, to, peer.address, message, source);
  }

  addPeer(id: NodeId, address: string): void {
    if (!isNodeId(id))
      throw new TcpTransportError('INVALID_ARGUMENT', `peer id must be a positive integer, got ${id}`);
    const parsed = parseAddress(address);
    if (parsed === undefined) {
      throw new TcpTransportError(
        'INVALID_ARGUMENT',
        `peer address ${JSON.stringify(address)} is not host:port`,
      );
    }
    if (id === this.#o.id || this.#state === 'closed') return;
    const peer = this.#peers.get(id);
    if (peer === undefined) this.#peers.set(id, new OutboundPeer(id, parsed, this.#peerCtx));
    else peer.setAddress(parsed);
  }

  removePeer(id: NodeId): void {
    const peer = this.#peers.get(id);
    if (peer === undefined) return;
    peer.close();
    this.#peers.delete(id);
    for (const c of this.#inbound) if (c.peer === id) c.close();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** The connection state of the outbound connection to `peer` (diagnostics and tests). */
  peerState(peer: NodeId): OutboundPeer['state'] | undefined {
    return this.#peers.get(peer)?.state;
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    this.#handler = undefined;
    this.#events = {};
    for (const p of this.#peers.values()) p.close();
    for (const c of this.#inbound) c.close();
    const sockets = [...this.#sockets];
    for (const s of sockets) s.destroy();
    const server = this.#server;
    await Promise.all([
      ...sockets.map((s) => (s.closed ? undefined : new Promise((resolve) => s.once('close', resolve)))),
      server === undefined ? undefined : new Promise((resolve) => server.close(() => resolve(undefined))),
    ]);
  }

  #createServer(): Server {
    const accept = (socket: Socket): void => {
      if (this.#state !== 'started') {
        socket.destroy();
        return;
      }
      const c = new InboundConnection(socket, this.#inboundCtx);
      this.#inbound.add(c);
    };
    const tls = this.#o.tls;
    const server =
      tls === undefined
        ? netCreateServer(accept)
        : tlsCreateServer(
            {
              key: tls.key,
              cert: tls.cert,
              ca: tls.ca as string | Buffer | (string | Buffer)[],
              requestCert: tls.requireClientCert ?? true,
              rejectUnauthorized: tls.requireClientCert ?? true,
              handshakeTimeout: this.#o.handshakeTimeoutMs,
            },
            accept,
          );
    // Track raw connections (for TLS, before its handshake) so close() never waits on a stranger.
    server.on('connection', (s: Socket) => this.#track(s));
    if (tls !== undefined) {
      server.on('tlsClientError', (err: Error, s: Socket) =>
        this.#o.logger.warn('TLS handshake with a connecting peer failed', {
          remote: `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`,
          error: err.message,
        }),
      );
    }
    return server;
  }

  #track(socket: Socket): void {
    if (this.#state === 'closed') {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #deliver(batch: NetworkMessage[]): void {
    const handler = this.#handler;
    if (this.#state !== 'started' || handler === undefined) return;
    handler(batch);
  }

  /** Reports asynchronously (never inside `send`), and never after close. */
  #reportUnreachable(peer: NodeId): void {
    queueMicrotask(() => {
      if (this.#state !== 'started') return;
      try {
        this.#events.unreachable?.(peer);
      } catch (err) {
        this.#o.logger.error('unreachable event handler threw', { peer, error: String(err) });
      }
    });
  }

  #checkOutgoing(messages: readonly Message[]): readonly NetworkMessage[] {
    if (!Array.isArray(messages))
      throw new TcpTransportError('INVALID_MESSAGE', 'send takes an array of messages');
    for (const m of messages) {
      if (typeof m !== 'object' || m === null || typeof m.type !== 'string') {
        throw new TcpTransportError('INVALID_MESSAGE', 'send was given something that is not a message');
      }
      if (isLocalMessageType(m.type)) {
        throw new TcpTransportError(
          'INVALID_MESSAGE',
          `'${m.type}' is a local message; it never crosses the network`,
        );
      }
      if (m.from !== this.#o.id) {
        throw new TcpTransportError(
          'INVALID_MESSAGE',
          `message from ${m.from} sent through the transport of ${this.#o.id}`,
        );
      }
    }
    return messages as readonly NetworkMessage[];
  }
}

/**
 * Creates a {@link Transport} over TCP (mutual TLS when `tls` is given). Nothing listens or
 * connects until `start`. Throws `INVALID_CONFIG` for bad options.
 *
 * @example
 * ```ts
 * const transport = createTcpTransport({
 *   id: 1,
 *   listen: { host: '127.0.0.1', port: 0 },
 *   peers: { 2: '127.0.0.1:7002', 3: '127.0.0.1:7003' },
 *   clusterId: 'orders-prod',
 * });
 * await transport.start((batch) => { for (const m of batch) rawNode.step(m); }, {
 *   unreachable: (id) => rawNode.reportUnreachable(id),
 * });
 * console.log('listening on', transport.address);
 * ```
 */
export function createTcpTransport(options: TcpTransportOptions): TcpTransport {
  return new TcpTransport(options);
}
