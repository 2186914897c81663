/**
 * One client connection to one endpoint: dialling (TCP or TLS), the handshake, and routing the
 * server's messages to whatever waits under each id (a call, a watch, a keep-alive stream).
 * Retrying, failover and deadlines are `KvClient`'s business; this only reports what happened.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { isWireError, netError } from './errors.js';
import { FramedSocket } from './framed-socket.js';
import {
  HANDSHAKE_MAX_FRAME_BYTES,
  type Hello,
  PROTOCOL_VERSION,
  type ServerMessage,
  type Welcome,
  type WireError,
} from './protocol.js';
import type { KvClientTlsOptions } from './tls.js';

/** Something waiting for the server's messages under one id. */
export interface Waiter {
  /** A message for this id (`ok`, `err`, `item` or `end`). */
  receive(conn: ClientConnection, m: ServerMessage): void;
  /** The connection closed while this id was registered. */
  lost(conn: ClientConnection): void;
  /** The server said (goaway) that it never started this id: send it elsewhere. */
  unprocessed(conn: ClientConnection): void;
}

/** What the connection tells its owner. */
export interface ConnectionEvents {
  /** The server asked us to go elsewhere; answers to requests in flight still come. */
  goaway(conn: ClientConnection, e: WireError): void;
  /** The connection closed (after every waiter's `lost`). */
  closed(conn: ClientConnection): void;
}

/** How to dial. */
export interface DialOptions {
  readonly endpoint: string;
  readonly tls: KvClientTlsOptions | undefined;
  readonly clusterId: string | undefined;
  /** Largest frame accepted from the server. */
  readonly maxFrameBytes: number;
  /** Give up dialling (connect, TLS and handshake) after this many ms. */
  readonly timeoutMs: number;
}

/**
 * `host:port` (IPv6 in brackets; an `http://`-style scheme is ignored) split into its parts;
 * `INVALID_ARGUMENT` otherwise. Port 0 only with `allowPortZero` (a listen address).
 */
