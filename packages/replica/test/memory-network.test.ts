import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { NetworkMessage, NodeId } from '@flotilla/raft';
import { type Logger, SimClock } from '@flotilla/replica';
import {
  heartbeat,
  Inbox,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransport,
  type NetworkEvent,
  patternBytes,
  snapMessage,
} from '@flotilla/replica/testing';

const code = (c: string) => (err: unknown) => isFlotillaError(err, c);

interface Sim {
  readonly clock: SimClock;
  readonly net: MemoryNetwork;
  readonly t: Map<NodeId, MemoryTransport>;
  readonly box: Map<NodeId, Inbox>;
  /** Sends heartbeat `seq` from → to. */
  hb(from: NodeId, to: NodeId, seq: number): void;
  /** The readSeqs `to` received from `from`, in order. */
  seqs(to: NodeId, from: NodeId): number[];
}

async function sim(n: number, options: Partial<MemoryNetworkOptions> = {}): Promise<Sim> {
  const clock = new SimClock();
  const net = new MemoryNetwork({ seed: 1, clock, ...options });
  const t = new Map<NodeId, MemoryTransport>();
  const box = new Map<NodeId, Inbox>();
  for (let id = 1; id <= n; id++) {
    const tr = net.transport(id);
    const inbox = new Inbox();
    await tr.start(inbox.handler, inbox.events);
    t.set(id, tr);
    box.set(id, inbox);
  }
  const get = <T>(m: Map<NodeId, T>, id: NodeId): T => {
    const v = m.get(id);
    assert.ok(v !== undefined);
    return v;
  };
  return {
    clock,
    net,
    t,
    box,
    hb: (from, to, seq) => get(t, from).send([heartbeat(from, to, seq)]),
    seqs: (to, from) =>
      get(box, to)
        .from(from)
        .flatMap((m) => (m.type === 'heartbeat' ? [m.readSeq] : [])),
  };
}

test('delivery happens on the clock, never inside send', async () => {
  const s = await sim(2);
  s.hb(1, 2, 0);
  assert.deepEqual(s.seqs(2, 1), []);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [0]);
  assert.deepEqual(s.net.stats().delivered, { heartbeat: 1 });
});

test('a partition splits the cluster; unnamed nodes are alone; heal restores it', async () => {
  const s = await sim(4);
  s.net.partition([[1, 2], [3]]);
  assert.equal(s.net.canReach(1, 2), true);
  assert.equal(s.net.canReach(1, 3), false);
  assert.equal(s.net.canReach(4, 1), false);
  s.hb(1, 2, 1);
  s.hb(1, 3, 1);
  s.hb(3, 1, 1);
  s.hb(4, 1, 1);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [1]);
  assert.deepEqual(s.seqs(3, 1), []);
  assert.deepEqual(s.seqs(1, 3), []);
  assert.deepEqual(s.seqs(1, 4), []);
  assert.deepEqual(s.box.get(1)?.unreachable, [3]);
  assert.deepEqual(s.box.get(3)?.unreachable, [1]);
  assert.equal(s.net.stats().dropped.heartbeat, 3);
  s.net.heal();
  s.hb(1, 3, 2);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(3, 1), [2]);
});

test('isolate cuts a node off both ways; one-way cuts build asymmetric links', async () => {
  const s = await sim(3);
  s.net.isolate(3);
  s.hb(1, 3, 1);
  s.hb(3, 2, 1);
  s.hb(1, 2, 1);
  s.clock.advance(0);
  assert.deepEqual([s.seqs(3, 1), s.seqs(2, 3), s.seqs(2, 1)], [[], [], [1]]);
  s.net.heal();

  s.net.cut(1, 2);
  s.hb(1, 2, 2);
  s.hb(2, 1, 2);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [1]);
  assert.deepEqual(s.seqs(1, 2), [2]);
  s.net.uncut(1, 2);
  s.hb(1, 2, 3);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [1, 3]);
});

test('messages in flight when a link is cut are lost silently', async () => {
  const s = await sim(2);
  s.net.setDelay(10, 10);
  s.hb(1, 2, 1);
  s.clock.advance(5);
  s.net.cut(1, 2);
  s.clock.advance(10);
  assert.deepEqual(s.seqs(2, 1), []);
  assert.deepEqual(s.box.get(1)?.unreachable, []);
  assert.equal(s.net.stats().dropped.heartbeat, 1);
});

