import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import type { NodeId } from '@flotilla/raft';
import { silentLogger } from '@flotilla/replica';
import { eventually, heartbeat, patternBytes, sha256, snapMessage } from '@flotilla/replica/testing';
import { createTcpTransport, parseAddress, type TcpTransportOptions } from '@flotilla/transport-tcp';
import { CLUSTER, type Node, RawClient, startNode, WAIT_MS, wire } from './helpers.js';

const code = (c: string) => (err: unknown) => isFlotillaError(err, c);
const nodes: Node[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.t.close()));
});
async function node(id: number, opts: Parameters<typeof startNode>[1] = {}): Promise<Node> {
  const n = await startNode(id, opts);
  nodes.push(n);
  return n;
}

const base: TcpTransportOptions = {
  id: 1,
  listen: { host: '127.0.0.1', port: 0 },
  peers: {},
  clusterId: CLUSTER,
  logger: silentLogger,
};

test('bad options are refused with INVALID_CONFIG naming the field', () => {
  const bad: Array<[Partial<TcpTransportOptions> | null, RegExp]> = [
    [{ id: 0 }, /id must be/],
    [{ clusterId: '' }, /clusterId/],
    [{ listen: { host: '', port: 1 } }, /listen must be/],
    [{ listen: { host: 'x', port: 70000 } }, /listen.port/],
    [{ peers: null as unknown as Record<number, string> }, /peers must be/],
    [{ peers: { 0: 'a:1' } }, /peer id 0/],
    [{ peers: { 2: 'no-port' } }, /not host:port/],
    [{ maxFrameBytes: 10 }, /maxFrameBytes/],
    [{ queueLimit: 0 }, /queueLimit/],
    [{ backoff: { initialMs: 0 } }, /backoff/],
    [{ backoff: { initialMs: 10, maxMs: 5 } }, /backoff/],
    [{ backoff: { initialMs: 10, maxMs: Number.POSITIVE_INFINITY } }, /finite/],
    [{ handshakeTimeoutMs: 0 }, /handshakeTimeoutMs/],
    [{ snapshotChunkBytes: 64 * 1024 * 1024 }, /snapshotChunkBytes/],
    [{ maxSnapshotBytes: -1 }, /maxSnapshotBytes/],
    [{ tls: { key: 'k', cert: 'c' } as never }, /tls needs/],
  ];
  for (const [patch, message] of bad) {
    assert.throws(
      () => createTcpTransport({ ...base, ...patch }),
      (err: unknown) => {
        assert.ok(isFlotillaError(err, 'INVALID_CONFIG'), String(err));
        assert.match((err as Error).message, message);
        return true;
      },
    );
  }
  assert.throws(() => createTcpTransport(null as unknown as TcpTransportOptions), code('INVALID_CONFIG'));
});

test('addresses: host:port and [v6]:port parse; anything else does not', () => {
  assert.deepEqual(parseAddress('127.0.0.1:7001'), { host: '127.0.0.1', port: 7001 });
  assert.deepEqual(parseAddress('node-2.local:80'), { host: 'node-2.local', port: 80 });
  assert.deepEqual(parseAddress('[::1]:9'), { host: '::1', port: 9 });
  for (const bad of ['', 'x', 'x:', ':1', 'x:0', 'x:65536', '[nope]:1', '::1:9', 'a b:1', 7]) {
    assert.equal(parseAddress(bad), undefined, String(bad));
  }
});

test('the member list may include the local id; port and address are readable after start only', async () => {
  const t = createTcpTransport({ ...base, id: 1, peers: { 1: '127.0.0.1:1', 2: '127.0.0.1:2' } });
  assert.deepEqual(t.peers, [2]);
  assert.throws(() => t.port, code('NOT_STARTED'));
  await t.start(() => {});
  assert.ok(t.port > 0);
  assert.equal(t.address, `127.0.0.1:${t.port}`);
  t.addPeer(1, '127.0.0.1:5'); // self: ignored
  t.removePeer(1);
  t.removePeer(42);
  assert.deepEqual(t.peers, [2]);
  assert.throws(() => t.addPeer(0, '127.0.0.1:5'), code('INVALID_ARGUMENT'));
  assert.throws(() => t.addPeer(3, 'nowhere'), code('INVALID_ARGUMENT'));
  await assert.rejects(
    t.start(() => {}),
    code('ALREADY_STARTED'),
  );
  await t.close();
  t.addPeer(3, '127.0.0.1:5'); // after close: ignored
  assert.deepEqual(t.peers, [2]);
});

test('a port in use fails start with LISTEN_FAILED and leaves the transport startable', async () => {
  const a = await node(1);
  const b = createTcpTransport({ ...base, id: 2, listen: { host: '127.0.0.1', port: a.t.port } });
  await assert.rejects(
    b.start(() => {}),
    code('LISTEN_FAILED'),
  );
  await assert.rejects(b.start(null as unknown as () => void), code('INVALID_ARGUMENT'));
  await b.close();
});

test('a throwing handler is logged and the connection keeps delivering', async () => {
  const a = await node(1);
  const b = await node(2);
  const received: number[] = [];
  const flaky = createTcpTransport({ ...base, id: 3, logger: b.log });
  await flaky.start((batch) => {
    for (const m of batch) if (m.type === 'heartbeat') received.push(m.readSeq);
    if (received.length === 1) throw new Error('host bug');
  });
  nodes.push({ t: flaky, inbox: b.inbox, log: b.log });
  a.t.addPeer(3, flaky.address);
  flaky.addPeer(1, a.t.address);
  a.t.send([heartbeat(1, 3, 1)]);
  await b.log.until((l) => l.message === 'message handler threw', 'the host error is logged');
  a.t.send([heartbeat(1, 3, 2)]);
  await eventually(
    () => {},
    () => received.includes(2),
    'the next batch still arrives',
    {
      retryMs: 20,
      timeoutMs: WAIT_MS,
    },
  );
  assert.equal(a.t.peerState(3), 'open');
});

