/**
 * A socket that carries msgpack frames, used by both ends of the client protocol. Framing and
 * encoding are transport-tcp's (`FrameDecoder`, `Codec` from `@flotilla/transport-tcp/wire`):
 * a 4-byte big-endian length, then one msgpackr value with records.
 *
 * Outgoing messages queued during one task (an event's callback and the microtasks it queues)
 * leave as ONE frame (an array): one encode and one write for all the answers or requests that
 * task produced, which is where pipelining pays. The flush runs as a microtask, not on a later
 * turn of the event loop: the answers of one applied batch of Raft entries all settle within
 * the same microtask run, so they still share a frame, and none waits for the event loop to
 * go round (a `setImmediate` cost 0.05-0.3 ms per hop on a loaded machine, twice per request).
 * A batch larger than the peer's frame limit is split in halves; a single message that cannot
 * fit is handed to `oversized` instead of being sent.
 *
 * Invariants: a frame is decoded only once complete and only if within the receive limit (the
 * decoder refuses a larger header before allocating); after a framing or decoding error the
 * socket is unusable and is reported once through `failed`; `closed` is reported exactly once.
 */
import type { Socket } from 'node:net';
import { Codec, FrameDecoder, HEADER_BYTES } from '@flotilla/transport-tcp/wire';

/** What the owner of a {@link FramedSocket} is told. */
export interface FramedSocketHandlers {
  /** One decoded frame payload. */
  frame(value: unknown): void;
  /** The byte stream broke (a frame over the limit, undecodable bytes); the socket is destroyed. */
  failed(code: 'FRAME_TOO_LARGE' | 'MALFORMED_FRAME', message: string): void;
  /** The socket closed (after `failed`, an error, `end`/`destroy`, or the peer hanging up). Once. */
  closed(error: Error | undefined): void;
  /** A queued message is too large for any frame the peer accepts; it was not sent. */
  oversized(message: unknown, bytes: number): void;
}

/** A framed, batching socket (see the module notes). */
export class FramedSocket {
  readonly socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #codec = new Codec();
  readonly #handlers: FramedSocketHandlers;
  /** Messages queued for the next flush. */
  #out: unknown[] = [];
  #flushScheduled = false;
  /** Largest frame the peer accepts. */
  #peerMaxFrameBytes: number;
  /** Messages ever queued / ever handed to the socket (ordinals, for "was it sent?"). */
  #queued = 0;
  #written = 0;
  #closed = false;
  #failed = false;

  constructor(
    socket: Socket,
    maxFrameBytes: number,
    peerMaxFrameBytes: number,
    handlers: FramedSocketHandlers,
  ) {
    this.socket = socket;
    this.#decoder = new FrameDecoder(maxFrameBytes);
    this.#peerMaxFrameBytes = peerMaxFrameBytes;
    this.#handlers = handlers;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {
      // 'close' follows and reports; the error itself is passed there.
    });
    socket.on('close', (hadError: boolean) => {
      if (this.#closed) return;
      this.#closed = true;
      this.#handlers.closed(hadError ? new Error('connection closed after an error') : undefined);
    });
  }

  /** True once the socket closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Changes the frame limits (raised once the handshake is done). */
  setLimits(maxFrameBytes: number, peerMaxFrameBytes: number): void {
    this.#decoder.setMaxFrameBytes(maxFrameBytes);
    this.#peerMaxFrameBytes = peerMaxFrameBytes;
  }

  /** Writes one frame holding `value` now (handshake frames, which are not batched). */
  sendFrame(value: unknown): void {
    if (this.#closed) return;
    this.socket.write(this.#codec.frame(value));
  }

  /**
   * Queues `message` for the next batch frame and returns its ordinal: the message has been
   * handed to the socket once {@link written} reaches it.
   */
  queue(message: unknown): number {
    this.#out.push(message);
    this.#queued += 1;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushQueued);
    }
    return this.#queued;
  }

  /** Messages handed to the socket so far (compare with an ordinal from {@link queue}). */
  get written(): number {
    return this.#written;
  }

  /** Bytes waiting in the socket's buffer beyond its high-water mark: stop producing. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Resolves when the socket's buffer has drained (or it closed). */
  drained(): Promise<void> {
    if (this.#closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  readonly #flushQueued = (): void => {
    if (this.#flushScheduled) this.flush();
  };

  /** Writes everything queued, now. */
  flush(): void {
    this.#flushScheduled = false;
    const batch = this.#out;
    if (batch.length === 0) return;
    this.#out = [];
    if (this.#closed) return;
    this.#write(batch);
    this.#written = this.#queued;
  }

  #write(batch: readonly unknown[]): void {
    const frame = this.#codec.frame(batch);
    if (frame.length - HEADER_BYTES <= this.#peerMaxFrameBytes) {
      this.socket.write(frame);
      return;
    }
    if (batch.length === 1) {
      this.#handlers.oversized(batch[0], frame.length - HEADER_BYTES);
      return;
    }
    const mid = batch.length >> 1;
    this.#write(batch.slice(0, mid));
    this.#write(batch.slice(mid));
  }

  /** Flushes what is queued, then closes the writing side (the peer sees the end). */
  end(): void {
    this.flush();
    if (!this.#closed) this.socket.end();
  }

  /** Closes at once; queued messages are dropped. */
  destroy(): void {
    this.#out = [];
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#failed) return;
    let payloads: Buffer[];
    try {
      payloads = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(
        (err as { code?: string }).code === 'FRAME_TOO_LARGE' ? 'FRAME_TOO_LARGE' : 'MALFORMED_FRAME',
        err instanceof Error ? err.message : String(err),
      );
      return;
    }
    for (const p of payloads) {
      let value: unknown;
      try {
        value = this.#codec.decode(p);
      } catch (err) {
        this.#fail('MALFORMED_FRAME', err instanceof Error ? err.message : String(err));
        return;
      }
      this.#handlers.frame(value);
      if (this.#failed || this.#closed) return;
    }
  }

  #fail(code: 'FRAME_TOO_LARGE' | 'MALFORMED_FRAME', message: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#handlers.failed(code, message);
  }

  /** Marks the stream broken without a framing error (the owner found a protocol violation). */
  markFailed(): void {
    this.#failed = true;
  }
}