test('drop rate loses about that share of messages, silently', async () => {
  const s = await sim(2);
  s.net.setDropRate(1);
  s.hb(1, 2, 0);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), []);
  assert.deepEqual(s.box.get(1)?.unreachable, []);
  s.net.setDropRate(0.3);
  for (let i = 0; i < 2000; i++) s.hb(1, 2, i);
  s.clock.advance(0);
  const got = s.seqs(2, 1);
  assert.ok(got.length > 1250 && got.length < 1550, `kept ${got.length} of 2000`);
  assert.deepEqual(
    got,
    [...got].sort((a, b) => a - b),
    'losses do not reorder',
  );
});

test('unequal delays reorder; every message arrives within [min, max]', async () => {
  const events: NetworkEvent[] = [];
  const s = await sim(2, { observer: (e) => events.push(e) });
  s.net.setDelay(1, 50);
  for (let i = 0; i < 200; i++) s.hb(1, 2, i);
  s.clock.advance(49);
  assert.ok(s.seqs(2, 1).length < 200);
  s.clock.advance(1);
  const got = s.seqs(2, 1);
  assert.equal(got.length, 200);
  assert.notDeepEqual(
    got,
    [...got].sort((a, b) => a - b),
    'some messages overtook others',
  );
  for (const e of events.filter((e) => e.kind === 'deliver')) assert.ok(e.at >= 1 && e.at <= 50);
});

test('equal delays keep FIFO order and batch what was sent together', async () => {
  const s = await sim(2);
  s.net.setDelay(7, 7);
  s.t.get(1)?.send([heartbeat(1, 2, 0), heartbeat(1, 2, 1)]);
  s.hb(1, 2, 2);
  s.clock.advance(7);
  assert.deepEqual(s.seqs(2, 1), [0, 1, 2]);
  assert.deepEqual(
    s.box.get(2)?.batches.map((b) => b.length),
    [2, 1],
  );
});

test('duplicates arrive twice and are counted', async () => {
  const s = await sim(2);
  s.net.setDuplicateRate(1);
  s.hb(1, 2, 5);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [5, 5]);
  assert.deepEqual(s.net.stats().duplicated, { heartbeat: 1 });
  assert.deepEqual(s.net.stats().sent, { heartbeat: 1 });
  s.net.resetStats();
  assert.deepEqual(s.net.stats().sent, {});
});

test('a paused node receives nothing until resumed, then everything in order', async () => {
  const s = await sim(2);
  s.net.pause(2);
  s.net.pause(2);
  for (let i = 0; i < 3; i++) s.hb(1, 2, i);
  s.hb(2, 1, 9);
  s.clock.advance(100);
  assert.deepEqual(s.seqs(2, 1), []);
  assert.deepEqual(s.seqs(1, 2), [9], 'a paused node still sends');
  s.net.resume(2);
  s.net.resume(2);
  assert.deepEqual(s.seqs(2, 1), [], 'released on the next clock turn, not inside resume');
  s.hb(1, 2, 3); // sent after resume, before the release: still behind the held ones
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [0, 1, 2, 3]);
  // Paused again before the release fires: nothing is released.
  s.net.pause(2);
  s.hb(1, 2, 4);
  s.net.resume(2);
  s.net.pause(2);
  s.clock.advance(10);
  assert.deepEqual(s.seqs(2, 1), [0, 1, 2, 3]);
  s.net.resume(2);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [0, 1, 2, 3, 4]);
});

/** Runs a lossy, delaying, duplicating scenario and returns its delivery trace. */
async function trace(seed: number): Promise<string[]> {
  const out: string[] = [];
  const s = await sim(3, {
    seed,
    observer: (e) =>
      out.push(`${e.kind}@${e.at.toFixed(3)}:${e.message.from}>${e.message.to}#${seqOf(e.message)}`),
  });
  s.net.setDropRate(0.1);
  s.net.setDuplicateRate(0.1);
  s.net.setDelay(0, 20);
  for (let round = 0; round < 30; round++) {
    for (const from of [1, 2, 3]) for (const to of [1, 2, 3]) if (from !== to) s.hb(from, to, round);
    if (round === 10) s.net.partition([[1], [2, 3]]);
    if (round === 20) s.net.heal();
    s.clock.advance(3);
  }
  s.clock.runUntilIdle();
  return out;
}

