/**
 * A fault-injecting TCP proxy for the peer (Raft) traffic of real `flotilla member` processes:
 * the real-mode counterpart of the simulation's `MemoryNetwork` faults.
 *
 * Topology: every member listens for peers on a private port; the address every other member
 * knows it by (its `--initial-cluster` entry, or the `--peer-urls` of `member add`) is its
 * **proxy listener** here. One listener per destination member is enough to fault each
 * direction separately, because Flotilla's TCP transport (`packages/transport-tcp`) makes every
 * connection one-way: the dialer opens it with a `hello` frame naming `from` and `to`, then only
 * the dialer sends Raft messages on it (the acceptor answers the handshake, and for snapshot
 * connections one final ack). The proxy reads that first frame (4-byte big-endian length, then
 * one msgpack value, `handshake.ts`), so it knows which link `from → to` a connection carries.
 *
 * Faults, per link and direction:
 * - **cut** (`cut`, `partition`, `isolate`): connections of a cut link are destroyed at once and
 *   new ones are closed right after their hello (as a firewall's REJECT would; the dialer backs
 *   off and retries). `heal` lifts every cut.
 * - **loss / duplicate / delay** (raft connections only): each frame after the hello (a batch of
 *   Raft messages, self-contained: the transport shares no msgpack structures across frames) is
 *   dropped with probability `loss`, sent twice with probability `duplicate`, and held for a
 *   delay drawn uniformly from `[minMs, maxMs]`; unequal delays reorder frames, as the
 *   simulation's delays reorder messages. Raft tolerates all three (§5.3: lost and duplicated
 *   AppendEntries are retried or ignored by index and term).
 * - **reset** (`resetConnections`): every connection is closed (the dialers reconnect).
 *
 * Snapshot connections (`kind: 'snap'`) are passed through untouched except by cuts: dropping a
 * chunk would only make the transfer fail and restart.
 *
 * Randomness and timers are injected (`random`, `clock`) so tests drive the proxy exactly.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { type Clock, systemClock } from '@flotilla/replica';
import { Unpackr } from 'msgpackr';

/** Options of {@link PeerProxy}. */
export interface PeerProxyOptions {
  /** Timers for delays (default the system clock). */
  readonly clock?: Clock;
  /** Uniform numbers in [0, 1) for loss, duplication and delays (default `Math.random`). */
  readonly random?: () => number;
  /** Host the listeners bind (default 127.0.0.1). */
  readonly host?: string;
}

/** Counters of what the proxy did. */
export interface PeerProxyStats {
  /** Connections accepted and forwarded. */
  connections: number;
  /** Connections refused or destroyed because their link was cut. */
  cutConnections: number;
  /** Connections whose first frame was not a readable hello (passed through unfaulted). */
  unknownConnections: number;
  framesForwarded: number;
  framesDropped: number;
  framesDuplicated: number;
}

/** Bytes of the frame length prefix (transport-tcp's `frame.ts`). */
const HEADER_BYTES = 4;
/** Largest hello accepted (transport-tcp's `HANDSHAKE_MAX_FRAME_BYTES`). */
const MAX_HELLO_BYTES = 64 * 1024;
/** Pause reading from a side once this much waits to be written to the other. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** One proxied connection. */
interface Conn {
  readonly down: Socket;
  up: Socket | undefined;
  from: number;
  readonly to: number;
  kind: 'raft' | 'snap' | 'unknown' | 'pending';
  /** Bytes read from `down` not yet framed. */
  buf: Buffer;
  closed: boolean;
}

/** The members' peer proxy (see the module notes). */
export class PeerProxy {
  readonly stats: PeerProxyStats = {
    connections: 0,
    cutConnections: 0,
    unknownConnections: 0,
    framesForwarded: 0,
    framesDropped: 0,
    framesDuplicated: 0,
  };
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #host: string;
  readonly #listeners = new Map<number, { server: Server; upstream: string; address: string }>();
  readonly #conns = new Set<Conn>();
  /** Cut links, as `from>to`. */
  readonly #cuts = new Set<string>();
  #loss = 0;
  #duplicate = 0;
  #delay: readonly [number, number] = [0, 0];
  readonly #timers = new Set<unknown>();
  readonly #unpackr = new Unpackr();

  constructor(options: PeerProxyOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#host = options.host ?? '127.0.0.1';
  }

