/**
 * The member's HTTP endpoint for operators, as etcd's `--listen-metrics-urls`:
 *
 * - `GET /metrics`: Prometheus text exposition of the node's prom-client registry (the node must
 *   be created with `metrics: true`; otherwise 404).
 * - `GET /health`: `200 {"health":"true"}` only when a leader is known and this member's applied
 *   index keeps up with its commit index (`KvNode.health`); `503 {"health":"false","reason":...}`
 *   otherwise. `?linearizable=true` also runs a ReadIndex round, as etcd's `/health` does with its
 *   linearizable read, so a member cut off from the quorum reports unhealthy at once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { KvHealth } from '../cluster.js';
import { invalid, KvError } from '../errors.js';

/** What the HTTP endpoint reads from the node. */
export interface MonitoredNode {
  /** The node's registry, when metrics are on. */
  readonly metrics: Registry | undefined;
  health(options?: { readonly linearizable?: boolean; readonly timeoutMs?: number }): Promise<KvHealth>;
}

/** Options of {@link MetricsServer}. */
export interface MetricsServerOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Port (required); 0 picks a free one. */
  readonly port: number;
  /** Deadline of the linearizable health check in ms. Default 1,000. */
  readonly healthTimeoutMs?: number;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** Serves `/metrics` and `/health` for one node (see the module notes). */
export class MetricsServer {
  readonly #node: MonitoredNode;
  readonly #host: string;
  readonly #port: number;
  readonly #healthTimeoutMs: number;
  #server: Server | undefined;

  constructor(node: MonitoredNode, options: MetricsServerOptions) {
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
    const { port } = options;
    if (typeof port !== 'number' || !Number.isSafeInteger(port) || port < 0 || port > 65535) {
      throw invalid(`port must be an integer in [0, 65535], got ${String(port)}`);
    }
    this.#node = node;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = port;
    this.#healthTimeoutMs = options.healthTimeoutMs ?? 1000;
  }

  /** The port listened on (0 before `start()`). */
  get port(): number {
    const a = this.#server?.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** `host:port`. */
  get address(): string {
    return `${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.port}`;
  }

  /** Starts listening. @throws KvError `UNAVAILABLE` when the address cannot be bound. */
  async start(): Promise<void> {
    if (this.#server !== undefined) throw invalid('the metrics server was already started');
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        send(res, 500, 'text/plain', `internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new KvError('UNAVAILABLE', `cannot listen on ${this.#host}:${this.#port}: ${err.message}`)),
      );
      server.listen({ host: this.#host, port: this.#port }, () => resolve());
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    if (url.pathname === '/metrics') {
      const registry = this.#node.metrics;
      if (registry === undefined) {
        send(res, 404, 'text/plain', 'metrics are not enabled on this member\n');
        return;
      }
      send(res, 200, registry.contentType, await registry.metrics());
      return;
    }
    if (url.pathname === '/health') {
      const h = await this.#node.health({
        linearizable: url.searchParams.get('linearizable') === 'true',
        timeoutMs: this.#healthTimeoutMs,
      });
      const body = h.healthy
        ? { health: 'true', leader: h.leader }
        : { health: 'false', reason: h.reason ?? 'UNKNOWN', leader: h.leader };
      send(res, h.healthy ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`);
      return;
    }
    send(res, 404, 'text/plain', 'not found (try /metrics or /health)\n');
  }

  /** Stops listening and closes open connections. Idempotent. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
