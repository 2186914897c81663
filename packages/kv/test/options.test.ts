import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKvNode, type KvNodeOptions } from '@flotilla/kv';
import { seededRandom } from '@flotilla/raft';
import { silentLogger } from '@flotilla/replica';
import { MemoryNetwork, SimClock } from '@flotilla/replica/testing';
import { openReplicaStorage, SimFileSystem } from '@flotilla/wal';
import { KvSim, seedFor } from './helpers/kv-sim.js';

describe('createKvNode options', () => {
  test('bad options are refused with INVALID_ARGUMENT before anything is opened', async () => {
    const clock = new SimClock();
    const net = new MemoryNetwork({ seed: 1, clock });
    const transport = net.transport(1);
    const base: KvNodeOptions = {
      id: 1,
      peers: [1],
      dataDir: '/d',
      fs: new SimFileSystem(),
      transport,
      clock,
    };
    const bad: Array<Partial<Record<keyof KvNodeOptions, unknown>>> = [
      { id: 0 },
      { id: 1.5 },
      { dataDir: undefined },
      { storage: {} },
      { dataDir: undefined, fs: new SimFileSystem(), storage: {} },
      { name: '' },
      { peerUrl: '' },
      { clusterId: 7 },
      { tickMs: 0 },
      { raft: { electionTick: 0 } },
      { minLeaseTtlSeconds: 0 },
      { clientUrls: [''] },
      { clientUrls: 'a' },
      { maxRequestBytes: 0 },
      { maxTxnOps: 1.5 },
      { leaseClockSkewMs: -1 },
      { requestTimeoutMs: Number.NaN },
    ];
    for (const patch of bad) {
      await assert.rejects(
        createKvNode({ ...base, ...patch } as KvNodeOptions),
        { code: 'INVALID_ARGUMENT' },
        JSON.stringify(patch),
      );
    }
    await assert.rejects(createKvNode(null as unknown as KvNodeOptions), { code: 'INVALID_ARGUMENT' });
    // The transport was never started: it can still be used.
    await transport.start(() => {});
    await transport.close();
  });

  test('an already open storage can be passed instead of a data directory', async () => {
    const clock = new SimClock();
    const net = new MemoryNetwork({ seed: 2, clock });
    const storage = await openReplicaStorage('/s', { fs: new SimFileSystem({ rng: seededRandom(2) }) });
    const node = await createKvNode({
      id: 1,
      peers: [1],
      storage,
      transport: net.transport(1),
      clock,
      tickMs: 10,
      logger: silentLogger,
      clusterId: 'c1',
    });
    const put = node.put('a', 'b');
    let done = false;
    put.then(() => (done = true));
    while (!done) await clock.advanceAsync(10);
    assert.equal((await put).header.clusterId, 'c1');
    const stop = node.stop();
    await clock.advanceAsync(10);
    await stop;
  });
});

describe('a member whose replica fails', () => {
  test('emits error, ends its watches, and refuses requests with UNAVAILABLE', async () => {
    const sim = await KvSim.create({ seed: seedFor(95) });
    const leader = await sim.waitForLeader();
    const f = sim.follower();
    const errors: Error[] = [];
    f.on('error', (e) => errors.push(e));
    const w = f.watch({ key: 'k' });
    const responses: Array<{ canceled?: boolean; cancelReason?: string }> = [];
    let ended = false;
    void (async () => {
      for await (const r of w) responses.push(r);
      ended = true;
    })();
    sim.fsOf(f.id).failNextSync();
    await sim.settle(leader.put('k', 'v'));
    await sim.runUntil(() => errors.length > 0 && ended, { what: 'the follower to fail' });
    assert.match(responses.at(-1)?.cancelReason ?? '', /^UNAVAILABLE/);
    assert.equal((await sim.rejection(f.put('x', 'y'))).code, 'UNAVAILABLE');
    assert.equal((await sim.rejection(f.get('x', { serializable: true }))).code, 'UNAVAILABLE');
    const h = await sim.settle(f.health());
    assert.deepEqual([h.healthy, h.reason], [false, 'UNAVAILABLE']);
    assert.match((await sim.settle(f.status())).errors.join(), /UNAVAILABLE/);
    const late = f.watch({ key: 'k' });
    const first = await late[Symbol.asyncIterator]().next();
    assert.match(first.value?.cancelReason ?? '', /^UNAVAILABLE/);
    // The other two keep serving.
    assert.ok((await sim.settle(leader.put('still', 'ok'))).revision > 0);
    await sim.close();
  });
});
