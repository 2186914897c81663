import type { NodeId, SnapMessage } from '@flotilla/raft';
import type { Codec } from './codec.js';
import { TcpTransportError } from './errors.js';
import { readBin } from './frame.js';
import { isNetworkMessage } from './validate.js';

/**
 * The snapshot stream, after the handshake of a `snap` connection:
 *
 * ```text
 * sender   → receiver   { t: 'snap', message: SnapMessage (snapshot.data empty), size }
 * sender   → receiver   bin chunk, bin chunk, ...      (exactly `size` bytes in total)
 * receiver → sender     { t: 'snapAck', ok: true } | { t: 'snapAck', ok: false, reason }
 * ```
 *
 * The receiver allocates `size` bytes once, from the header, and copies each chunk into place
 * as it arrives: a snapshot is held whole exactly once (plus at most one chunk in flight).
 */
export interface SnapAck {
  readonly t: 'snapAck';
  readonly ok: boolean;
  readonly reason?: string;
}

/** Assembles one incoming snapshot from the frames of a `snap` connection. */
export class SnapshotReceiver {
  readonly #from: NodeId;
  readonly #self: NodeId;
  readonly #maxBytes: number;
  readonly #codec: Codec;
  #message: SnapMessage | undefined;
  #data: Buffer | undefined;
  #filled = 0;

  constructor(from: NodeId, self: NodeId, maxSnapshotBytes: number, codec: Codec) {
    this.#from = from;
    this.#self = self;
    this.#maxBytes = maxSnapshotBytes;
    this.#codec = codec;
  }

  /** Bytes received so far, and expected in total (0 before the header). */
  get progress(): { received: number; size: number } {
    return { received: this.#filled, size: this.#data?.length ?? 0 };
  }

  /**
   * Takes the next frame payload. Returns the complete message (with `snapshot.data`) when
   * this frame finished it, `undefined` while more is expected. Throws `PROTOCOL_ERROR` or
   * `MALFORMED_FRAME` for anything out of protocol.
   */
  onFrame(payload: Buffer): SnapMessage | undefined {
    const message = this.#message;
    const data = this.#data;
    if (message === undefined || data === undefined) return this.#onHeader(payload);
    if (this.#filled === data.length) throw protocol('data after the end of the snapshot');
    const chunk = readBin(payload);
    if (this.#filled + chunk.length > data.length) {
      throw protocol(`snapshot stream longer than its announced ${data.length} bytes`);
    }
    chunk.copy(data, this.#filled);
    this.#filled += chunk.length;
    return this.#filled === data.length ? this.#complete(message, data) : undefined;
  }

  #onHeader(payload: Buffer): SnapMessage | undefined {
    const header = this.#codec.decode(payload) as { t?: unknown; message?: unknown; size?: unknown } | null;
    if (typeof header !== 'object' || header === null || header.t !== 'snap') {
      throw protocol('a snapshot connection must start with a snapshot header');
    }
    const { message, size } = header;
    if (!isNetworkMessage(message) || message.type !== 'snap') throw protocol('malformed snapshot message');
    if (message.from !== this.#from || message.to !== this.#self) {
      throw protocol(`snapshot from ${message.from} to ${message.to} on a connection from ${this.#from}`);
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw protocol('bad snapshot size');
    if (size > this.#maxBytes) {
      throw protocol(`snapshot of ${size} bytes exceeds maxSnapshotBytes (${this.#maxBytes})`);
    }
    this.#message = message;
    // allocUnsafe: every byte is overwritten before the buffer is handed out (checked by
    // `#filled === length` above), so the uninitialised memory never leaks.
    this.#data = Buffer.allocUnsafe(size);
    return size === 0 ? this.#complete(message, this.#data) : undefined;
  }

  #complete(message: SnapMessage, data: Buffer): SnapMessage {
    return { ...message, snapshot: { ...message.snapshot, data } };
  }
}

function protocol(message: string): TcpTransportError {
  return new TcpTransportError('PROTOCOL_ERROR', message);
}
