/**
 * A real-mode cluster: `flotilla member` processes on 127.0.0.1 behind the fault-injecting
 * {@link PeerProxy}, one {@link KvClient} per member for the workloads (clients talk to members'
 * client ports directly, as Jepsen's clients talk to each node), a status poller that knows the
 * leader and feeds the Raft invariants, and everything in one temp dir that {@link destroy}
 * removes.
 *
 * Member states: `starting` → `running` ⇄ `paused` (SIGSTOP), `down` (SIGKILLed, restartable
 * from its data dir), `removed` (taken out of the configuration and stopped for good).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvClient } from '@flotilla/kv';
import { freePort, retryIfPortTaken } from '@flotilla/kv/local-cluster';
import type { ClientApi, Endpoint } from '../workloads/types.js';
import { MemberProcess } from './member-process.js';
import { PeerProxy } from './proxy.js';

/** What a member is doing. */
export type RealMemberState = 'starting' | 'running' | 'paused' | 'down' | 'removed';

/** One member of the run. */
export interface RealMember {
  readonly id: number;
  readonly process: MemberProcess;
  /** The address peers reach it by (its proxy listener). */
  readonly proxyAddress: string;
  readonly clientAddress: string;
  /**
   * A client of this member only, made once it first listens and kept across restarts (it
   * reconnects by itself; requests in flight when the member dies end as the client decides:
   * `OUTCOME_UNKNOWN` for a write that was sent).
   */
  client: KvClient | undefined;
  state: RealMemberState;
  /** True once it was added at runtime (a learner at first). */
  readonly joined: boolean;
}

/** What one status poll of a member said. */
export interface MemberStatus {
  readonly id: number;
  readonly incarnation: number;
  readonly leader: number;
  readonly term: number;
  readonly applied: number;
  readonly index: number;
  readonly revision: number;
  readonly isLearner: boolean;
}

/** Options of {@link RealCluster.create}. */
export interface RealClusterOptions {
  /** Founding member ids. */
  readonly founders: readonly number[];
  /** Extra `flotilla member` arguments (Raft timing, snapshot count). */
  readonly memberArgs: readonly string[];
  /** Client-side default request deadline (ms). */
  readonly requestTimeoutMs: number;
  /** Random numbers for the proxy's loss, duplication and delays. */
  readonly random: () => number;
  /** Keep member data and logs here instead of a temp dir removed at the end. */
  readonly dir?: string;
}

const CLUSTER_ID = 'jepsen';

