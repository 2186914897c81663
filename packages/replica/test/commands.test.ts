import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateMachine } from '@flotilla/replica';
import { SimCluster } from '@flotilla/replica/testing';
import fc from 'fast-check';

/** Records every command exactly as the replica hands it over; returns its length. */
class Recorder implements StateMachine<number> {
  readonly commands: Uint8Array[] = [];
  apply(command: Uint8Array): number {
    this.commands.push(Uint8Array.from(command));
    return command.byteLength;
  }
  snapshot(): Uint8Array {
    return new Uint8Array(0);
  }
  restore(): void {}
}

test('property: any command reaches the state machine byte for byte (large ids, many sizes)', async () => {
  // A member id above 2^32 exercises the long varints of the proposal envelope.
  const id = 2 ** 45 + 3;
  const machines = new Map<number, Recorder>();
  const cluster = await SimCluster.create<number>({
    seed: 1000,
    ids: [id],
    stateMachine: (member) => {
      const r = new Recorder();
      machines.set(member, r);
      return r;
    },
  });
  const leader = await cluster.waitForLeader();
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 5000 }), { minLength: 1, maxLength: 20 }),
      async (commands) => {
        const rec = machines.get(id) as Recorder;
        const before = rec.commands.length;
        const results = await cluster.settle(Promise.all(commands.map((c) => leader.propose(c))));
        assert.deepEqual(
          results.map((r) => r.result),
          commands.map((c) => c.byteLength),
        );
        assert.deepEqual(
          rec.commands.slice(before),
          commands.map((c) => Uint8Array.from(c)),
        );
      },
    ),
    { numRuns: 40, seed: 1000 },
  );
  await cluster.close();
});
