import type { Socket } from 'node:net';
import type { NetworkMessage, NodeId } from '@flotilla/raft';
import type { Logger } from '@flotilla/replica';
import type { Codec } from './codec.js';
import { TcpTransportError } from './errors.js';
import { FrameDecoder } from './frame.js';
import {
  type AcceptorView,
  answerHello,
  type ConnectionKind,
  HANDSHAKE_MAX_FRAME_BYTES,
  parseHello,
} from './handshake.js';
import { type SnapAck, SnapshotReceiver } from './snapshot-receiver.js';
import { checkBatch } from './validate.js';

/** What an accepted connection needs from its transport. */
export interface InboundContext extends AcceptorView {
  readonly maxFrameBytes: number;
  readonly maxSnapshotBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly codec: Codec;
  readonly logger: Logger;
  /** Hands a checked batch to the replica's handler; throws what the handler threw. */
  deliver(batch: NetworkMessage[]): void;
  /** Forgets the connection once it closed. */
  unregister(connection: InboundConnection): void;
}

/**
 * One accepted connection: the acceptor's side of the handshake, then either a stream of
 * message batches (`raft`) or one snapshot (`snap`).
 *
 * Every frame is checked before anything reaches Raft: its size against `maxFrameBytes` (only
 * 64 KiB until the handshake passed, so a stranger cannot make us allocate), its payload as
 * msgpack, its content as messages from the handshaken peer to this node. The first violation
 * logs a warning naming the peer and the problem and closes the connection; the process never
 * throws on bad bytes. A batch is delivered whole or not at all.
 */
export class InboundConnection {
  readonly #socket: Socket;
  readonly #ctx: InboundContext;
  readonly #decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
  readonly #remote: string;
  #peer: NodeId | undefined;
  #kind: ConnectionKind | undefined;
  #snapshot: SnapshotReceiver | undefined;
  #closed = false;

  constructor(socket: Socket, ctx: InboundContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.setTimeout(ctx.handshakeTimeoutMs);
    socket.on('timeout', () =>
      this.#abort(new TcpTransportError('HANDSHAKE_FAILED', 'no handshake in time')),
    );
    socket.on('error', (err) =>
      ctx.logger.debug('inbound connection error', { remote: this.#remote, error: err.message }),
    );
    socket.on('close', () => {
      this.#closed = true;
      ctx.unregister(this);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  /** The member on the other end, once the handshake passed. */
  get peer(): NodeId | undefined {
    return this.#peer;
  }

  /** Closes the connection (peer removed, transport closing). */
  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      for (const payload of this.#decoder.push(chunk)) {
        this.#onFrame(payload);
        if (this.#closed) return;
      }
    } catch (err) {
      this.#abort(err);
    }
  }

  #onFrame(payload: Buffer): void {
    const peer = this.#peer;
    if (peer === undefined) {
      this.#onHello(payload);
      return;
    }
    if (!this.#ctx.knows(peer)) {
      throw new TcpTransportError('PROTOCOL_ERROR', `member ${peer} was removed`);
    }
    if (this.#kind === 'raft') {
      const batch = checkBatch(this.#ctx.codec.decode(payload), peer, this.#ctx.id);
      if (typeof batch === 'string') throw new TcpTransportError('MALFORMED_FRAME', batch);
      this.#deliver(batch);
      return;
    }
    const complete = this.#snapshot?.onFrame(payload);
    if (complete === undefined) return;
    let ack: SnapAck = { t: 'snapAck', ok: true };
    try {
      this.#ctx.deliver([complete]);
    } catch (err) {
      ack = { t: 'snapAck', ok: false, reason: String(err) };
    }
    this.#closed = true;
    this.#socket.end(this.#ctx.codec.frame(ack));
  }

  #onHello(payload: Buffer): void {
    let decoded: unknown;
    try {
      decoded = this.#ctx.codec.decode(payload);
    } catch {
      decoded = undefined;
    }
    const hello = parseHello(decoded);
    if (hello === undefined)
      throw new TcpTransportError('HANDSHAKE_FAILED', 'the first frame is not a handshake');
    const answer = answerHello(hello, this.#ctx);
    if (answer.t === 'reject') {
      this.#ctx.logger.warn(`refused a connection from member ${hello.from}: ${answer.reason}`, {
        remote: this.#remote,
        peer: hello.from,
        rejectCode: answer.code,
      });
      this.#closed = true;
      this.#socket.end(this.#ctx.codec.frame(answer));
      return;
    }
    this.#peer = hello.from;
    this.#kind = hello.kind;
    if (hello.kind === 'snap') {
      this.#snapshot = new SnapshotReceiver(
        hello.from,
        this.#ctx.id,
        this.#ctx.maxSnapshotBytes,
        this.#ctx.codec,
      );
    }
    this.#decoder.setMaxFrameBytes(this.#ctx.maxFrameBytes);
    this.#socket.setTimeout(0);
    this.#socket.write(this.#ctx.codec.frame(answer));
  }

  #deliver(batch: NetworkMessage[]): void {
    try {
      this.#ctx.deliver(batch);
    } catch (err) {
      // The host's handler failed, not the peer: keep the connection.
      this.#ctx.logger.error('message handler threw', { peer: this.#peer, error: String(err) });
    }
  }

  #abort(err: unknown): void {
    if (this.#closed) return;
    const code = err instanceof TcpTransportError ? err.code : 'PROTOCOL_ERROR';
    const message = err instanceof Error ? err.message : String(err);
    this.#ctx.logger.warn(
      `closing connection from ${this.#peer === undefined ? this.#remote : `member ${this.#peer}`}: ${message}`,
      {
        remote: this.#remote,
        peer: this.#peer,
        code,
      },
    );
    if (this.#kind === 'snap') {
      // Tell the sender why, so its sendSnapshot rejects with the reason, not a bare reset.
      const nack: SnapAck = { t: 'snapAck', ok: false, reason: message };
      this.#closed = true;
      this.#socket.end(this.#ctx.codec.frame(nack));
      return;
    }
    this.close();
  }
}
