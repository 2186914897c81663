/**
 * Why a lock alone does not protect anything outside the store, and how a fencing token does.
 *
 * Jepsen's analysis of etcd 3.4.3 (jepsen.io/analyses/etcd-3.4.3) found that etcd's locks are
 * not mutually exclusive in the way people assume: a client holds a lock only as long as its
 * lease lives, and a client that pauses (GC, swap, a stopped VM, a slow disk) longer than the
 * lease TTL keeps running afterwards *believing* it still holds the lock, while the lock has
 * long been given to someone else. Both then act on the protected resource: two holders at
 * once. (Jepsen also found etcd's lock telling a waiter it had acquired the lock after its
 * lease had already expired while it waited; `@flotilla/lease` re-checks the lease in the same
 * transaction that grants the lock, so that one cannot happen here.) No client-side check fixes
 * the first problem — the pause can strike between the check and the write — and no lock
 * service can either: the holder is frozen, it cannot be told anything.
 *
 * The fix belongs to the resource: every lock acquisition comes with a fencing token that grows
 * with every new holder (here: the lock key's create revision); every write to the resource
 * carries the token; the resource refuses a token smaller than the largest it has seen
 * (`storage.ts`). Then a stale holder's late writes are refused whatever it believes.
 *
 * This example runs exactly that with real processes:
 * 1. a 3-member cluster (embedded here, served over TCP) and an HTTP report store;
 * 2. worker A (a child process) locks `locks/nightly-report`, writes part 1 with its token;
 * 3. A is frozen with SIGSTOP in the middle of its work — its keep-alives stop, its lease
 *    expires on the cluster after the TTL;
 * 4. worker B (a client in this process) gets the lock with a larger token and writes its
 *    final report;
 * 5. A is resumed (SIGCONT) and, still believing it holds the lock, writes its final report:
 *    the store refuses it (409, stale token). B's report stands.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@flotilla/kv/client';
import { EmbeddedCluster } from './cluster.js';
import { ReportStore, writeReport } from './storage.js';

/** What happened, for the caller (and the test) to check. */
export interface Outcome {
  readonly tokenA: number;
  readonly tokenB: number;
  /** HTTP status of A's final write after it woke up (409: refused). */
  readonly staleWriteStatus: number;
  /** HTTP status of B's final write (200). */
  readonly writeB: number;
  /** The report the store holds at the end. */
  readonly report: string | undefined;
}

/** A child process whose stdout lines can be awaited. */
class Worker {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;

  constructor(endpoints: readonly string[], storeUrl: string, name: string) {
    const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
    this.#child = spawn(
      process.execPath,
      ['--conditions=@flotilla/source', '--import', 'tsx', worker, endpoints.join(','), storeUrl, name],
      { stdio: ['pipe', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('..', import.meta.url)) },
    );
    let buf = '';
    this.#child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      this.#lines.push(...parts);
      this.#wake?.();
    });
    this.#child.once('exit', () => this.#wake?.());
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** The next line starting with `prefix` (30 s at most). */
  async line(prefix: string): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const i = this.#lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return this.#lines.splice(0, i + 1)[i] as string;
      if (this.#child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`worker: no "${prefix}" line (got: ${this.#lines.join(' | ')})`);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  signal(s: NodeJS.Signals): void {
    this.#child.kill(s);
  }

  send(line: string): void {
    this.#child.stdin?.write(`${line}\n`);
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

/** Runs the story (see the module notes); `log` receives the narration. */
export async function runExample(log: (line: string) => void = console.log): Promise<Outcome> {
  const cluster = await EmbeddedCluster.start();
  const store = new ReportStore();
  const storeUrl = await store.start();
  const workerA = new Worker(cluster.endpoints, storeUrl, 'A');
  const b = await KvClient.connect({ endpoints: [...cluster.endpoints].reverse() });
  try {
    const tokenA = Number((await workerA.line('locked')).split(' ')[1]);
    log(`worker A (pid ${workerA.pid}) holds locks/nightly-report with fencing token ${tokenA}`);
    log(`A writes part 1 with token ${tokenA}: HTTP ${(await workerA.line('part1')).split(' ')[1]}`);
    await workerA.line('rendering');

    workerA.signal('SIGSTOP');
    log('A is frozen (SIGSTOP) while rendering: no keep-alives, no progress, no idea');

    const session = await b.session({ ttl: 2 });
    const lockB = await b.lock('locks/nightly-report', { session });
    log(`A's lease expired on the cluster; worker B got the lock with fencing token ${lockB.fencingToken}`);
    const writeB = await writeReport(storeUrl, 'nightly', lockB.fencingToken, 'final report by B');
    log(`B writes its final report with token ${lockB.fencingToken}: HTTP ${writeB.status}`);

    workerA.signal('SIGCONT');
    workerA.send('go');
    const [, status, ...reply] = (await workerA.line('final')).split(' ');
    log(`A wakes up, finishes rendering and writes with token ${tokenA}: HTTP ${status} ${reply.join(' ')}`);
    log(`the store keeps: "${store.report('nightly')}"`);

    await lockB.unlock();
    await session.close();
    return {
      tokenA,
      tokenB: lockB.fencingToken,
      staleWriteStatus: Number(status),
      writeB: writeB.status,
      report: store.report('nightly'),
    };
  } finally {
    workerA.signal('SIGCONT');
    workerA.kill();
    await b.close();
    await store.close();
    await cluster.stop();
  }
}
