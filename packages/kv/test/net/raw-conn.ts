/** A raw client-protocol connection, for sending what no well-behaved client would. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { PROTOCOL_VERSION } from '@flotilla/kv/client';
import { Codec, FrameDecoder } from '@flotilla/transport-tcp/wire';

/** A raw protocol connection for sending what no client would. */
export class RawConn {
  readonly socket: Socket;
  readonly frames: unknown[] = [];
  readonly closed: Promise<void>;
  readonly #codec = new Codec();
  readonly #decoder = new FrameDecoder(64 * 1024 * 1024);
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const p of this.#decoder.push(chunk)) this.frames.push(this.#codec.decode(p));
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    this.closed = once(socket, 'close').then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(address: string): Promise<RawConn> {
    const [host, port] = address.split(':') as [string, string];
    const socket = connect({ host, port: Number(port) });
    await once(socket, 'connect');
    return new RawConn(socket);
  }

  /** Opens and completes the handshake. */
  static async ready(address: string): Promise<RawConn> {
    const c = await RawConn.open(address);
    c.send({ t: 'hello', v: PROTOCOL_VERSION, maxFrameBytes: 64 * 1024 * 1024 });
    const welcome = (await c.next()) as { t: string };
    assert.equal(welcome.t, 'welcome');
    return c;
  }

  send(value: unknown): void {
    this.socket.write(this.#codec.frame(value));
  }

  /** Waits for the next frame (undefined if the connection closes first). */
  async next(ms = 10_000): Promise<unknown> {
    const end = Date.now() + ms;
    while (this.frames.length === 0) {
      if (this.socket.destroyed || Date.now() > end) return undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.frames.shift();
  }

  /** Every message of the next batch frames until one with id `id` arrives. */
  async answer(id: number): Promise<Record<string, unknown> | undefined> {
    for (;;) {
      const f = await this.next();
      if (f === undefined) return undefined;
      if (!Array.isArray(f)) continue;
      const m = (f as Record<string, unknown>[]).find((x) => x.id === id);
      if (m !== undefined) return m;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