export function parseEndpoint(endpoint: string, allowPortZero = false): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(endpoint.replace(/^[a-z]+:\/\//, ''));
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || !(port >= (allowPortZero ? 0 : 1) && port <= 65535)) {
    throw netError('INVALID_ARGUMENT', `endpoint ${JSON.stringify(endpoint)} is not host:port`);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function parseWelcome(v: unknown): Welcome | WireError {
  if (typeof v !== 'object' || v === null) return { code: 'PROTOCOL_ERROR', message: 'bad handshake reply' };
  const w = v as Record<string, unknown>;
  if (w.t === 'reject' && isWireError(w.e)) return w.e;
  const ints = ['member', 'maxFrameBytes', 'maxRequestBytes', 'maxStreams', 'maxInflight'];
  if (
    w.t !== 'welcome' ||
    w.v !== PROTOCOL_VERSION ||
    !ints.every((k) => typeof w[k] === 'number' && Number.isSafeInteger(w[k]) && (w[k] as number) > 0) ||
    (w.cluster !== null && typeof w.cluster !== 'string')
  ) {
    return { code: 'PROTOCOL_ERROR', message: 'the server answered the handshake with something unexpected' };
  }
  return w as unknown as Welcome;
}

/** A handshaken connection (see the module notes). */
export class ClientConnection {
  readonly endpoint: string;
  readonly welcome: Welcome;
  readonly waiters = new Map<number, Waiter>();
  readonly #fs: FramedSocket;
  #events: ConnectionEvents | undefined;
  #nextId = 1;
  #draining = false;

  private constructor(endpoint: string, fs: FramedSocket, welcome: Welcome) {
    this.endpoint = endpoint;
    this.#fs = fs;
    this.welcome = welcome;
  }

  /**
   * Dials `o.endpoint` and completes the handshake.
   *
   * @throws KvError `UNAVAILABLE` (refused, unreachable, TLS failure, timeout, or the server
   *   refused the handshake: `details.reason` holds its code, e.g. `CLUSTER_MISMATCH`).
   */
  static dial(o: DialOptions): Promise<ClientConnection> {
    const { host, port } = parseEndpoint(o.endpoint);
    return new Promise<ClientConnection>((resolve, reject) => {
      let settled = false;
      let socket: Socket;
      const fail = (message: string, reason?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(
          netError(
            'UNAVAILABLE',
            `${o.endpoint}: ${message}`,
            reason === undefined ? { endpoint: o.endpoint } : { endpoint: o.endpoint, reason },
          ),
        );
      };
      const timer = setTimeout(() => fail(`no connection within ${o.timeoutMs} ms`), o.timeoutMs);
      const t = o.tls;
      socket =
        t === undefined
          ? netConnect({ host, port })
          : tlsConnect({
              host,
              port,
              ...(t.ca === undefined ? {} : { ca: t.ca as string | Buffer | (string | Buffer)[] }),
              ...(t.cert === undefined ? {} : { cert: t.cert }),
              ...(t.key === undefined ? {} : { key: t.key }),
              servername: t.servername ?? host,
            });
      let conn: ClientConnection | undefined;
      const fs = new FramedSocket(socket, HANDSHAKE_MAX_FRAME_BYTES, HANDSHAKE_MAX_FRAME_BYTES, {
        frame: (v) => {
          if (conn !== undefined) {
            conn.#onFrame(v);
            return;
          }
          const w = parseWelcome(v);
          if (!('t' in w)) {
            fail(`refused: ${w.code}: ${w.message}`, w.code);
            return;
          }
          settled = true;
          clearTimeout(timer);
          fs.setLimits(o.maxFrameBytes, w.maxFrameBytes);
          conn = new ClientConnection(o.endpoint, fs, w);
          resolve(conn);
        },
        failed: (code, message) => {
          if (conn === undefined) fail(`${code}: ${message}`, code);
          else {
            fs.destroy();
          }
        },
        closed: (err) => {
          if (conn === undefined) fail(err === undefined ? 'connection closed' : err.message);
          else conn.#onClosed();
        },
        oversized: (msg) => {
          if (conn !== undefined) conn.#oversized(msg);
        },
      });
      socket.once('error', (err) => fail(err.message));
      socket.once(t === undefined ? 'connect' : 'secureConnect', () => {
        const hello: Hello = {
          t: 'hello',
          v: PROTOCOL_VERSION,
          ...(o.clusterId === undefined ? {} : { cluster: o.clusterId }),
          maxFrameBytes: o.maxFrameBytes,
        };
        fs.sendFrame(hello);
      });
    });
  }

  /** Sets who hears about goaways and the close (once, right after dialling). */
  listen(events: ConnectionEvents): void {
    this.#events = events;
  }

  /** True once the server said goaway or the connection closed: send nothing new here. */
  get usable(): boolean {
    return !this.#draining && !this.#fs.closed;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#fs.closed;
  }

  /** A fresh id for a request or stream on this connection. */
  nextId(): number {
    return this.#nextId++;
  }

  /** Queues a message; returns its ordinal (see {@link isWritten}). */
  queue(m: unknown): number {
    return this.#fs.queue(m);
  }

  /** True once the message with this ordinal was handed to the socket (it may have arrived). */
  isWritten(ordinal: number): boolean {
    return this.#fs.written >= ordinal;
  }

  /** Marks the connection as not to be used for new requests (a failover is under way). */
  retire(): void {
    this.#draining = true;
  }

  /** Closes at once; every waiter hears `lost`. */
  destroy(): void {
    this.#draining = true;
    this.#fs.destroy();
  }

  /** Closes once the waiters are gone (or at once if there are none). */
  closeWhenIdle(): void {
    this.#draining = true;
    if (this.waiters.size === 0) this.#fs.end();
  }

  #onFrame(v: unknown): void {
    if (!Array.isArray(v)) {
      this.#fs.markFailed();
      this.#fs.destroy();
      return;
    }
    for (const raw of v) {
      if (typeof raw !== 'object' || raw === null) continue;
      const m = raw as ServerMessage;
      if (m.t === 'goaway') {
        this.#draining = true;
        const last = typeof m.last === 'number' ? m.last : Number.POSITIVE_INFINITY;
        const unstarted = [...this.waiters].filter(([id]) => id > last);
        for (const [id] of unstarted) this.waiters.delete(id);
        for (const [, w] of unstarted) w.unprocessed(this);
        this.#events?.goaway(this, isWireError(m.e) ? m.e : { code: 'STOPPED', message: 'goaway' });
        continue;
      }
      const w = this.waiters.get(m.id);
      if (w === undefined) continue; // a late answer to something that gave up: ignore
      if (m.t === 'ok' || m.t === 'err' || m.t === 'end') this.waiters.delete(m.id);
      w.receive(this, m);
    }
    if (this.#draining && this.waiters.size === 0 && !this.#fs.closed) this.#fs.end();
  }

  #oversized(msg: unknown): void {
    // A request too large for the server's frame limit: answer it locally as the server would.
    const id = (msg as { id?: unknown }).id;
    if (typeof id !== 'number') return;
    const w = this.waiters.get(id);
    if (w === undefined) return;
    this.waiters.delete(id);
    w.receive(this, {
      t: 'err',
      id,
      e: {
        code: 'REQUEST_TOO_LARGE',
        message: `the request is over the server's frame limit of ${this.welcome.maxFrameBytes} bytes`,
      },
    });
  }

  #onClosed(): void {
    this.#draining = true;
    const lost = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of lost) w.lost(this);
    this.#events?.closed(this);
  }
}
