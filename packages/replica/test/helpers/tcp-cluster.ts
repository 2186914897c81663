import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MEMBER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'tcp-member.ts');
const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Member {
  readonly id: number;
  child: ChildProcess | undefined;
  address: string | undefined;
}

/** What a member answers (see `tcp-member.ts`). */
export type Answer = Record<string, unknown> & { error?: string };

/**
 * Three (or more) members as child processes over TCP on 127.0.0.1, each with its WAL in a
 * temp directory, driven through IPC. `close()` kills every child still running and removes the
 * temp directory; call it in a `finally`.
 */
export class TcpCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'flotilla-tcp-cluster-'));
  readonly #members = new Map<number, Member>();
  readonly #pending = new Map<
    number,
    { resolve: (a: Answer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  readonly #clusterId = `test-${process.pid}-${Date.now()}`;
  #nextId = 1;

  constructor(
    readonly ids: readonly number[],
    readonly opts: { readonly tickMs?: number; readonly machine?: 'counter' | 'bench' } = {},
  ) {
    for (const id of ids) this.#members.set(id, { id, child: undefined, address: undefined });
  }

  /** Starts every member and tells each where the others listen. */
  async startAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.#spawn(id)));
    await this.#publishAddresses();
  }

  /** Starts `id` again (same data directory, a new port) and tells everyone its address. */
  async restart(id: number): Promise<void> {
    await this.#spawn(id);
    await this.#publishAddresses();
  }

  /** kill -9 (after `graceMs` for the child to exit by itself). */
  async kill(id: number, graceMs = 0): Promise<void> {
    const m = this.#member(id);
    const child = m.child;
    m.child = undefined;
    m.address = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  running(): number[] {
    return this.ids.filter((id) => this.#member(id).child !== undefined);
  }

  /** Sends a request to `id` and waits for its answer (bounded by `timeoutMs`). */
  request(id: number, req: Record<string, unknown>, timeoutMs = 10_000): Promise<Answer> {
    const child = this.#member(id).child;
    if (child === undefined) return Promise.reject(new Error(`member ${id} is not running`));
    const reqId = this.#nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(reqId);
        reject(new Error(`member ${id} did not answer ${String(req.op)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(reqId, { resolve, reject, timer });
      child.send({ ...req, id: reqId });
    });
  }

  /** Asks running members who leads; returns the first leader that says so itself. */
  async leader(timeoutMs = 20_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      for (const id of this.running()) {
        const s = await this.request(id, { op: 'status' }).catch(() => undefined);
        if (s?.isLeader === true) return id;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  /** Stops every member gracefully if possible, kills what is left, removes the directory. */
  async close(): Promise<void> {
    await Promise.all(
      this.running().map(async (id) => {
        const stopped = await this.request(id, { op: 'stop' }, 5000).then(
          () => true,
          () => false,
        );
        await this.kill(id, stopped ? 5000 : 0);
      }),
    );
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('cluster closed'));
    }
    this.#pending.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #spawn(id: number): Promise<void> {
    const m = this.#member(id);
    const config = {
      id,
      peers: [...this.ids],
      dataDir: join(this.dir, `member-${id}`),
      clusterId: this.#clusterId,
      tickMs: this.opts.tickMs ?? 20,
      machine: this.opts.machine ?? 'counter',
    };
    // FLOTILLA_MEMBER_PROF=<dir>: CPU profiles of the members (written when they stop).
    const prof = process.env.FLOTILLA_MEMBER_PROF;
    const flags = prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`];
    const child = spawn(
      process.execPath,
      [...flags, '--conditions=@flotilla/source', '--import', 'tsx', MEMBER_SCRIPT],
      {
        cwd: PACKAGE_DIR,
        env: { ...process.env, FLOTILLA_MEMBER: JSON.stringify(config) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    m.child = child;
    child.on('message', (msg: Answer & { reply?: number; ready?: string }) => {
      if (msg.reply === undefined) return;
      const p = this.#pending.get(msg.reply);
      if (p === undefined) return;
      this.#pending.delete(msg.reply);
      clearTimeout(p.timer);
      p.resolve(msg);
    });
    m.address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`member ${id} did not start within 60 s`)), 60_000);
      child.on('message', (msg: { ready?: string }) => {
        if (msg.ready !== undefined) {
          clearTimeout(timer);
          resolve(msg.ready);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`member ${id} exited with ${code} while starting`));
      });
    });
  }

  async #publishAddresses(): Promise<void> {
    const addresses: Record<string, string> = {};
    for (const m of this.#members.values()) if (m.address !== undefined) addresses[m.id] = m.address;
    await Promise.all(this.running().map((id) => this.request(id, { op: 'peers', addresses })));
  }

  #member(id: number): Member {
    const m = this.#members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }
}
