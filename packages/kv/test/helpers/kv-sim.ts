/**
 * A deterministic in-process KV cluster for tests: KvNodes on one `SimClock`, one
 * `MemoryNetwork` and one `SimFileSystem` per member (from `@flotilla/replica/testing` and
 * `@flotilla/wal`), all drawn from one seed. The same seed and the same calls replay the same
 * run. Every failure message names the seed: rerun with `KV_SEED=<seed>` to replay it.
 *
 * Time only moves when the test moves it (`run`, `runUntil`, `settle`): await a node's promise
 * through `settle`, or it never resolves.
 */
import { createKvNode, type KvNode, type KvNodeOptions } from '@flotilla/kv';
import { type Random, seededRandom } from '@flotilla/raft';
import { silentLogger } from '@flotilla/replica';
import { MemoryNetwork, SimClock, SkewedClock } from '@flotilla/replica/testing';
import { SimFileSystem } from '@flotilla/wal';

/** Node settings every member of a {@link KvSim} gets (tests may override per start). */
export type SimNodeOptions = Partial<
  Omit<KvNodeOptions, 'id' | 'peers' | 'join' | 'transport' | 'clock' | 'fs' | 'dataDir'>
>;

export interface KvSimOptions {
  /** Default: `KV_SEED` from the environment, else the given fallback. */
  readonly seed?: number;
  readonly ids?: readonly number[];
  readonly node?: SimNodeOptions;
  readonly delayMs?: readonly [number, number];
}

/** The seed a test runs with: `KV_SEED` when set (to replay a failure), else `fallback`. */
export function seedFor(fallback: number): number {
  const env = process.env.KV_SEED;
  return env === undefined ? fallback : Number(env);
}

interface Member {
  readonly fs: SimFileSystem;
  readonly clock: SkewedClock;
  node: KvNode | undefined;
}

export class KvSim {
  readonly seed: number;
  readonly clock = new SimClock();
  readonly net: MemoryNetwork;
  readonly rng: Random;
  readonly #members = new Map<number, Member>();
  readonly #founders: readonly number[];
  readonly #node: SimNodeOptions;

  private constructor(o: KvSimOptions) {
    this.seed = o.seed ?? 1;
    this.rng = seededRandom(this.seed);
    this.net = new MemoryNetwork({ seed: this.rng.int(0, 2 ** 31), clock: this.clock, logger: silentLogger });
    const [min, max] = o.delayMs ?? [1, 3];
    this.net.setDelay(min, max);
    this.#founders = o.ids ?? [1, 2, 3];
    this.#node = { tickMs: 10, logger: silentLogger, ...o.node };
  }

  static async create(o: KvSimOptions = {}): Promise<KvSim> {
    const sim = new KvSim(o);
    for (const id of sim.#founders) await sim.start(id);
    return sim;
  }

  get ids(): number[] {
    return [...this.#members.keys()].sort((a, b) => a - b);
  }

  /** Members currently running. */
  up(): number[] {
    return this.ids.filter((id) => this.#members.get(id)?.node !== undefined);
  }

  node(id: number): KvNode {
    const n = this.#members.get(id)?.node;
    if (n === undefined) throw new Error(`seed ${this.seed}: member ${id} is not running`);
    return n;
  }

  nodes(): KvNode[] {
    return this.up().map((id) => this.node(id));
  }

  /** Member `id`'s disk (inject faults with `failNextSync`, ...). */
  fsOf(id: number): SimFileSystem {
    const m = this.#members.get(id);
    if (m === undefined) throw new Error(`seed ${this.seed}: no member ${id}`);
    return m.fs;
  }

  clockOf(id: number): SkewedClock {
    const m = this.#members.get(id);
    if (m === undefined) throw new Error(`seed ${this.seed}: no member ${id}`);
    return m.clock;
  }

  /** Starts (or restarts from its files) member `id`. */
  async start(id: number, o: { join?: boolean; node?: SimNodeOptions } = {}): Promise<KvNode> {
    let m = this.#members.get(id);
    if (m === undefined) {
      m = {
        fs: new SimFileSystem({ rng: this.rng.fork() }),
        clock: new SkewedClock(this.clock),
        node: undefined,
      };
      this.#members.set(id, m);
    }
    const join = o.join ?? !this.#founders.includes(id);
    const node = await createKvNode({
      ...this.#node,
      ...o.node,
      id,
      ...(join ? { join: true } : { peers: this.#founders }),
      dataDir: `/member-${id}`,
      fs: m.fs,
      transport: this.net.transport(id),
      clock: m.clock,
      seed: this.rng.int(0, 2 ** 31),
    });
    m.node = node;
    return node;
  }

  /** A clean stop of `id`. */
  async stop(id: number): Promise<void> {
    const m = this.#members.get(id);
    const n = m?.node;
    if (m === undefined || n === undefined) return;
    m.node = undefined;
    await this.settle(n.stop());
  }

  /**
   * Power loss on `id`: its disk loses what was not fsynced, and the process dies (its replica
   * can no longer persist, so it sends nothing more; its requests end `OUTCOME_UNKNOWN`).
   */
  async crash(id: number): Promise<void> {
    const m = this.#members.get(id);
    const n = m?.node;
    if (m === undefined || n === undefined) return;
    m.fs.crash({ rng: this.rng.fork() });
    this.net.isolate(id);
    m.node = undefined;
    await this.settle(n.stop());
    this.net.heal();
  }

  /** The running leader with the highest term. */
  leader(): KvNode | undefined {
    let best: KvNode | undefined;
    for (const n of this.nodes()) {
      if (n.isLeader && (best === undefined || n.term > best.term)) best = n;
    }
    return best;
  }

  /** A running follower (not the leader). */
  follower(): KvNode {
    const f = this.nodes().find((n) => !n.isLeader);
    if (f === undefined) throw new Error(`seed ${this.seed}: no follower`);
    return f;
  }

  async run(ms: number): Promise<void> {
    await this.clock.advanceAsync(ms);
  }

  async runUntil(pred: () => boolean, o: { maxMs?: number; what?: string } = {}): Promise<void> {
    const end = this.clock.now() + (o.maxMs ?? 20_000);
    while (!pred()) {
      if (this.clock.now() >= end)
        throw new Error(`seed ${this.seed}: ${o.what ?? 'condition'} not reached in time`);
      await this.clock.advanceAsync(5);
    }
  }

  /** Runs until `p` settles, then returns its value or throws its error. */
  async settle<T>(p: Promise<T>, maxMs = 60_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    let ok = false;
    p.then(
      (v) => {
        done = true;
        ok = true;
        value = v;
      },
      (e: unknown) => {
        done = true;
        error = e;
      },
    );
    await this.runUntil(() => done, { maxMs, what: 'the promise to settle' });
    if (!ok) throw error;
    return value as T;
  }

  /** Runs until `p` settles and returns the error it rejected with (fails if it resolved). */
  async rejection(
    p: Promise<unknown>,
    maxMs = 60_000,
  ): Promise<{ code?: string; message: string; details?: Readonly<Record<string, unknown>> }> {
    try {
      await this.settle(p, maxMs);
    } catch (err) {
      return err as { code?: string; message: string; details?: Readonly<Record<string, unknown>> };
    }
    throw new Error(`seed ${this.seed}: expected a rejection`);
  }

  async waitForLeader(): Promise<KvNode> {
    await this.runUntil(() => this.leader() !== undefined, { what: 'a leader' });
    return this.leader() as KvNode;
  }

  async close(): Promise<void> {
    for (const id of this.up()) await this.stop(id);
  }
}