function seqOf(m: NetworkMessage): number {
  return m.type === 'heartbeat' ? m.readSeq : -1;
}

test('determinism: the same seed gives the same delivery trace; another seed another', async () => {
  const a = await trace(42);
  const b = await trace(42);
  const c = await trace(43);
  assert.ok(a.length > 300, `trace has ${a.length} events`);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('snapshots honour partitions, pauses and failures', async () => {
  const s = await sim(3);
  const t1 = s.t.get(1);
  assert.ok(t1 !== undefined);
  const data = patternBytes(1000, 3);
  s.net.partition([[1], [2, 3]]);
  await assert.rejects(t1.sendSnapshot(2, snapMessage(1, 2, data)), code('PEER_UNREACHABLE'));
  s.net.heal();

  // Cut while in flight.
  s.net.setDelay(10, 10);
  const cut = t1.sendSnapshot(2, snapMessage(1, 2, data));
  await Promise.resolve();
  s.clock.advance(5);
  s.net.cut(1, 2);
  s.clock.advance(5);
  await assert.rejects(cut, code('PEER_UNREACHABLE'));
  s.net.heal();

  // Held while the recipient is paused, delivered on resume.
  s.net.pause(2);
  const held = t1.sendSnapshot(2, snapMessage(1, 2, data));
  let settled = false;
  void held.then(() => {
    settled = true;
  });
  await Promise.resolve();
  s.clock.advance(10);
  await Promise.resolve();
  assert.equal(settled, false);
  s.net.resume(2);
  s.clock.advance(0);
  await held;
  const snap = s.box.get(2)?.messages.find((m) => m.type === 'snap');
  assert.ok(snap?.type === 'snap' && snap.snapshot.data.byteLength === 1000);

  // Random loss fails the stream loudly.
  s.net.setDropRate(1);
  await assert.rejects(t1.sendSnapshot(3, snapMessage(1, 3, data)), code('PEER_UNREACHABLE'));
});

test('a handler that throws is logged; a snapshot it refuses fails', async () => {
  const errors: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn() {}, error: (m) => errors.push(m) };
  const clock = new SimClock();
  const net = new MemoryNetwork({ seed: 1, clock, logger });
  const a = net.transport(1);
  const b = net.transport(2);
  await a.start(() => {}, {
    unreachable: () => {
      throw new Error('event handler bug');
    },
  });
  await b.start(() => {
    throw new Error('handler bug');
  });
  a.send([heartbeat(1, 2, 0), heartbeat(1, 7, 0)]);
  clock.advance(0);
  assert.deepEqual(errors, ['message handler threw', 'unreachable event handler threw']);
  const p = a.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(3)));
  await Promise.resolve();
  clock.advance(0);
  await assert.rejects(p, code('SNAPSHOT_FAILED'));
});

test('closing cancels what is in flight to and from the node; a restart gets a new transport', async () => {
  const s = await sim(3);
  s.net.setDelay(10, 10);
  s.hb(1, 2, 1);
  s.hb(2, 3, 1);
  s.hb(3, 1, 1);
  s.net.pause(1);
  s.clock.advance(10); // 3 → 1 is now held by the pause
  s.hb(1, 3, 2);
  const snap = s.t.get(2)?.sendSnapshot(3, snapMessage(2, 3, new Uint8Array(8)));
  await Promise.resolve();
  assert.equal(s.clock.pending, 2);
  await s.t.get(3)?.close();
  assert.equal(s.clock.pending, 0, 'timers of deliveries to 3 cancelled');
  await assert.rejects(snap ?? Promise.resolve(), code('PEER_UNREACHABLE'));
  s.net.resume(1);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(1, 3), [], 'held messages from a closed node are lost');

  assert.throws(() => s.net.transport(2), code('TRANSPORT_EXISTS'));
  const again = s.net.transport(3);
  const inbox = new Inbox();
  await again.start(inbox.handler);
  s.hb(1, 3, 3);
  s.clock.advance(10);
  assert.equal(inbox.messages.length, 1);
});

