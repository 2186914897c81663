/**
 * One client connection on a `KvServer`: the handshake, then requests answered as they finish
 * (pipelining: any number in flight, answers in any order) and streams.
 *
 * What a misbehaving client gets (the server itself is never affected):
 * - a frame over the limit (`maxFrameBytes`, checked from its header before allocating), bytes
 *   that do not decode, a frame that is not a batch of messages, or a message without a usable
 *   id: a `goaway` naming the problem (`REQUEST_TOO_LARGE` / `PROTOCOL_ERROR`), then the
 *   connection closes — the stream's framing cannot be trusted any more;
 * - a message with a usable id but an unknown kind or method, a bad deadline, an id already in
 *   use: an `err` with `INVALID_ARGUMENT` for that id; the connection stays;
 * - more than `maxInflight` requests or `maxStreams` streams at once: `TOO_MANY_REQUESTS`;
 * - a request the node refuses: the node's typed error (nothing changed).
 */
import type { Socket } from 'node:net';
import type { Logger } from '@flotilla/replica';
import { dispatch } from './dispatch.js';
import { toWireError } from './errors.js';
import { FramedSocket } from './framed-socket.js';
import {
  type ErrMessage,
  HANDSHAKE_MAX_FRAME_BYTES,
  isMethod,
  isStreamKind,
  MAX_DEADLINE_MS,
  PROTOCOL_VERSION,
  type Reject,
  type ServerMessage,
  type Welcome,
  type WireError,
} from './protocol.js';
import {
  openKeepAlive,
  openSnapshot,
  openWatch,
  type ServerStream,
  type StreamHost,
  type StreamNode,
} from './server-streams.js';

/** What every connection of one server shares. */
export interface ConnectionContext {
  readonly node: StreamNode;
  readonly clusterId: string | undefined;
  readonly maxFrameBytes: number;
  readonly maxRequestBytes: number;
  readonly maxStreams: number;
  readonly maxInflight: number;
  readonly handshakeTimeoutMs: number;
  readonly logger: Logger;
  /** Called once when the connection has closed. */
  closed(conn: ServerConnection): void;
}

/** Room left in a frame for a stream item's envelope around a snapshot chunk. */
const CHUNK_ENVELOPE_BYTES = 1024;
/** Largest snapshot chunk (etcd streams its snapshot in small chunks too). */
const MAX_CHUNK_BYTES = 1024 * 1024;

