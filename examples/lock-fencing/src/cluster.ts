/**
 * A three-member Flotilla KV cluster embedded in this process: real WAL on disk (a temp dir),
 * members talking over TCP on 127.0.0.1, each served to other processes by a `KvServer`. The
 * workers of this example are such other processes (and clients in this one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKvNode, type KvNode } from '@flotilla/kv';
import { KvServer } from '@flotilla/kv/client';
import { silentLogger } from '@flotilla/replica';
import { createTcpTransport } from '@flotilla/transport-tcp';

export class EmbeddedCluster {
  readonly nodes: KvNode[];
  readonly servers: KvServer[];
  readonly #dir: string;

  private constructor(dir: string, nodes: KvNode[], servers: KvServer[]) {
    this.#dir = dir;
    this.nodes = nodes;
    this.servers = servers;
  }

  /** Starts the members and their servers; resolves once a leader is elected. */
  static async start(): Promise<EmbeddedCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-lock-fencing-'));
    const ids = [1, 2, 3];
    const transports = ids.map((id) =>
      createTcpTransport({
        id,
        listen: { host: '127.0.0.1', port: 0 },
        peers: {},
        clusterId: 'lock-fencing',
        logger: silentLogger,
      }),
    );
    const nodes = await Promise.all(
      ids.map((id, i) =>
        createKvNode({
          id,
          peers: ids,
          dataDir: join(dir, `m${id}`),
          transport: transports[i] as (typeof transports)[number],
          logger: silentLogger,
        }),
      ),
    );
    // Port 0 gave each transport a free port: tell every member where the others listen.
    for (const a of transports) for (const b of transports) if (a !== b) a.addPeer(b.id, b.address);
    const servers = nodes.map((n) => new KvServer(n, { host: '127.0.0.1', port: 0, logger: silentLogger }));
    await Promise.all(servers.map((s) => s.start()));
    const cluster = new EmbeddedCluster(dir, nodes, servers);
    const deadline = Date.now() + 30_000;
    while (!nodes.some((n) => n.isLeader)) {
      if (Date.now() > deadline) throw new Error('no leader within 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    return cluster;
  }

  /** Where clients connect. */
  get endpoints(): string[] {
    return this.servers.map((s) => s.address);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
    await Promise.all(this.nodes.map((n) => n.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
