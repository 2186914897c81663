import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '@flotilla/raft';
import {
  checkLinearizability,
  formatLinearizability,
  type HistoryEvent,
  type JsonValue,
} from '@flotilla/verification';
import fc from 'fast-check';
import { bruteLinearizable } from './support/brute-register.js';
import {
  generateRegisterHistory,
  injectDoubleCas,
  injectGarbageRead,
  injectStaleRead,
} from './support/register-gen.js';

// Failures print fast-check's seed and path; rerun with { seed, path } in fc.assert to replay.

const shape = fc.record({
  seed: fc.integer(),
  clients: fc.integer({ min: 1, max: 8 }),
  operations: fc.integer({ min: 1, max: 150 }),
  keys: fc.integer({ min: 1, max: 3 }),
  infoRate: fc.constantFrom(0, 0.03, 0.1),
});

test('generated linearizable histories always pass', () => {
  fc.assert(
    fc.property(shape, ({ seed, ...opts }) => {
      const r = checkLinearizability(generateRegisterHistory(seededRandom(seed), opts));
      assert.equal(r.valid, true, formatLinearizability(r));
    }),
    { numRuns: 150 },
  );
});

const injections = [
  ['stale read', injectStaleRead, 'stale-read'],
  ['garbage read', injectGarbageRead, 'garbage-read'],
  ['lost update (two cas from one value)', injectDoubleCas, 'lost-update'],
] as const;

for (const [name, inject, hint] of injections) {
  test(`an injected ${name} is always caught`, () => {
    let caught = 0;
    fc.assert(
      fc.property(shape, ({ seed, ...opts }) => {
        const bad = inject(
          generateRegisterHistory(seededRandom(seed), opts),
          seededRandom(seed ^ 0x5bd1e995),
        );
        fc.pre(bad !== null);
        const r = checkLinearizability(bad);
        assert.equal(r.valid, false, 'the injected anomaly went unnoticed');
        const a = r.anomalies.find((x) => x.type === 'nonlinearizable');
        assert.ok(a?.type === 'nonlinearizable' && a.subhistory.length > 0);
        if (a.hint === hint) caught++;
      }),
      { numRuns: 60 },
    );
    // The hint is best effort (another anomaly may be found first); it should usually match.
    assert.ok(caught > 0, `hint ${hint} never reported`);
  });
}

/** Replaces some ok reads' results with random plausible values, to get invalid ones too. */
function scramble(history: readonly HistoryEvent[], seed: number): HistoryEvent[] {
  const rng = seededRandom(seed);
  const values: JsonValue[] = [null];
  for (const e of history)
    if (e.type === 'invoke' && e.f === 'write') values.push((e.value as JsonValue[])[1] ?? null);
  return history.map((e) =>
    e.type === 'ok' && e.f === 'read' && rng.chance(0.3)
      ? { ...e, value: [(e.value as JsonValue[])[0] ?? null, rng.pick(values)] }
      : e,
  );
}

test('agrees with a brute-force oracle on small histories (valid and invalid)', () => {
  let invalid = 0;
  fc.assert(
    fc.property(
      fc.integer(),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 7 }),
      (seed, clients, n) => {
        const h = scramble(
          generateRegisterHistory(seededRandom(seed), {
            clients,
            operations: n,
            keys: 1,
            infoRate: 0.15,
            failRate: 0.1,
          }),
          seed,
        );
        const expected = bruteLinearizable(h);
        if (!expected) invalid++;
        assert.equal(checkLinearizability(h).valid, expected);
      },
    ),
    { numRuns: 400 },
  );
  assert.ok(invalid > 20, `only ${invalid} invalid histories generated`);
});
