import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { NodeId } from '@flotilla/raft';
import type { Codec } from './codec.js';
import { TcpTransportError } from './errors.js';
import { FrameDecoder } from './frame.js';
import {
  type ConnectionKind,
  checkWelcome,
  HANDSHAKE_MAX_FRAME_BYTES,
  type Hello,
  PROTOCOL_VERSION,
  parseReply,
} from './handshake.js';
import type { PeerAddress, TcpTlsOptions } from './options.js';

/** What dialing needs to know about the local member. */
export interface DialContext {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly tls: TcpTlsOptions | undefined;
  readonly handshakeTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly codec: Codec;
}

/** Exactly one of these is called, once. */
export interface DialCallbacks {
  /**
   * The peer welcomed us. Called synchronously from the socket's event, so the caller attaches
   * its own `close`/`data` listeners before any further event can fire. `decoder` continues the
   * stream's framing.
   */
  onOpen(decoder: FrameDecoder): void;
  /** Connecting or the handshake failed; the socket is already destroyed. */
  onFail(error: TcpTransportError): void;
}

/**
 * Opens a connection of `kind` to member `peer` at `address` and runs the dialer's side of the
 * handshake (see `handshake.ts`). Returns the socket at once so the caller can track it (and
 * destroy it if the transport closes meanwhile).
 *
 * Failure codes given to `onFail`: `PEER_UNREACHABLE` (connect error, closed, TLS failure),
 * `HANDSHAKE_REJECTED` (the peer said no, with its reason), `HANDSHAKE_FAILED` (a wrong or
 * malformed answer, or none within `handshakeTimeoutMs`).
 */
export function dial(
  ctx: DialContext,
  peer: NodeId,
  address: PeerAddress,
  kind: ConnectionKind,
  callbacks: DialCallbacks,
): Socket {
  const { host, port } = address;
  const tls = ctx.tls;
  const socket: Socket =
    tls === undefined
      ? netConnect({ host, port })
      : tlsConnect({
          host,
          port,
          key: tls.key,
          cert: tls.cert,
          ca: tls.ca as string | Buffer | (string | Buffer)[],
        });
  const where = `member ${peer} at ${host}:${port}`;
  const decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
  let done = false;
  let failure: TcpTransportError | undefined;
  let lastError: Error | undefined;

  const finish = (): void => {
    done = true;
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('timeout', onTimeout);
    socket.setTimeout(0);
  };
  const fail = (err: TcpTransportError): void => {
    if (done) return;
    failure = err;
    socket.destroy();
  };
  const onConnect = (): void => {
    const hello: Hello = {
      t: 'hello',
      v: PROTOCOL_VERSION,
      cluster: ctx.clusterId,
      from: ctx.self,
      to: peer,
      kind,
    };
    socket.write(ctx.codec.frame(hello));
  };
  const onData = (chunk: Buffer): void => {
    let frames: Buffer[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      fail(
        new TcpTransportError('HANDSHAKE_FAILED', `${where} sent an invalid handshake frame`, { cause: err }),
      );
      return;
    }
    const first = frames[0];
    if (first === undefined) return;
    let reply: ReturnType<typeof parseReply>;
    try {
      reply = parseReply(ctx.codec.decode(first));
    } catch {
      reply = undefined;
    }
    if (reply === undefined || frames.length > 1) {
      fail(new TcpTransportError('HANDSHAKE_FAILED', `${where} answered the handshake with something else`));
    } else if (reply.t === 'reject') {
      fail(
        new TcpTransportError('HANDSHAKE_REJECTED', `${where} refused the connection: ${reply.reason}`, {
          details: { peer, reason: reply.reason, rejectCode: reply.code },
        }),
      );
    } else {
      const wrong = checkWelcome(reply, ctx.clusterId, peer);
      if (wrong !== undefined) {
        fail(new TcpTransportError('HANDSHAKE_FAILED', `${where}: ${wrong}`, { details: { peer } }));
        return;
      }
      finish();
      decoder.setMaxFrameBytes(ctx.maxFrameBytes);
      callbacks.onOpen(decoder);
    }
  };
  const onClose = (): void => {
    finish();
    callbacks.onFail(
      failure ??
        new TcpTransportError(
          'PEER_UNREACHABLE',
          `cannot reach ${where}: ${lastError?.message ?? 'connection closed during the handshake'}`,
          { cause: lastError, details: { peer } },
        ),
    );
  };
  const onTimeout = (): void =>
    fail(new TcpTransportError('HANDSHAKE_FAILED', `${where} did not complete the handshake in time`));

  // Errors are always followed by 'close', which reports them; this listener also keeps an
  // error emitted after the handshake from ever being unhandled (it would crash the process).
  socket.on('error', (err) => {
    lastError = err;
  });
  socket.once(tls === undefined ? 'connect' : 'secureConnect', onConnect);
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('timeout', onTimeout);
  socket.setTimeout(ctx.handshakeTimeoutMs);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 5000);
  return socket;
}
