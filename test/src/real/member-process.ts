/**
 * One `flotilla member` OS process of a real-mode run: spawned from the workspace's `flotilla`
 * launcher (TypeScript sources through tsx, no build needed) on 127.0.0.1, in its own process
 * group (a Ctrl-C in the terminal reaches only the test, which then stops its members), with its
 * log in `<dir>/<name>.log` and its ports in `<dir>/<name>.json` (`--info-file`).
 *
 * Faults act on the process itself: `kill()` is SIGKILL (a crash: what the WAL had fsynced
 * survives, nothing else), `pause()` / `resume()` are SIGSTOP / SIGCONT, and `setClock()` writes
 * the member's clock file and sends SIGUSR2 (the member CLI's test-aid clock, see
 * `packages/kv/src/cli/member.ts`). A restart spawns the same command line again: same id, data
 * dir and ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLOTILLA_BIN } from '@flotilla/kv/local-cluster';

/** How a member process is launched. */
export interface MemberSpec {
  readonly id: number;
  readonly name: string;
  /** Where data, log, info and clock files go. */
  readonly dir: string;
  /** The real peer address it listens on (only the proxy dials it). */
  readonly listenPeer: string;
  /** Its client address (fixed across restarts). */
  readonly listenClient: string;
  /** `id=host:port,...`: every member's **proxy** address. */
  readonly initialCluster: string;
  /** `new` for a founder, `existing` for a member added later. */
  readonly initialState: 'new' | 'existing';
  readonly clusterId: string;
  /** Extra `flotilla member` arguments (Raft timing, snapshot count). */
  readonly args: readonly string[];
}

/** The skew of a member's test-aid clock. */
export interface ClockSkew {
  readonly rate: number;
  readonly offsetMs: number;
}

/** The last lines of a file, for error messages. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A member's OS process, restartable (see the module notes). */
export class MemberProcess {
  readonly spec: MemberSpec;
  readonly dataDir: string;
  readonly logFile: string;
  readonly #infoFile: string;
  readonly #clockFile: string;
  #child: ChildProcess | undefined;
  #stopped = false;
  #skew: ClockSkew = { rate: 1, offsetMs: 0 };
  /** Incremented by every start: the Raft invariants tell incarnations apart. */
  incarnation = 0;

  constructor(spec: MemberSpec) {
    this.spec = spec;
    this.dataDir = join(spec.dir, spec.name);
    this.logFile = join(spec.dir, `${spec.name}.log`);
    this.#infoFile = join(spec.dir, `${spec.name}.json`);
    this.#clockFile = join(spec.dir, `${spec.name}.clock.json`);
  }

  /** True while the OS process exists (running or stopped by SIGSTOP). */
  get alive(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** True while SIGSTOPped. */
  get paused(): boolean {
    return this.#stopped;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The current clock skew. */
  get skew(): ClockSkew {
    return this.#skew;
  }

  /** Spawns the process and resolves once it listens (its info file exists). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.alive) throw new Error(`member ${this.spec.id} is already running`);
    const s = this.spec;
    rmSync(this.#infoFile, { force: true });
    this.#writeClock();
    const args = [
      FLOTILLA_BIN,
      'member',
      '--name',
      s.name,
      '--id',
      String(s.id),
      '--data-dir',
      this.dataDir,
      '--listen-peer',
      s.listenPeer,
      '--listen-client',
      s.listenClient,
      '--initial-cluster',
      s.initialCluster,
      '--initial-cluster-state',
      s.initialState,
      '--cluster-id',
      s.clusterId,
      '--info-file',
      this.#infoFile,
      ...s.args,
    ];
    const log = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', log, log],
      detached: true,
      cwd: s.dir,
      env: { ...process.env, FLOTILLA_CLOCK_FILE: this.#clockFile },
    });
    closeSync(log);
    this.#child = child;
    this.#stopped = false;
    this.incarnation++;
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.#infoFile)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `member ${s.id} exited (${child.exitCode ?? child.signalCode}) while starting:\n${tail(this.logFile)}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`member ${s.id} did not start in time:\n${tail(this.logFile)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal` and waits (at most `graceMs`, then SIGKILL) for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.alive) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // A stopped process handles SIGTERM only once continued.
    if (this.#stopped && signal !== 'SIGKILL') child.kill('SIGCONT');
    this.#stopped = false;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** SIGSTOP. */
  pause(): void {
    if (!this.alive || this.#stopped) return;
    this.#child?.kill('SIGSTOP');
    this.#stopped = true;
  }

  /** SIGCONT. */
  resume(): void {
    if (!this.alive || !this.#stopped) return;
    this.#child?.kill('SIGCONT');
    this.#stopped = false;
  }

  /**
   * Sets the member's clock skew: written to its clock file (read again at every start) and,
   * while it runs, applied at once with SIGUSR2.
   */
  setClock(skew: ClockSkew): void {
    this.#skew = skew;
    this.#writeClock();
    if (this.alive) this.#child?.kill('SIGUSR2');
  }

  /** Synchronous SIGKILL, for process exit hooks. */
  killNow(): void {
    const pid = this.#child?.pid;
    if (pid === undefined || !this.alive) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  #writeClock(): void {
    writeFileSync(this.#clockFile, `${JSON.stringify(this.#skew)}\n`);
  }
}
