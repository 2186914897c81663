import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '@flotilla/raft';
import { anomalyTypes, checkListAppend, formatListAppend, type HistoryEvent } from '@flotilla/verification';
import fc from 'fast-check';
import {
  generateListAppendHistory,
  injectAbortedRead,
  injectDuplicate,
  injectGarbage,
  injectStaleRead,
} from './support/list-append-gen.js';

// Failures print fast-check's seed and path; rerun with { seed, path } in fc.assert to replay.

const shape = fc.record({
  seed: fc.integer(),
  clients: fc.integer({ min: 1, max: 8 }),
  txns: fc.integer({ min: 1, max: 120 }),
  keys: fc.integer({ min: 1, max: 5 }),
  infoRate: fc.constantFrom(0, 0.03, 0.1),
  failRate: fc.constantFrom(0, 0.05),
});

test('generated strictly serializable histories always pass', () => {
  fc.assert(
    fc.property(shape, ({ seed, ...opts }) => {
      const r = checkListAppend(generateListAppendHistory(seededRandom(seed), opts));
      assert.equal(r.valid, true, formatListAppend(r));
    }),
    { numRuns: 150 },
  );
});

type Inject = (h: readonly HistoryEvent[], rng: ReturnType<typeof seededRandom>) => HistoryEvent[] | null;
const injections: readonly [string, Inject, (types: string[]) => boolean][] = [
  ['duplicate element', injectDuplicate, (t) => t.includes('duplicate-elements')],
  ['garbage read', injectGarbage, (t) => t.includes('garbage-read')],
  ['aborted read', injectAbortedRead, (t) => t.includes('G1a')],
  // A stale read must close a cycle (with real time, or through data) or lose an append.
  [
    'stale read',
    injectStaleRead,
    (t) => t.some((x) => x.startsWith('G-single') || x.startsWith('G2') || x === 'lost-append'),
  ],
];

for (const [name, inject, expected] of injections) {
  test(`an injected ${name} is always caught by the right anomaly`, () => {
    fc.assert(
      fc.property(shape, ({ seed, ...opts }) => {
        const bad = inject(generateListAppendHistory(seededRandom(seed), opts), seededRandom(~seed));
        fc.pre(bad !== null);
        const r = checkListAppend(bad);
        assert.equal(r.valid, false);
        assert.ok(expected(anomalyTypes(r)), anomalyTypes(r).join(', '));
      }),
      { numRuns: 80 },
    );
  });
}
