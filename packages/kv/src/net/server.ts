/**
 * `KvServer`: serves one member's `KvApi` to other processes over TCP (or TLS) with the client
 * protocol of `protocol.ts`.
 *
 * Every member serves every request: a write sent to a follower is forwarded to the leader
 * inside Raft (the node runs with proposal forwarding, etcd-io/raft's `MsgProp`), a linearizable
 * read runs ReadIndex from the member it reached (thesis §6.4), a watch runs on the member's own
 * store. So clients need no leader discovery and never see `NOT_LEADER`; a follower costs writes
 * one extra hop.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { consoleLogger, type Logger } from '@flotilla/replica';
import { invalid, KvError } from '../errors.js';
import {
  DEFAULT_MAX_INFLIGHT,
  DEFAULT_MAX_STREAMS,
  FRAME_OVERHEAD_BYTES,
  HANDSHAKE_MAX_FRAME_BYTES,
} from './protocol.js';
import { type ConnectionContext, ServerConnection } from './server-connection.js';
import type { StreamNode } from './server-streams.js';
import { checkServerTls, type KvServerTlsOptions } from './tls.js';

/**
 * What a `KvServer` serves: a `KvNode` (anything with its API, its id, its request limits and
 * its state machine's revision and snapshot).
 */
export interface ServableNode extends StreamNode {
  readonly limits: { readonly maxRequestBytes: number };
}

/** Options of {@link KvServer}. */
export interface KvServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 picks a free one (read it back from {@link KvServer.port}). Default 2379 (etcd's). */
  readonly port?: number;
  /** Serve TLS instead of plain TCP. */
  readonly tls?: KvServerTlsOptions;
  /** Refuse clients that expect another cluster (their hello names it). Default: accept any. */
  readonly clusterId?: string;
  /**
   * Largest frame accepted from a client, in bytes. Default: the node's `maxRequestBytes`
   * (etcd's 1.5 MiB) plus 512 KiB of envelope, as etcd sizes its gRPC receive limit.
   */
  readonly maxFrameBytes?: number;
  /** Most streams (watches, keep-alives, snapshots) per connection. Default 1,000. */
  readonly maxStreams?: number;
  /** Most unary requests in flight per connection. Default 10,000. */
  readonly maxInflight?: number;
  /** A client must complete its handshake within this many ms. Default 5,000. */
  readonly handshakeTimeoutMs?: number;
  /** On `close()`, how long requests in flight may take to finish. Default 2,000 ms. */
  readonly drainMs?: number;
  /** Where protocol violations and refused clients are reported. */
  readonly logger?: Logger;
}