test('a sender closing with a snapshot in flight rejects it with TRANSPORT_CLOSED', async () => {
  const s = await sim(2);
  s.net.setDelay(5, 5);
  const t1 = s.t.get(1);
  assert.ok(t1 !== undefined);
  const p = t1.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(8)));
  await Promise.resolve();
  await t1.close();
  await assert.rejects(p, code('TRANSPORT_CLOSED'));
  s.clock.advance(10);
  assert.equal(s.box.get(2)?.messages.length, 0);
});

test('explicit peers: only known peers are reachable, both ways', async () => {
  const clock = new SimClock();
  const net = new MemoryNetwork({ seed: 3, clock });
  const a = net.transport(1, { peers: [1, 2] });
  const b = net.transport(2, { peers: [1] });
  const c = net.transport(3, { peers: [1, 2] });
  const [ia, ib, ic] = [new Inbox(), new Inbox(), new Inbox()];
  await a.start(ia.handler, ia.events);
  await b.start(ib.handler, ib.events);
  await c.start(ic.handler, ic.events);
  a.send([heartbeat(1, 2, 1), heartbeat(1, 3, 1)]);
  c.send([heartbeat(3, 1, 1), heartbeat(3, 2, 1)]);
  clock.advance(0);
  assert.equal(ib.messages.length, 1);
  assert.equal(ic.messages.length, 0);
  assert.deepEqual(ia.unreachable, [3]);
  assert.deepEqual(ic.unreachable, [1, 2], '1 and 2 do not know 3');
  a.addPeer(1, 'self is ignored');
  a.removePeer(1);
  assert.equal(a.knows(1), false);
});

test('cloneMessages delivers equal copies, never the sent objects', async () => {
  const s = await sim(2, { cloneMessages: true });
  const m = heartbeat(1, 2, 1);
  s.t.get(1)?.send([m]);
  s.clock.advance(0);
  const got = s.box.get(2)?.messages[0];
  assert.deepEqual(got, m);
  assert.notEqual(got, m);
});

test('bad fault settings and transports are refused and change nothing', async () => {
  const s = await sim(2);
  assert.throws(() => new MemoryNetwork({} as MemoryNetworkOptions), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.setDropRate(1.5), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.setDuplicateRate(-0.1), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.setDelay(5, 1), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.setDelay(-1, 1), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.partition([[1, 2], [2]]), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.partition([[0]]), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.partition('x' as unknown as NodeId[][]), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.partition(['x'] as unknown as NodeId[][]), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.isolate(-1), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.cut(1, 1.5), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.pause(0), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.transport(0), code('INVALID_ARGUMENT'));
  assert.throws(() => s.net.transport(9, { peers: [0] }), code('INVALID_ARGUMENT'));
  const t1 = s.t.get(1);
  assert.ok(t1 !== undefined);
  assert.throws(() => t1.addPeer(0, 'x'), code('INVALID_ARGUMENT'));
  assert.throws(() => t1.addPeer(3, 7 as unknown as string), code('INVALID_ARGUMENT'));
  assert.throws(() => t1.send('x' as unknown as []), code('INVALID_MESSAGE'));
  assert.throws(() => t1.send([null as unknown as NetworkMessage]), code('INVALID_MESSAGE'));
  await assert.rejects(s.net.transport(5).start(null as unknown as () => void), code('INVALID_ARGUMENT'));
  await assert.rejects(t1.sendSnapshot(2, heartbeat(1, 2, 0) as never), code('INVALID_MESSAGE'));
  await assert.rejects(
    t1.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), {
      byteLength: -1,
      chunks: (async function* () {})(),
    }),
    code('INVALID_ARGUMENT'),
  );
  const chunks = (sizes: number[]) =>
    (async function* () {
      for (const n of sizes) yield new Uint8Array(n);
    })();
  await assert.rejects(
    t1.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), { byteLength: 4, chunks: chunks([3, 3]) }),
    code('SNAPSHOT_FAILED'),
  );
  await assert.rejects(
    t1.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), { byteLength: 4, chunks: chunks([3]) }),
    code('SNAPSHOT_FAILED'),
  );
  s.hb(1, 2, 1);
  s.clock.advance(0);
  assert.deepEqual(s.seqs(2, 1), [1], 'the network still works as before');
});