test('snapshots: a refusing handler and a too-large snapshot fail with the receiver’s reason', async () => {
  const a = await node(1);
  const small = await node(2, { maxSnapshotBytes: 1000 });
  wire([a, small]);
  await assert.rejects(a.t.sendSnapshot(2, snapMessage(1, 2, patternBytes(5000, 1))), (err: unknown) => {
    assert.ok(isFlotillaError(err, 'SNAPSHOT_FAILED'), String(err));
    assert.match((err as Error).message, /exceeds maxSnapshotBytes/);
    return true;
  });
  const refusing = createTcpTransport({ ...base, id: 3 });
  await refusing.start((batch) => {
    if (batch.some((m) => m.type === 'snap')) throw new Error('disk full');
  });
  nodes.push({ t: refusing, inbox: a.inbox, log: a.log });
  a.t.addPeer(3, refusing.address);
  refusing.addPeer(1, a.t.address);
  await assert.rejects(a.t.sendSnapshot(3, snapMessage(1, 3, patternBytes(10, 1))), (err: unknown) => {
    assert.ok(isFlotillaError(err, 'SNAPSHOT_FAILED'), String(err));
    assert.match((err as Error).message, /disk full/);
    return true;
  });
  // An empty snapshot is fine; bad arguments are refused before anything is sent.
  await a.t.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)));
  await assert.rejects(a.t.sendSnapshot(2, heartbeat(1, 2, 0) as never), code('INVALID_MESSAGE'));
  await assert.rejects(a.t.sendSnapshot(3, snapMessage(1, 2, new Uint8Array(1))), code('INVALID_MESSAGE'));
  await assert.rejects(
    a.t.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), { byteLength: -1 } as never),
    code('INVALID_ARGUMENT'),
  );
});

test('snapshots: sources that lie about their length fail with SNAPSHOT_FAILED', async () => {
  const a = await node(1);
  const b = await node(2);
  wire([a, b]);
  const lying = (byteLength: number, sizes: number[]) => ({
    byteLength,
    chunks: (async function* () {
      for (const n of sizes) yield new Uint8Array(n);
    })(),
  });
  await assert.rejects(
    a.t.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), lying(10, [6, 6])),
    code('SNAPSHOT_FAILED'),
  );
  await assert.rejects(
    a.t.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), lying(10, [6])),
    code('SNAPSHOT_FAILED'),
  );
  const failing = {
    byteLength: 10,
    chunks: (async function* () {
      yield new Uint8Array(1);
      throw new Error('read error');
    })(),
  };
  await assert.rejects(
    a.t.sendSnapshot(2, snapMessage(1, 2, new Uint8Array(0)), failing),
    code('SNAPSHOT_FAILED'),
  );
  assert.equal(b.inbox.messages.filter((m) => m.type === 'snap').length, 0);
});

test('a snap message given to send() is streamed; its failure is reported as unreachable', async () => {
  const a = await node(1);
  const b = await node(2);
  wire([a, b]);
  const data = patternBytes(3 * 1024 * 1024, 5);
  a.t.send([snapMessage(1, 2, data), heartbeat(1, 2, 1)]);
  await b.inbox.until(() => b.inbox.messages.some((m) => m.type === 'snap'), 'the snapshot', WAIT_MS);
  const snap = b.inbox.messages.find((m) => m.type === 'snap');
  assert.ok(snap?.type === 'snap');
  assert.equal(sha256(snap.snapshot.data), sha256(data));
  await b.t.close();
  a.t.send([snapMessage(1, 2, data)]);
  await a.inbox.until(() => a.inbox.unreachable.includes(2), 'failure reported', WAIT_MS);
});

test('raw snapshot streams: headers and chunk frames are checked', async () => {
  const b = await node(2, { maxFrameBytes: 4096 });
  b.t.addPeer(1, '127.0.0.1:9');
  const session = async (): Promise<RawClient> => {
    const c = await RawClient.connect(b.t.port);
    c.hello(1, 2, { kind: 'snap' });
    await c.reply();
    c.frames.length = 0;
    return c;
  };
  const header = (size: number, from: NodeId = 1) => ({
    t: 'snap',
    message: snapMessage(from, 2, new Uint8Array(0)),
    size,
  });
  const cases: Array<[string, (c: RawClient) => void, RegExp]> = [
    ['no header', (c) => c.send([heartbeat(1, 2, 1)]), /must start with a snapshot header/],
    ['spoofed', (c) => c.send(header(4, 3)), /on a connection from 1/],
    ['bad size', (c) => c.send({ ...header(4), size: -1 }), /bad snapshot size/],
    ['bad message', (c) => c.send({ ...header(4), message: { type: 'snap' } }), /malformed snapshot message/],
    [
      'too long',
      (c) => {
        c.send(header(2));
        c.send(Buffer.from([1, 2, 3]));
      },
      /longer than its announced/,
    ],
    [
      'not binary',
      (c) => {
        c.send(header(2));
        c.send({ x: 1 });
      },
      /binary chunk/,
    ],
  ];
  for (const [name, act, reason] of cases) {
    const c = await session();
    act(c);
    await c.closed;
    const ack = c.frames[0] as { t?: string; ok?: boolean; reason?: string } | undefined;
    assert.equal(ack?.t, 'snapAck', name);
    assert.equal(ack?.ok, false, name);
    assert.match(ack?.reason ?? '', reason, name);
  }
  assert.equal(b.inbox.messages.length, 0);
});
