import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import type { NetworkMessage, Random } from '@flotilla/raft';
import { SimClock } from '@flotilla/replica';
import { eventually, heartbeat } from '@flotilla/replica/testing';
import { Codec, FrameDecoder, PROTOCOL_VERSION, parseHello } from '@flotilla/transport-tcp/wire';
import { CLUSTER, freePort, type Node, seqs, startNode, WAIT_MS, wire } from './helpers.js';

const nodes: Node[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.t.close()));
});
async function node(id: number, opts: Parameters<typeof startNode>[1] = {}): Promise<Node> {
  const n = await startNode(id, opts);
  nodes.push(n);
  return n;
}
const retry = { retryMs: 50, timeoutMs: WAIT_MS };

test('reconnects to a peer that restarts on the same port', async () => {
  const a = await node(1);
  const b = await node(2);
  wire([a, b]);
  a.t.send([heartbeat(1, 2, 1)]);
  await b.inbox.until(() => seqs(b.inbox, 1).includes(1), 'first delivery', WAIT_MS);
  const port = b.t.port;
  await b.t.close();
  await a.inbox.until(() => a.inbox.unreachable.includes(2), 'a notices b went away', WAIT_MS);
  await a.log.until((l) => l.message === 'connection lost', 'a logs the loss');

  const b2 = await node(2, { listen: { host: '127.0.0.1', port } });
  b2.t.addPeer(1, a.t.address);
  await eventually(
    () => a.t.send([heartbeat(1, 2, 2)]),
    () => seqs(b2.inbox, 1).includes(2),
    'delivery to the restarted b',
    retry,
  );
  assert.equal(a.t.peerState(2), 'open');
});

test('follows a peer to a new address', async () => {
  const a = await node(1);
  const b = await node(2);
  wire([a, b]);
  a.t.send([heartbeat(1, 2, 1)]);
  await b.inbox.until(() => seqs(b.inbox, 1).includes(1), 'first delivery', WAIT_MS);
  const moved = await node(2);
  moved.t.addPeer(1, a.t.address);
  a.t.addPeer(2, moved.t.address);
  a.t.addPeer(2, moved.t.address); // same address again: no-op
  await eventually(
    () => a.t.send([heartbeat(1, 2, 2)]),
    () => seqs(moved.inbox, 1).includes(2),
    'delivery at the new address',
    retry,
  );
  assert.ok(!seqs(b.inbox, 1).includes(2));
});

test('backoff: a dead peer is redialled only after a capped, jittered delay on the injected clock', async () => {
  const clock = new SimClock();
  const fixed: Random = {
    next: () => 0, // equal jitter at its minimum: delay = d / 2
    int: (min) => min,
    chance: () => false,
    pick: (xs) => xs[0] as never,
    fork: () => fixed,
  };
  const port = await freePort();
  const a = await node(1, { clock, random: fixed, backoff: { initialMs: 100, maxMs: 400 } });
  a.t.addPeer(2, `127.0.0.1:${port}`);
  const expectedDelays = [50, 100, 200, 200];
  for (const delay of expectedDelays) {
    a.t.send([heartbeat(1, 2, 0)]);
    assert.equal(a.t.peerState(2), 'connecting');
    await eventually(
      () => {},
      () => a.t.peerState(2) === 'backoff',
      'dial fails',
      retry,
    );
    const reports = a.inbox.unreachable.length;
    a.t.send([heartbeat(1, 2, 1)]); // dropped while backing off
    assert.equal(a.t.peerState(2), 'backoff');
    clock.advance(delay - 1);
    assert.equal(a.t.peerState(2), 'backoff', `still waiting before ${delay} ms`);
    clock.advance(1);
    assert.equal(a.t.peerState(2), 'idle', `ready to redial after ${delay} ms`);
    assert.ok(reports >= 1);
  }
  // Only the first failure in a row is a warning; the rest are debug lines.
  const failures = a.log.lines.filter((l) => l.fields?.peer === 2 && l.fields?.code === 'PEER_UNREACHABLE');
  assert.deepEqual(
    failures.map((l) => l.level),
    ['warn', 'debug', 'debug', 'debug'],
  );
  assert.deepEqual(
    failures.map((l) => l.fields?.retryInMs),
    expectedDelays,
  );
});

test('a full queue drops new messages and reports the peer unreachable once', async () => {
  const a = await node(1, { queueLimit: 10 });
  const b = await node(2);
  wire([a, b]);
  // All sent in one turn while the connection is still being set up: 10 queue, 90 drop.
  for (let i = 0; i < 100; i++) a.t.send([heartbeat(1, 2, i)]);
  await a.inbox.until(() => a.inbox.unreachable.length > 0, 'overflow reported', WAIT_MS);
  await b.inbox.until(() => seqs(b.inbox, 1).length >= 10, 'the queued ten', WAIT_MS);
  assert.deepEqual(
    seqs(b.inbox, 1),
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.deepEqual(a.inbox.unreachable, [2]);
});

test('a peer that stops reading fills the socket, then the queue: unreachable, not unbounded memory', async () => {
  // A fake member 2 that completes the handshake and then never reads again.
  const codec = new Codec();
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    const decoder = new FrameDecoder(65536);
    s.once('data', (chunk: Buffer) => {
      const hello = parseHello(codec.decode(decoder.push(chunk)[0] as Buffer));
      assert.ok(hello !== undefined);
      s.write(codec.frame({ t: 'welcome', v: PROTOCOL_VERSION, cluster: CLUSTER, id: 2 }));
      s.pause();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const a = await node(1, { queueLimit: 8 });
  a.t.addPeer(2, `127.0.0.1:${address.port}`);
  const big: NetworkMessage = {
    type: 'app',
    from: 1,
    to: 2,
    term: 1,
    index: 1,
    logTerm: 1,
    commit: 0,
    entries: [{ term: 1, index: 2, type: 'normal', data: new Uint8Array(256 * 1024) }],
  };
  // Bounded: the socket buffers of both ends hold a few MB at most.
  await eventually(
    () => a.t.send([big]),
    () => a.inbox.unreachable.includes(2),
    'back-pressure reported',
    {
      retryMs: 5,
      timeoutMs: WAIT_MS,
    },
  );
  assert.equal(a.t.peerState(2), 'open', 'the connection itself is still up');
  await a.t.close();
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('a message larger than maxFrameBytes is dropped with an error; the rest of the batch goes through', async () => {
  const a = await node(1, { maxFrameBytes: 64 * 1024 });
  const b = await node(2, { maxFrameBytes: 64 * 1024 });
  wire([a, b]);
  const app = (index: number, bytes: number): NetworkMessage => ({
    type: 'app',
    from: 1,
    to: 2,
    term: 1,
    index,
    logTerm: 1,
    commit: 0,
    entries: [{ term: 1, index: index + 1, type: 'normal', data: new Uint8Array(bytes) }],
  });
  // 30 × 4 KB must be split over several 64 KiB frames; the 100 KiB one fits in none.
  const fat = Array.from({ length: 30 }, (_, i) => app(i, 4000));
  a.t.send([...fat, app(100, 100 * 1024), heartbeat(1, 2, 99)]);
  await b.inbox.until(() => seqs(b.inbox, 1).includes(99), 'the message after the oversized one', WAIT_MS);
  assert.equal(b.inbox.messages.length, fat.length + 1);
  await a.log.until((l) => l.message === 'message larger than maxFrameBytes dropped', 'the drop is logged');
  await a.inbox.until(() => a.inbox.unreachable.includes(2), 'and reported', WAIT_MS);
});
