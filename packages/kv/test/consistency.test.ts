/**
 * Read consistency: linearizable reads (the default) on any member observe every write
 * acknowledged before they started; serializable reads are served locally and may lag.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { KvNode } from '@flotilla/kv';
import { KvSim, seedFor } from './helpers/kv-sim.js';

const str = (u: Uint8Array | undefined): string | undefined =>
  u === undefined ? undefined : Buffer.from(u).toString();

test('a serializable read on a cut-off follower is stale; a linearizable one refuses to be', async () => {
  const sim = await KvSim.create({ seed: seedFor(21) });
  const leader = await sim.waitForLeader();
  await sim.settle(leader.put('x', 'old'));
  const f = sim.follower();
  await sim.runUntil(() => f.stateMachine.store.revision === leader.stateMachine.store.revision);
  sim.net.isolate(f.id);
  const w = await sim.settle(leader.put('x', 'new'));
  const stale = await sim.settle(f.get('x', { serializable: true }));
  assert.equal(str(stale.kvs[0]?.value), 'old');
  assert.ok(stale.header.revision < w.revision);
  const err = await sim.rejection(f.get('x', { timeoutMs: 500 }));
  assert.equal(err.code, 'TIMEOUT');
  sim.net.heal();
  const fresh = await sim.settle(f.get('x'));
  assert.equal(str(fresh.kvs[0]?.value), 'new');
  assert.ok(fresh.header.revision >= w.revision);
  await sim.close();
});

interface Write {
  readonly key: string;
  readonly value: string;
  revision: number | undefined;
  done: number | undefined;
  unknown: boolean;
}

/**
 * Clients write unique values and read through random members while the network drops
 * messages and the leader is cut off now and then. Each linearizable read must show, for its
 * key, a write at least as new as every write acknowledged before the read started, and only
 * values some write produced (at the revision that write was acknowledged with).
 */
async function readsSeeAcknowledgedWrites(seed: number): Promise<void> {
  const sim = await KvSim.create({ seed, node: { requestTimeoutMs: 2000 } });
  await sim.waitForLeader();
  sim.net.setDropRate(0.02);
  const keys = ['a', 'b', 'c'];
  const writes = new Map<string, Write>();
  const violations: string[] = [];
  let ops = 0;
  const pick = <T>(xs: readonly T[]): T => xs[sim.rng.int(0, xs.length - 1)] as T;
  const member = (): KvNode => pick(sim.nodes());
  const client = async (c: number): Promise<void> => {
    for (let i = 0; i < 25; i++) {
      const key = pick(keys);
      if (sim.rng.chance(0.5)) {
        const w: Write = { key, value: `${c}-${i}`, revision: undefined, done: undefined, unknown: false };
        writes.set(w.value, w);
        try {
          const r = await member().put(key, w.value);
          w.revision = r.revision;
          w.done = sim.clock.now();
        } catch (err) {
          if (!isFlotillaError(err)) throw err;
          if (err.code === 'OUTCOME_UNKNOWN') w.unknown = true;
          else if (err.code !== 'TIMEOUT') violations.push(`write failed with ${err.code}`);
        }
      } else {
        const started = sim.clock.now();
        let floor = 0;
        for (const w of writes.values()) {
          if (w.key === key && w.done !== undefined && w.done < started && (w.revision ?? 0) > floor)
            floor = w.revision ?? 0;
        }
        try {
          const r = await member().get(key);
          const kv = r.kvs[0];
          const seen = kv === undefined ? 0 : kv.modRevision;
          if (seen < floor) violations.push(`read of ${key} saw revision ${seen} < acknowledged ${floor}`);
          if (kv !== undefined) {
            const w = writes.get(str(kv.value) ?? '');
            if (w === undefined || w.key !== key) violations.push(`read of ${key} saw a value nobody wrote`);
            else if (w.revision !== undefined && w.revision !== kv.modRevision)
              violations.push('revision mismatch');
          }
        } catch (err) {
          if (!isFlotillaError(err, 'TIMEOUT')) throw err;
        }
      }
      ops++;
    }
  };
  const clients = [0, 1, 2, 3].map((c) => client(c));
  let all = false;
  void Promise.all(clients).then(() => {
    all = true;
  });
  let round = 0;
  while (!all) {
    await sim.run(300);
    if (++round % 5 === 0) {
      const l = sim.leader();
      if (l !== undefined) sim.net.isolate(l.id);
      await sim.run(400);
      sim.net.heal();
    }
    if (round > 2000) throw new Error(`seed ${seed}: clients did not finish`);
  }
  await Promise.all(clients);
  assert.deepEqual(violations, [], `seed ${seed}`);
  assert.equal(ops, 100);
  await sim.close();
}

for (const seed of [31, 32, 33]) {
  test(`linearizable reads on any member see every acknowledged write (seed ${seedFor(seed)})`, () =>
    readsSeeAcknowledgedWrites(seedFor(seed)));
}
