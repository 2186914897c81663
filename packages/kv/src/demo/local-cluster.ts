/**
 * `LocalCluster`: a real Flotilla cluster on this machine, one `flotilla member` process per
 * member on 127.0.0.1 (free ports, data in a temp dir), for the demo, tests, benchmarks and
 * trying things out. Each member logs to `<dir>/<name>.log` and writes its ports to
 * `<dir>/<name>.json` (`--info-file`), which is how the cluster learns them.
 *
 * Members are started in their own process group, so a Ctrl-C in a terminal reaches only the
 * program that owns the cluster, which then stops them; should that program die, an exit hook
 * kills them (unless `keep()` was called, as `pnpm start -- --keep` does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '../net/client.js';

/** The `flotilla` launcher next to this package's sources. */
export const FLOTILLA_BIN = fileURLToPath(new URL('../../bin/flotilla.mjs', import.meta.url));

/** Options of {@link LocalCluster.start}. */
export interface LocalClusterOptions {
  /** Number of members. Default 3. */
  readonly size?: number;
  /** Directory for data, logs and info files. Default: a fresh temp dir (removed by `stop()`). */
  readonly dir?: string;
  /** Cluster id. Default `local`. */
  readonly clusterId?: string;
  /** Extra `flotilla member` arguments for every member (e.g. `['--tick-ms', '50']`). */
  readonly memberArgs?: readonly string[];
  /** Extra node arguments (e.g. `['--cpu-prof']`). */
  readonly nodeArgs?: readonly string[];
  /** Serve `/metrics` + `/health` on a free port per member. */
  readonly metrics?: boolean;
  /** Member log level. Default `info`. */
  readonly logLevel?: string;
  /** Bound on starting every member, ms. Default 60,000. */
  readonly startTimeoutMs?: number;
}

/** One member process. */
export interface LocalMember {
  readonly id: number;
  readonly name: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly peer: string;
  /** The client address (known once started; kept across restarts). */
  client: string;
  metrics: string | null;
  process: ChildProcess | undefined;
}

/** A free TCP port on 127.0.0.1 (bound and released: another process could take it, rarely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/**
 * Runs `start` (which picks ports with {@link freePort} and has processes bind them) again, up
 * to three attempts, while it fails with `EADDRINUSE`: a port found free can be taken by another
 * process before the member binds it. Any other failure is thrown at once. `start` must begin
 * afresh each time (new ports, a new directory).
 */
export async function retryIfPortTaken<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      const portTaken = String(err instanceof Error ? err.message : err).includes('EADDRINUSE');
      if (!portTaken || attempt >= 3) throw err;
    }
  }
}

