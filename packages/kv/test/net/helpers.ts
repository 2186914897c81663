/**
 * An in-process cluster served over 127.0.0.1 for the client/server tests: real `KvNode`s
 * (real disk in a temp dir, TCP transport between members, the system clock) each behind a
 * `KvServer` on an ephemeral port. `kill(id)` drops a member as a crash would (connections cut
 * without a goaway, node stopped); `close()` removes everything, temp dir included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKvNode, type KvNode, type KvNodeOptions } from '@flotilla/kv';
import { KvClient, type KvClientOptions, KvServer, type KvServerOptions } from '@flotilla/kv/client';
import { silentLogger } from '@flotilla/replica';
import { createTcpTransport, type TcpTransport } from '@flotilla/transport-tcp';

/** Bound on every wait in these tests. */
export const WAIT_MS = 20_000;

/** Node settings for fast elections on loopback. */
export const FAST: Partial<KvNodeOptions> = { tickMs: 20, raft: { electionTick: 10, heartbeatTick: 1 } };

export interface Member {
  readonly id: number;
  node: KvNode | undefined;
  server: KvServer | undefined;
  transport: TcpTransport | undefined;
  peerAddress: string;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly node?: Partial<KvNodeOptions>;
  readonly server?: KvServerOptions;
  /** Serve something else than the node itself (a test double around it). */
  readonly wrap?: (node: KvNode) => ConstructorParameters<typeof KvServer>[0];
}

export class Cluster {
  readonly dir: string;
  readonly members: Member[] = [];
  readonly #o: ClusterOptions;
  readonly #clients: KvClient[] = [];

  private constructor(o: ClusterOptions) {
    this.#o = o;
    this.dir = mkdtempSync(join(tmpdir(), 'flotilla-kv-net-'));
  }

  static async start(o: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(o);
    try {
      const ids = Array.from({ length: o.size ?? 3 }, (_, i) => i + 1);
      const transports = ids.map((id) =>
        createTcpTransport({
          id,
          listen: { host: '127.0.0.1', port: 0 },
          peers: {},
          clusterId: 'net-test',
          logger: silentLogger,
          backoff: { initialMs: 10, maxMs: 200 },
        }),
      );
      const nodes = await Promise.all(
        ids.map((id, i) =>
          createKvNode({
            id,
            peers: ids,
            dataDir: join(c.dir, `m${id}`),
            transport: transports[i] as TcpTransport,
            logger: silentLogger,
            ...FAST,
            ...o.node,
          }),
        ),
      );
      for (const a of transports) for (const b of transports) if (a !== b) a.addPeer(b.id, b.address);
      for (const [i, id] of ids.entries()) {
        const node = nodes[i] as KvNode;
        const t = transports[i] as TcpTransport;
        const m: Member = { id, node, server: undefined, transport: t, peerAddress: t.address };
        c.members.push(m);
        await c.#serve(m);
      }
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  async #serve(m: Member, port = 0): Promise<void> {
    const node = m.node as KvNode;
    const served = this.#o.wrap === undefined ? node : this.#o.wrap(node);
    const server = new KvServer(served, { port, logger: silentLogger, ...this.#o.server });
    await server.start();
    m.server = server;
  }

  member(id: number): Member {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: number): KvNode {
    const n = this.member(id).node;
    if (n === undefined) throw new Error(`member ${id} is down`);
    return n;
  }

  endpoint(id: number): string {
    const s = this.member(id).server;
    if (s === undefined) throw new Error(`member ${id} is down`);
    return s.address;
  }

  get endpoints(): string[] {
    return this.members.filter((m) => m.server !== undefined).map((m) => (m.server as KvServer).address);
  }

  async client(o: Partial<KvClientOptions> = {}): Promise<KvClient> {
    const client = await KvClient.connect({ endpoints: this.endpoints, timeoutMs: 5000, ...o });
    this.#clients.push(client);
    return client;
  }

  /** Resolves with the leader's id once every running member agrees on one. */
  async leader(): Promise<number> {
    const end = Date.now() + WAIT_MS;
    for (;;) {
      const up = this.members.filter((m) => m.node !== undefined).map((m) => m.node as KvNode);
      const ids = new Set(up.map((n) => n.leaderId));
      const [only] = [...ids];
      if (ids.size === 1 && only !== undefined && up.some((n) => n.id === only)) return only;
      if (Date.now() > end) throw new Error('no leader agreed on in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Cuts a member off from its clients (as a crash would) while its node keeps running. */
  async stopServer(id: number): Promise<number> {
    const m = this.member(id);
    const port = m.server?.port ?? 0;
    await m.server?.abort();
    m.server = undefined;
    return port;
  }

  /** Serves a running node to clients again, on `port`. */
  async startServer(id: number, port: number): Promise<void> {
    await this.#serve(this.member(id), port);
  }

  /** Crashes a member: its clients' connections drop without a goaway, then it stops. */
  async kill(id: number): Promise<void> {
    const m = this.member(id);
    await m.server?.abort();
    m.server = undefined;
    await m.node?.stop();
    m.node = undefined;
  }

  async close(): Promise<void> {
    for (const c of this.#clients.splice(0)) await c.close();
    for (const m of this.members) {
      await m.server?.close();
      await m.node?.stop();
      m.server = undefined;
      m.node = undefined;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits until `check()` is true (polling every 10 ms), or throws after `WAIT_MS`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = WAIT_MS,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
