import { performance } from 'node:perf_hooks';
import type { StateMachine } from '@flotilla/replica';

/**
 * Load generation shared by the benchmark and the multi-process harness (a child process runs
 * the proposers next to its leader).
 */

/** The benchmark's state machine: counts commands and bytes; snapshots are 16 bytes. */
export class CountingMachine implements StateMachine<number> {
  count = 0;
  bytes = 0;
  apply(command: Uint8Array): number {
    this.count++;
    this.bytes += command.byteLength;
    return this.count;
  }
  snapshot(): Uint8Array {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setFloat64(0, this.count);
    v.setFloat64(8, this.bytes);
    return b;
  }
  restore(data: Uint8Array): void {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.count = v.getFloat64(0);
    this.bytes = v.getFloat64(8);
  }
}

/** Figures of one load level. */
export interface LoadResult {
  readonly concurrency: number;
  readonly proposals: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of this process per wall second (1 = one core busy), while measuring. */
  readonly cpu: number;
}

/**
 * Runs `concurrency` closed-loop proposers for `durationMs` (after `warmupMs` not counted):
 * each awaits its proposal and proposes again. Latency = propose call to resolution.
 */
export async function closedLoop(
  propose: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
  warmupMs: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  let count = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t0 = performance.now();
      await propose();
      if (measuring) {
        latencies.push(performance.now() - t0);
        count++;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(warmupMs);
  measuring = true;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(durationMs);
  measuring = false;
  const cpu1 = process.cpuUsage(cpu0);
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  await Promise.all(workers);
  return summarize(concurrency, count, seconds, latencies, (cpu1.user + cpu1.system) / 1e6 / seconds);
}

export function summarize(
  concurrency: number,
  count: number,
  seconds: number,
  latencies: number[],
  cpu: number,
): LoadResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    concurrency,
    proposals: count,
    seconds,
    perSecond: count / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    cpu,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function formatRow(label: string, r: LoadResult): string {
  return `${label.padEnd(34)} ${String(r.concurrency).padStart(5)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)}/s  p50 ${r.p50Ms.toFixed(2).padStart(7)} ms  p99 ${r.p99Ms.toFixed(2).padStart(7)} ms  (${r.proposals.toLocaleString('en-US')} in ${r.seconds.toFixed(1)} s, cpu ${r.cpu.toFixed(2)})`;
}
