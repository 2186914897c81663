/**
 * Replica throughput: closed-loop proposers (each awaits its proposal, then proposes again),
 * 128-byte commands, the real WAL on disk (a temp directory, one fsync per Ready per member).
 *
 * (a) three replicas in this process over the in-memory network;
 * (b) three processes over TCP on 127.0.0.1, the proposers in the leader's process.
 *
 * Floors from the issue: (a) ≥ 100,000/s and (b) ≥ 50,000/s at 1,024 concurrent proposers.
 * `cpu` is this process's (for (b): the leader process's) CPU time per wall second: on a shared
 * 2-core machine a figure well below 1 means the process was starved, not idle by choice.
 *
 *   node scripts/bench.mjs packages/replica      (BENCH_MS, BENCH_LEVELS to change the run)
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Clock, Replica, silentLogger, systemClock } from '@flotilla/replica';
import { MemoryNetwork } from '@flotilla/replica/testing';
import { CountingMachine, closedLoop, formatRow, type LoadResult, sleep } from '../test/helpers/load.js';
import { TcpCluster } from '../test/helpers/tcp-cluster.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 4000);
const WARMUP_MS = 1000;
const LEVELS = (process.env.BENCH_LEVELS ?? '1,64,1024').split(',').map(Number);
const SIZE = 128;

/**
 * The system clock, except that a zero delay runs on the next turn of the event loop
 * (`setImmediate`) instead of Node's `setTimeout(0)`, which waits at least 1 ms. The in-memory
 * network delivers every message through its clock, so with plain timers each hop would cost
 * 1 ms, far more than a TCP round trip on 127.0.0.1. The replicas themselves tick on
 * `systemClock`.
 */
const immediateClock: Clock = {
  now: () => systemClock.now(),
  setTimeout: (fn, ms) => (ms <= 0 ? { immediate: setImmediate(fn) } : systemClock.setTimeout(fn, ms)),
  clearTimeout: (handle) => {
    if (typeof handle === 'object' && handle !== null && 'immediate' in handle) {
      clearImmediate((handle as { immediate: NodeJS.Immediate }).immediate);
    } else {
      systemClock.clearTimeout(handle);
    }
  },
};

async function inProcess(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-replica-bench-'));
  try {
    const net = new MemoryNetwork({ seed: 1, logger: silentLogger, clock: immediateClock });
    const ids = [1, 2, 3];
    const replicas = await Promise.all(
      ids.map((id) =>
        Replica.create({
          id,
          peers: ids,
          dataDir: join(dir, `m${id}`),
          stateMachine: new CountingMachine(),
          transport: net.transport(id),
          tickMs: 50,
          logger: silentLogger,
        }),
      ),
    );
    const first = replicas[0] as Replica<number>;
    first.campaign();
    while (!first.isLeader) await sleep(10);
    const payload = new Uint8Array(SIZE).fill(7);
    for (const c of LEVELS) {
      const r = await closedLoop(() => first.propose(payload), c, DURATION_MS, WARMUP_MS);
      console.log(formatRow('(a) 3 replicas, 1 process, memory', r));
    }
    await Promise.all(replicas.map((r) => r.stop()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function overTcp(): Promise<void> {
  const cluster = new TcpCluster([1, 2, 3], { tickMs: 50, machine: 'bench' });
  try {
    await cluster.startAll();
    const leader = await cluster.leader();
    for (const c of LEVELS) {
      const answer = await cluster.request(
        leader,
        { op: 'bench', concurrency: c, durationMs: DURATION_MS, warmupMs: WARMUP_MS, size: SIZE },
        DURATION_MS + WARMUP_MS + 60_000,
      );
      console.log(formatRow('(b) 3 processes, TCP 127.0.0.1', answer.result as LoadResult));
    }
  } finally {
    await cluster.close();
  }
}

/** The machine's state, printed with the figures: they depend on both more than on the code. */
function environment(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-fsync-probe-'));
  try {
    const fd = openSync(join(dir, 'probe'), 'w');
    const block = new Uint8Array(4096).fill(1);
    const n = 50;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      writeSync(fd, block, 0, block.length, i * block.length);
      fdatasyncSync(fd);
    }
    const fsyncMs = (performance.now() - t0) / n;
    closeSync(fd);
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    return `${cpus().length} cores, load average ${load}, 4 KiB write+fdatasync ${fsyncMs.toFixed(2)} ms`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(environment());
console.log(
  `proposals/s, ${SIZE} B commands, closed loop, ${DURATION_MS} ms per level after ${WARMUP_MS} ms warm-up`,
);
console.log(`${'scenario'.padEnd(34)} ${'procs'.padStart(5)} ${'rate'.padStart(12)}`);
// BENCH_ONLY=a or b runs one part (for profiling with --cpu-prof).
if (process.env.BENCH_ONLY !== 'b') await inProcess();
if (process.env.BENCH_ONLY !== 'a') await overTcp();
