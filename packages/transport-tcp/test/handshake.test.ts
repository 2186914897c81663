import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { eventually, heartbeat } from '@flotilla/replica/testing';
import { Codec, PROTOCOL_VERSION } from '@flotilla/transport-tcp/wire';
import { CLUSTER, type Node, RawClient, seqs, startNode, WAIT_MS, wire } from './helpers.js';

const nodes: Node[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.t.close()));
});
async function node(id: number, opts: Parameters<typeof startNode>[1] = {}): Promise<Node> {
  const n = await startNode(id, opts);
  nodes.push(n);
  return n;
}

test('a peer from another cluster is refused on both sides and nothing reaches Raft', async () => {
  const a = await node(1, { clusterId: 'cluster-a' });
  const b = await node(2, { clusterId: 'cluster-b' });
  wire([a, b]);
  a.t.send([heartbeat(1, 2, 1)]);
  await a.inbox.until(() => a.inbox.unreachable.includes(2), 'a reports b unreachable', WAIT_MS);
  const refused = await b.log.until((l) => l.fields?.rejectCode === 'CLUSTER_MISMATCH', 'b logs the refusal');
  assert.equal(refused.level, 'warn');
  assert.match(refused.message, /cluster id "cluster-a" does not match this node's "cluster-b"/);
  const rejected = await a.log.until((l) => l.fields?.code === 'HANDSHAKE_REJECTED', 'a logs the rejection');
  assert.equal(rejected.level, 'error');
  assert.equal(b.inbox.messages.length, 0);
});

test('an unknown member is refused; once added it gets through', async () => {
  const a = await node(1);
  const b = await node(2);
  a.t.addPeer(2, b.t.address); // b does not know a
  a.t.send([heartbeat(1, 2, 1)]);
  await b.log.until((l) => l.fields?.rejectCode === 'UNKNOWN_MEMBER', 'b refuses unknown member 1');
  await a.inbox.until(() => a.inbox.unreachable.includes(2), 'a reports b unreachable', WAIT_MS);
  assert.equal(b.inbox.messages.length, 0);
  b.t.addPeer(1, a.t.address);
  await eventually(
    () => a.t.send([heartbeat(1, 2, 2)]),
    () => seqs(b.inbox, 1).includes(2),
    'delivered once b knows a',
    { retryMs: 50, timeoutMs: WAIT_MS },
  );
});

test('a stale address pointing at another member is refused', async () => {
  const a = await node(1);
  const b = await node(2);
  const c = await node(3);
  wire([a, b, c]);
  a.t.addPeer(2, c.t.address); // a thinks 2 lives where 3 does
  a.t.send([heartbeat(1, 2, 1)]);
  const l = await c.log.until((x) => x.fields?.rejectCode === 'WRONG_MEMBER', 'c refuses');
  assert.match(l.message, /this is member 3, not 2/);
  assert.equal(c.inbox.messages.length, 0);
});

test('raw clients: wrong version, garbage and silence are refused without harm', async () => {
  const b = await node(2, { handshakeTimeoutMs: 200 });
  b.t.addPeer(1, '127.0.0.1:9'); // 1 is a member, so only the protocol can fail

  const old = await RawClient.connect(b.t.port);
  old.hello(1, 2, { v: 99 });
  assert.deepEqual(await old.reply(), {
    t: 'reject',
    code: 'VERSION_MISMATCH',
    reason: `protocol version 99 is not supported (this node speaks ${PROTOCOL_VERSION})`,
  });
  await old.closed;

  const garbage = await RawClient.connect(b.t.port);
  garbage.socket.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xff, 0x00]));
  await garbage.closed;
  await b.log.until((l) => l.fields?.code === 'HANDSHAKE_FAILED', 'garbage is refused');

  const huge = await RawClient.connect(b.t.port);
  huge.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
  await huge.closed;
  await b.log.until((l) => l.fields?.code === 'FRAME_TOO_LARGE', 'an oversized handshake frame is refused');

  const silent = await RawClient.connect(b.t.port);
  await silent.closed; // the handshake timeout closes it
  await b.log.until((l) => /no handshake in time/.test(l.message), 'silence is refused');

  assert.equal(b.inbox.messages.length, 0);
});

