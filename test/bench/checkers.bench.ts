/**
 * Checker throughput on generated histories. Prints figures; never fails on a timing.
 * Figures are noisy on the shared 2-core machines: compare runs on the same machine only.
 *
 *   node scripts/bench.mjs test
 */
import { seededRandom } from '@flotilla/raft';
import { checkLinearizability, checkListAppend, type HistoryEvent } from '@flotilla/verification';
import {
  generateListAppendHistory,
  injectStaleRead as staleTxn,
} from '../checkers/support/list-append-gen.js';
import { generateRegisterHistory } from '../checkers/support/register-gen.js';

function time<T>(label: string, run: () => T, describe: (r: T) => string): void {
  const start = performance.now();
  const r = run();
  const ms = performance.now() - start;
  console.log(`${label.padEnd(58)} ${ms.toFixed(0).padStart(7)} ms   ${describe(r)}`);
}

/** The last ok read returns the first value ever written: a stale read at the very end. */
function staleAtEnd(h: readonly HistoryEvent[]): HistoryEvent[] {
  const first = h.find((e) => e.f === 'write' && e.type === 'ok');
  const last = [...h].reverse().find((e) => e.f === 'read' && e.type === 'ok');
  return h.map((e) => (e === last && first !== undefined ? { ...e, value: first.value } : e));
}

console.log('register linearizability, one key (the worst case for P-compositionality)');
for (const [clients, operations] of [
  [5, 5_000],
  [10, 5_000],
  [20, 5_000],
  [10, 20_000],
] as const) {
  const h = generateRegisterHistory(seededRandom(1), { clients, operations, keys: 1 });
  time(
    `  ${clients} clients, ${operations} ops, valid`,
    () => checkLinearizability(h),
    (r) => `valid=${r.valid} steps=${r.stats.steps}`,
  );
  time(
    `  ${clients} clients, ${operations} ops, stale read at the end (+explain)`,
    () => checkLinearizability(staleAtEnd(h)),
    (r) => {
      const a = r.anomalies[0];
      return `valid=${r.valid} ${a?.type === 'nonlinearizable' ? `sub-history ${a.subhistory.length} ops` : ''}`;
    },
  );
}
{
  const h = generateRegisterHistory(seededRandom(2), { clients: 10, operations: 50_000, keys: 50 });
  time(
    '  10 clients, 50,000 ops over 50 keys, valid',
    () => checkLinearizability(h),
    (r) => `valid=${r.valid}`,
  );
}

console.log('list-append (Elle-style)');
for (const [clients, txns, keys] of [
  [10, 5_000, 10],
  [10, 20_000, 50],
] as const) {
  const h = generateListAppendHistory(seededRandom(1), { clients, txns, keys });
  time(
    `  ${clients} clients, ${txns} txns, ${keys} keys, valid`,
    () => checkListAppend(h),
    (r) => `valid=${r.valid} edges=${r.stats.edges}`,
  );
  const bad = staleTxn(h, seededRandom(3));
  if (bad !== null) {
    time(
      `  ${clients} clients, ${txns} txns, ${keys} keys, one stale read`,
      () => checkListAppend(bad),
      (r) => `valid=${r.valid} ${[...new Set(r.anomalies.map((a) => a.type))].join(',')}`,
    );
  }
}
