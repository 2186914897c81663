import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '@flotilla/raft';
import { Replica, SimClock, silentLogger, type Transport } from '@flotilla/replica';
import { MemoryNetwork } from '@flotilla/replica/testing';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import { Counter } from './helpers/counter.js';

/** A transport that records the membership calls the replica makes on it. */
function spy(inner: Transport, calls: string[]): Transport {
  return {
    start: (h, e) => inner.start(h, e),
    send: (m) => inner.send(m),
    sendSnapshot: (to, m, d) => (inner.sendSnapshot as NonNullable<Transport['sendSnapshot']>)(to, m, d),
    addPeer: (id: NodeId, address: string) => {
      calls.push(`add ${id} ${address}`);
      inner.addPeer(id, address);
    },
    removePeer: (id: NodeId) => {
      calls.push(`remove ${id}`);
      inner.removePeer(id);
    },
    close: () => inner.close(),
  };
}

async function until<T>(clock: SimClock, p: Promise<T>): Promise<T> {
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < 1000 && !done; i++) await clock.advanceAsync(10);
  return settled;
}

test('membership changes tell the transport: addPeer with the address the change carries, removePeer on removal', async () => {
  const clock = new SimClock();
  const net = new MemoryNetwork({ seed: 3, clock });
  const calls: string[] = [];
  const replica = await Replica.create({
    id: 1,
    peers: [1],
    storage: await openReplicaStorage('/m1', { fs: new SimFileSystem() }),
    stateMachine: new Counter(),
    transport: spy(net.transport(1), calls),
    clock,
    tickMs: 10,
    logger: silentLogger,
  });
  await until(clock, new Promise((resolve) => replica.once('leader', resolve)));
  await until(clock, replica.addLearner(2, 'host-2:7000'));
  await until(clock, replica.addLearner(3, 'host-3:7000'));
  assert.deepEqual(calls, ['add 2 host-2:7000', 'add 3 host-3:7000']);
  calls.length = 0;
  // Learners do not vote, so a one-voter leader can change them on its own.
  await until(clock, replica.removeMember(2));
  assert.deepEqual(calls, ['remove 2']);
  assert.deepEqual(replica.status().addresses, { 3: 'host-3:7000' });
  await until(clock, replica.stop());
});
