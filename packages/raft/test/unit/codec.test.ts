import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { type ConfChange, decodeConfChange, encodeConfChange } from '@flotilla/raft';
import fc from 'fast-check';

const invalid = (e: unknown) => isFlotillaError(e, 'INVALID_CONF_CHANGE');

const ccArb: fc.Arbitrary<ConfChange> = fc
  .record(
    {
      transition: fc.constantFrom('auto' as const, 'implicit' as const, 'explicit' as const),
      changes: fc.array(
        fc.record({
          type: fc.constantFrom('addNode' as const, 'removeNode' as const, 'addLearner' as const),
          nodeId: fc.oneof(
            fc.integer({ min: 0, max: 300 }),
            fc.constant(Number.MAX_SAFE_INTEGER),
            fc.maxSafeNat(),
          ),
        }),
        { maxLength: 8 },
      ),
      context: fc.uint8Array({ maxLength: 300 }),
    },
    { requiredKeys: ['changes'] },
  )
  // Plain objects (fast-check's records may have another prototype).
  .map((cc) => ({ ...cc, changes: cc.changes.map((c) => ({ ...c })) }) as ConfChange);

describe('conf change codec', () => {
  test('round-trips every conf change exactly, deterministically', () => {
    fc.assert(
      fc.property(ccArb, (cc) => {
        const a = encodeConfChange(cc);
        assert.deepEqual(encodeConfChange(cc), a);
        assert.deepEqual(decodeConfChange(a), cc);
      }),
      { numRuns: 2000 },
    );
  });

  test('a known encoding', () => {
    const bytes = encodeConfChange({
      transition: 'explicit',
      changes: [{ type: 'addNode', nodeId: 300 }],
      context: new Uint8Array([9]),
    });
    assert.deepEqual([...bytes], [1, 3, 1, 1, 1, 0xac, 0x02, 1, 9]);
    assert.deepEqual([...encodeConfChange({ changes: [] })], [1, 0, 0, 0]);
  });

  test('refuses garbage with INVALID_CONF_CHANGE', () => {
    const good = encodeConfChange({
      changes: [{ type: 'removeNode', nodeId: 5 }],
      context: new Uint8Array([1, 2]),
    });
    const cases: Uint8Array[] = [
      new Uint8Array([]),
      new Uint8Array([2, 0, 0, 0]), // version
      new Uint8Array([1, 4, 0, 0]), // transition
      new Uint8Array([1, 0, 2, 0]), // flags
      new Uint8Array([1, 0, 0, 1, 9, 1]), // change type
      new Uint8Array([1, 0, 0, 1, 1, 0x80, 0x00]), // non-minimal varint
      new Uint8Array([1, 0, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // > 2^53
      new Uint8Array([1, 0, 0, 100]), // count larger than the data
      new Uint8Array([1, 0, 1, 0, 5, 1]), // context longer than the data
      new Uint8Array([...good, 0]), // trailing byte
      good.subarray(0, good.length - 1), // truncated
    ];
    for (const c of cases) assert.throws(() => decodeConfChange(c), invalid, `[${[...c]}]`);
    assert.throws(() => decodeConfChange('x' as unknown as Uint8Array), invalid);
  });

  test('random bytes either decode to a conf change that re-encodes identically, or are refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        let cc: ConfChange;
        try {
          cc = decodeConfChange(bytes);
        } catch (e) {
          assert.ok(invalid(e));
          return;
        }
        assert.deepEqual(encodeConfChange(cc), bytes);
      }),
      { numRuns: 5000 },
    );
  });

  test('encode refuses malformed conf changes', () => {
    const bad: unknown[] = [
      null,
      {},
      { changes: [{ type: 'nope', nodeId: 1 }] },
      { changes: [{ type: 'addNode', nodeId: -1 }] },
      { changes: [{ type: 'addNode', nodeId: 1.5 }] },
      { changes: [null] },
      { transition: 'sometimes', changes: [] },
      { changes: [], context: 'ctx' },
    ];
    for (const b of bad) assert.throws(() => encodeConfChange(b as ConfChange), invalid, JSON.stringify(b));
  });
});
