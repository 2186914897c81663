/**
 * Lease package figures (they print; nothing here fails on a timing):
 * - Lessor grant / revoke-with-keys throughput, snapshot encode/decode of 100k leases;
 * - LeaseTimer: promotion over 100k leases, renew throughput, one expiry scan over 100k leases;
 * - lock + unlock round trips on the in-process KV (no network, no Raft: the recipe's own cost).
 * Run: node scripts/bench.mjs packages/lease
 */
import { performance } from 'node:perf_hooks';
import { LeaseTimer, Lessor, lock, Session } from '@flotilla/lease';
import { createLocalKv, ManualClock } from '@flotilla/lease/testing';
import { MvccStore } from '@flotilla/mvcc';

function report(name: string, ops: number, ms: number): void {
  const perOp = (ms * 1000) / ops;
  console.log(
    `${name.padEnd(44)} ${String(ops).padStart(8)} ops  ${ms.toFixed(1).padStart(8)} ms  ${perOp.toFixed(2).padStart(8)} µs/op`,
  );
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function newLessor(): { store: MvccStore; lessor: Lessor } {
  let lessor: Lessor | undefined;
  const store = new MvccStore({ leaseExists: (id) => lessor?.has(id) ?? false });
  lessor = new Lessor(store);
  return { store, lessor };
}

const N = 100_000;
{
  const { store, lessor } = newLessor();
  report(
    'Lessor.grant',
    N,
    time(() => {
      for (let id = 1; id <= N; id++) lessor.grant(id, 60);
    }),
  );
  for (let id = 1; id <= 10_000; id++)
    for (let k = 0; k < 3; k++) store.put(`svc/${id}/${k}`, 'v', { lease: id });
  report(
    'Lessor.revoke (3 keys each, one revision)',
    10_000,
    time(() => {
      for (let id = 1; id <= 10_000; id++) lessor.revoke(id);
    }),
  );
  let bytes: Uint8Array = new Uint8Array();
  report(
    'Lessor.snapshot (90k leases)',
    1,
    time(() => {
      bytes = lessor.snapshot();
    }),
  );
  const other = newLessor().lessor;
  report(
    'Lessor.restore (90k leases)',
    1,
    time(() => other.restore(bytes)),
  );
  console.log(`  snapshot size: ${bytes.length} bytes`);
}
{
  const { lessor } = newLessor();
  const clock = new ManualClock();
  const timer = new LeaseTimer({ lessor, clock, proposeRevoke: () => {} });
  for (let id = 1; id <= N; id++) lessor.grant(id, 60);
  report(
    'LeaseTimer.promote (100k leases)',
    1,
    time(() => timer.promote()),
  );
  report(
    'LeaseTimer.renew',
    N,
    time(() => {
      for (let id = 1; id <= N; id++) timer.renew(id);
    }),
  );
  const t0 = performance.now();
  await clock.advance(61_500); // every lease expires: one scan, one batch of 100k ids
  report('LeaseTimer expiry scan + batch (100k leases)', 1, performance.now() - t0);
  timer.close();
}
{
  const clock = new ManualClock();
  const kv = createLocalKv({ clock });
  const session = await Session.create(kv, { ttl: 60, clock });
  const rounds = 5000;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    const held = await lock(kv, 'bench', { session });
    await held.unlock();
  }
  report('lock + unlock, uncontended (in-process KV)', rounds, performance.now() - t0);
  await session.close();
  kv.close();
}
