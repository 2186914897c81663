import { constants as bufferConstants } from 'node:buffer';
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { type NodeId, type Random, seededRandom } from '@flotilla/raft';
import { type Clock, consoleLogger, type Logger, systemClock } from '@flotilla/replica';
import { TcpTransportError } from './errors.js';

/** Mutual TLS material (PEM strings or buffers). */
export interface TcpTlsOptions {
  /** This member's private key. */
  readonly key: string | Buffer;
  /** This member's certificate, presented both as a server and as a client. */
  readonly cert: string | Buffer;
  /** The CA(s) that sign every member's certificate; peers signed by anything else are refused. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  /**
   * Demand a certificate from connecting peers (mutual TLS). Default true; false gives
   * server-only TLS (encryption, the cluster id as the only membership check).
   */
  readonly requireClientCert?: boolean;
}

/** Reconnect backoff: capped exponential with "equal jitter". */
export interface TcpBackoffOptions {
  /** Delay after the first failure, before jitter (ms). Default 50. */
  readonly initialMs?: number;
  /** Cap of the delay before jitter (ms). Default 2,000. */
  readonly maxMs?: number;
}

/** Options of `createTcpTransport`. */
export interface TcpTransportOptions {
  /** This member's id. */
  readonly id: NodeId;
  /** Where to listen. `port: 0` picks a free port; read it back from `transport.port`. */
  readonly listen: { readonly host: string; readonly port: number };
  /** Every peer's `host:port` (IPv6 as `[::1]:port`). The local id may be included; it is skipped. */
  readonly peers: Readonly<Record<NodeId, string>>;
  /** Both ends of every connection must present the same cluster id. */
  readonly clusterId: string;
  /** Mutual TLS when given; plain TCP otherwise. */
  readonly tls?: TcpTlsOptions;
  /** Largest frame accepted or sent, in bytes (default 64 MiB). Also bounds a single message. */
  readonly maxFrameBytes?: number;
  /** Most messages waiting per peer before new ones are dropped and reported (default 4,096, as
   * etcd's rafthttp stream buffer). */
  readonly queueLimit?: number;
  /** Where connection problems are reported. Default: warnings and errors on the console. */
  readonly logger?: Logger;
  /** Arms the reconnect timers. Default `systemClock`. */
  readonly clock?: Clock;
  /** Draws the backoff jitter. Default: a generator seeded from `crypto.randomInt`. */
  readonly random?: Random;
  readonly backoff?: TcpBackoffOptions;
  /** How long a connection may take to complete its handshake (ms). Default 5,000. */
  readonly handshakeTimeoutMs?: number;
  /** Size of the chunks a snapshot is streamed in (bytes). Default 1 MiB (less if `maxFrameBytes` is smaller). */
  readonly snapshotChunkBytes?: number;
  /** Largest snapshot accepted from a peer (bytes). Default: the largest Buffer Node allows. */
  readonly maxSnapshotBytes?: number;
}

/** A peer address split into its parts. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The options with every default filled in and every value checked. */
export interface ResolvedOptions {
  readonly id: NodeId;
  readonly listen: PeerAddress;
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly clusterId: string;
  readonly tls: TcpTlsOptions | undefined;
  readonly maxFrameBytes: number;
  readonly queueLimit: number;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly backoff: Required<TcpBackoffOptions>;
  readonly handshakeTimeoutMs: number;
  readonly snapshotChunkBytes: number;
  readonly maxSnapshotBytes: number;
}

/** A frame is at least big enough for a handshake, and at most what a Buffer can hold. */
const MIN_FRAME_BYTES = 1024;

