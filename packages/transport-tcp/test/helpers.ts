import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import type { NodeId } from '@flotilla/raft';
import type { LogFields, Logger } from '@flotilla/replica';
import { Inbox } from '@flotilla/replica/testing';
import { createTcpTransport, type TcpTransport, type TcpTransportOptions } from '@flotilla/transport-tcp';
import { Codec, FrameDecoder, PROTOCOL_VERSION } from '@flotilla/transport-tcp/wire';

export const CLUSTER = 'test-cluster';
export const WAIT_MS = 15_000;

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields | undefined;
}

/** A logger that records every line and lets a test wait for one. */
export class CapturingLogger implements Logger {
  readonly lines: LogLine[] = [];
  #waiters = new Set<() => void>();
  debug = (message: string, fields?: LogFields): void => this.#push('debug', message, fields);
  info = (message: string, fields?: LogFields): void => this.#push('info', message, fields);
  warn = (message: string, fields?: LogFields): void => this.#push('warn', message, fields);
  error = (message: string, fields?: LogFields): void => this.#push('error', message, fields);

  /** Resolves with the first line (past or future) matching `pred`. */
  until(pred: (l: LogLine) => boolean, label: string, timeoutMs = WAIT_MS): Promise<LogLine> {
    const found = this.lines.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const l = this.lines.find(pred);
        if (l === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(l);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for log line: ${label}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  #push(level: LogLine['level'], message: string, fields: LogFields | undefined): void {
    this.lines.push({ level, message, fields });
    for (const w of [...this.#waiters]) w();
  }
}

export interface Node {
  readonly t: TcpTransport;
  readonly inbox: Inbox;
  readonly log: CapturingLogger;
}

/** Creates and starts a transport on 127.0.0.1:0 (or the given port) with an Inbox and a capturing logger. */
export async function startNode(id: NodeId, options: Partial<TcpTransportOptions> = {}): Promise<Node> {
  const log = new CapturingLogger();
  const t = createTcpTransport({
    id,
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
    clusterId: CLUSTER,
    backoff: { initialMs: 10, maxMs: 100 },
    logger: log,
    ...options,
  });
  const inbox = new Inbox();
  await t.start(inbox.handler, inbox.events);
  return { t, inbox, log };
}

/** Makes every node know every other one. */
export function wire(nodes: readonly Node[]): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.addPeer(b.t.id, b.t.address);
}

/** A raw TCP client speaking frames by hand. */
export class RawClient {
  readonly codec = new Codec();
  readonly frames: unknown[] = [];
  readonly #decoder = new FrameDecoder(64 * 1024 * 1024);
  closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    this.closed = once(socket, 'close').then(() => undefined);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.#decoder.push(chunk)) this.frames.push(this.codec.decode(f));
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  send(value: unknown): void {
    this.socket.write(this.codec.frame(value));
  }

  hello(from: NodeId, to: NodeId, extra: Record<string, unknown> = {}): void {
    this.send({ t: 'hello', v: PROTOCOL_VERSION, cluster: CLUSTER, from, to, kind: 'raft', ...extra });
  }

  /** Resolves with the first frame received. */
  async reply(): Promise<unknown> {
    while (this.frames.length === 0) {
      await Promise.race([once(this.socket, 'data'), this.closed]);
      if (this.socket.destroyed && this.frames.length === 0) return undefined;
    }
    return this.frames[0];
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A port on 127.0.0.1 where nothing listens (bound then released; a tiny reuse race is possible). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A message batch's readSeqs from `from`. */
export function seqs(inbox: Inbox, from: NodeId): number[] {
  return inbox.from(from).flatMap((m) => (m.type === 'heartbeat' ? [m.readSeq] : []));
}