/** See the module notes. */
export class RealCluster {
  readonly dir: string;
  readonly proxy: PeerProxy;
  readonly members = new Map<number, RealMember>();
  readonly #o: RealClusterOptions;
  readonly #ownsDir: boolean;
  #destroyed = false;
  readonly #onExit = (): void => {
    for (const m of this.members.values()) m.process.killNow();
  };

  private constructor(o: RealClusterOptions, dir: string, ownsDir: boolean) {
    this.#o = o;
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.proxy = new PeerProxy({ random: o.random });
    process.on('exit', this.#onExit);
  }

  /**
   * Starts the founders and resolves once every one listens (not necessarily with a leader).
   *
   * Ports are found free here and bound later by the member processes; in between another
   * process can take one (outgoing connections draw local ports from the same ephemeral range,
   * and the suite runs other network tests in parallel). A start that fails with `EADDRINUSE`
   * is therefore retried with fresh ports and a fresh directory, up to three attempts; any
   * other failure is thrown at once.
   */
  static create(o: RealClusterOptions): Promise<RealCluster> {
    return o.dir === undefined
      ? retryIfPortTaken(() => RealCluster.#createOnce(o))
      : RealCluster.#createOnce(o);
  }

  static async #createOnce(o: RealClusterOptions): Promise<RealCluster> {
    const ownsDir = o.dir === undefined;
    const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'flotilla-jepsen-'));
    const c = new RealCluster(o, dir, ownsDir);
    try {
      const ready: { id: number; real: string; proxy: string; client: string }[] = [];
      for (const id of o.founders) {
        const real = `127.0.0.1:${await freePort()}`;
        ready.push({
          id,
          real,
          proxy: await c.proxy.listen(id, real),
          client: `127.0.0.1:${await freePort()}`,
        });
      }
      const initial = ready.map((r) => `${r.id}=${r.proxy}`).join(',');
      for (const r of ready) c.#add(r.id, r.real, r.proxy, r.client, initial, 'new', false);
      await Promise.all([...c.members.values()].map((m) => c.#boot(m)));
    } catch (err) {
      await c.destroy();
      throw err;
    }
    return c;
  }

  /** Ids of members not removed, in id order. */
  get ids(): number[] {
    return [...this.members.values()].filter((m) => m.state !== 'removed').map((m) => m.id);
  }

  member(id: number): RealMember | undefined {
    return this.members.get(id);
  }

  /** Members in one of `states`. */
  inState(...states: RealMemberState[]): number[] {
    return [...this.members.values()].filter((m) => states.includes(m.state)).map((m) => m.id);
  }

  /** What the workloads' clients may send to: running and paused members. */
  endpoints(): Endpoint[] {
    const out: Endpoint[] = [];
    for (const m of this.members.values()) {
      if ((m.state !== 'running' && m.state !== 'paused') || m.client === undefined) continue;
      const api: ClientApi = m.client;
      out.push({ id: m.id, api, ready: () => undefined });
    }
    return out;
  }

  /** Client addresses of running members (for CLI commands). */
  clientAddresses(): string[] {
    return this.inState('running').map((id) => this.members.get(id)?.clientAddress as string);
  }

  /**
   * Prepares member `id` joining at runtime: ports and a proxy listener. Returns its proxy
   * address (what `member add --peer-urls` must name) and a function that starts it once the
   * cluster has accepted it, with `initialCluster` listing every member's proxy address.
   */
  async prepareJoin(
    id: number,
  ): Promise<{ proxy: string; start: (initialCluster: string) => Promise<void> }> {
    const real = `127.0.0.1:${await freePort()}`;
    const proxy = await this.proxy.listen(id, real);
    const client = `127.0.0.1:${await freePort()}`;
    return {
      proxy,
      start: async (initial) => {
        const m = this.#add(id, real, proxy, client, initial, 'existing', true);
        await this.#boot(m);
      },
    };
  }

  /** Forgets a prepared join that never started (the add was refused). */
  async abandonJoin(id: number): Promise<void> {
    if (!this.members.has(id)) await this.proxy.remove(id);
  }

  #add(
    id: number,
    real: string,
    proxy: string,
    client: string,
    initialCluster: string,
    initialState: 'new' | 'existing',
    joined: boolean,
  ): RealMember {
    const process = new MemberProcess({
      id,
      name: `m${id}`,
      dir: this.dir,
      listenPeer: real,
      listenClient: client,
      initialCluster,
      initialState,
      clusterId: CLUSTER_ID,
      args: this.#o.memberArgs,
    });
    const m: RealMember = {
      id,
      process,
      proxyAddress: proxy,
      clientAddress: client,
      client: undefined,
      state: 'starting',
      joined,
    };
    this.members.set(id, m);
    return m;
  }

  /**
   * Starts (or restarts) `m`'s process and makes sure its client exists. A member being killed
   * is waited for first (a crash marks it `down` at once and kills it in the background); a
   * start that fails leaves it `down`, so a later restart tries again; a member retired while
   * it was starting is stopped again and stays `removed`.
   */
  async #boot(m: RealMember): Promise<void> {
    m.state = 'starting';
    try {
      await m.process.stop('SIGKILL');
      await m.process.start();
      m.client ??= await KvClient.connect({
        endpoints: [m.clientAddress],
        timeoutMs: this.#o.requestTimeoutMs,
        dialTimeoutMs: 500,
      });
    } catch (err) {
      // Retired meanwhile (removed from the configuration): it stays removed.
      if (m.state === 'starting') m.state = 'down';
      throw err;
    }
    if (m.state === 'starting') m.state = 'running';
    else await m.process.stop('SIGTERM', 3000);
  }

  /** SIGKILL (a crash). */
  async crash(id: number): Promise<void> {
    const m = this.members.get(id);
    if (m === undefined || (m.state !== 'running' && m.state !== 'paused')) return;
    m.state = 'down';
    await m.process.stop('SIGKILL');
  }

  /** Restarts a crashed member from its data dir (only from `down`: restarts never overlap). */
  async restart(id: number): Promise<void> {
    const m = this.members.get(id);
    if (m === undefined || m.state !== 'down') return;
    await this.#boot(m);
  }

  /** SIGSTOP. */
  pause(id: number): void {
    const m = this.members.get(id);
    if (m?.state !== 'running') return;
    m.process.pause();
    m.state = 'paused';
  }

  /** SIGCONT. */
  resume(id: number): void {
    const m = this.members.get(id);
    if (m?.state !== 'paused') return;
    m.process.resume();
    m.state = 'running';
  }

  /** Stops a removed member for good (SIGTERM) and closes its proxy listener. */
  async retire(id: number): Promise<void> {
    const m = this.members.get(id);
    if (m === undefined) return;
    m.state = 'removed';
    await m.process.stop('SIGTERM', 3000);
    await this.proxy.remove(id);
  }

  /** One status poll of a running member (undefined when it does not answer in time). */
  async status(id: number, timeoutMs = 500): Promise<MemberStatus | undefined> {
    const m = this.members.get(id);
    if (m === undefined || m.state !== 'running' || m.client === undefined) return undefined;
    const incarnation = m.process.incarnation;
    try {
      const s = await m.client.status({ timeoutMs });
      return {
        id,
        incarnation,
        leader: s.leader,
        term: s.raftTerm,
        applied: s.raftAppliedIndex,
        index: s.raftIndex,
        revision: s.header.revision,
        isLearner: s.isLearner,
      };
    } catch {
      return undefined;
    }
  }

  /** Stops every member with SIGTERM (for inspecting their data dirs); they stay in the map. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        await m.process.stop('SIGTERM', 5000);
      }),
    );
  }

  /** Stops everything (SIGKILL), closes clients and the proxy, removes the temp dir. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all([...this.members.values()].map((m) => m.process.stop('SIGKILL')));
    await Promise.all([...this.members.values()].map((m) => m.client?.close().catch(() => {})));
    await this.proxy.close();
    process.off('exit', this.#onExit);
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