/** Checks options and fills defaults; throws `INVALID_CONFIG` naming the bad field. */
export function resolveOptions(o: TcpTransportOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw config('options must be an object');
  if (!isNodeId(o.id)) throw config(`id must be a positive safe integer, got ${String(o.id)}`);
  if (typeof o.clusterId !== 'string' || o.clusterId.length === 0 || o.clusterId.length > 256) {
    throw config('clusterId must be a non-empty string of at most 256 characters');
  }
  const listen = o.listen;
  if (
    typeof listen !== 'object' ||
    listen === null ||
    typeof listen.host !== 'string' ||
    listen.host === ''
  ) {
    throw config('listen must be { host, port }');
  }
  if (!isPort(listen.port)) throw config(`listen.port must be an integer in [0, 65535], got ${listen.port}`);
  if (typeof o.peers !== 'object' || o.peers === null)
    throw config('peers must be a record of id → "host:port"');
  const peers = new Map<NodeId, PeerAddress>();
  for (const [key, address] of Object.entries(o.peers)) {
    const id = Number(key);
    if (!isNodeId(id)) throw config(`peer id ${key} is not a positive safe integer`);
    const parsed = parseAddress(address);
    if (parsed === undefined)
      throw config(`peer ${key}: address ${JSON.stringify(address)} is not host:port`);
    if (id !== o.id) peers.set(id, parsed);
  }
  const maxFrameBytes = o.maxFrameBytes ?? 64 * 1024 * 1024;
  if (!isIntIn(maxFrameBytes, MIN_FRAME_BYTES, bufferConstants.MAX_LENGTH)) {
    throw config(`maxFrameBytes must be an integer in [${MIN_FRAME_BYTES}, ${bufferConstants.MAX_LENGTH}]`);
  }
  const queueLimit = o.queueLimit ?? 4096;
  if (!isIntIn(queueLimit, 1, 2 ** 31)) throw config('queueLimit must be a positive integer');
  const backoff = { initialMs: o.backoff?.initialMs ?? 50, maxMs: o.backoff?.maxMs ?? 2000 };
  if (!(Number.isFinite(backoff.initialMs) && backoff.initialMs > 0 && backoff.maxMs >= backoff.initialMs)) {
    throw config('backoff needs 0 < initialMs ≤ maxMs');
  }
  if (!Number.isFinite(backoff.maxMs)) throw config('backoff.maxMs must be finite');
  const handshakeTimeoutMs = o.handshakeTimeoutMs ?? 5000;
  if (!isIntIn(handshakeTimeoutMs, 1, 2 ** 31 - 1))
    throw config('handshakeTimeoutMs must be a positive integer');
  const snapshotChunkBytes = o.snapshotChunkBytes ?? Math.min(1024 * 1024, maxFrameBytes - 16);
  // A chunk frame is the chunk plus a 5-byte msgpack bin header; it must fit in a frame.
  if (!isIntIn(snapshotChunkBytes, 1, maxFrameBytes - 16)) {
    throw config('snapshotChunkBytes must be a positive integer smaller than maxFrameBytes');
  }
  const maxSnapshotBytes = o.maxSnapshotBytes ?? bufferConstants.MAX_LENGTH;
  if (!isIntIn(maxSnapshotBytes, 0, bufferConstants.MAX_LENGTH)) {
    throw config(`maxSnapshotBytes must be an integer in [0, ${bufferConstants.MAX_LENGTH}]`);
  }
  if (o.tls !== undefined) {
    const { key, cert, ca } = o.tls;
    if (key === undefined || cert === undefined || ca === undefined)
      throw config('tls needs key, cert and ca');
  }
  return {
    id: o.id,
    listen: { host: listen.host, port: listen.port },
    peers,
    clusterId: o.clusterId,
    tls: o.tls,
    maxFrameBytes,
    queueLimit,
    logger: o.logger ?? consoleLogger('transport-tcp'),
    clock: o.clock ?? systemClock,
    random: o.random ?? seededRandom(randomInt(2 ** 32)),
    backoff,
    handshakeTimeoutMs,
    snapshotChunkBytes,
    maxSnapshotBytes,
  };
}

/** Parses `host:port` or `[v6]:port`; `undefined` when it is neither. */
export function parseAddress(address: unknown): PeerAddress | undefined {
  if (typeof address !== 'string') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address);
  if (m === null) return undefined;
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (host === undefined || !isPort(port) || port === 0) return undefined;
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}

/** `host:port`, bracketing IPv6 hosts. */
export function formatAddress({ host, port }: PeerAddress): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isNodeId(id: unknown): id is NodeId {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535;
}

function isIntIn(x: unknown, min: number, max: number): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= max;
}

function config(message: string): TcpTransportError {
  return new TcpTransportError('INVALID_CONFIG', message);
}
