/**
 * Three Flotilla KV members in this process: one `MemoryNetwork` between them and one simulated
 * disk each (`SimFileSystem`, which can lose power like a real machine: what was not fsynced is
 * lost). Pass the system clock to run in real time, or a `SimClock` to run deterministically.
 */
import { createKvNode, type KvNode } from '@flotilla/kv';
import { seededRandom } from '@flotilla/raft';
import { type Clock, silentLogger } from '@flotilla/replica';
import { MemoryNetwork } from '@flotilla/replica/testing';
import { SimFileSystem } from '@flotilla/wal';

/** Options of {@link InProcessCluster.start}. */
export interface ClusterOptions {
  readonly clock: Clock;
  /** Seeds the network's delays and the members' random choices. */
  readonly seed?: number;
  /** Raft tick in ms (elections after 10-20 ticks). Default 20. */
  readonly tickMs?: number;
}

export class InProcessCluster {
  readonly ids = [1, 2, 3] as const;
  readonly net: MemoryNetwork;
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #seed: number;
  readonly #disks = new Map<number, SimFileSystem>();
  readonly #nodes = new Map<number, KvNode>();
  #starts = 0;

  private constructor(o: ClusterOptions) {
    this.#clock = o.clock;
    this.#tickMs = o.tickMs ?? 20;
    this.#seed = o.seed ?? 1;
    this.net = new MemoryNetwork({ seed: this.#seed, clock: o.clock });
    this.net.setDelay(0, 2);
  }

  /** Starts the three founding members. */
  static async start(o: ClusterOptions): Promise<InProcessCluster> {
    const c = new InProcessCluster(o);
    for (const id of c.ids) await c.startMember(id);
    return c;
  }

  /** Member `id` (it must be running). */
  node(id: number): KvNode {
    const n = this.#nodes.get(id);
    if (n === undefined) throw new Error(`member ${id} is not running`);
    return n;
  }

  /** The running members. */
  get running(): KvNode[] {
    return [...this.#nodes.values()];
  }

  /** The member that currently leads, if any. */
  leader(): KvNode | undefined {
    return this.running.find((n) => n.isLeader);
  }

  /** Starts member `id`, from its disk if it ran before (a restart after a crash). */
  async startMember(id: number): Promise<KvNode> {
    let fs = this.#disks.get(id);
    if (fs === undefined) {
      fs = new SimFileSystem({ rng: seededRandom(this.#seed * 10 + id) });
      this.#disks.set(id, fs);
    }
    const node = await createKvNode({
      id,
      peers: [...this.ids],
      dataDir: `/var/lib/flotilla/member-${id}`,
      fs,
      transport: this.net.transport(id),
      clock: this.#clock,
      tickMs: this.#tickMs,
      name: `member-${id}`,
      logger: silentLogger,
      seed: this.#seed * 100 + id * 10 + this.#starts++,
    });
    this.#nodes.set(id, node);
    return node;
  }

  /**
   * Power loss on member `id`: its disk keeps only what was fsynced, and the member dies at
   * once (it can no longer persist, so it acknowledges and sends nothing more).
   */
  async crash(id: number): Promise<void> {
    const node = this.node(id);
    this.#nodes.delete(id);
    (this.#disks.get(id) as SimFileSystem).crash({ rng: seededRandom(this.#seed + id) });
    this.net.isolate(id);
    await node.stop();
    this.net.heal();
  }

  /** Stops every member. */
  async stop(): Promise<void> {
    for (const n of this.running) await n.stop();
    this.#nodes.clear();
  }
}