/** The last lines of a log file (the cluster's temp dir, logs included, is removed on failure). */
function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** True while the member's process runs. */
function isRunning(m: LocalMember): boolean {
  const p = m.process;
  return p !== undefined && p.exitCode === null && p.signalCode === null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A cluster of member processes (see the module notes). */
export class LocalCluster {
  readonly dir: string;
  readonly members: LocalMember[];
  readonly #o: LocalClusterOptions;
  readonly #ownsDir: boolean;
  #kept = false;
  readonly #onExit = (): void => {
    if (this.#kept) return;
    for (const m of this.members) {
      if (isRunning(m) && m.process?.pid !== undefined) {
        try {
          process.kill(m.process.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };

  private constructor(o: LocalClusterOptions, dir: string, ownsDir: boolean, members: LocalMember[]) {
    this.#o = o;
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.members = members;
    process.on('exit', this.#onExit);
  }

  /**
   * Starts every member and resolves once all of them listen (not necessarily with a leader).
   *
   * Peer ports are found free here and bound later by the member processes; another process can
   * take one in between (outgoing connections draw local ports from the same range). A start
   * that fails with `EADDRINUSE` in a directory of its own is retried with fresh ports, up to
   * three attempts; any other failure is thrown at once.
   */
  static start(o: LocalClusterOptions = {}): Promise<LocalCluster> {
    return o.dir === undefined
      ? retryIfPortTaken(() => LocalCluster.#startOnce(o))
      : LocalCluster.#startOnce(o);
  }

  static async #startOnce(o: LocalClusterOptions): Promise<LocalCluster> {
    const size = o.size ?? 3;
    const ownsDir = o.dir === undefined;
    const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'flotilla-local-'));
    mkdirSync(dir, { recursive: true });
    const members: LocalMember[] = [];
    for (let id = 1; id <= size; id++) {
      const name = `m${id}`;
      members.push({
        id,
        name,
        dataDir: join(dir, name),
        logFile: join(dir, `${name}.log`),
        peer: `127.0.0.1:${await freePort()}`,
        client: '127.0.0.1:0',
        metrics: null,
        process: undefined,
      });
    }
    const cluster = new LocalCluster(o, dir, ownsDir, members);
    try {
      await Promise.all(members.map((m) => cluster.#spawn(m)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Client addresses of the members, in id order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.client);
  }

  /** `PID NAME URL` lines (the etcd-compare benchmark's `--pid-file` format) of running members. */
  pidLines(): string {
    return this.members
      .filter((m) => isRunning(m))
      .map((m) => `${m.process?.pid} ${m.name} ${m.client}\n`)
      .join('');
  }

  member(id: number): LocalMember {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  async #spawn(m: LocalMember): Promise<void> {
    const info = join(this.dir, `${m.name}.json`);
    rmSync(info, { force: true });
    const initial = this.members.map((x) => `${x.id}=${x.peer}`).join(',');
    const args = [
      ...(this.#o.nodeArgs ?? []),
      FLOTILLA_BIN,
      'member',
      '--name',
      m.name,
      '--id',
      String(m.id),
      '--data-dir',
      m.dataDir,
      '--listen-peer',
      m.peer,
      '--listen-client',
      m.client,
      '--initial-cluster',
      initial,
      '--cluster-id',
      this.#o.clusterId ?? 'local',
      '--info-file',
      info,
      '--log-level',
      this.#o.logLevel ?? 'info',
      ...(this.#o.metrics === true ? ['--metrics', m.metrics ?? '127.0.0.1:0'] : []),
      ...(this.#o.memberArgs ?? []),
    ];
    const log = openSync(m.logFile, 'a');
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', log, log],
      detached: true,
      cwd: this.dir,
    });
    closeSync(log);
    m.process = child;
    const deadline = Date.now() + (this.#o.startTimeoutMs ?? 60_000);
    while (!existsSync(info)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `member ${m.name} exited (${child.exitCode ?? child.signalCode}) while starting:\n${logTail(m.logFile)}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`member ${m.name} did not start in time:\n${logTail(m.logFile)}`);
      await delay(25);
    }
    const parsed = JSON.parse(readFileSync(info, 'utf8')) as { client: string; metrics: string | null };
    m.client = parsed.client;
    m.metrics = parsed.metrics;
  }

  /** Resolves with the leader once every running member reports the same one. */
  async waitForLeader(timeoutMs = 30_000): Promise<{ id: number; term: number }> {
    const deadline = Date.now() + timeoutMs;
    const running = this.members.filter((m) => isRunning(m));
    const clients = await Promise.all(
      running.map((m) => KvClient.connect({ endpoints: [m.client], timeoutMs: 1000 })),
    );
    try {
      for (;;) {
        const seen = await Promise.all(
          clients.map((c) =>
            c.status({ timeoutMs: 1000 }).then(
              (s) => [s.leader, s.raftTerm],
              () => [0, 0],
            ),
          ),
        );
        const [leader, term] = seen[0] ?? [0, 0];
        if (
          leader !== undefined &&
          leader !== 0 &&
          seen.every(([l]) => l === leader) &&
          running.some((m) => m.id === leader)
        ) {
          return { id: leader, term: Math.max(...seen.map(([, t]) => t ?? 0), term ?? 0) };
        }
        if (Date.now() > deadline) throw new Error(`no leader agreed on within ${timeoutMs} ms`);
        await delay(50);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }

  /** Sends `signal` to a member and waits for it to exit (SIGKILL: a crash, SIGTERM: a clean stop). */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.member(id).process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Starts a stopped member again with the same data dir and ports. */
  async restart(id: number): Promise<void> {
    const m = this.member(id);
    await this.kill(id, 'SIGTERM');
    await this.#spawn(m);
  }

  /** Leaves the members running when this process exits (and `stop()` is not called). */
  keep(): void {
    this.#kept = true;
    process.off('exit', this.#onExit);
    for (const m of this.members) m.process?.unref();
  }

  /** Stops every member (SIGTERM, SIGKILL after 10 s) and removes the temp dir it created. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m.id, 'SIGTERM')));
    process.off('exit', this.#onExit);
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
