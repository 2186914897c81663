/**
 * `flotilla member`: runs one member of a cluster in this process, like `etcd` itself: the WAL
 * (fsync before every acknowledgement) in `--data-dir`, the TCP transport to the peers of
 * `--initial-cluster`, a `KvServer` for clients on `--listen-client`, and optionally the
 * `/metrics` + `/health` endpoint on `--metrics`.
 *
 * SIGTERM or SIGINT stops it cleanly: clients are told to go elsewhere, requests in flight
 * finish (up to 2 s), the node stops, the WAL closes; exit code 0. A replica failure (a broken
 * disk, a corrupt log) exits with code 2. With `--info-file`, a JSON file
 * `{ pid, id, name, client, peer, metrics }` is written (atomically) once everything listens,
 * so scripts and tests can find ports chosen with port 0.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { type Clock, type LogFields, type Logger, SkewedClock, systemClock } from '@flotilla/replica';
import { createTcpTransport, type TcpTlsOptions } from '@flotilla/transport-tcp';
import { createKvNode } from '../create.js';
import { invalid } from '../errors.js';
import { parseEndpoint } from '../net/client-connection.js';
import { MetricsServer } from '../net/http.js';
import { KvServer } from '../net/server.js';
import type { KvServerTlsOptions } from '../net/tls.js';
import { flag, parseInteger, str, type Values } from './args.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/** A logger writing `LEVEL [member-N] message {fields}` lines to stderr, from `min` up. */
export function stderrLogger(name: string, min: Level): Logger {
  const at = LEVELS.indexOf(min);
  const write = (level: Level) => (message: string, fields?: LogFields) => {
    if (LEVELS.indexOf(level) < at) return;
    let f = '';
    if (fields !== undefined) {
      try {
        f = ` ${JSON.stringify(fields)}`;
      } catch {
        f = ' {…}';
      }
    }
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} [${name}] ${message}${f}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** `1=host:port,2=host:port` as a map. */
export function parseInitialCluster(v: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of v.split(',')) {
    const m = /^\s*(\d+)=(.+?)\s*$/.exec(part);
    if (m === null) throw invalid(`--initial-cluster entries are ID=HOST:PORT, got ${JSON.stringify(part)}`);
    const id = Number(m[1]);
    parseEndpoint(m[2] as string);
    if (!Number.isSafeInteger(id) || id < 1 || out.has(id))
      throw invalid(`bad or repeated member id in ${part}`);
    out.set(id, m[2] as string);
  }
  return out;
}

/** A free port on `host` (bind port 0, read it, release it). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function pem(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw invalid(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Test aid, never needed in production: the clock nemesis of the verification suite's real
 * mode (`test/src/real`) skews members' clocks. With the environment variable
 * `FLOTILLA_CLOCK_FILE` set, the member runs on a {@link SkewedClock} over the system clock
 * whose skew is read from that JSON file (`{"rate": 1.05, "offsetMs": 120}`: drift 5% fast,
 * reading stepped 120 ms forward) at start and again on every SIGUSR2. Without it, the system
 * clock as always.
 */
function testAidClock(logger: Logger): Clock {
  const file = process.env.FLOTILLA_CLOCK_FILE;
  if (file === undefined || file === '') return systemClock;
  const clock = new SkewedClock(systemClock);
  const load = (): void => {
    try {
      const skew = JSON.parse(readFileSync(file, 'utf8')) as { rate?: unknown; offsetMs?: unknown };
      if (typeof skew.rate === 'number') clock.setRate(skew.rate);
      if (typeof skew.offsetMs === 'number') clock.setOffset(skew.offsetMs);
      logger.warn('test aid: clock skew', { rate: clock.rate, offsetMs: clock.offsetMs });
    } catch (err) {
      logger.error(`test aid: cannot apply clock skew from ${file}: ${String(err)}`);
    }
  };
  load();
  process.on('SIGUSR2', load);
  return clock;
}