  /**
   * Opens the proxy listener of member `id`, forwarding to its real peer address `upstream`
   * (`host:port`). Resolves with the proxy's `host:port`: what the other members must be given
   * as this member's peer address.
   */
  listen(id: number, upstream: string, port = 0): Promise<string> {
    if (this.#listeners.has(id)) throw new Error(`member ${id} already has a proxy listener`);
    const server = createServer((down) => this.#accept(id, down));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#host, port }, () => {
        server.off('error', reject);
        const a = server.address();
        const address = `${this.#host}:${typeof a === 'object' && a !== null ? a.port : 0}`;
        this.#listeners.set(id, { server, upstream, address });
        resolve(address);
      });
    });
  }

  /** The proxy address of member `id`. */
  addressOf(id: number): string | undefined {
    return this.#listeners.get(id)?.address;
  }

  /** Frames held for a delay right now. */
  get heldFrames(): number {
    return this.#timers.size;
  }

  /** Cuts the link `from → to` (one direction). */
  cut(from: number, to: number): void {
    this.#cuts.add(`${from}>${to}`);
    for (const c of this.#conns) if (c.from === from && c.to === to) this.#destroy(c, true);
  }

  /** True when `from → to` is cut. */
  isCut(from: number, to: number): boolean {
    return this.#cuts.has(`${from}>${to}`);
  }

  /** Cuts every link between members of different groups, both ways. */
  partition(groups: readonly (readonly number[])[]): void {
    for (const [i, a] of groups.entries()) {
      for (const [j, b] of groups.entries()) {
        if (i === j) continue;
        for (const x of a) for (const y of b) this.cut(x, y);
      }
    }
  }

  /** Cuts `id` from every other member in `members`, both ways. */
  isolate(id: number, members: readonly number[]): void {
    this.partition([[id], members.filter((m) => m !== id)]);
  }

  /** Lifts every cut (loss, duplication and delay stay as set). */
  heal(): void {
    this.#cuts.clear();
  }

  /** Probability that a raft frame is dropped (0 to 1). */
  setLoss(rate: number): void {
    this.#loss = checkRate(rate, 'loss');
  }

  /** Probability that a raft frame is sent twice (0 to 1). */
  setDuplicate(rate: number): void {
    this.#duplicate = checkRate(rate, 'duplicate');
  }

  /** Delay of every raft frame, drawn uniformly from `[minMs, maxMs]` (0, 0: none). */
  setDelay(minMs: number, maxMs: number): void {
    if (!(minMs >= 0 && maxMs >= minMs && Number.isFinite(maxMs)))
      throw new Error(`bad delay range ${minMs}..${maxMs}`);
    this.#delay = [minMs, maxMs];
  }

  /** Closes every proxied connection (dialers reconnect). */
  resetConnections(): void {
    for (const c of [...this.#conns]) this.#destroy(c, false);
  }

  /** Stops member `id`'s listener and its connections (the member was removed). */
  async remove(id: number): Promise<void> {
    const l = this.#listeners.get(id);
    if (l === undefined) return;
    this.#listeners.delete(id);
    for (const c of [...this.#conns]) if (c.to === id || c.from === id) this.#destroy(c, false);
    await new Promise<void>((resolve) => l.server.close(() => resolve()));
  }

  /** Closes every listener, connection and pending delayed frame. */
  async close(): Promise<void> {
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#listeners.keys()].map((id) => this.remove(id)));
    for (const c of [...this.#conns]) this.#destroy(c, false);
  }

  #accept(to: number, down: Socket): void {
    const c: Conn = {
      down,
      up: undefined,
      from: 0,
      to,
      kind: 'pending',
      buf: Buffer.alloc(0),
      closed: false,
    };
    this.#conns.add(c);
    down.setNoDelay(true);
    down.on('data', (chunk: Buffer) => this.#onDownData(c, chunk));
    down.on('error', () => this.#destroy(c, false));
    down.on('close', () => this.#destroy(c, false));
  }

  #onDownData(c: Conn, chunk: Buffer): void {
    if (c.closed) return;
    if (c.kind === 'snap' || c.kind === 'unknown') {
      this.#write(c, chunk);
      return;
    }
    c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
    while (!c.closed && c.buf.length >= HEADER_BYTES) {
      const len = c.buf.readUInt32BE(0);
      if (c.kind === 'pending' && len > MAX_HELLO_BYTES) {
        this.#passThrough(c);
        return;
      }
      if (c.buf.length < HEADER_BYTES + len) return;
      const frame = c.buf.subarray(0, HEADER_BYTES + len);
      c.buf = c.buf.subarray(HEADER_BYTES + len);
      if (c.kind === 'pending') this.#onHello(c, frame);
      else this.#onFrame(c, frame);
    }
  }

  /** The first frame: learn the link, refuse it if cut, else connect upstream and send it on. */
  #onHello(c: Conn, frame: Buffer): void {
    let hello: unknown;
    try {
      hello = this.#unpackr.unpack(frame.subarray(HEADER_BYTES));
    } catch {
      hello = undefined;
    }
    const h = hello as { t?: unknown; from?: unknown; kind?: unknown } | undefined;
    if (h === undefined || h === null || h.t !== 'hello' || typeof h.from !== 'number') {
      const rest = c.buf;
      c.buf = Buffer.concat([frame, rest]);
      this.#passThrough(c);
      return;
    }
    c.from = h.from;
    c.kind = h.kind === 'snap' ? 'snap' : 'raft';
    if (this.isCut(c.from, c.to)) {
      this.#destroy(c, true);
      return;
    }
    this.#connectUp(c);
    this.#write(c, frame);
    // A snapshot connection is passed through raw from here on.
    if (c.kind === 'snap' && c.buf.length > 0) {
      const rest = c.buf;
      c.buf = Buffer.alloc(0);
      this.#write(c, rest);
    }
  }

  /** A connection whose hello could not be read: forward it as it is, unfaulted. */
  #passThrough(c: Conn): void {
    this.stats.unknownConnections++;
    c.kind = 'unknown';
    this.#connectUp(c);
    const rest = c.buf;
    c.buf = Buffer.alloc(0);
    this.#write(c, rest);
  }

  #onFrame(c: Conn, frame: Buffer): void {
    if (this.#loss > 0 && this.#random() < this.#loss) {
      this.stats.framesDropped++;
      return;
    }
    const copies = this.#duplicate > 0 && this.#random() < this.#duplicate ? 2 : 1;
    if (copies === 2) this.stats.framesDuplicated++;
    const [lo, hi] = this.#delay;
    const send = (): void => {
      for (let i = 0; i < copies; i++) this.#write(c, frame);
      this.stats.framesForwarded++;
    };
    if (hi <= 0) {
      send();
      return;
    }
    // The frame is a view of a read buffer: copy it before holding it.
    const held = Buffer.from(frame);
    const ms = lo + this.#random() * (hi - lo);
    const t = this.#clock.setTimeout(() => {
      this.#timers.delete(t);
      for (let i = 0; i < copies; i++) this.#write(c, held);
      this.stats.framesForwarded++;
    }, ms);
    this.#timers.add(t);
  }

  #connectUp(c: Conn): void {
    const l = this.#listeners.get(c.to);
    if (l === undefined) {
      this.#destroy(c, false);
      return;
    }
    this.stats.connections++;
    const [host, port] = splitAddress(l.upstream);
    const up = tcpConnect({ host, port });
    up.setNoDelay(true);
    c.up = up;
    up.on('data', (chunk: Buffer) => {
      if (c.closed) return;
      // The acceptor's answers (welcome, a snapshot's ack) go back unfaulted.
      if (!c.down.write(chunk) && c.down.writableLength > HIGH_WATER_BYTES) {
        up.pause();
        c.down.once('drain', () => up.resume());
      }
    });
    up.on('error', () => this.#destroy(c, false));
    up.on('close', () => this.#destroy(c, false));
  }

  #write(c: Conn, bytes: Buffer): void {
    const up = c.up;
    if (c.closed || up === undefined || bytes.length === 0) return;
    if (!up.write(bytes) && up.writableLength > HIGH_WATER_BYTES) {
      c.down.pause();
      up.once('drain', () => c.down.resume());
    }
  }

  #destroy(c: Conn, becauseCut: boolean): void {
    if (c.closed) return;
    c.closed = true;
    if (becauseCut) this.stats.cutConnections++;
    this.#conns.delete(c);
    c.down.destroy();
    c.up?.destroy();
  }
}

function checkRate(rate: number, what: string): number {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`${what} rate must be within [0, 1], got ${rate}`);
  return rate;
}

/** `host:port` → [host, port]. */
export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}
