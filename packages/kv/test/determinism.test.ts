/**
 * KvStateMachine determinism: the same commands in the same order give byte-identical
 * snapshots and equal hashKV on every replica, including a replica that joined halfway through
 * a snapshot. fast-check prints the seed and the shrunk command list on failure; replay with
 * `fc.assert(..., { seed, path })`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCommand, type KvCommand, KvStateMachine } from '@flotilla/kv';
import fc from 'fast-check';
import { b } from './helpers/commands.js';

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const leaseId = fc.integer({ min: 0, max: 4 });

const command: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ k: key, v: fc.string({ maxLength: 4 }), lease: leaseId, prevKv: fc.boolean() }).map(
    ({ k, v, lease, prevKv }): KvCommand => ({
      type: 'put',
      key: b(k),
      value: b(v),
      lease,
      prevKv,
      ignoreValue: false,
      ignoreLease: false,
    }),
  ),
  fc.record({ k: key, end: fc.option(key, { nil: undefined }) }).map(
    ({ k, end }): KvCommand => ({
      type: 'deleteRange',
      key: b(k),
      rangeEnd: end === undefined ? undefined : b(end),
      prevKv: true,
    }),
  ),
  fc.record({ k: key, v: fc.nat(3), k2: key }).map(
    ({ k, v, k2 }): KvCommand => ({
      type: 'txn',
      request: {
        compare: [{ key: b(k), target: 'version', result: 'greater', value: v }],
        success: [{ put: { key: b(k2), value: b('t') } }, { range: { key: b('a'), rangeEnd: b('z') } }],
        failure: [
          { deleteRange: { key: b(k2) } },
          { txn: { success: [{ put: { key: b(k), value: b('n') } }] } },
        ],
      },
    }),
  ),
  fc.nat(40).map((revision): KvCommand => ({ type: 'compact', revision })),
  fc
    .record({ id: leaseId, ttl: fc.integer({ min: 0, max: 20 }) })
    .map(({ id, ttl }): KvCommand => ({ type: 'leaseGrant', id, ttl })),
  leaseId.map((id): KvCommand => ({ type: 'leaseRevoke', id: id + 1 })),
  leaseId.map((id): KvCommand => ({ type: 'leaseRenew', id: id + 1 })),
  fc
    .record({ id: leaseId, epoch: fc.nat(60) })
    .map(({ id, epoch }): KvCommand => ({ type: 'leaseExpire', id: id + 1, epoch })),
  fc.array(fc.record({ id: leaseId, remainingMs: fc.nat(9000), epoch: fc.nat(60) }), { maxLength: 3 }).map(
    (cps): KvCommand => ({
      type: 'leaseCheckpoint',
      checkpoints: cps.map((c) => ({ ...c, id: c.id + 1 })),
    }),
  ),
  fc.record({ id: fc.integer({ min: 1, max: 3 }), name: fc.string({ maxLength: 3 }) }).map(
    ({ id, name }): KvCommand => ({
      type: 'memberPublish',
      id,
      name,
      peerUrls: [`p${id}`],
      clientUrls: [],
    }),
  ),
);

/** Applies `cmds` at indexes from `from`, skipping some indexes as Raft's own entries do. */
function applyAll(sm: KvStateMachine, cmds: readonly KvCommand[], from: number): void {
  for (const [i, c] of cmds.entries()) sm.apply(encodeCommand(c), from + 2 * i);
}

test('same commands in the same order → byte-identical snapshots and equal hashKV', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 60 }), fc.nat(60), (cmds, cut) => {
      const split = Math.min(cut, cmds.length);
      const a = new KvStateMachine();
      const c = new KvStateMachine();
      applyAll(a, cmds, 1);
      applyAll(c, cmds.slice(0, split), 1);
      // A third replica catches up from c's snapshot, then applies the rest.
      const late = new KvStateMachine();
      late.restore(c.snapshot());
      applyAll(late, cmds.slice(split), 1 + 2 * split);
      applyAll(c, cmds.slice(split), 1 + 2 * split);
      const snap = Buffer.from(a.snapshot());
      assert.ok(snap.equals(Buffer.from(c.snapshot())), 'replica c differs');
      assert.ok(snap.equals(Buffer.from(late.snapshot())), 'the restored replica differs');
      assert.deepEqual(late.store.hashKV(), a.store.hashKV());
      assert.deepEqual(late.lessor.leases(), a.lessor.leases());
    }),
    { numRuns: 150 },
  );
});
