import { TcpTransportError } from './errors.js';

/**
 * Framing. Every frame on the wire is
 *
 * ```text
 * +----------------------+--------------------------------+
 * | length: uint32 BE    | payload: `length` bytes        |
 * +----------------------+--------------------------------+
 * ```
 *
 * and every payload is one msgpack value (see `codec.ts` for what the values are).
 */

/** Bytes of the length prefix. */
export const HEADER_BYTES = 4;

/** Bytes of a msgpack `bin 32` header (0xc6 + uint32 length). */
const BIN32_HEADER_BYTES = 5;

/**
 * The 9 bytes that precede a raw chunk of `length` bytes to make it one frame whose payload
 * is a msgpack `bin 32`: lets a snapshot chunk go to the socket without being copied.
 */
export function binFrameHeader(length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES + BIN32_HEADER_BYTES);
  h.writeUInt32BE(BIN32_HEADER_BYTES + length, 0);
  h[4] = 0xc6;
  h.writeUInt32BE(length, 5);
  return h;
}

/**
 * Reads the bytes of a frame payload that is a msgpack `bin` (8, 16 or 32), without copying.
 * Throws `MALFORMED_FRAME` if the payload is anything else.
 */
export function readBin(payload: Buffer): Buffer {
  const tag = payload[0];
  const size = tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : tag === 0xc6 ? 4 : 0;
  if (size === 0 || payload.length < 1 + size) {
    throw new TcpTransportError('MALFORMED_FRAME', 'expected a binary chunk frame');
  }
  const n = payload.readUIntBE(1, size);
  if (1 + size + n !== payload.length) {
    throw new TcpTransportError('MALFORMED_FRAME', 'binary chunk length does not match its frame');
  }
  return payload.subarray(1 + size);
}

/**
 * Splits a byte stream back into frame payloads.
 *
 * Invariants: a payload is returned only when complete; a frame that fits in one incoming
 * chunk is returned as a view of that chunk (no copy); a larger one is copied once into a
 * buffer allocated from its header, so a frame is never held twice. A header announcing more
 * than `maxFrameBytes` throws `FRAME_TOO_LARGE` before anything is allocated; after a throw
 * the decoder is unusable (the connection must close: the stream's framing is lost).
 */
export class FrameDecoder {
  #max: number;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFill = 0;
  /** The frame being assembled, when it spans chunks. */
  #frame: Buffer | undefined;
  #frameFill = 0;
  #failed = false;

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** Changes the size limit for the frames that follow (raised after a handshake). */
  setMaxFrameBytes(max: number): void {
    this.#max = max;
  }

  /** True while part of a frame has been read. */
  get midFrame(): boolean {
    return this.#headerFill > 0 || this.#frame !== undefined;
  }

  /** Feeds bytes; returns the payloads they complete, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.#failed) throw new TcpTransportError('MALFORMED_FRAME', 'frame decoder used after an error');
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      const frame = this.#frame;
      if (frame !== undefined) {
        const n = Math.min(frame.length - this.#frameFill, chunk.length - at);
        chunk.copy(frame, this.#frameFill, at, at + n);
        this.#frameFill += n;
        at += n;
        if (this.#frameFill === frame.length) {
          out.push(frame);
          this.#frame = undefined;
        }
        continue;
      }
      const n = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - at);
      chunk.copy(this.#header, this.#headerFill, at, at + n);
      this.#headerFill += n;
      at += n;
      if (this.#headerFill < HEADER_BYTES) break;
      this.#headerFill = 0;
      const length = this.#header.readUInt32BE(0);
      if (length > this.#max) {
        this.#failed = true;
        throw new TcpTransportError(
          'FRAME_TOO_LARGE',
          `frame of ${length} bytes exceeds the limit of ${this.#max}`,
          {
            details: { length, maxFrameBytes: this.#max },
          },
        );
      }
      if (chunk.length - at >= length) {
        out.push(chunk.subarray(at, at + length));
        at += length;
      } else {
        this.#frame = Buffer.allocUnsafe(length);
        this.#frameFill = 0;
      }
    }
    return out;
  }
}