function idOf(m: unknown): number | undefined {
  if (typeof m !== 'object' || m === null || !Object.hasOwn(m, 'id')) return undefined;
  const id = (m as { id: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

function get(m: object, name: string): unknown {
  return Object.hasOwn(m, name) ? (m as Record<string, unknown>)[name] : undefined;
}

/** Why a hello is refused (a code and a message), or undefined when it is acceptable. */
function helloProblem(h: object, clusterId: string | undefined): WireError | undefined {
  if (get(h, 't') !== 'hello') return { code: 'PROTOCOL_ERROR', message: 'expected a hello' };
  const v = get(h, 'v');
  if (v !== PROTOCOL_VERSION) {
    return {
      code: 'VERSION_MISMATCH',
      message: `protocol version ${String(v)} is not supported (this member speaks ${PROTOCOL_VERSION})`,
    };
  }
  const cluster = get(h, 'cluster');
  if (cluster !== undefined && cluster !== null && typeof cluster !== 'string') {
    return { code: 'PROTOCOL_ERROR', message: 'hello.cluster must be a string' };
  }
  if (typeof cluster === 'string' && clusterId !== undefined && cluster !== clusterId) {
    return {
      code: 'CLUSTER_MISMATCH',
      message: `this member belongs to cluster ${JSON.stringify(clusterId)}, not ${JSON.stringify(cluster)}`,
    };
  }
  const max = get(h, 'maxFrameBytes');
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < HANDSHAKE_MAX_FRAME_BYTES) {
    return {
      code: 'PROTOCOL_ERROR',
      message: `hello.maxFrameBytes must be an integer ≥ ${HANDSHAKE_MAX_FRAME_BYTES}`,
    };
  }
  return undefined;
}

/** One accepted connection (see the module notes). */
export class ServerConnection {
  readonly #ctx: ConnectionContext;
  readonly #fs: FramedSocket;
  readonly #remote: string;
  #state: 'handshake' | 'open' | 'draining' = 'handshake';
  #handshakeTimer: NodeJS.Timeout | undefined;
  /** Ids of unary requests in flight. */
  readonly #inflight = new Set<number>();
  readonly #streams = new Map<number, ServerStream>();
  #drained: (() => void) | undefined;
  /** The highest id of a request or stream started on this connection. */
  #highestId = -1;
  #markClosed: () => void = () => {};
  /** Settles once the socket has closed. */
  readonly #whenClosed = new Promise<void>((resolve) => {
    this.#markClosed = resolve;
  });
  /** Largest frame the client accepts (from its hello). */
  #peerMaxFrameBytes = HANDSHAKE_MAX_FRAME_BYTES;

  constructor(socket: Socket, ctx: ConnectionContext) {
    this.#ctx = ctx;
    this.#remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.#fs = new FramedSocket(socket, HANDSHAKE_MAX_FRAME_BYTES, HANDSHAKE_MAX_FRAME_BYTES, {
      frame: (v) => this.#onFrame(v),
      failed: (code, message) =>
        this.#violation(code === 'FRAME_TOO_LARGE' ? 'REQUEST_TOO_LARGE' : 'PROTOCOL_ERROR', message),
      closed: () => this.#onClosed(),
      oversized: (msg, bytes) => this.#oversized(msg, bytes),
    });
    this.#handshakeTimer = setTimeout(() => {
      this.#ctx.logger.warn('client did not complete the handshake in time; closing', {
        remote: this.#remote,
      });
      this.#fs.destroy();
    }, ctx.handshakeTimeoutMs);
  }

  /** Requests in flight plus open streams (for tests and metrics). */
  get load(): { readonly inflight: number; readonly streams: number } {
    return { inflight: this.#inflight.size, streams: this.#streams.size };
  }

  /**
   * Stops taking requests (new ones get `STOPPED`, so clients go elsewhere), ends the streams
   * with `STOPPED` (watches resume elsewhere), waits up to `graceMs` for the requests in flight,
   * then closes.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.#fs.closed) return;
    if (this.#state !== 'open') {
      this.#fs.destroy();
      return this.#whenClosed;
    }
    this.#state = 'draining';
    const stopped: WireError = { code: 'STOPPED', message: `member ${this.#ctx.node.id} is shutting down` };
    // From here on nothing new is started (messages are ignored): the client resends whatever
    // has an id above `last` elsewhere, knowing it did not happen here.
    this.#send({ t: 'goaway', e: stopped, last: this.#highestId });
    for (const [id, s] of [...this.#streams]) {
      s.close();
      this.#streams.delete(id);
      this.#send({ t: 'err', id, e: stopped });
    }
    if (this.#inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    }
    this.#fs.end();
    // A client that never reads (or never hangs up) must not hold the server open.
    const kill = setTimeout(() => this.#fs.destroy(), Math.max(100, graceMs));
    await this.#whenClosed;
    clearTimeout(kill);
  }

  /** Closes at once. */
  destroy(): void {
    this.#fs.destroy();
  }

  #send(m: ServerMessage): void {
    this.#fs.queue(m);
  }

  #violation(code: 'REQUEST_TOO_LARGE' | 'PROTOCOL_ERROR', message: string): void {
    this.#ctx.logger.warn('closing a client connection that broke the protocol', {
      remote: this.#remote,
      code,
      message,
    });
    this.#fs.markFailed();
    if (this.#state === 'handshake') {
      const reject: Reject = { t: 'reject', e: { code, message } };
      this.#fs.sendFrame(reject);
    } else {
      this.#send({ t: 'goaway', e: { code, message }, last: this.#highestId });
    }
    for (const s of this.#streams.values()) s.close();
    this.#streams.clear();
    this.#fs.end();
    setTimeout(() => this.#fs.destroy(), 1000).unref();
  }

  #onClosed(): void {
    clearTimeout(this.#handshakeTimer);
    for (const s of this.#streams.values()) s.close();
    this.#streams.clear();
    this.#drained?.();
    this.#markClosed();
    this.#ctx.closed(this);
  }

  #onFrame(v: unknown): void {
    if (this.#state === 'handshake') {
      this.#onHello(v);
      return;
    }
    if (this.#state === 'draining') return;
    if (!Array.isArray(v)) {
      this.#violation('PROTOCOL_ERROR', 'expected a batch (an array) of messages');
      return;
    }
    for (const m of v) {
      if (this.#fs.closed) return;
      if (!this.#onMessage(m)) return;
    }
  }

  #onHello(v: unknown): void {
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const h = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
    const refuse = (code: string, message: string): void => {
      this.#ctx.logger.warn('refused a client at the handshake', { remote: this.#remote, code, message });
      const reject: Reject = { t: 'reject', e: { code, message } };
      this.#fs.markFailed();
      this.#fs.sendFrame(reject);
      this.#fs.end();
      setTimeout(() => this.#fs.destroy(), 1000).unref();
    };
    const problem = helloProblem(h, this.#ctx.clusterId);
    if (problem !== undefined) {
      refuse(problem.code, problem.message);
      return;
    }
    const peerMax = get(h, 'maxFrameBytes') as number;
    const ctx = this.#ctx;
    const welcome: Welcome = {
      t: 'welcome',
      v: PROTOCOL_VERSION,
      cluster: ctx.clusterId ?? null,
      member: ctx.node.id,
      maxFrameBytes: ctx.maxFrameBytes,
      maxRequestBytes: ctx.maxRequestBytes,
      maxStreams: ctx.maxStreams,
      maxInflight: ctx.maxInflight,
    };
    this.#fs.sendFrame(welcome);
    this.#fs.setLimits(ctx.maxFrameBytes, peerMax);
    this.#peerMaxFrameBytes = peerMax;
    this.#state = 'open';
  }

  /** Handles one message; false when the connection was closed for a violation. */
  #onMessage(m: unknown): boolean {
    const id = idOf(m);
    if (id === undefined || typeof m !== 'object' || m === null) {
      this.#violation('PROTOCOL_ERROR', 'a message without a valid id');
      return false;
    }
    const t = get(m, 't');
    if ((t === 'call' || t === 'open') && id > this.#highestId) this.#highestId = id;
    switch (t) {
      case 'call':
        this.#call(id, get(m, 'm'), get(m, 'a'), get(m, 'd'));
        return true;
      case 'open':
        this.#open(id, get(m, 'm'), get(m, 'a'));
        return true;
      case 'send':
        this.#streams.get(id)?.send(get(m, 'a'));
        return true;
      case 'close': {
        const s = this.#streams.get(id);
        if (s !== undefined) {
          this.#streams.delete(id);
          s.close();
          this.#send({ t: 'end', id });
        }
        return true;
      }
      default:
        this.#error(id, 'INVALID_ARGUMENT', `unknown message kind ${JSON.stringify(String(t))}`);
        return true;
    }
  }

  #error(id: number, code: string, message: string): void {
    const e: ErrMessage = { t: 'err', id, e: { code, message } };
    this.#send(e);
  }

  /** Refuses a request when the id is taken, the member is draining, or a limit is reached. */
  #refused(id: number, stream: boolean): boolean {
    if (this.#inflight.has(id) || this.#streams.has(id)) {
      this.#error(id, 'INVALID_ARGUMENT', `request id ${id} is already in use on this connection`);
      return true;
    }
    if (this.#state === 'draining') {
      this.#error(id, 'STOPPED', `member ${this.#ctx.node.id} is shutting down`);
      return true;
    }
    const [n, max, what] = stream
      ? [this.#streams.size, this.#ctx.maxStreams, 'streams open']
      : [this.#inflight.size, this.#ctx.maxInflight, 'requests in flight'];
    if (n >= max) {
      this.#error(
        id,
        'TOO_MANY_REQUESTS',
        `too many requests: ${n} ${what} on this connection (limit ${max})`,
      );
      return true;
    }
    return false;
  }

  #call(id: number, method: unknown, a: unknown, d: unknown): void {
    if (!isMethod(method)) {
      this.#error(id, 'INVALID_ARGUMENT', `unknown method ${JSON.stringify(String(method))}`);
      return;
    }
    if (d !== undefined && (typeof d !== 'number' || !(d > 0) || d > MAX_DEADLINE_MS)) {
      this.#error(id, 'INVALID_ARGUMENT', `the deadline must be a number of ms in (0, ${MAX_DEADLINE_MS}]`);
      return;
    }
    if (this.#refused(id, false)) return;
    this.#inflight.add(id);
    let p: Promise<unknown>;
    try {
      p = dispatch(this.#ctx.node, method, a, d as number | undefined);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (r) => this.#settle(id, { t: 'ok', id, r }),
      (err: unknown) => this.#settle(id, { t: 'err', id, e: toWireError(err) }),
    );
  }

  #settle(id: number, m: ServerMessage): void {
    this.#inflight.delete(id);
    if (!this.#fs.closed) this.#send(m);
    if (this.#inflight.size === 0) this.#drained?.();
  }

  #oversized(msg: unknown, bytes: number): void {
    // Only answers can be too large for the client (stream chunks are sized to fit).
    const id = idOf(msg);
    if (id === undefined) return;
    this.#send({
      t: 'err',
      id,
      e: {
        code: 'RESPONSE_TOO_LARGE',
        message: `the response is ${bytes} bytes, over the client's frame limit; narrow the request`,
      },
    });
  }

  #open(id: number, kind: unknown, a: unknown): void {
    if (!isStreamKind(kind)) {
      this.#error(id, 'INVALID_ARGUMENT', `unknown stream ${JSON.stringify(String(kind))}`);
      return;
    }
    if (this.#refused(id, true)) return;
    let done = false;
    const finish = (m: ServerMessage): void => {
      if (done) return;
      done = true;
      this.#streams.delete(id);
      this.#send(m);
    };
    const fs = this.#fs;
    const host: StreamHost = {
      item: (r) => {
        if (!done) this.#send({ t: 'item', id, r });
      },
      end: () => finish({ t: 'end', id }),
      fail: (e) => finish({ t: 'err', id, e }),
      get needsDrain() {
        return fs.needsDrain;
      },
      drained: () => fs.drained(),
      maxChunkBytes: Math.min(MAX_CHUNK_BYTES, this.#peerMaxFrameBytes) - CHUNK_ENVELOPE_BYTES,
    };
    const node = this.#ctx.node;
    const stream =
      kind === 'watch'
        ? openWatch(node, a, host)
        : kind === 'leaseKeepAlive'
          ? openKeepAlive(node, a, host)
          : openSnapshot(node, host);
    if (!done) this.#streams.set(id, stream);
  }
}