test('after the handshake: oversized frames, bad msgpack, bad messages and spoofed senders close the connection', async () => {
  const b = await node(2, { maxFrameBytes: 4096 });
  b.t.addPeer(1, '127.0.0.1:9');
  const session = async (): Promise<RawClient> => {
    const c = await RawClient.connect(b.t.port);
    c.hello(1, 2);
    assert.deepEqual(await c.reply(), { t: 'welcome', v: PROTOCOL_VERSION, cluster: CLUSTER, id: 2 });
    return c;
  };
  const cases: Array<[string, (c: RawClient) => void, string]> = [
    ['oversized', (c) => c.socket.write(Buffer.from([0, 0, 0x10, 0x01])), 'FRAME_TOO_LARGE'],
    ['bad msgpack', (c) => c.socket.write(Buffer.from([0, 0, 0, 1, 0xc1])), 'MALFORMED_FRAME'],
    ['not a batch', (c) => c.send({ hello: 'world' }), 'MALFORMED_FRAME'],
    [
      'bad field',
      (c) => c.send([heartbeat(1, 2, 1), { ...heartbeat(1, 2, 2), term: -1 }]),
      'MALFORMED_FRAME',
    ],
    ['spoofed sender', (c) => c.send([heartbeat(3, 2, 1)]), 'MALFORMED_FRAME'],
    ['wrong recipient', (c) => c.send([heartbeat(1, 3, 1)]), 'MALFORMED_FRAME'],
  ];
  for (const [name, act, code] of cases) {
    const before = b.log.lines.length;
    const c = await session();
    act(c);
    await c.closed;
    await b.log.until(
      (l) => b.log.lines.indexOf(l) >= before && l.fields?.code === code,
      `${name} is logged as ${code}`,
    );
  }
  assert.equal(b.inbox.messages.length, 0, 'nothing of any bad frame reached Raft (not even its valid part)');

  // A well-behaved session still works afterwards.
  const ok = await session();
  ok.send([heartbeat(1, 2, 7)]);
  await b.inbox.until(() => seqs(b.inbox, 1).includes(7), 'a valid batch', WAIT_MS);
  ok.destroy();
});

test('the dialer refuses an answer from the wrong cluster, the wrong member or in garbage', async () => {
  const codec = new Codec();
  const answers: Array<Buffer | undefined> = [
    codec.frame({ t: 'welcome', v: PROTOCOL_VERSION, cluster: 'elsewhere', id: 2 }),
    codec.frame({ t: 'welcome', v: PROTOCOL_VERSION, cluster: CLUSTER, id: 5 }),
    codec.frame({ t: 'welcome', v: PROTOCOL_VERSION + 1, cluster: CLUSTER, id: 2 }),
    Buffer.from([0, 0, 0, 2, 0xc1, 0xc1]),
    Buffer.concat([
      codec.frame({ t: 'welcome', v: PROTOCOL_VERSION, cluster: CLUSTER, id: 2 }),
      codec.frame([]),
    ]),
    undefined, // no answer: the dialer's handshake times out
  ];
  const expected = [
    /cluster "elsewhere"/,
    /answered as member 5/,
    new RegExp(`protocol version ${PROTOCOL_VERSION + 1}`),
    /invalid handshake frame|something else/,
    /something else/,
    /did not complete the handshake in time/,
  ];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    const answer = answers.shift();
    s.once('data', () => {
      if (answer !== undefined) s.write(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const a = await node(1, { handshakeTimeoutMs: 300 });
  a.t.addPeer(2, `127.0.0.1:${address.port}`);
  for (const pattern of expected) {
    const before = a.log.lines.length;
    const logged = () =>
      a.log.lines.slice(before).some((l) => pattern.test(l.message) && l.fields?.code === 'HANDSHAKE_FAILED');
    await eventually(() => a.t.send([heartbeat(1, 2, 0)]), logged, String(pattern), {
      retryMs: 50,
      timeoutMs: WAIT_MS,
    });
  }
  await a.t.close();
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});
