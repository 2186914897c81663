/**
 * Lease safety under leader changes and message loss, judged the way Jepsen's lease checker
 * judges it: a lease is never revoked before its TTL has passed since the invocation of its
 * last successful keep-alive (or grant), and a keep-alive answered `LEASE_NOT_FOUND` means the
 * lease really is gone. Keep-alives are sent at random intervals, some longer than the TTL, so
 * renewals race expiries; the leader is cut off now and then, so leases change hands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { KvSim, seedFor } from './helpers/kv-sim.js';

const TTL = 2;

async function leasesAreNeverRevokedEarly(seed: number): Promise<void> {
  const sim = await KvSim.create({ seed, node: { leaseCheckpointIntervalMs: 300, requestTimeoutMs: 1500 } });
  await sim.waitForLeader();
  sim.net.setDropRate(0.02);
  /** Lease id → the first time (sim clock) any member applied its revoke. */
  const revokedAt = new Map<number, number>();
  for (const n of sim.nodes()) {
    n.stateMachine.lessor.subscribe((e) => {
      if (e.type === 'revoke' && !revokedAt.has(e.id)) revokedAt.set(e.id, sim.clock.now());
    });
  }
  const violations: string[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[sim.rng.int(0, xs.length - 1)] as T;
  const client = async (c: number): Promise<void> => {
    let invoked = sim.clock.now();
    let id: number;
    try {
      id = (await pick(sim.nodes()).grant(TTL)).id;
    } catch {
      return; // no grant: nothing to check
    }
    let lastOk = invoked;
    for (let round = 0; round < 12; round++) {
      const wait = sim.rng.int(300, 2300);
      await new Promise<void>((r) => sim.clock.setTimeout(r, wait));
      invoked = sim.clock.now();
      try {
        await pick(sim.nodes()).keepAliveOnce(id);
        lastOk = invoked;
      } catch (err) {
        if (!isFlotillaError(err)) throw err;
        if (err.code === 'LEASE_NOT_FOUND') {
          const at = revokedAt.get(id);
          if (at === undefined || at > sim.clock.now())
            violations.push(`client ${c}: LEASE_NOT_FOUND before any revoke of ${id}`);
          break;
        }
      }
    }
    const at = revokedAt.get(id);
    if (at !== undefined && at < lastOk + TTL * 1000) {
      violations.push(
        `lease ${id} revoked ${lastOk + TTL * 1000 - at} ms early (last keep-alive invoked at ${lastOk})`,
      );
    }
  };
  let finished = false;
  const clients = Promise.all([0, 1, 2, 3, 4, 5].map((c) => client(c))).then(() => {
    finished = true;
  });
  for (let step = 0; !finished; step++) {
    if (step > 400) throw new Error(`seed ${seed}: clients did not finish`);
    await sim.run(500);
    if (step % 3 === 1) {
      const l = sim.leader();
      if (l !== undefined) sim.net.isolate(l.id);
      await sim.run(sim.rng.int(200, 700));
      sim.net.heal();
    }
  }
  await clients;
  assert.deepEqual(violations, [], `seed ${seed}`);
  assert.ok(revokedAt.size > 0, `seed ${seed}: no lease ever expired (the test would prove nothing)`);
  await sim.close();
}

for (const seed of [301, 302, 303]) {
  test(`leases are never revoked early, across leader changes and lost messages (seed ${seedFor(seed)})`, () =>
    leasesAreNeverRevokedEarly(seedFor(seed)));
}
