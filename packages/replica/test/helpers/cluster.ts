import assert from 'node:assert/strict';
import type { NodeId } from '@flotilla/raft';
import { SimCluster, type SimClusterOptions } from '@flotilla/replica/testing';
import { Counter } from './counter.js';

/**
 * Seeds to run a randomized scenario with: `SEED=n` replays one seed, `SEEDS=k` runs k of them
 * (default `count`).
 */
export function seeds(count: number, base = 1): number[] {
  if (process.env.SEED !== undefined) return [Number(process.env.SEED)];
  const n = Number(process.env.SEEDS ?? count);
  return Array.from({ length: n }, (_, i) => base + i);
}

/** Runs `fn(seed)` for every seed; a failure names the seed (replay with `SEED=<n>`). */
export async function forEachSeed(
  list: readonly number[],
  fn: (seed: number) => Promise<void>,
): Promise<void> {
  for (const seed of list) {
    try {
      await fn(seed);
    } catch (err) {
      if (err instanceof Error) {
        err.message = `[seed ${seed}; replay with SEED=${seed}] ${err.message}`;
      }
      throw err;
    }
  }
}

/** A counter cluster with test-friendly defaults. */
export function counterCluster(
  seed: number,
  opts: Partial<Omit<SimClusterOptions<number>, 'seed' | 'stateMachine'>> = {},
): Promise<SimCluster<number>> {
  return SimCluster.create<number>({ seed, stateMachine: () => new Counter(), ...opts });
}

export function counterOf(cluster: SimCluster<number>, id: NodeId): Counter {
  return cluster.stateMachine(id) as Counter;
}

/**
 * State machine safety (§5.4.3): of any two running replicas, one applied log is a prefix of
 * the other: same index, same command, in the same order.
 */
export function assertLogsAgree(cluster: SimCluster<number>): void {
  const logs = cluster.up().map((id) => ({ id, log: counterOf(cluster, id).log }));
  for (const a of logs) {
    for (const b of logs) {
      const n = Math.min(a.log.length, b.log.length);
      for (let i = 0; i < n; i++) {
        assert.deepEqual(a.log[i], b.log[i], `replicas ${a.id} and ${b.id} differ at applied command #${i}`);
      }
    }
  }
}

/** Runs until every running replica applied at least `index`. */
export async function waitApplied(cluster: SimCluster<number>, index: number, maxMs = 10_000): Promise<void> {
  await cluster.runUntil(() => cluster.up().every((id) => cluster.replica(id).appliedIndex >= index), {
    maxMs,
    what: `every replica applied ${index}`,
  });
}
