import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { Replica, type ReplicaOptions, SimClock, silentLogger } from '@flotilla/replica';
import { MemoryNetwork } from '@flotilla/replica/testing';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import { add, Counter } from './helpers/counter.js';

/** Options for a replica on a fresh simulated disk (each call: a new disk and network). */
async function simOptions(overrides: Partial<ReplicaOptions<number>> = {}): Promise<ReplicaOptions<number>> {
  const fs = new SimFileSystem();
  const net = new MemoryNetwork({ seed: 1, clock: new SimClock() });
  return {
    id: 1,
    peers: [1],
    storage: await openReplicaStorage('/r', { fs }),
    stateMachine: new Counter(),
    transport: net.transport(1),
    clock: new SimClock(),
    logger: silentLogger,
    ...overrides,
  };
}

test('bad options are refused with INVALID_ARGUMENT', async () => {
  const cases: Array<[string, Partial<ReplicaOptions<number>> | ((o: ReplicaOptions<number>) => unknown)]> = [
    ['id 0', { id: 0 }],
    ['id not an integer', { id: 1.5 }],
    ['no storage nor dataDir', (o) => ({ ...o, storage: undefined })],
    ['both storage and dataDir', { dataDir: '/tmp/x' }],
    ['empty dataDir', (o) => ({ ...o, storage: undefined, dataDir: '' })],
    [
      'a state machine without restore',
      { stateMachine: { apply: () => 0, snapshot: () => new Uint8Array() } as never },
    ],
    ['a transport without send', { transport: { start: async () => {} } as never }],
    ['empty peers', { peers: [] }],
    ['peers without this member', { peers: [2, 3] }],
    ['duplicate peers', { peers: [1, 1] }],
    ['a bad peer id', { peers: [1, -2] }],
    ['join and peers', { join: true }],
    ['join not a boolean', (o) => ({ ...o, peers: undefined, join: 'yes' })],
    ['tickMs 0', { tickMs: 0 }],
    ['negative snapshotEvery', { snapshotEvery: -1 }],
    ['fractional snapshotCatchUpEntries', { snapshotCatchUpEntries: 1.5 }],
    ['forwardProposals not a boolean', { forwardProposals: 1 as never }],
    ['bad requestTimeoutMs', { requestTimeoutMs: Number.NaN }],
    ['bad seed', { seed: 0.5 }],
    ['raft not an object', { raft: 5 as never }],
    ['electionTick ≤ heartbeatTick', { raft: { electionTick: 1, heartbeatTick: 1 } }],
  ];
  for (const [name, change] of cases) {
    const base = await simOptions();
    const opts = typeof change === 'function' ? change(base) : { ...base, ...change };
    await assert.rejects(
      Replica.create(opts as ReplicaOptions<number>),
      (err) => isFlotillaError(err, 'INVALID_ARGUMENT'),
      name,
    );
  }
  await assert.rejects(Replica.create(null as never), (err) => isFlotillaError(err, 'INVALID_ARGUMENT'));
});

test('a member with no state needs peers or join; the storage is released when refused', async () => {
  const fs = new SimFileSystem();
  const net = new MemoryNetwork({ seed: 1, clock: new SimClock() });
  const base = {
    id: 1,
    stateMachine: new Counter(),
    clock: new SimClock(),
    logger: silentLogger,
  };
  await assert.rejects(
    Replica.create({ ...base, storage: await openReplicaStorage('/r', { fs }), transport: net.transport(1) }),
    (err) => isFlotillaError(err, 'INVALID_ARGUMENT') && /peers/.test(err.message),
  );
  // The directory lock and the transport were released: a second attempt can start.
  const r = await Replica.create({
    ...base,
    join: true,
    storage: await openReplicaStorage('/r', { fs }),
    transport: net.transport(1),
  });
  assert.deepEqual(r.status().members.voters, []);
  assert.equal(r.leaderId, undefined);
  await r.stop();
});

test('a single member on a real disk (dataDir): propose, stop, reopen with its state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-replica-test-'));
  try {
    const open = async (counter: Counter): Promise<Replica<number>> => {
      const net = new MemoryNetwork({ seed: 1 });
      return Replica.create({
        id: 1,
        peers: [1],
        dataDir: join(dir, 'data'),
        stateMachine: counter,
        transport: net.transport(1),
        tickMs: 5,
        logger: silentLogger,
      });
    };
    const first = new Counter();
    const r1 = await open(first);
    const leader = new Promise<void>((resolve) => r1.once('leader', () => resolve()));
    await leader;
    assert.ok(r1.isLeader);
    const results = await Promise.all([1, 2, 3].map((n) => r1.propose(add(n))));
    assert.deepEqual(
      results.map((x) => x.result),
      [1, 3, 6],
    );
    assert.equal(r1.status().state, 'running');
    await r1.stop();
    const second = new Counter();
    const r2 = await open(second);
    assert.equal(second.value, 6, 'replayed from the WAL before create resolved');
    await r2.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