/** Runs the member until a signal; resolves with the exit code. */
export async function runMember(values: Values): Promise<number> {
  const id = parseInteger(str(values, 'id'), '--id', 1);
  const name = str(values, 'name') ?? `member-${id}`;
  const dataDir = str(values, 'data-dir');
  const listenPeer = str(values, 'listen-peer');
  const listenClient = str(values, 'listen-client');
  const initial = str(values, 'initial-cluster');
  if (
    dataDir === undefined ||
    listenPeer === undefined ||
    listenClient === undefined ||
    initial === undefined
  ) {
    throw invalid('member needs --data-dir, --listen-peer, --listen-client and --initial-cluster');
  }
  const state = str(values, 'initial-cluster-state') ?? 'new';
  if (state !== 'new' && state !== 'existing')
    throw invalid('--initial-cluster-state must be new or existing');
  const peers = parseInitialCluster(initial);
  if (!peers.has(id)) throw invalid(`--initial-cluster does not list this member (${id})`);
  const peerListen = parseEndpoint(listenPeer);
  const clientListen = parseEndpoint(listenClient, true);
  const clusterId = str(values, 'cluster-id') ?? 'flotilla';
  const level = (str(values, 'log-level') ?? 'info') as Level;
  if (!LEVELS.includes(level)) throw invalid(`--log-level must be one of ${LEVELS.join(', ')}`);
  const logger = stderrLogger(`${name}`, level);

  const peerCert = pem(str(values, 'peer-tls-cert'));
  const peerKey = pem(str(values, 'peer-tls-key'));
  const peerCa = pem(str(values, 'peer-tls-ca'));
  let peerTls: TcpTlsOptions | undefined;
  if (peerCert !== undefined || peerKey !== undefined || peerCa !== undefined) {
    if (peerCert === undefined || peerKey === undefined || peerCa === undefined) {
      throw invalid('peer TLS needs --peer-tls-cert, --peer-tls-key and --peer-tls-ca');
    }
    peerTls = { cert: peerCert, key: peerKey, ca: peerCa };
  }
  const cert = pem(str(values, 'tls-cert'));
  const key = pem(str(values, 'tls-key'));
  const ca = pem(str(values, 'tls-ca'));
  let clientTls: KvServerTlsOptions | undefined;
  if (cert !== undefined || key !== undefined) {
    if (cert === undefined || key === undefined) throw invalid('client TLS needs --tls-cert and --tls-key');
    clientTls = {
      cert,
      key,
      ...(ca === undefined ? {} : { ca }),
      requireClientCert: flag(values, 'client-cert-auth'),
    };
  } else if (flag(values, 'client-cert-auth')) {
    throw invalid('--client-cert-auth needs --tls-cert, --tls-key and --tls-ca');
  }

  // The client URL is published through Raft, so a port 0 is resolved before the node starts.
  const clientPort = clientListen.port === 0 ? await freePort(clientListen.host) : clientListen.port;
  const clientHost = clientListen.host.includes(':') ? `[${clientListen.host}]` : clientListen.host;
  const advertise = str(values, 'advertise-client') ?? `${clientHost}:${clientPort}`;
  const metricsAt = str(values, 'metrics');
  const tickMs = str(values, 'tick-ms');
  const electionTicks = str(values, 'election-ticks');
  const snapshotCount = str(values, 'snapshot-count');
  const maxRequestBytes = str(values, 'max-request-bytes');

  const transport = createTcpTransport({
    id,
    listen: peerListen,
    peers: Object.fromEntries(peers),
    clusterId,
    logger,
    ...(peerTls === undefined ? {} : { tls: peerTls }),
  });
  const node = await createKvNode({
    id,
    clock: testAidClock(logger),
    ...(state === 'new' ? { peers: [...peers.keys()] } : { join: true }),
    dataDir,
    transport,
    logger,
    name,
    peerUrl: listenPeer,
    clientUrls: [advertise],
    clusterId,
    metrics: metricsAt !== undefined,
    ...(tickMs === undefined ? {} : { tickMs: parseInteger(tickMs, '--tick-ms', 1) }),
    ...(electionTicks === undefined
      ? {}
      : { raft: { electionTick: parseInteger(electionTicks, '--election-ticks', 2), heartbeatTick: 1 } }),
    ...(snapshotCount === undefined
      ? {}
      : { snapshotEvery: parseInteger(snapshotCount, '--snapshot-count', 1) }),
    ...(maxRequestBytes === undefined
      ? {}
      : { maxRequestBytes: parseInteger(maxRequestBytes, '--max-request-bytes', 1) }),
  });
  const server = new KvServer(node, {
    host: clientListen.host,
    port: clientPort,
    clusterId,
    logger,
    ...(clientTls === undefined ? {} : { tls: clientTls }),
  });
  let metrics: MetricsServer | undefined;
  let stopping: Promise<number> | undefined;
  const stop = (code: number): Promise<number> => {
    stopping ??= (async () => {
      logger.info('stopping');
      await metrics?.close();
      await server.close();
      await node.stop();
      logger.info('stopped');
      return code;
    })();
    return stopping;
  };
  try {
    await server.start();
    if (metricsAt !== undefined) {
      const m = parseEndpoint(metricsAt, true);
      metrics = new MetricsServer(node, { host: m.host, port: m.port });
      await metrics.start();
    }
  } catch (err) {
    await stop(1);
    throw err;
  }
  node.on('leader', (leader, term) => logger.info(`leader is ${leader} (term ${term})`));
  const info = {
    pid: process.pid,
    id,
    name,
    client: server.address,
    peer: listenPeer,
    metrics: metrics?.address ?? null,
  };
  const infoFile = str(values, 'info-file');
  if (infoFile !== undefined) {
    writeFileSync(`${infoFile}.tmp`, `${JSON.stringify(info)}\n`);
    renameSync(`${infoFile}.tmp`, infoFile);
  }
  logger.info(
    `member ${id} (${name}) serving clients on ${server.address}, peers on ${listenPeer}` +
      (metrics === undefined ? '' : `, metrics on http://${metrics.address}/metrics`),
  );
  return new Promise<number>((resolve) => {
    const onSignal = (): void => {
      void stop(0).then(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    node.once('error', (err) => {
      logger.error(`the member failed: ${err.message}`);
      void stop(2).then(resolve);
    });
  });
}
