import type { Socket } from 'node:net';
import type { NodeId, SnapMessage } from '@flotilla/raft';
import type { SnapshotData } from '@flotilla/replica';
import { type DialContext, dial } from './dial.js';
import { TcpTransportError } from './errors.js';
import { binFrameHeader, type FrameDecoder } from './frame.js';
import type { PeerAddress } from './options.js';

/** What a snapshot sender needs from its transport. */
export interface SenderContext extends DialContext {
  readonly snapshotChunkBytes: number;
  track(socket: Socket): void;
  /** True once the transport is closing (turns failures into `TRANSPORT_CLOSED`). */
  isClosed(): boolean;
}

/**
 * Streams one snapshot to `to` over a connection of its own (protocol in
 * `snapshot-receiver.ts`), so heartbeats and appends on the peer's message connection never
 * wait behind it. Chunks are views of `data` written with back-pressure (the next chunk waits
 * for 'drain'), so the sender never copies the snapshot nor buffers more than a socket's worth
 * of it. Resolves on the receiver's positive ack; rejects with `PEER_UNREACHABLE` (the cause
 * tells why), `SNAPSHOT_FAILED` or `TRANSPORT_CLOSED`.
 */
export function sendSnapshotOver(
  ctx: SenderContext,
  to: NodeId,
  address: PeerAddress,
  message: SnapMessage,
  data: SnapshotData,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: TcpTransportError): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err === undefined) resolve();
      else reject(ctx.isClosed() ? closed(to, err) : err);
    };
    const socket = dial(ctx, to, address, 'snap', {
      onOpen: (decoder) => {
        socket.on('close', () =>
          finish(
            new TcpTransportError('PEER_UNREACHABLE', `connection to ${to} lost while sending a snapshot`),
          ),
        );
        socket.on('data', (chunk: Buffer) => onAck(ctx, decoder, chunk, to, finish));
        stream(ctx, socket, message, data, () => settled).catch((err: unknown) =>
          finish(
            err instanceof TcpTransportError
              ? err
              : new TcpTransportError('SNAPSHOT_FAILED', `reading the snapshot failed: ${String(err)}`, {
                  cause: err,
                }),
          ),
        );
      },
      onFail: (err) =>
        finish(
          err.code === 'PEER_UNREACHABLE'
            ? err
            : new TcpTransportError('PEER_UNREACHABLE', `snapshot to ${to}: ${err.message}`, { cause: err }),
        ),
    });
    ctx.track(socket);
  });
}

/** Reads the receiver's ack. */
function onAck(
  ctx: SenderContext,
  decoder: FrameDecoder,
  chunk: Buffer,
  to: NodeId,
  finish: (err?: TcpTransportError) => void,
): void {
  try {
    for (const frame of decoder.push(chunk)) {
      const ack = ctx.codec.decode(frame) as { t?: unknown; ok?: unknown; reason?: unknown } | null;
      if (typeof ack !== 'object' || ack === null || ack.t !== 'snapAck') {
        throw new TcpTransportError('PROTOCOL_ERROR', 'expected a snapshot ack');
      }
      if (ack.ok === true) finish();
      else {
        finish(
          new TcpTransportError(
            'SNAPSHOT_FAILED',
            `member ${to} refused the snapshot: ${String(ack.reason)}`,
          ),
        );
      }
      return;
    }
  } catch (err) {
    finish(new TcpTransportError('SNAPSHOT_FAILED', `bad answer from ${to} to a snapshot`, { cause: err }));
  }
}

/** Writes the header and the chunks, waiting for 'drain' whenever the socket is full. */
async function stream(
  ctx: SenderContext,
  socket: Socket,
  message: SnapMessage,
  data: SnapshotData,
  stopped: () => boolean,
): Promise<void> {
  const size = data instanceof Uint8Array ? data.byteLength : data.byteLength;
  const header = { t: 'snap', message: { ...message, snapshot: { ...message.snapshot, data: EMPTY } }, size };
  socket.write(ctx.codec.frame(header));
  let sent = 0;
  for await (const piece of pieces(data, ctx.snapshotChunkBytes)) {
    if (stopped()) return;
    sent += piece.byteLength;
    if (sent > size) {
      throw new TcpTransportError(
        'SNAPSHOT_FAILED',
        `snapshot source yields more than its byteLength ${size}`,
      );
    }
    socket.write(binFrameHeader(piece.byteLength));
    if (!socket.write(piece)) await drained(socket);
  }
  if (sent !== size && !stopped()) {
    throw new TcpTransportError('SNAPSHOT_FAILED', `snapshot source ended at ${sent} of ${size} bytes`);
  }
}

const EMPTY = new Uint8Array(0);

/** The data cut into views of at most `max` bytes (no copies). */
async function* pieces(data: SnapshotData, max: number): AsyncGenerator<Uint8Array> {
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    data instanceof Uint8Array ? [data] : data.chunks;
  for await (const chunk of source) {
    for (let at = 0; at < chunk.byteLength; at += max)
      yield chunk.subarray(at, Math.min(at + max, chunk.byteLength));
  }
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function closed(to: NodeId, cause: TcpTransportError): TcpTransportError {
  return new TcpTransportError('TRANSPORT_CLOSED', `transport closed while sending a snapshot to ${to}`, {
    cause,
  });
}