function positive(name: string, v: unknown, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw invalid(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
  return v;
}

/**
 * The network server of one member.
 *
 * @example
 * ```ts
 * const server = new KvServer(node, { host: '127.0.0.1', port: 0 });
 * await server.start();
 * console.log('clients connect to', server.address); // e.g. 127.0.0.1:41537
 * // ... KvClient.connect({ endpoints: [server.address] }) from another process ...
 * await server.close();
 * ```
 */
export class KvServer {
  readonly #node: ServableNode;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: KvServerTlsOptions | undefined;
  readonly #drainMs: number;
  readonly #ctx: ConnectionContext;
  readonly #connections = new Set<ServerConnection>();
  #server: Server | undefined;
  #closing: Promise<void> | undefined;

  /** @throws KvError `INVALID_ARGUMENT` for bad options (nothing is opened). */
  constructor(node: ServableNode, options: KvServerOptions = {}) {
    if (typeof node !== 'object' || node === null || typeof node.put !== 'function') {
      throw invalid('KvServer needs a node (createKvNode)');
    }
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
    this.#node = node;
    this.#host = options.host ?? '127.0.0.1';
    if (typeof this.#host !== 'string' || this.#host === '') throw invalid('host must be a non-empty string');
    this.#port = positive('port', options.port, 2379, 0);
    if (this.#port > 65535) throw invalid(`port must be ≤ 65535, got ${this.#port}`);
    this.#tls = checkServerTls(options.tls);
    if (options.clusterId !== undefined && typeof options.clusterId !== 'string') {
      throw invalid('clusterId must be a string');
    }
    this.#drainMs = positive('drainMs', options.drainMs, 2000, 0);
    const maxRequestBytes = node.limits.maxRequestBytes;
    this.#ctx = {
      node,
      clusterId: options.clusterId,
      maxFrameBytes: positive(
        'maxFrameBytes',
        options.maxFrameBytes,
        maxRequestBytes + FRAME_OVERHEAD_BYTES,
        HANDSHAKE_MAX_FRAME_BYTES,
      ),
      maxRequestBytes,
      maxStreams: positive('maxStreams', options.maxStreams, DEFAULT_MAX_STREAMS),
      maxInflight: positive('maxInflight', options.maxInflight, DEFAULT_MAX_INFLIGHT),
      handshakeTimeoutMs: positive('handshakeTimeoutMs', options.handshakeTimeoutMs, 5000),
      logger: options.logger ?? consoleLogger(`kv-server-${node.id}`),
      closed: (c) => {
        this.#connections.delete(c);
      },
    };
  }

  /** The member this server serves. */
  get node(): ServableNode {
    return this.#node;
  }

  /** The port listened on (the chosen one when started with port 0). 0 before `start()`. */
  get port(): number {
    const a = this.#server?.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** `host:port` clients connect to (IPv6 hosts in brackets). */
  get address(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `${host}:${this.port}`;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Starts listening. Resolves once bound.
   *
   * @throws KvError `UNAVAILABLE` when the address cannot be bound (in use, no permission);
   *   `INVALID_ARGUMENT` when already started or closed.
   */
  async start(): Promise<void> {
    if (this.#server !== undefined || this.#closing !== undefined) {
      throw invalid('the server was already started');
    }
    const onSocket = (socket: Socket): void => {
      if (this.#closing !== undefined) {
        socket.destroy();
        return;
      }
      this.#connections.add(new ServerConnection(socket, this.#ctx));
    };
    const tls = this.#tls;
    const server =
      tls === undefined
        ? createTcpServer(onSocket)
        : createTlsServer(
            {
              key: tls.key,
              cert: tls.cert,
              ...(tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | (string | Buffer)[] }),
              requestCert: tls.requireClientCert === true,
              rejectUnauthorized: tls.requireClientCert === true,
              handshakeTimeout: this.#ctx.handshakeTimeoutMs,
            },
            onSocket,
          );
    // A TLS handshake failure is the client's problem; log it and keep serving.
    server.on('tlsClientError', (err: Error) => {
      this.#ctx.logger.warn('a client failed the TLS handshake', { error: err.message });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        reject(
          new KvError('UNAVAILABLE', `cannot listen on ${this.#host}:${this.#port}: ${err.message}`, {
            cause: err,
          }),
        );
      };
      server.once('error', fail);
      server.listen({ host: this.#host, port: this.#port }, () => {
        server.off('error', fail);
        server.on('error', (err) => this.#ctx.logger.error('client listener error', { error: err.message }));
        resolve();
      });
    });
  }

  /**
   * Stops listening and closes every connection gracefully: clients are told to go elsewhere
   * (`goaway`), requests in flight get up to `drainMs` to finish, streams end with `STOPPED` so
   * watches resume on another member. Does not stop the node. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const server = this.#server;
    this.#closing = (async () => {
      const stopped =
        server === undefined
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              server.close(() => resolve());
            });
      await Promise.all([...this.#connections].map((c) => c.drain(this.#drainMs)));
      for (const c of this.#connections) c.destroy();
      await stopped;
    })();
    return this.#closing;
  }

  /**
   * Drops every connection at once, as a crash would (no `goaway`, nothing drained), and stops
   * listening. For fault tests; `close()` is the graceful way.
   */
  async abort(): Promise<void> {
    const server = this.#server;
    this.#closing ??= Promise.resolve();
    for (const c of this.#connections) c.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
